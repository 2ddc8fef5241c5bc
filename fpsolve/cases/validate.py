r"""``fpsolve validate``: the case's finite-element answers against Monte Carlo paths, with a verdict.

Every analysis that can be compared with paths does so (:meth:`fpsolve.analyses.base.Analysis.validate`:
moments and test-function integrals of ρ for stationary and transient analyses, exit times, mass in
a ball, …), each against Euler–Maruyama ensembles of the same symbolic problem
(:mod:`fpsolve.sde.montecarlo`) run with Δt and Δt/2. A comparison passes iff

.. math::  |\text{FE} - \text{MC}_{\Delta t/2}|
           \le k\,\mathrm{s.e.} + |\text{MC}_{\Delta t} - \text{MC}_{\Delta t/2}|,

``k = validate.sigmas`` (default 4): the statistical error plus an estimate of the remaining time-step
bias of the weak-order-1 scheme (the Δt/2 result still carries about that much). ``[model]`` cases with
``validate.sgd_eta_factors`` also run real mini-batch SGD against its SDE (:mod:`fpsolve.cases.eta_sweep`).
Results go to ``validation.json`` (same ``checks`` format as ``summary.json`` plus the MC mean, its
standard error, the number of paths, Δt and the bias estimate) and ``figures/validation*.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mpi4py import MPI

import fpsolve
from fpsolve.analyses import ANALYSES
from fpsolve.analyses.base import Analysis, Context, log_checks
from fpsolve.cases.eta_sweep import eta_sweep, log_sweep
from fpsolve.cases.runner import discretise_case
from fpsolve.cases.schema import Case
from fpsolve.errors import CaseError
from fpsolve.log import get_logger, report
from fpsolve.output.files import ResultDirectory, write_json
from fpsolve.output.sgd_figures import sweep_figure
from fpsolve.output.validation_figures import moments_figure
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.sde.montecarlo import initial_sampler

__all__ = ["validate_case", "validation_figures"]


def validate_case(
    case: Case,
    out: Path | None = None,
    overwrite: bool = False,
    mc_problem: FokkerPlanckProblem | None = None,
) -> dict[str, Any]:
    """Run FE and MC for every analysis of ``case``; write ``validation.json`` and the figures.

    ``mc_problem`` replaces the problem the paths follow (tests use it to show that a wrong FE
    problem is rejected).
    """
    comm = MPI.COMM_WORLD
    truth = mc_problem or case.problem
    if (
        case.model is not None
        and case.validate.sgd_eta_factors
        and not any(a.kind in ("stationary", "transient") for a in case.analyses)
    ):
        raise CaseError("validate.sgd_eta_factors needs a stationary or transient analysis")
    comparable = [a.kind for a in case.analyses if type(a).validate is not Analysis.validate]
    if not comparable:
        kinds = ", ".join(a.kind for a in case.analyses)
        raise CaseError(f"nothing to validate: the case's analyses ({kinds}) have no Monte Carlo comparison")
    disc = discretise_case(case, comm)
    target = Path(out or Path(str(case.output_dir) + "_validation"))
    with ResultDirectory(target, overwrite, comm) as staged:
        result = _validate_into(case, Context(disc, case.petsc, case.name, case.validate), truth, staged.path)
    report(f"validation {'PASSED' if result['passed'] else 'FAILED'}; results in {target.resolve()}")
    return result


def _validate_into(case: Case, ctx: Context, truth: FokkerPlanckProblem, out: Path) -> dict[str, Any]:
    comm = ctx.disc.comm
    settings = case.validate
    t0 = time.perf_counter()
    checks: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    fe_extra: dict[float, Any] = {}
    dt = None
    for analysis in case.analyses:
        v = analysis.validate(ctx, truth)
        if v is None:
            continue
        checks += v.checks
        series += v.record.get("frames", [v.record])
        if v.fe_extra:
            fe_extra, dt = v.fe_extra, v.dt
    if not checks:
        raise CaseError(
            "nothing was compared with Monte Carlo (an escape analysis compares at its start_points and, "
            "with qsd_paths = true, from its QSD)"
        )
    result = {
        "case": case.name,
        "version": fpsolve.__version__,
        "ranks": comm.size,
        "particles": settings.particles,
        "seed": settings.seed,
        "sigmas": settings.sigmas,
        "wall_time_s": time.perf_counter() - t0,
        "analyses": [a.kind for a in case.analyses],
        "series": series,
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }
    if case.model is not None and settings.sgd_eta_factors:
        sample = initial_sampler(truth)
        result["sgd"] = eta_sweep(case, list(fe_extra), fe_extra, sample, dt, comm, ctx.walls)
        log_sweep(result["sgd"])
    write_json(out / "validation.json", result, comm)
    if case.figures:
        result["figures"] = [str(p.relative_to(out)) for p in validation_figures(out, result, comm)]
        write_json(out / "validation.json", result, comm)
    log_checks(checks)
    return result


def validation_figures(out: Path, result: dict[str, Any], comm: MPI.Comm = MPI.COMM_WORLD) -> list[Path]:
    """The figures of a ``validation.json`` record (rank 0; a failing figure is a warning)."""
    made: list[Path] = []
    if comm.rank == 0:
        title, sigmas = result["case"], result["sigmas"]
        try:
            series = result["series"]
            if any("fe_mean" in s for s in series):
                made.append(moments_figure(series, out / "figures" / "validation.png", title))
            for record in series:
                kind = record.get("analysis")
                if kind in ANALYSES and "fe_mean" not in record:
                    made += ANALYSES[kind].validation_figures(out, record, title, sigmas)
            if "sgd" in result:
                made.append(sweep_figure(result["sgd"], title, out / "figures" / "sgd_eta_sweep.png"))
        except Exception as exc:  # noqa: BLE001  (a figure never costs a result)
            get_logger().warning(f"warning: a validation figure could not be drawn: {exc}")
    return comm.bcast(made, root=0)
