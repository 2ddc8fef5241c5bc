r"""Run a :class:`~fpsolve.cases.schema.Case`: every analysis, then its files, summary and figures.

Writes to the output directory (:class:`~fpsolve.output.files.ResultDirectory`: atomically, only on
success): ``<kind>.xdmf`` + ``<kind>.h5`` with every field of each analysis at every time,
``observables.csv`` (time series), ``<kind>_figure.npz`` (figure data), ``summary.json`` (case,
version, ranks, DOFs, timings, the analyses, observables, a ``checks`` list of ``{name, value,
reference, tolerance, passed}`` and ``claims``: each ``[[claims]]`` entry with the value, reference,
tolerance and verdict of its check, :mod:`fpsolve.cases.claims`) and then ``figures/*.png`` (or the
``--format``\ s chosen) drawn on rank 0 from those files, their drawing time in ``timings.figures``. A
figure that cannot be drawn is a warning, never a lost result.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mpi4py import MPI

import fpsolve
from fpsolve.analyses import ANALYSES
from fpsolve.analyses.base import Context, Result, log_checks
from fpsolve.cases.claims import log_claims, resolve_claims
from fpsolve.cases.schema import Case
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.log import get_logger
from fpsolve.output.files import write_csv, write_json, write_result
from fpsolve.output.style import written
from fpsolve.solvers.mesh_adaptation import adapt_mesh

__all__ = ["discretise_case", "draw_figures", "run_into"]


def discretise_case(case: Case, comm: MPI.Comm = MPI.COMM_WORLD) -> Discretisation:
    """Mesh (adapted by ``[mesh.adapt]``) and discretisation of ``case`` (checks Q ⪰ 0, boundary parts)."""
    mesh = build_mesh(case.problem.domain, comm)
    if case.adapt is not None:
        mesh, _ = adapt_mesh(case.problem, mesh, case.adapt, case.scheme, case.petsc)
    return Discretisation(case.problem, mesh, case.degree, case.scheme, check_points=case.check_points)


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
        **({"mesh_adaptation": list(tm.adaptation)} if tm.adaptation else {}),
        "scheme": case.scheme,
        "degree": case.degree,
        "eps2": case.problem.eps2,
        "coordinates": list(case.model.parameters) if case.model else [str(c) for c in case.problem.coords],
        "rank_Q": disc.rank_Q,
        "petsc": case.petsc,
        "analyses": [a.kind for a in case.analyses],
        "timings": timings,
        "observables": {},
        "checks": [],
        "fields": [],
    }
    ctx = Context(disc, case.petsc, case.name, case.validate, progress, case.figures)
    rows: list[dict[str, float]] = []
    for k, analysis in enumerate(case.analyses):
        t1 = time.perf_counter()
        result: Result = analysis.run(ctx)
        summary["observables"].update(result.observables)
        summary["checks"] += result.checks
        summary["fields"] += write_result(out, analysis.kind, result, comm)
        rows += result.table
        timings[f"analysis_{k}_{type(analysis).__name__}"] = time.perf_counter() - t1
    summary["claims"] = resolve_claims(case.claims, summary["checks"])
    if rows:
        write_csv(out / "observables.csv", rows, comm)
    timings["total"] = time.perf_counter() - t0
    write_json(out / "summary.json", summary, comm)
    if case.figures:
        t1 = time.perf_counter()
        summary["figures"] = [str(p.relative_to(out)) for p in draw_figures(out, summary, comm)]
        timings["figures"] = time.perf_counter() - t1
        timings["total"] = time.perf_counter() - t0
        write_json(out / "summary.json", summary, comm)
    log_checks(summary["checks"])
    log_claims(summary["claims"])
    return summary


def draw_figures(out: Path, summary: dict[str, Any], comm: MPI.Comm = MPI.COMM_WORLD) -> list[Path]:
    """Every analysis's figures from the files in ``out`` (rank 0; the paths on every rank).

    A failing figure is logged as a warning: the results it would show are already on disk.
    """
    made: list[Path] = []
    if comm.rank == 0:
        title = summary.get("case", out.name)
        for kind in dict.fromkeys(summary.get("analyses", [])):
            try:
                made += ANALYSES[kind].figures(out, summary, title)
            except Exception as exc:  # noqa: BLE001  (a figure never costs a result)
                get_logger().warning(f"warning: the {kind} figures could not be drawn: {exc}")
        made = written(made)
    return comm.bcast(made, root=0)
