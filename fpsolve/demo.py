r"""The default problem of ``fpsolve demo`` / ``make demo``: 2-D anisotropic OU, stationary and transient.

.. math::  dX = -A(X-\mu)dt + \sqrt{2\varepsilon^2}Q^{1/2}dW,\quad A = V^{-1}\mathrm{diag}(4,1)V,
           \ V = \begin{pmatrix}-1&1\\1&1\end{pmatrix},\ Q = \begin{pmatrix}1&.5\\.5&.5\end{pmatrix},
           \ \varepsilon^2 = 0.05 .

The stationary density is :math:`N(\mu,\Sigma)` with :math:`A\Sigma+\Sigma A^T = 2\varepsilon^2Q` and a
non-zero current (A and Q do not commute); the transient run starts from a narrow Gaussian and is
compared with the exact mean/covariance ODE. Every comparison is reported as a check
``{name, value, reference, tolerance, passed}`` in ``summary.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

import ufl
from mpi4py import MPI

import fpsolve
from fpsolve.diagnostics import error_L2, moments
from fpsolve.domain import Cuboid
from fpsolve.exact import (
    ou_covariance,
    ou_mean,
    ou_stationary_covariance,
    ou_stationary_current,
    ou_stationary_density,
)
from fpsolve.io import ResultDirectory, write_fields, write_json
from fpsolve.log import get_logger
from fpsolve.mesh import build_mesh
from fpsolve.operators import Discretisation
from fpsolve.problem import FokkerPlanckProblem, coordinates, gaussian_density
from fpsolve.runner import check, log_checks
from fpsolve.solvers.stationary import StationarySolver
from fpsolve.solvers.transient import TransientSolver
from fpsolve.symbolic import to_ufl

V = np.array([[-1.0, 1.0], [1.0, 1.0]])
A = np.linalg.inv(V) @ np.diag([4.0, 1.0]) @ V
Q = np.array([[1.0, 0.5], [0.5, 0.5]])
EPS2 = 0.05
MU = np.array([0.1, -0.05])


def ou_problem(cells: int, initial: sp.Expr | None = None) -> FokkerPlanckProblem:
    """The demo OU problem on ``[-1.2, 1.2]^2`` (± ≥ 4.5 standard deviations) with ``cells²`` squares."""
    x = sp.Matrix(coordinates(2)) - sp.Matrix(MU)
    drift = -sp.Matrix(A) * x
    box = Cuboid((-1.2, -1.2), (1.2, 1.2), (cells, cells))
    return FokkerPlanckProblem(2, sp.Matrix(Q), EPS2, box, drift=drift, initial=initial, name="ou_2d")


def run(out: Path, overwrite: bool, cells: int = 64) -> dict[str, Any]:
    """Solve the demo problem, write fields and ``summary.json`` under ``out``; return the summary."""
    with ResultDirectory(out, overwrite) as staged:
        return _run(staged.path, cells)


def _run(out: Path, cells: int) -> dict[str, Any]:
    log = get_logger()
    comm = MPI.COMM_WORLD
    sigma = ou_stationary_covariance(A, EPS2 * Q)
    t0 = time.perf_counter()

    problem = ou_problem(cells)
    disc = Discretisation(problem, build_mesh(problem.domain, comm))
    log.info(f"demo: 2-D anisotropic OU, {disc.num_dofs()} dofs, scheme {disc.scheme}, {comm.size} rank(s)")
    result = StationarySolver(disc).solve()
    J = disc.current(result.rho)
    x = ufl.SpatialCoordinate(disc.msh)
    rho_exact = to_ufl(ou_stationary_density(MU, sigma), x, problem.coords)
    J_exact = to_ufl(ou_stationary_current(A, EPS2 * Q, MU), x, problem.coords)
    err_rho = error_L2(result.rho, rho_exact, disc.msh, relative=True)
    err_J = error_L2(J, J_exact, disc.msh, relative=True)
    paths = write_fields(out, [result.rho, J])
    checks = [
        # tolerances: twice the errors of the convergence study in docs/numerics.md at 64 cells
        check("stationary: relative L2 error of rho", err_rho, 0.0, 0.06),
        check("stationary: relative L2 error of J", err_J, 0.0, 0.4),
        check("stationary: mass", disc.mass(result.rho), 1.0, 1e-12),
        check(
            "stationary: min rho / max rho",
            min(0.0, disc.minimum(result.rho)) / disc.maximum(result.rho),
            0.0,
            1e-9,
        ),
    ]

    m0, s0 = np.array([0.6, 0.3]), 0.02 * np.eye(2)
    transient = ou_problem(cells, initial=gaussian_density(m0, s0))
    tdisc = Discretisation(transient, disc.tagged)
    rho = tdisc.interpolate(transient.initial)
    rho.x.array[:] /= tdisc.mass(rho)
    stepper = TransientSolver(tdisc, dt=2e-3)
    times = [0.1, 0.3, 1.0]
    for t in stepper.run(rho, times):
        mean, cov = moments(rho, tdisc.msh, 2)
        err_m = float(np.abs(mean - ou_mean(A, MU, m0, t)).max())
        err_c = float(np.abs(cov - ou_covariance(A, EPS2 * Q, s0, t)).max() / np.abs(cov).max())
        checks.append(check(f"transient t={t}: max error of mean", err_m, 0.0, 0.01))
        checks.append(check(f"transient t={t}: relative error of covariance", err_c, 0.0, 0.05))
    masses = np.array([r.mass for r in stepper.history])
    mins = np.array([r.min for r in stepper.history])
    checks.append(check("transient: max |mass - 1|", float(np.abs(masses - 1).max()), 0.0, 1e-10))
    checks.append(check("transient: min rho", min(0.0, float(mins.min())), 0.0, 1e-10))

    summary = {
        "case": "demo: 2-D anisotropic OU",
        "version": fpsolve.__version__,
        "ranks": comm.size,
        "dofs": disc.num_dofs(),
        "scheme": disc.scheme,
        "wall_time_s": time.perf_counter() - t0,
        "afc_iterations": result.iterations,
        "transient_steps": len(stepper.history),
        "outputs": [str(p) for p in paths],
        "checks": checks,
    }
    write_json(out / "summary.json", summary, comm)
    log_checks(checks)
    log.info(f"outputs in {out.resolve()}: {', '.join(p.name for p in paths)}, summary.json")
    return summary
