"""Exit-time and exponential-fitting tables for docs/numerics.md (section "Exit times").

Run from the repository root: ``.venv/bin/python bench/exit_time.py`` (about a minute, serial).
Problem definitions as in tests/unit/solvers/test_exit_time.py and tests/unit/solvers/test_stationary.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from accuracy import table  # noqa: E402  (bench/ is on sys.path when run as a script)

import fpsolve  # noqa: E402,F401
from fpsolve import testing  # noqa: E402
from fpsolve.discretisation.functionals import error_L2, observed_orders  # noqa: E402
from fpsolve.discretisation.mesh import build_mesh  # noqa: E402
from fpsolve.discretisation.operators import Discretisation  # noqa: E402
from fpsolve.discretisation.symbolic import to_ufl  # noqa: E402
from fpsolve.errors import SolverDivergedError  # noqa: E402
from fpsolve.problem.domain import Sphere  # noqa: E402
from fpsolve.problem.exact import radial_exit_time  # noqa: E402
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates  # noqa: E402
from fpsolve.solvers.exit_time import ExitTimeSolver  # noqa: E402


def fmt(values: list[float]) -> str:
    """Comma-separated values in %.2e."""
    return ", ".join(f"{v:.2e}" for v in values)


def double_well() -> None:
    """T(−1) of the 1-D double well against the double integral, per ε², scheme and mesh."""
    rows = []
    cells = [16, 32, 64, 128]
    for eps2 in (0.1, 0.05, 0.025, 0.02, 0.01):
        for scheme in ("eafe", "afc", "galerkin"):
            errs = []
            for n in cells:
                try:
                    errs.append(testing.double_well_error(eps2, n, scheme))
                except SolverDivergedError:
                    errs.append(float("nan"))
            orders = observed_orders([1 / n for n in cells], np.abs(errs))
            rows.append([str(eps2), scheme, fmt(errs), ", ".join(f"{o:.2f}" for o in orders)])
    table(
        "1-D double well, T(−1) relative error (signed), cells 16/32/64/128",
        ["ε²", "scheme", "errors", "orders"],
        rows,
    )


def radial_ou() -> None:
    """Rotationally symmetric OU exit from the unit disk against the radial quadrature."""
    x, y = coordinates(2)
    rows = []
    for lam, eps2 in ((1.0, 0.1), (1.0, 0.05)):
        for scheme in ("eafe", "afc"):
            errs = []
            for h in (0.1, 0.05, 0.025):
                p = FokkerPlanckProblem(
                    2,
                    sp.eye(2),
                    eps2,
                    Sphere((0.0, 0.0), 1.0, h),
                    loss=lam * (x**2 + y**2) / 2,
                    absorbing=("boundary",),
                )
                disc = Discretisation(p, build_mesh(p.domain), scheme=scheme)
                T = ExitTimeSolver(disc).solve()
                r = np.linalg.norm(disc.V.tabulate_dof_coordinates()[:, :2], axis=1)
                err = np.abs(T.x.array - radial_exit_time(lam, eps2, 1.0, r)).max()
                errs.append(err / float(radial_exit_time(lam, eps2, 1.0, 0.0)))
            orders = observed_orders([0.1, 0.05, 0.025], errs)
            rows.append([f"{eps2}", scheme, fmt(errs), ", ".join(f"{o:.2f}" for o in orders)])
    table(
        "2-D OU (L = |x|²/2) exit from the unit disk, max nodal error / T(0), h = 0.1/0.05/0.025",
        ["ε²", "scheme", "errors", "orders"],
        rows,
    )


def ball() -> None:
    """Brownian exit from the unit ball against (1 − r²)/3."""
    import ufl

    x, y, z = coordinates(3)
    rows = []
    for h in (0.2, 0.15):
        for scheme in ("eafe", "galerkin"):
            p = FokkerPlanckProblem(
                3, sp.eye(3), 0.5, Sphere((0.0, 0.0, 0.0), 1.0, h), loss=0 * x, absorbing=("boundary",)
            )
            disc = Discretisation(p, build_mesh(p.domain), scheme=scheme)
            T = ExitTimeSolver(disc).solve()
            exact = to_ufl((1 - x**2 - y**2 - z**2) / 3, ufl.SpatialCoordinate(disc.msh), p.coords)
            err = error_L2(T, exact, disc.msh, relative=True)
            rows.append([str(h), scheme, str(disc.limited), f"{err:.2e}", f"{disc.minimum(T):.1e}"])
    table(
        "Brownian exit from the unit ball (ε² = 0.5), relative L2 error",
        ["h", "scheme", "limited", "error", "min T"],
        rows,
    )


def anisotropic_stationary() -> None:
    """EAFE vs AFC on stationary OU densities with isotropic, diagonal and cross-correlated Q."""
    rows = []
    cells = [32, 64, 128]
    for name, Q in (("I", np.eye(2)), ("diag(1, 0.5)", np.diag([1.0, 0.5])), ("[[1,.5],[.5,.5]]", testing.Q)):

        def make(n: int, Q: np.ndarray = Q) -> FokkerPlanckProblem:
            from fpsolve.problem.domain import Cuboid

            xs = sp.Matrix(coordinates(2)) - sp.Matrix(testing.MU)
            box = Cuboid((-1.2, -1.2), (1.2, 1.2), (n, n))
            return FokkerPlanckProblem(2, sp.Matrix(Q), testing.EPS2, box, drift=-sp.Matrix(testing.A) * xs)

        for scheme in ("eafe", "afc"):
            e = testing.ou_errors(make, testing.A, testing.EPS2 * Q, testing.MU, cells, scheme)
            orders = observed_orders([1 / n for n in cells], e[:, 0])
            order_text = ", ".join(f"{o:.2f}" for o in orders)
            rows.append([name, scheme, fmt(list(e[:, 0])), order_text, f"{e[:, 2].min():.1e}"])
    table(
        "2-D OU stationary density (demo drift, ε² = 0.05), relative L2, cells 32/64/128",
        ["Q", "scheme", "ρ errors", "orders", "min ρ/max ρ"],
        rows,
    )


if __name__ == "__main__":
    double_well()
    radial_ou()
    ball()
    anisotropic_stationary()
