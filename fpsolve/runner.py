"""Run a :class:`~fpsolve.case.Case`: every analysis, its fields, observables, checks and figures.

Writes to the output directory: ``<field>.pvd`` (+ ``.pvtu``/``.vtu`` pieces) for ρ and J of each
analysis, ``observables.csv`` (transient time series), ``summary.json`` (case, version, ranks, DOFs,
timings, observables and a ``checks`` list of ``{name, value, reference, tolerance, passed}``) and
``figures/*.png`` (rank 0, from the written files).
"""

from __future__ import annotations

import csv
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

import ufl
from mpi4py import MPI

import fpsolve
from fpsolve.case import Case, StationaryAnalysis, TransientAnalysis
from fpsolve.case_extras import ExitTimeAnalysis, MassConcentrationAnalysis
from fpsolve.diagnostics import error_L2, moments
from fpsolve.exact import (
    linear_drift,
    ou_covariance,
    ou_mean,
    ou_stationary_covariance,
    ou_stationary_current,
    ou_stationary_density,
)
from fpsolve.io import FieldWriter, ResultDirectory, write_fields, write_json
from fpsolve.log import get_logger
from fpsolve.mesh import build_mesh
from fpsolve.operators import Discretisation
from fpsolve.solvers.stationary import StationarySolver
from fpsolve.solvers.transient import TransientSolver
from fpsolve.symbolic import to_ufl

#: Mass is conserved to round-off of the LU solves (1e-14 per step measured); 1e-10 leaves room for
#: 1e4 steps. Positivity: AFC/upwind ρ ≥ 0 up to the fixed-point tolerance 1e-10 (relative).
MASS_TOL = 1e-10
POSITIVITY_TOL = 1e-9


def check(name: str, value: float, reference: float, tolerance: float) -> dict[str, Any]:
    """One comparison record: passed iff ``|value − reference| ≤ tolerance``."""
    value, reference, tolerance = float(value), float(reference), float(tolerance)
    return {
        "name": name,
        "value": value,
        "reference": reference,
        "tolerance": tolerance,
        "passed": bool(abs(value - reference) <= tolerance),
    }


def log_checks(checks: list[dict[str, Any]]) -> None:
    """Log one line per check (rank 0)."""
    log = get_logger()
    for c in checks:
        mark = "ok  " if c["passed"] else "FAIL"
        against = f" vs {c['reference']:.4e}" if c["reference"] != 0 else ""
        log.info(f"  [{mark}] {c['name']}: {c['value']:.4e}{against} (tolerance {c['tolerance']:.1e})")


