r"""Monte Carlo engine: exact OU moments, bridge-corrected exit times, rank-count invariance.

OU moments must agree with the exact solution within the statistical error; the Brownian exit time
from a disk only with the Brownian-bridge correction; results are bit-identical for any rank count.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from mpi4py import MPI

from fpsolve import testing
from fpsolve.errors import ProblemError
from fpsolve.problem.domain import Cuboid, Sphere
from fpsolve.problem.exact import ou_covariance, ou_mean
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.sde.montecarlo import EulerMaruyama, exit_times, simulate_moments, sqrt_psd

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
    em = EulerMaruyama(testing.ou_problem(8), 1e-3)
    K = testing.EPS2 * testing.Q
    for r in simulate_moments(em, _start, 200_000, [0.2, 1.0], seed=5):
        exact_m = ou_mean(testing.A, testing.MU, M0, r.t)
        exact_c = ou_covariance(testing.A, K, S0, r.t)
        assert r.alive == 1.0
        assert np.all(np.abs(r.mean - exact_m) <= 4 * r.mean_se + 2e-3), (r.mean, exact_m, r.mean_se)
        assert np.all(np.abs(r.cov - exact_c) <= 4 * r.cov_se + 2e-3 * np.abs(exact_c).max()), (
            r.cov,
            exact_c,
        )


def test_brownian_exit_time_from_disk_needs_the_bridge_correction() -> None:
    # E τ = (R² − r²)/(2dε²) = 0.375 for R = 1, r = 0.5, d = 2, ε² = 0.5 (docs/theory.md §1.2)
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
    em = EulerMaruyama(testing.ou_problem(8), 2e-3)
    a = simulate_moments(em, _start, 50_000, [0.1], seed=9, comm=MPI.COMM_SELF)[0]
    b = simulate_moments(em, _start, 50_000, [0.1], seed=9, comm=MPI.COMM_WORLD)[0]
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.cov, b.cov)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_bad_time_step(bad: float) -> None:
    from fpsolve.errors import ProblemError

    with pytest.raises(ProblemError):
        EulerMaruyama(testing.ou_problem(8), bad)


def test_stationary_circulation_matches_the_exact_current() -> None:
    # ∫ J∞·w for the rotation w = R(x − μ): exact tr(Rᵀ B Σ) with J∞ = B(x − μ)ρ∞, B = −A + KΣ⁻¹
    from fpsolve.problem.exact import ou_stationary_covariance
    from fpsolve.sde.montecarlo import current_circulation

    K = testing.EPS2 * testing.Q
    sigma = ou_stationary_covariance(testing.A, K)
    B = -testing.A + K @ np.linalg.inv(sigma)
    R = np.array([[0.0, -1.0], [1.0, 0.0]])
    exact = float(np.trace(R.T @ B @ sigma))  # = 0.015
    mu = testing.MU

    def rotation(x: np.ndarray) -> np.ndarray:
        return np.stack([-(x[:, 1] - mu[1]), x[:, 0] - mu[0]], axis=1)

    start = lambda rng, m: rng.multivariate_normal(mu, sigma, m)  # noqa: E731
    est, se = current_circulation(
        EulerMaruyama(testing.ou_problem(8), 1e-3), start, 40_000, 0.2, 2.0, [rotation], seed=4
    )
    # Δt = 1e-3 bias measured ≈ 1e-4 (Δt = 2e-3 vs 1e-3); statistical s.e. ≈ 1e-4
    assert abs(est[0] - exact) <= 4 * se[0] + 2e-4, (est, se, exact)


def test_user_noise_factor_gives_the_same_law() -> None:
    # any G with GGᵀ = Q gives the same law; here a non-square 2×3 factor of the demo Q
    G = sp.Matrix([[1, 0, 0], [sp.Rational(1, 2), sp.Rational(1, 2), 0]])
    np.testing.assert_allclose(np.array(G * G.T, dtype=float), testing.Q)
    base = testing.ou_problem(8)
    import dataclasses

    p = dataclasses.replace(base, noise_factor=G)
    K = testing.EPS2 * testing.Q
    for r in simulate_moments(EulerMaruyama(p, 1e-3), _start, 100_000, [0.5], seed=8):
        exact_c = ou_covariance(testing.A, K, S0, r.t)
        assert np.all(np.abs(r.cov - exact_c) <= 4 * r.cov_se + 2e-3 * np.abs(exact_c).max())


def test_inconsistent_noise_factor_is_rejected() -> None:
    import dataclasses

    from fpsolve.errors import ProblemError

    with pytest.raises(ProblemError, match="G Gᵀ = Q"):
        dataclasses.replace(testing.ou_problem(8), noise_factor=sp.eye(2))


# -- mesh domains: the annulus 0.3 < r < 1 of meshes/annulus.msh (polygon, h = 0.1) ------------------

R1, R2 = 0.3, 1.0


def _walls(p: FokkerPlanckProblem) -> object:
    from fpsolve.discretisation.mesh import build_mesh

    return testing.walls(build_mesh(p.domain, MPI.COMM_SELF), p.absorbing)


def _annulus(absorbing: tuple[str, ...]) -> FokkerPlanckProblem:
    from fpsolve.problem.domain import MeshFile

    (x, y) = coordinates(2)
    return FokkerPlanckProblem(
        2, sp.eye(2), 0.5, MeshFile("meshes/annulus.msh", 2), loss=0 * x, absorbing=absorbing
    )


def _fe_exit_time_at_node(
    problem: FokkerPlanckProblem, near: tuple[float, float]
) -> tuple[np.ndarray, float]:
    """P2 exit time on the same polygon at the dof nearest ``near``: (that point, T there)."""
    from fpsolve.discretisation.mesh import build_mesh
    from fpsolve.discretisation.operators import Discretisation
    from fpsolve.solvers.exit_time import ExitTimeSolver

    disc = Discretisation(problem, build_mesh(problem.domain), degree=2, scheme="galerkin")
    T = ExitTimeSolver(disc).solve()
    xs = disc.V.tabulate_dof_coordinates()[: len(T.x.array), :2]
    dist = np.linalg.norm(xs - near, axis=1)
    i = int(np.argmin(dist))
    _, point, value = disc.comm.allreduce((dist[i], tuple(xs[i]), float(T.x.array[i])), op=MPI.MIN)
    return np.array(point), value


def test_annulus_mesh_exit_time_fe_mc_and_exact() -> None:
    # ε²ΔT = −1, T(r1) = T(r2) = 0:  T = (r2² − r²)/(4ε²) − (r2² − r1²) ln(r2/r)/(4ε² ln(r2/r1))
    p = _annulus(("inner", "outer"))
    x0, fe = _fe_exit_time_at_node(p, (0.65, 0.0))
    r = float(np.hypot(*x0))
    exact = (R2**2 - r**2) / 2 - (R2**2 - R1**2) * np.log(R2 / r) / (2 * np.log(R2 / R1))
    # polygon vs circles: sagitta h²/(8r) ≈ 4e-3 on the inner circle; measured FE 0.12681 vs exact 0.12627
    assert abs(fe / exact - 1) < 1e-2, (fe, exact)
    mc, se, exited = exit_times(
        EulerMaruyama(p, 1e-3, walls=_walls(p), bridge=True), x0, 20_000, 10.0, seed=3
    )
    naive, se2, _ = exit_times(
        EulerMaruyama(p, 1e-3, walls=_walls(p), bridge=False), x0, 20_000, 10.0, seed=3
    )
    assert exited == 1.0
    # measured: MC 0.1271 ± 0.0007 (bridge), 0.1412 ± 0.0008 without (≈ 17 s.e. high); FE 0.1268. The
    # bridge with the half-plane law leaves an O(Δt) bias (0.0025 at Δt = 2.5e-3), hence + 1e-3.
    assert abs(mc - fe) <= 4 * se + 1e-3, (mc, se, fe)
    assert naive - fe > 10 * se2, (naive, se2, fe)


def test_annulus_mesh_mixed_reflecting_outer_absorbing_inner() -> None:
    # ε²ΔT = −1, T(r1) = 0, T'(r2) = 0:  T = (r1² − r²)/(4ε²) + r2² ln(r/r1)/(2ε²)
    p = _annulus(("inner",))
    x0, fe = _fe_exit_time_at_node(p, (0.65, 0.0))
    r = float(np.hypot(*x0))
    exact = (R1**2 - r**2) / 2 + R2**2 * np.log(r / R1)
    # polygon: the inscribed inner polygon is a smaller target, measured FE 0.6087 vs exact 0.6024 (1 %)
    assert abs(fe / exact - 1) < 2e-2, (fe, exact)
    mc, se, exited = exit_times(EulerMaruyama(p, 2.5e-3, walls=_walls(p)), x0, 10_000, 20.0, seed=4)
    # measured: 0.6134 ± 0.0065 (10 000 paths; 20 000 gave 0.6099 ± 0.0046, and 0.6067 ± 0.0046 at
    # Δt = 1e-3); FE 0.6087: the O(Δt) reflection/bridge bias is below 2e-3
    assert exited == 1.0
    assert abs(mc - fe) <= 4 * se + 2e-3, (mc, se, fe)


def test_annulus_mesh_reflection_conserves_particles_inside_the_polygon() -> None:
    import dolfinx.geometry

    from fpsolve.discretisation.mesh import build_mesh

    p = _annulus(())
    em = EulerMaruyama(p, 5e-3, walls=_walls(p))
    msh = build_mesh(p.domain, MPI.COMM_SELF).mesh
    rng = np.random.default_rng(6)
    r, phi = rng.uniform(0.32, 0.98, 5000), rng.uniform(0, 2 * np.pi, 5000)
    pts = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    alive = np.ones(len(pts), dtype=bool)
    for _ in range(100):  # steps of s.d. 0.07 per axis: many hit both circles, some twice per step
        assert not em.step(pts, alive, rng).any()
    tree = dolfinx.geometry.bb_tree(msh, 2)
    pts3 = np.column_stack([pts, np.zeros(len(pts))])
    cells = dolfinx.geometry.compute_colliding_cells(
        msh, dolfinx.geometry.compute_collisions_points(tree, pts3), pts3
    )
    assert np.all(np.diff(cells.offsets) > 0)  # every particle lies in a cell of the mesh


def test_disk_mesh_walls_agree_with_the_closed_form_disk() -> None:
    from fpsolve.discretisation.mesh import build_mesh

    (x, y) = coordinates(2)
    disk = Sphere((0.0, 0.0), 1.0, 0.05)
    bm = FokkerPlanckProblem(2, sp.eye(2), 0.5, disk, loss=0 * x, absorbing=("boundary",))
    walls = testing.walls(build_mesh(disk, MPI.COMM_SELF), ("boundary",))
    args = ([0.5, 0.0], 20_000, 10.0)
    mesh_mc, se1, _ = exit_times(EulerMaruyama(bm, 2.5e-3, walls=walls), *args, seed=3)
    disk_mc, se2, _ = exit_times(EulerMaruyama(bm, 2.5e-3), *args, seed=3)
    # exact 0.375 for the disk; the inscribed polygon (h = 0.05) lowers it by ≈ 2R·h²/(8R)/(2dε²) ≈ 3e-4.
    # measured: mesh 0.3830 ± 0.0025, closed form 0.3798 ± 0.0025 (independent once paths differ);
    # with 50 000 paths 0.3767 ± 0.0015 vs 0.3750 ± 0.0015
    assert abs(mesh_mc - disk_mc) <= 2 * np.hypot(se1, se2)
    assert abs(mesh_mc - 0.375) <= 4 * se1 + 1e-3


def test_a_mesh_domain_needs_its_walls() -> None:
    with pytest.raises(ProblemError, match="mesh-file domain needs its walls"):
        EulerMaruyama(_annulus(("inner",)), 1e-3)


def test_mesh_exit_times_are_rank_count_invariant() -> None:
    p = _annulus(("inner", "outer"))
    em = EulerMaruyama(p, 2.5e-3, walls=_walls(p))
    a = exit_times(em, [0.65, 0.0], 10_000, 10.0, seed=7, comm=MPI.COMM_SELF)
    b = exit_times(em, [0.65, 0.0], 10_000, 10.0, seed=7, comm=MPI.COMM_WORLD)
    assert a == b


def test_progress_is_reported_inside_a_single_chunk(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    # 2000 paths are one chunk: before, the only report came after the whole chunk (minutes at small ε)
    from fpsolve import log

    monkeypatch.setattr(log, "INTERVAL", 0.0)
    log.configure()
    (x,) = coordinates(1)
    bm = FokkerPlanckProblem(
        1, sp.eye(1), 0.5, Cuboid((-1.0,), (1.0,), (4,)), loss=0 * x, absorbing=("xmin", "xmax")
    )
    exit_times(EulerMaruyama(bm, 1e-3), [0.0], 2000, 10.0, seed=1)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "Monte Carlo: step" in ln]
    if MPI.COMM_WORLD.rank == 0:
        done = [float(ln.split("paths = ")[1].split()[0]) for ln in lines]
        assert done == sorted(done) and sum(0 < d < 2000 for d in done) > 3 and done[-1] == 2000
    else:
        assert not lines
