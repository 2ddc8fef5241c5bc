r"""SLEPc spectrum of the OU operator: {Σ nᵢλᵢ(A)} for any controllable Q, and ρ∞ as the 0-mode.

Measured on 64 cells (Galerkin): λ = 0, 1.0000001, 2.0000038, 3.0000518 for the demo OU.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from fpsolve import testing
from fpsolve.discretisation.functionals import error_L2
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
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