def run_case(
    case: Case, out: Path | None = None, overwrite: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Run all analyses of ``case``; return the summary (also written to ``summary.json``).

    The results appear in ``out`` (default: the case's ``output.directory``) only when the run
    succeeds (:class:`~fpsolve.io.ResultDirectory`).
    """
    if case.sweep:
        from fpsolve.sweep import run_sweep

        return run_sweep(case, out, overwrite, progress)
    t0 = time.perf_counter()
    tm = build_mesh(case.problem.domain, MPI.COMM_WORLD)
    disc = Discretisation(case.problem, tm, degree=case.degree, scheme=case.scheme)  # checks Q ⪰ 0
    setup = time.perf_counter() - t0
    target = Path(out or case.output_dir)
    with ResultDirectory(target, overwrite) as result:  # only once the input is valid
        summary = run_into(case, disc, result.path, progress, setup)
    get_logger().info(f"outputs in {target.resolve()}")
    return summary


def run_into(
    case: Case, disc: Discretisation, out: Path, progress: bool = True, setup: float = 0.0
) -> dict[str, Any]:
    """Run all analyses of ``case`` on ``disc``, writing into the existing directory ``out``.

    ``setup`` is the time already spent on the mesh and the discretisation (seconds).
    """
    comm = disc.comm
    log = get_logger()
    t0 = time.perf_counter() - setup
    tm = disc.tagged
    timings: dict[str, float] = {"setup": setup}
    ncells = tm.mesh.topology.index_map(tm.mesh.topology.dim).size_global
    log.info(
        f"{case.name}: {disc.num_dofs()} dofs, {ncells} cells, scheme {case.scheme}, {comm.size} rank(s)"
    )
    summary: dict[str, Any] = {
        "case": case.name,
        "case_file": str(case.path),
        "version": fpsolve.__version__,
        "ranks": comm.size,
        "dofs": disc.num_dofs(),
        "cells": ncells,
        "scheme": case.scheme,
        "degree": case.degree,
        "eps2": case.problem.eps2,
        "rank_Q": disc.rank_Q,
        "petsc": case.petsc,
        "timings": timings,
        "observables": {},
        "checks": [],
        "fields": [],
    }
    rows: list[dict[str, float]] = []
    for k, analysis in enumerate(case.analyses):
        t1 = time.perf_counter()
        if isinstance(analysis, StationaryAnalysis):
            _stationary(case, disc, analysis, out, summary)
        elif isinstance(analysis, ExitTimeAnalysis):
            from fpsolve.exit_analysis import run_exit_time

            run_exit_time(case, disc, analysis, out, summary)
        elif isinstance(analysis, MassConcentrationAnalysis):
            from fpsolve.concentration import run_mass_concentration

            run_mass_concentration(case, disc, analysis, out, summary)
        else:
            rows += _transient(case, disc, analysis, out, summary, progress)
        timings[f"analysis_{k}_{type(analysis).__name__}"] = time.perf_counter() - t1
    if rows and comm.rank == 0:
        with open(out / "observables.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    timings["total"] = time.perf_counter() - t0
    write_json(out / "summary.json", summary, comm)
    if case.figures:
        from fpsolve.viz import plot_directory

        made = [str(p.relative_to(out)) for p in plot_directory(out, comm)]
        summary["figures"] = summary.get("figures", []) + made
        write_json(out / "summary.json", summary, comm)
    log_checks(summary["checks"])
    return summary


def _stationary(case: Case, disc: Discretisation, a: StationaryAnalysis, out: Path, summary: dict) -> None:
    res = StationarySolver(disc, petsc_options=case.petsc).solve()
    rho = res.rho
    rho.name = "rho_stationary"
    J = disc.current(rho, name="J_stationary")
    summary["fields"] += [str(p.name) for p in write_fields(out, [rho, J])]
    mean, cov = moments(rho, disc.msh, case.problem.dim)
    rmin, rmax = disc.minimum(rho), disc.maximum(rho)
    summary["observables"]["stationary"] = {
        "mean": mean.tolist(),
        "covariance": cov.tolist(),
        "min": rmin,
        "max": rmax,
        "afc_iterations": res.iterations,
        "pinned_dof": res.pinned_dof,
    }
    checks = summary["checks"]
    checks.append(check("stationary: mass", disc.mass(rho), 1.0, MASS_TOL))
    if disc.positive:
        checks.append(check("stationary: min rho / max rho", min(rmin, 0.0) / rmax, 0.0, POSITIVITY_TOL))
    if a.reference == "ou":
        A, mu, K = linear_drift(case.problem)
        sigma = ou_stationary_covariance(A, K)
        x = ufl.SpatialCoordinate(disc.msh)
        rho_ex = to_ufl(ou_stationary_density(mu, sigma), x, case.problem.coords)
        J_ex = to_ufl(ou_stationary_current(A, K, mu), x, case.problem.coords)
        checks.append(
            check(
                "stationary: rel. L2 error of rho vs N(mu, Sigma)",
                error_L2(rho, rho_ex, disc.msh, True),
                0.0,
                a.rho_tolerance,
            )
        )
        # detailed balance (AK = KAᵀ) makes the exact current 0: measure J against the drift flux βρ
        flux = error_L2(disc.beta * rho_ex, 0 * rho_ex * disc.beta, disc.msh)
        if np.abs(A @ K - K @ A.T).max() <= 1e-12 * np.abs(A @ K).max():
            name, err = (
                "stationary: |J| / |beta rho| (detailed balance: exact J = 0)",
                error_L2(J, 0 * J, disc.msh) / flux,
            )
        else:
            name, err = "stationary: rel. L2 error of J vs exact current", error_L2(J, J_ex, disc.msh, True)
        checks.append(check(name, err, 0.0, a.current_tolerance))
    if a.kwon:
        from fpsolve.broken_balance import stationary_currents

        stationary_currents(case, disc, a, rho, J, out, summary)


def _transient(
    case: Case, disc: Discretisation, a: TransientAnalysis, out: Path, summary: dict, progress: bool
) -> list[dict[str, float]]:
    comm = disc.comm
    rho = disc.interpolate(case.problem.initial, name="rho_transient")
    rho.x.array[:] /= disc.mass(rho)
    rho.x.scatter_forward()
    solver = TransientSolver(disc, a.dt, method=a.method, petsc_options=case.petsc)
    writer = FieldWriter(out, rho)
    writer.write(0.0)
    dim = case.problem.dim
    rows = [_row(0.0, disc, rho, dim)]
    reference = linear_drift(case.problem) if a.reference == "ou" else None
    m0, s0 = moments(rho, disc.msh, dim) if reference is not None else (None, None)
    checks = summary["checks"]
    bar = _progress(comm, progress)
    with bar or nullcontext():
        if bar is not None:
            task = bar.add_task(f"{case.name}: transient", total=a.t_end)
            solver.on_step = lambda rec: bar.update(task, completed=rec.t)
        for t in solver.run(rho, a.output_times):
            writer.write(t)
            rows.append(_row(t, disc, rho, dim))
            if reference is not None:
                A, mu, K = reference
                mean, cov = moments(rho, disc.msh, dim)
                ref_m, ref_c = ou_mean(A, mu, m0, t), ou_covariance(A, K, s0, t)
                scale = float(np.sqrt(np.abs(np.diag(ref_c)).max()))
                checks.append(
                    check(
                        f"transient t={t:g}: max |mean error| / std",
                        np.abs(mean - ref_m).max() / scale,
                        0.0,
                        a.moment_tolerance,
                    )
                )
                checks.append(
                    check(
                        f"transient t={t:g}: max |cov error| / max cov",
                        np.abs(cov - ref_c).max() / np.abs(ref_c).max(),
                        0.0,
                        a.moment_tolerance,
                    )
                )
    writer.close()
    summary["fields"].append(writer.path.name)
    hist = solver.history
    masses = np.array([r.mass for r in hist])
    worst = min(r.min / r.max for r in hist)
    summary["observables"]["transient"] = {
        "steps": len(hist),
        "final_mass": float(masses[-1]),
        "min_over_run": worst,
    }
    if not case.problem.absorbing:
        checks.append(
            check("transient: max |mass - 1| over all steps", np.abs(masses - 1).max(), 0.0, MASS_TOL)
        )
    if disc.positive and a.method == "beuler" or disc.scheme == "upwind":
        checks.append(
            check("transient: min over steps of min rho / max rho", min(worst, 0.0), 0.0, POSITIVITY_TOL)
        )
    return rows


def _row(t: float, disc: Discretisation, rho: Any, dim: int) -> dict[str, float]:
    mean, cov = (
        moments(rho, disc.msh, dim) if disc.mass(rho) > 1e-300 else (np.zeros(dim), np.zeros((dim, dim)))
    )
    row = {"t": t, "mass": disc.mass(rho), "min": disc.minimum(rho), "max": disc.maximum(rho)}
    names = "xyz"[:dim]
    row.update({f"mean_{names[i]}": float(mean[i]) for i in range(dim)})
    row.update({f"cov_{names[i]}{names[j]}": float(cov[i, j]) for i in range(dim) for j in range(i, dim)})
    return row


def _progress(comm: MPI.Comm, enabled: bool) -> Any:
    if not enabled or comm.rank != 0:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("t = {task.completed:.4g}"),
        TimeRemainingColumn(),
    )
