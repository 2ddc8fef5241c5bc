r"""Transient solver: exact OU moments, exact mass conservation, positivity where Galerkin fails.

* OU from a narrow Gaussian N(m₀, Σ₀): the exact law stays Gaussian with mean μ + e^{−At}(m₀−μ) and
  covariance from Σ̇ = −AΣ − ΣAᵀ + 2ε²Q (docs/theory.md §1.4). Errors: spatial O(h²) (+ the initial
  interpolation of a Gaussian of width 0.14 on h = 0.0375) and O(Δt) (backward Euler) or the TS
  tolerance (adaptive BDF2).
* Reflecting walls, 1000 backward-Euler steps: Σᵢ mᵢρᵢ is conserved to round-off (1ᵀA_L = 0 and the
  FCT fluxes are antisymmetric), asserted to 1e-10 relative.
* ε² = 10⁻³, rank-1 Q, a coarse mesh and a point-mass-like start: Galerkin goes negative (asserted),
  the FCT scheme stays ≥ −1e-10·max ρ (asserted).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from fpsolve import testing
from fpsolve.discretisation.functionals import moments
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.exact import ou_covariance, ou_mean
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates, gaussian_density
from fpsolve.solvers.transient import TransientSolver, dt_level

M0, S0 = np.array([0.6, 0.3]), 0.02 * np.eye(2)


@pytest.mark.parametrize(
    ("scheme", "method", "dt", "tol_mean", "tol_cov"),
    [
        # measured max errors (64 cells): mean 2.8e-4 / 9e-6, covariance 6e-3 / 1.8e-2 (t = 0.1,
        # dominated by the interpolated initial Gaussian); tolerances ≈ 3× those
        ("afc", "beuler", 2e-3, 1e-3, 0.03),
        ("galerkin", "ts", 1e-3, 1e-4, 0.05),
    ],
)
def test_ou_moments_match_exact_solution(
    scheme: str, method: str, dt: float, tol_mean: float, tol_cov: float
) -> None:
    p = testing.ou_problem(64, initial=gaussian_density(M0, S0))
    disc = Discretisation(p, build_mesh(p.domain), scheme=scheme)
    rho = disc.interpolate(p.initial)
    rho.x.array[:] /= disc.mass(rho)
    solver = TransientSolver(disc, dt, method=method)
    K = testing.EPS2 * testing.Q
    for t in solver.run(rho, [0.1, 0.3, 1.0]):
        mean, cov = moments(rho, disc.msh, 2)
        assert np.abs(mean - ou_mean(testing.A, testing.MU, M0, t)).max() < tol_mean
        ref = ou_covariance(testing.A, K, S0, t)
        assert np.abs(cov - ref).max() / np.abs(ref).max() < tol_cov
    if method == "ts":  # adaptive: the steps are not all equal, but on few levels (one LU per level)
        dts = np.array([r.dt for r in solver.history])
        assert dts.max() > 1.5 * dts.min()
        assert solver.factorisations < len(dts) / 4  # measured 47 matrices for 362 steps


def test_ts_steps_lie_on_levels_and_reuse_the_factorisation() -> None:
    """Rounded steps Δt₀·2^(k/2) and PETSc's unrounded ones give one answer within the TS tolerance.

    Measured (64 cells, t = 0.5): 29 matrices factorised for 294 steps (98 % of them on a level) rounded,
    256 for 253 steps (rejected steps included) unrounded; relative L² difference of the final densities
    7.1e-6 (the TS tolerance ``ts_rtol`` is 1e-5 per step).
    """
    p = testing.ou_problem(64, initial=gaussian_density(M0, S0))
    disc = Discretisation(p, build_mesh(p.domain), scheme="galerkin")
    finals, solvers = [], []
    for levels in (True, False):
        rho = disc.interpolate(p.initial)
        rho.x.array[:] /= disc.mass(rho)
        solver = TransientSolver(disc, 1e-3, method="ts", levels=levels)
        list(solver.run(rho, [0.2, 0.5]))
        finals.append(rho.x.array.copy())
        solvers.append(solver)
    rounded, raw = solvers
    k = np.log(np.array([r.dt for r in rounded.history]) / 1e-3) / np.log(2**0.5)
    on_level = np.abs(k - np.round(k)) < 1e-9
    # off a level: a rejected first step, and the last one or two before an output time (matched)
    assert on_level.mean() > 0.9
    assert rounded.factorisations < len(rounded.history) / 4
    assert raw.factorisations > 0.8 * len(raw.history)
    diff = np.linalg.norm(finals[0] - finals[1]) / np.linalg.norm(finals[1])
    assert diff < 1e-3


def test_dt_level_rounds_down_to_powers_of_root_two() -> None:
    assert dt_level(1e-3, 1e-3) == pytest.approx(1e-3)
    assert dt_level(1.9e-3, 1e-3) == pytest.approx(2**0.5 * 1e-3)
    assert dt_level(2.0e-3, 1e-3) == pytest.approx(2e-3)
    assert dt_level(0.9e-3, 1e-3) == pytest.approx(2**-0.5 * 1e-3)


def test_mass_conserved_and_positive_over_1000_steps() -> None:
    solver = testing.evolve_degenerate("afc", 1000)
    assert len(solver.history) == 1000
    mass = np.array([r.mass for r in solver.history])
    assert np.abs(mass - 1.0).max() <= 1e-10
    worst = min(r.min / r.max for r in solver.history)
    assert worst >= -1e-10, worst


def test_galerkin_goes_negative_on_the_same_problem() -> None:
    solver = testing.evolve_degenerate("galerkin", 50)
    worst = min(r.min / r.max for r in solver.history)
    assert worst < -1e-3, worst  # measured −0.26 in 50 steps (−0.73 in 1000): not round-off


@pytest.mark.parametrize("method", ["beuler", "ts"])
def test_absorbing_boundaries_drain_mass_at_the_exact_rate(method: str) -> None:
    # ρ_t = ε²ρ_xx on (0, 1), ρ = 0 at both ends, ρ₀ = sin(πx): ρ = e^{−ε²π²t} sin(πx), mass (2/π)e^{−ε²π²t}
    (x,) = coordinates(1)
    eps2 = 0.1
    p = FokkerPlanckProblem(
        1,
        sp.Matrix([[1]]),
        eps2,
        Cuboid((0.0,), (1.0,), (128,)),
        loss=sp.Integer(0) * x,
        absorbing=("xmin", "xmax"),
        initial=sp.sin(sp.pi * x),
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme="afc" if method == "beuler" else "galerkin")
    rho = disc.interpolate(p.initial)
    solver = TransientSolver(disc, 1e-3, method=method)
    for t in solver.run(rho, [0.5, 1.0]):
        exact = 2 / np.pi * np.exp(-eps2 * np.pi**2 * t)
        # backward Euler: relative error ≈ ε²π²·Δt·(ε²π²t)/2 ≈ 5e-4; h² error ≈ 5e-5
        assert abs(disc.mass(rho) / exact - 1) < 2e-3
        assert disc.minimum(rho) >= 0.0
