r"""Monte Carlo engine: exact OU moments, bridge-corrected exit times, rank-count invariance.

OU moments must agree with the exact solution within the statistical error; the Brownian exit time
from a disk only with the Brownian-bridge correction; results are bit-identical for any rank count.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from mpi4py import MPI

from fpsolve import demo
from fpsolve.domain import Cuboid, Sphere
from fpsolve.exact import ou_covariance, ou_mean
from fpsolve.montecarlo import EulerMaruyama, exit_times, simulate_moments, sqrt_psd
from fpsolve.problem import FokkerPlanckProblem, coordinates

M0, S0 = np.array([0.6, 0.3]), 0.02 * np.eye(2)


def _start(rng: np.random.Generator, m: int) -> np.ndarray:
    return rng.multivariate_normal(M0, S0, m)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_sqrt_of_singular_state_dependent_q(d: int) -> None:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, d))
    w = rng.normal(size=(50, d))
    q = np.einsum("ni,nj->nij", v, v)  # rank 1
    q[25:] += np.einsum("ni,nj->nij", w[25:], w[25:])  # rank 2 (d ≥ 2)
    q[0] = 0.0  # and a zero matrix
    r = sqrt_psd(q)
    np.testing.assert_allclose(r, np.swapaxes(r, 1, 2), atol=1e-12)
    np.testing.assert_allclose(np.einsum("nij,njk->nik", r, r), q, atol=1e-10)


def test_ou_moments_agree_with_exact_solution() -> None:
    # Euler–Maruyama is weak order 1: the Δt = 1e-3 bias on these moments is ≈ 1e-3·|A|·|m| ≤ 3e-3·scale,
    # below the 4 s.e. band of 2e5 paths only together with it, so the test allows 4 s.e. + 2e-3.
    em = EulerMaruyama(demo.ou_problem(8), 1e-3)
    K = demo.EPS2 * demo.Q
    for r in simulate_moments(em, _start, 200_000, [0.2, 1.0], seed=5):
        exact_m = ou_mean(demo.A, demo.MU, M0, r.t)
        exact_c = ou_covariance(demo.A, K, S0, r.t)
        assert r.alive == 1.0
        assert np.all(np.abs(r.mean - exact_m) <= 4 * r.mean_se + 2e-3), (r.mean, exact_m, r.mean_se)
        assert np.all(np.abs(r.cov - exact_c) <= 4 * r.cov_se + 2e-3 * np.abs(exact_c).max()), (
            r.cov,
            exact_c,
        )


def test_brownian_exit_time_from_disk_needs_the_bridge_correction() -> None:
    # E τ = (R² − r²)/(2dε²) = 0.375 for R = 1, r = 0.5, d = 2, ε² = 0.5 (THEORY.md §1.2)
    (x, y) = coordinates(2)
    bm = FokkerPlanckProblem(
        2, sp.eye(2), 0.5, Sphere((0.0, 0.0), 1.0, 0.2), loss=0 * x, absorbing=("boundary",)
    )
    exact = 0.375
    corrected, se, exited = exit_times(
        EulerMaruyama(bm, 2.5e-3, bridge=True), [0.5, 0.0], 50_000, 10.0, seed=3
    )
    naive, se2, _ = exit_times(EulerMaruyama(bm, 2.5e-3, bridge=False), [0.5, 0.0], 50_000, 10.0, seed=3)
    assert exited == 1.0
    # measured: 0.3755 ± 0.0015 with the bridge; 0.4067 without (O(√Δt) overestimate, ≈ 20 s.e.)
    assert abs(corrected - exact) <= 4 * se + 2e-3
    assert naive - exact > 10 * se2


def test_reflection_keeps_paths_inside_and_conserves_them() -> None:
    (x, y) = coordinates(2)
    p = FokkerPlanckProblem(2, sp.eye(2), 1.0, Cuboid((0.0, 0.0), (1.0, 1.0), (2, 2)), loss=x)
    em = EulerMaruyama(p, 1e-3)
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 1, (1000, 2))
    alive = np.ones(1000, dtype=bool)
    for _ in range(200):
        assert not em.step(pts, alive, rng).any()
    assert pts.min() >= 0.0 and pts.max() <= 1.0


def test_same_seed_same_aggregates_on_any_rank_count() -> None:
    # run on COMM_SELF (1 rank) and COMM_WORLD (1 or 2 ranks under mpiexec): bit-identical sums
    em = EulerMaruyama(demo.ou_problem(8), 2e-3)
    a = simulate_moments(em, _start, 50_000, [0.1], seed=9, comm=MPI.COMM_SELF)[0]
    b = simulate_moments(em, _start, 50_000, [0.1], seed=9, comm=MPI.COMM_WORLD)[0]
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.cov, b.cov)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_bad_time_step(bad: float) -> None:
    from fpsolve.errors import ProblemError

    with pytest.raises(ProblemError):
        EulerMaruyama(demo.ou_problem(8), bad)


def test_stationary_circulation_matches_the_exact_current() -> None:
    # ∫ J∞·w for the rotation w = R(x − μ): exact tr(Rᵀ B Σ) with J∞ = B(x − μ)ρ∞, B = −A + KΣ⁻¹
    from fpsolve.exact import ou_stationary_covariance
    from fpsolve.montecarlo import current_circulation

    K = demo.EPS2 * demo.Q
    sigma = ou_stationary_covariance(demo.A, K)
    B = -demo.A + K @ np.linalg.inv(sigma)
    R = np.array([[0.0, -1.0], [1.0, 0.0]])
    exact = float(np.trace(R.T @ B @ sigma))  # = 0.015
    mu = demo.MU

    def rotation(x: np.ndarray) -> np.ndarray:
        return np.stack([-(x[:, 1] - mu[1]), x[:, 0] - mu[0]], axis=1)

    start = lambda rng, m: rng.multivariate_normal(mu, sigma, m)  # noqa: E731
    est, se = current_circulation(
        EulerMaruyama(demo.ou_problem(8), 1e-3), start, 40_000, 0.2, 2.0, [rotation], seed=4
    )
    # Δt = 1e-3 bias measured ≈ 1e-4 (Δt = 2e-3 vs 1e-3); statistical s.e. ≈ 1e-4
    assert abs(est[0] - exact) <= 4 * se[0] + 2e-4, (est, se, exact)


def test_user_noise_factor_gives_the_same_law() -> None:
    # any G with GGᵀ = Q gives the same law; here a non-square 2×3 factor of the demo Q
    G = sp.Matrix([[1, 0, 0], [sp.Rational(1, 2), sp.Rational(1, 2), 0]])
    np.testing.assert_allclose(np.array(G * G.T, dtype=float), demo.Q)
    base = demo.ou_problem(8)
    import dataclasses

    p = dataclasses.replace(base, noise_factor=G)
    K = demo.EPS2 * demo.Q
    for r in simulate_moments(EulerMaruyama(p, 1e-3), _start, 100_000, [0.5], seed=8):
        exact_c = ou_covariance(demo.A, K, S0, r.t)
        assert np.all(np.abs(r.cov - exact_c) <= 4 * r.cov_se + 2e-3 * np.abs(exact_c).max())


def test_inconsistent_noise_factor_is_rejected() -> None:
    import dataclasses

    from fpsolve.errors import ProblemError

    with pytest.raises(ProblemError, match="G Gᵀ = Q"):
        dataclasses.replace(demo.ou_problem(8), noise_factor=sp.eye(2))
