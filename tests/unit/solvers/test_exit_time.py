r"""Exit-time statistics from the backward problems 𝓛T = −1, 𝓛T₂ = −2T, 𝓛u = 0 (transposed operator).

References (fpsolve.problem.exact, docs/theory.md §4.1): Brownian motion T = (R² − r²)/(2dε²) in the disk
and ball;
the radial exit time of the rotationally symmetric OU process (L = λ|x|²/2) from the unit disk; the
1-D double integral for the double well L = x⁴/4 − x²/2 on (−2, 0), reflecting at −2 and absorbing at
the saddle, where T(−1) grows like e^{1/(4ε²)} (exit against the drift). The exponentially fitted scheme
(``eafe``) is accurate there at 64 cells; Galerkin (and AFC, whose limiter is inactive on a monotone T)
are not. Every tolerance below is about 2× the value measured when the test was written.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import ufl
from mpi4py import MPI

from fpsolve import testing
from fpsolve.discretisation.functionals import error_L2, observed_orders
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.errors import ProblemError
from fpsolve.problem.domain import Cuboid, Sphere
from fpsolve.problem.exact import committor_1d, mfpt_1d, radial_exit_time
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.solvers.exit_time import ExitTimeSolver
from fpsolve.solvers.linear import make_ksp, solve


@pytest.mark.parametrize("scheme", ["eafe", "afc", "galerkin"])
def test_brownian_exit_time_from_disk(scheme: str) -> None:
    x, y = coordinates(2)
    p = FokkerPlanckProblem(
        2, sp.eye(2), 0.5, Sphere((0.0, 0.0), 1.0, 0.05), loss=0 * x, absorbing=("boundary",)
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme=scheme)
    T = ExitTimeSolver(disc).solve()
    exact = (1 - x**2 - y**2) / 2
    # polygonal disk of size h = 0.05: O(h²) ≈ 2.5e-3 relative
    assert (
        error_L2(T, to_ufl(exact, ufl.SpatialCoordinate(disc.msh), p.coords), disc.msh, relative=True) < 5e-3
    )
    assert disc.minimum(T) >= 0.0


def test_brownian_exit_time_from_ball() -> None:
    x, y, z = coordinates(3)
    p = FokkerPlanckProblem(
        3, sp.eye(3), 0.5, Sphere((0.0, 0.0, 0.0), 1.0, 0.15), loss=0 * x, absorbing=("boundary",)
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme="eafe")
    T = ExitTimeSolver(disc).solve()
    exact = (1 - x**2 - y**2 - z**2) / 3  # (R² − r²)/(2dε²)
    err = error_L2(T, to_ufl(exact, ufl.SpatialCoordinate(disc.msh), p.coords), disc.msh, relative=True)
    # measured 4.1e-2 on the coarse (h = 0.15) gmsh ball: its obtuse tetrahedra give positive
    # off-diagonals, so the limiter is active and clips the maximum (Galerkin: 1.9e-2, not positive in
    # general; discrete upwinding alone: 37 % at h = 0.2)
    assert disc.limited
    assert err < 6e-2, err
    assert disc.minimum(T) >= 0.0


# measured relative errors of T(−1) with eafe on 64 cells
@pytest.mark.parametrize(
    ("eps2", "measured"), [(0.1, 4.5e-4), (0.05, 8.2e-4), (0.025, 1.6e-3), (0.01, 3.9e-3)]
)
def test_double_well_mfpt_matches_double_integral(eps2: float, measured: float) -> None:
    err = testing.double_well_error(eps2, 64, "eafe")
    assert abs(err) < 2 * measured, err


def test_small_eps_fitted_scheme_versus_galerkin() -> None:
    # ε² = 0.02, 64 cells, T(−1) = 6.16e5: eafe 2.0e-3 (measured); Galerkin and AFC both +0.30
    # (the limiter is inactive on the monotone T, so AFC = Galerkin here)
    fitted = testing.double_well_error(0.02, 64, "eafe")
    assert abs(fitted) < 5e-3, fitted
    for scheme in ("galerkin", "afc"):
        err = testing.double_well_error(0.02, 64, scheme)
        assert err > 0.25 and abs(err) > 100 * abs(fitted), (scheme, err, fitted)


def test_fitted_scheme_converges_at_second_order() -> None:
    # measured 3.3e-3, 8.2e-4, 2.1e-4 at ε² = 0.05: order 2.00
    errors = [abs(testing.double_well_error(0.05, n, "eafe")) for n in (32, 64, 128)]
    orders = observed_orders([1 / 32, 1 / 64, 1 / 128], errors)
    assert np.all(orders > 1.9), (errors, orders)


def test_radial_ou_exit_from_disk() -> None:
    # L = |x|²/2, ε² = 0.05: T(0) = 1245 (exit against the drift). Nodal max error / T(0), eafe:
    # measured 2.1e-2 (h = 0.1), 5.8e-3 (h = 0.05); AFC 2.6 and 0.30
    x, y = coordinates(2)
    lam, eps2 = 1.0, 0.05
    p = FokkerPlanckProblem(
        2,
        sp.eye(2),
        eps2,
        Sphere((0.0, 0.0), 1.0, 0.05),
        loss=lam * (x**2 + y**2) / 2,
        absorbing=("boundary",),
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme="eafe")
    T = ExitTimeSolver(disc).solve()
    n = disc.V.dofmap.index_map.size_local
    r = np.linalg.norm(disc.V.tabulate_dof_coordinates()[:n, :2], axis=1)
    err = np.abs(T.x.array[:n] - radial_exit_time(lam, eps2, 1.0, r)).max(initial=0.0)
    err = disc.comm.allreduce(float(err), op=MPI.MAX) / float(radial_exit_time(lam, eps2, 1.0, 0.0))
    assert err < 1.2e-2, err
    assert disc.minimum(T) >= 0.0


def test_second_moment_committor_and_mean_from_density() -> None:
    # tilted double well L = x⁴/4 − x²/2 + x/10 on (−1.5, 1.5), both ends absorbing, ε² = 0.05, 96 cells
    (x,) = coordinates(1)
    eps2, a, b = 0.05, -1.5, 1.5

    def drift(s: np.ndarray) -> np.ndarray:
        return -(s**3 - s + 0.1)

    def T_exact(s: np.ndarray) -> np.ndarray:
        return mfpt_1d(drift, eps2, a, b, s, reflecting_a=False)

    p = FokkerPlanckProblem(
        1,
        sp.Matrix([[1]]),
        eps2,
        Cuboid((a,), (b,), (96,)),
        loss=x**4 / 4 - x**2 / 2 + x / 10,
        absorbing=("xmin", "xmax"),
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme="eafe")
    solver = ExitTimeSolver(disc)
    T = solver.solve()
    T2 = solver.second_moment(T)
    sd = solver.standard_deviation(T, T2)
    u = solver.committor(["xmax"])
    n = disc.V.dofmap.index_map.size_local
    xs = disc.V.tabulate_dof_coordinates()[:n, 0]
    T2_exact = mfpt_1d(drift, eps2, a, b, xs, reflecting_a=False, source=lambda s: 2 * T_exact(s))

    def worst(values: np.ndarray, exact: np.ndarray, scale: float) -> float:
        return disc.comm.allreduce(float(np.abs(values[:n] - exact).max(initial=0.0)), op=MPI.MAX) / scale

    top, top2 = float(T_exact(np.array(-1.0))), float(T2_exact.max(initial=0.0))
    top2 = disc.comm.allreduce(top2, op=MPI.MAX)
    assert worst(T.x.array, T_exact(xs), top) < 1.3e-2  # measured 6.3e-3
    assert worst(T2.x.array, T2_exact, top2) < 2e-2  # measured 9.2e-3
    sd_exact = np.sqrt(np.maximum(T2_exact - T_exact(xs) ** 2, 0.0))
    assert worst(sd.x.array, sd_exact, top) < 1.2e-2  # measured 6.0e-3 (sd ≈ T: nearly exponential τ)
    assert worst(u.x.array, committor_1d(drift, eps2, a, b, xs), 1.0) < 1e-3  # measured 3.2e-4 (absolute)
    assert disc.minimum(u) >= 0.0 and disc.maximum(u) <= 1.0 + 1e-12
    assert disc.minimum(T) >= 0.0 and disc.minimum(T2) >= 0.0
    # E_ρ₀τ for a Gaussian ρ₀ at −1 (σ = 0.1) against ∫T_exact ρ₀ by quadrature on a fine grid
    rho0 = sp.exp(-((x + 1) ** 2) / (2 * 0.01))
    grid = np.linspace(a, b, 300_001)
    weight = np.exp(-((grid + 1) ** 2) / 0.02)
    exact_mean = float(np.trapezoid(T_exact(grid) * weight, grid) / np.trapezoid(weight, grid))
    assert abs(solver.mean_exit_time(rho0, T) / exact_mean - 1) < 1.2e-2  # measured 6.0e-3


def test_duality_forward_occupation_equals_backward_exit_time() -> None:
    # Aᵀ T = m and A ρ = e_k (same Dirichlet rows) give T_k = ρᵀ m = Σ m_j ρ_j: the expected time spent
    # before exit from x_k equals the occupation mass of the forward problem with a unit source at x_k
    x, y = coordinates(2)
    p = FokkerPlanckProblem(
        2,
        sp.eye(2),
        0.1,
        Sphere((0.0, 0.0), 1.0, 0.1),
        loss=(x**2 + y**2) / 2 + x / 2,
        absorbing=("boundary",),
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme="eafe")
    T = ExitTimeSolver(disc).solve()
    k, Tk = T.x.petsc_vec.max()
    A = disc.operator().copy()
    A.zeroRowsColumns(disc.bc_rows, 1.0)
    source = A.createVecLeft()
    source.setValue(k, 1.0)
    source.assemble()
    rho = A.createVecRight()
    ksp = make_ksp(A, "test_duality_", None, p.dim)
    solve(ksp, source, rho, "forward occupation density")
    occupation = rho.dot(disc.lumped)
    assert abs(occupation / Tk - 1) < 1e-11, (occupation, Tk)  # measured 2.8e-15
    for obj in (ksp, A, source, rho):
        obj.destroy()


@pytest.mark.parametrize(
    ("Q", "rtol"),
    [
        (sp.eye(2), 1e-10),  # linear EAFE: LU round-off × condition number, measured 1.8e-12
        (sp.Matrix([[1, 0.3], [0.3, 0.5]]), 1e-9),  # limited: fixed point to rtol 1e-10 (measured 6e-12)
    ],
)
def test_same_answer_in_serial_and_parallel(Q: sp.Matrix, rtol: float) -> None:
    # the distributed solve against one on MPI.COMM_SELF (each rank)
    x, y = coordinates(2)
    values = []
    for comm in (MPI.COMM_WORLD, MPI.COMM_SELF):
        p = FokkerPlanckProblem(
            2,
            Q,
            0.05,
            Cuboid((-1.0, -1.0), (1.0, 1.0), (16, 16)),
            loss=(x**2 + 2 * y**2) / 2 + x * y / 4,
            absorbing=("xmax", "ymin"),
        )
        disc = Discretisation(p, build_mesh(p.domain, comm), scheme="eafe")
        solver = ExitTimeSolver(disc)
        T = solver.solve()
        values.append(
            (
                testing.nodal_value(disc, T, (0.0, 0.0)),
                testing.nodal_value(disc, solver.committor(["xmax"]), (0.0, 0.0)),
            )
        )
    np.testing.assert_allclose(values[0], values[1], rtol=rtol)


def test_bad_committor_target_and_unreachable_exit() -> None:
    x, y = coordinates(2)
    box = Cuboid((-1.0, -1.0), (1.0, 1.0), (4, 4))
    p = FokkerPlanckProblem(2, sp.eye(2), 0.1, box, loss=0 * x, absorbing=("xmax",))
    with pytest.raises(ProblemError, match="committor target"):
        ExitTimeSolver(Discretisation(p, build_mesh(p.domain), scheme="eafe")).committor(["ymin"])
    degenerate = FokkerPlanckProblem(
        2, sp.Matrix([[0, 0], [0, 1]]), 0.1, box, drift=sp.Matrix([-x, -y]), absorbing=("xmin", "xmax")
    )
    with pytest.raises(ProblemError, match="can be reached"):
        ExitTimeSolver(Discretisation(degenerate, build_mesh(box), scheme="eafe"))
