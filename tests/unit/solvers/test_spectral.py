r"""SLEPc spectrum of the OU operator: {Σ nᵢλᵢ(A)} for any controllable Q, ρ∞ as the 0-mode, the modes.

Measured on 64 cells (Galerkin): λ = 0, 1.0000001, 2.0000038, 3.0000518 for the demo OU.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import ufl

from fpsolve import testing
from fpsolve.discretisation.functionals import error_L2, integral
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.exact import ou_stationary_covariance
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.solvers.spectral import SpectralSolver
from fpsolve.solvers.stationary import StationarySolver


def test_ou_spectrum_and_stationary_mode() -> None:
    # demo OU: eigenvalues of A are 4 and 1 ⇒ FP spectrum 0, 1, 2, 3, 4, …
    p = testing.ou_problem(64)
    disc = Discretisation(p, build_mesh(p.domain), scheme="galerkin")
    spec = SpectralSolver(disc, nev=4).solve()
    np.testing.assert_allclose(spec.eigenvalues.real, [0, 1, 2, 3], atol=0.02)
    assert np.abs(spec.eigenvalues.imag).max() < 1e-8
    assert spec.errors.max() < 1e-8
    rho_st = StationarySolver(disc).solve().rho
    assert error_L2(spec.rho, rho_st, disc.msh, relative=True) < 1e-8  # same null vector, two methods


def test_degenerate_rotating_ou_gap_is_independent_of_noise() -> None:
    # θ' = v, dv = −(γv + θ) + noise in v only: λ(A) = γ/2 ± i√(1 − γ²/4) ⇒ gap γ/2 (complex pair)
    th, v = coordinates(2)
    gamma = 0.5
    p = FokkerPlanckProblem(
        2,
        sp.Matrix([[0, 0], [0, 1]]),
        gamma * 0.1,
        Cuboid((-1.6, -1.6), (1.6, 1.6), (64, 64)),
        drift=sp.Matrix([v, -gamma * v - th]),
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme="galerkin")
    lam = SpectralSolver(disc, nev=3).solve().eigenvalues
    assert abs(lam[0]) < 1e-8
    np.testing.assert_allclose(lam[1].real, gamma / 2, rtol=0.02)
    np.testing.assert_allclose(abs(lam[1].imag), np.sqrt(1 - gamma**2 / 4), rtol=0.02)


def _hormander_rank1(cells: int, degree: int) -> Discretisation:
    """docs/cases.md mixing_degenerate: drift −Hx, λ(H) = 1, 2.5, Q = e₁e₁ᵀ, walls at ≥ 7.5 σ."""
    x, y = coordinates(2)
    p = FokkerPlanckProblem(
        2,
        sp.Matrix([[1, 0], [0, 0]]),
        1.0,
        Cuboid((-6, -2), (6, 2), (cells, cells)),
        drift=sp.Matrix([-(1.75 * x + 0.75 * y), -(0.75 * x + 1.75 * y)]),
    )
    return Discretisation(p, build_mesh(p.domain), degree=degree, scheme="galerkin")


def test_1d_ou_spectrum_is_exact_with_high_degree() -> None:
    # dX = −2X dt + √(2·0.5) dW: eigenvalues 2n; P3 on 40 cells over ±7.5σ (σ = 0.5).
    # Measured: 0, 2 − 2e-12, 4 + 4e-11, 6 + 5e-10, 8 + 5e-9.
    (x,) = coordinates(1)
    p = FokkerPlanckProblem(
        1, sp.Matrix([[1]]), 0.5, Cuboid((-3.75,), (3.75,), (40,)), drift=sp.Matrix([-2 * x])
    )
    disc = Discretisation(p, build_mesh(p.domain), degree=3, scheme="galerkin")
    spec = SpectralSolver(disc, nev=5).solve()
    np.testing.assert_allclose(spec.eigenvalues.real, [0, 2, 4, 6, 8], rtol=1e-7, atol=1e-12)


def test_rank1_hormander_gap_on_a_coarse_mesh() -> None:
    # P3 on 16×16 cells (2401 dofs): gap error 5.6e-5 measured (4.6e-8 on the case's 32×32).
    spec = SpectralSolver(_hormander_rank1(16, 3), nev=4).solve()
    assert abs(spec.eigenvalues[1] - 1.0) < 1e-4
    np.testing.assert_allclose(spec.eigenvalues.real, [0, 1, 2, 2.5], atol=5e-3)


def test_modes_are_normalised_and_biorthogonal() -> None:
    disc = _hormander_rank1(12, 2)
    solver = SpectralSolver(disc, nev=4, vectors=True)
    spec = solver.solve()
    modes, rho = spec.modes, spec.rho
    # φ₀ = ρ∞ (mass 1), ψ₀ = 1
    np.testing.assert_allclose(modes[0].phi[0].x.array, rho.x.array, atol=1e-12)
    np.testing.assert_allclose(modes[0].psi[0].x.array, 1.0, atol=1e-8)
    for m in modes:
        psi = m.psi[0]
        assert abs(integral(psi * psi * rho, disc.msh, 8) - 1.0) < 1e-10
        assert m.right_error < 1e-10 and m.left_error < 1e-10
    pairing = np.array([[integral(a.psi[0] * b.phi[0], disc.msh, 8) for b in modes] for a in modes])
    np.testing.assert_allclose(pairing, np.eye(4), atol=1e-8)  # ∫ψᵢφⱼ = δᵢⱼ
    # ψ₁ of OU is linear: vᵀx / √(vᵀΣ∞v), Hᵀv = v (exact up to sign; the tilt fixes the sign)
    v = np.array([1.0, -1.0]) / np.sqrt(2)
    sigma = ou_stationary_covariance(np.array([[1.75, 0.75], [0.75, 1.75]]), np.diag([1.0, 0.0]))
    x = ufl.SpatialCoordinate(disc.msh)
    exact = (v[0] * x[0] + v[1] * x[1]) / np.sqrt(v @ sigma @ v)
    sign = np.sign(integral(modes[1].psi[0] * exact * rho, disc.msh, 8))
    error = integral((modes[1].psi[0] - sign * exact) ** 2 * rho, disc.msh, 8)
    assert np.sqrt(error) < 5e-3  # L²(ρ∞) error 2.6e-3 measured (P2, 12×12)


def test_left_modes_of_a_complex_pair_solve_the_transposed_problem() -> None:
    # rotating OU (λ(A) = 0.85 ± 0.99i): SLEPc stores some pairs' left vectors conjugated (module doc)
    x, y = coordinates(2)
    p = FokkerPlanckProblem(
        2,
        sp.Matrix([[1, 0], [0, 0]]),
        0.25,
        Cuboid((-2.5, -2.5), (2.5, 2.5), (16, 16)),
        drift=sp.Matrix([-(x + 2 * y), 0.5 * x - 0.7 * y]),
    )
    disc = Discretisation(p, build_mesh(p.domain), degree=2, scheme="galerkin")
    spec = SpectralSolver(disc, nev=5, vectors=True).solve()
    assert np.count_nonzero(np.abs(spec.eigenvalues.imag) > 0.5) == 3  # a pair and one of the next
    assert max(m.left_error for m in spec.modes) < 1e-10
    assert max(m.right_error for m in spec.modes) < 1e-10
