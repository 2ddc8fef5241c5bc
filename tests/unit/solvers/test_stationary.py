r"""Stationary densities and currents against exact Ornstein–Uhlenbeck solutions (docs/theory.md §8 #1–2).

* 2-D anisotropic OU (A = V⁻¹diag(4,1)V, Q = [[1,.5],[.5,.5]], ε² = 0.05): ρ∞ = N(μ,Σ) with
  AΣ+ΣAᵀ = 2ε²Q and the non-zero current J∞ = (−A + KΣ⁻¹)(x−μ)ρ∞. Expected orders: 2 for ρ (P1),
  ≈ 2 for the recovered current (ρ∞ is negligible on ∂Ω).
* Degenerate phase-space OU θ' = v, dv = −(γv + ω²θ)dt + √(2γT)dW (K = diag(0, γT)): ρ∞ =
  N(0, diag(T/ω², T)) for every γ, with the rotating current J = (v, −ω²θ)ρ∞. As γ → 0.01 the
  artificial diffusion of plain upwinding is ten times the physical one; AFC must still be accurate
  and non-negative (Galerkin undershoots there).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import ufl

from fpsolve import testing
from fpsolve.discretisation.functionals import error_L2, observed_orders
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.exact import ou_stationary_covariance
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.solvers.stationary import StationarySolver


@pytest.mark.parametrize("scheme", ["afc", "galerkin"])
def test_anisotropic_ou_density_and_current_converge(scheme: str) -> None:
    cells = [32, 64, 128]
    e = testing.ou_errors(testing.ou_problem, testing.A, testing.EPS2 * testing.Q, testing.MU, cells, scheme)
    h = [1.0 / n for n in cells]
    rho_orders, J_orders = observed_orders(h, e[:, 0]), observed_orders(h, e[:, 1])
    assert rho_orders[-1] >= 1.9, (e, rho_orders)
    assert J_orders[-1] >= 1.8, (e, J_orders)
    assert e[-1, 0] < 0.01 and e[-1, 1] < 0.06
    assert np.all(e[:, 3] < 1e-12)
    if scheme == "afc":  # AFC fixed point is converged to 1e-10 (relative)
        assert e[:, 2].min() >= -1e-9


@pytest.mark.parametrize("gamma", [0.5, 0.1, 0.01])
def test_degenerate_phase_space_ou(gamma: float) -> None:
    make, A, K = testing.phase_space(gamma)
    sigma = ou_stationary_covariance(A, K)
    np.testing.assert_allclose(sigma, np.diag([0.1, 0.1]), atol=1e-14)  # N(0, diag(T/ω², T))
    cells = [32, 64]
    e = testing.ou_errors(make, A, K, np.zeros(2), cells, "afc")
    # measured 4.5e-3 … 4.6e-3 (ρ) and ≤ 3e-2 (J) at 64 cells for all three γ: 2× margin
    assert e[-1, 0] < 0.01, e
    assert e[-1, 1] < 0.06, e
    assert observed_orders([1 / 32, 1 / 64], e[:, 0])[0] > 1.9, e
    assert e[:, 2].min() >= -1e-9, e


def test_phase_space_galerkin_undershoots_where_afc_does_not() -> None:
    make, A, K = testing.phase_space(0.01)
    e = testing.ou_errors(make, A, K, np.zeros(2), [64], "galerkin")
    assert e[0, 2] < -1e-7  # measured −3e-7 relative: Galerkin is not positivity preserving


def test_state_dependent_noise_uses_ito_divergence() -> None:
    # 1-D, L = x²/2, Q = 1 + x²/2: zero flux ⇒ ρ∞ ∝ Q⁻¹exp(−∫L'/(ε²Q)) = (1 + x²/2)^{−(1 + 1/ε²)}
    # (docs/theory.md §8 #6). Dropping ε²∇·Q from β would give the exponent −1/ε² instead.
    (x,) = coordinates(1)
    eps2 = 0.25
    exact = (1 + x**2 / 2) ** (-(1 + 1 / eps2))
    norm = float(sp.Integral(exact, (x, -4, 4)).evalf(30))
    errors = []
    for n in (64, 128):
        p = FokkerPlanckProblem(
            1, sp.Matrix([[1 + x**2 / 2]]), eps2, Cuboid((-4.0,), (4.0,), (n,)), loss=x**2 / 2
        )
        disc = Discretisation(p, build_mesh(p.domain))
        rho = StationarySolver(disc).solve().rho
        X = ufl.SpatialCoordinate(disc.msh)
        errors.append(error_L2(rho, to_ufl(exact / norm, X, p.coords), disc.msh, relative=True))
    assert errors[-1] < 2e-3, errors
    assert observed_orders([1 / 64, 1 / 128], errors)[0] > 1.9, errors
