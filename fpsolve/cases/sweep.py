r"""``[sweep]``: run one case for a list of values of any case key, collect the runs in one summary.

Run k (``<out>/run<k>/``, a full ``fpsolve run`` output) uses the k-th value of every list in
``[sweep]`` (:func:`fpsolve.cases.schema.parse_sweep`). ``<out>/summary.json`` holds the swept values,
each run's summary, every run's checks (names prefixed with the run's values), the fits that the
analyses make across runs (:meth:`fpsolve.analyses.base.Analysis.sweep_fit`; e.g. the Arrhenius slope
of exit times against :math:`1/\varepsilon^2`, the breakdown time of mass concentration against
:math:`\log(1/\varepsilon)`), with their figures and checks, and the case's ``[[claims]]``, each
decided by one of these checks (:mod:`fpsolve.cases.claims`). A sweep over ``domain.cells`` or
``domain.h`` also records ``convergence``: each check's error against the mesh size h and its observed
orders (:mod:`fpsolve.cases.convergence`), drawn in ``figures/convergence.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dolfinx
from mpi4py import MPI

import fpsolve
from fpsolve.analyses import ANALYSES
from fpsolve.analyses.base import log_checks
from fpsolve.cases.claims import log_claims, resolve_claims
from fpsolve.cases.convergence import convergence, mesh_size, varies_mesh
from fpsolve.cases.runner import discretise_case, run_into
from fpsolve.cases.schema import Case, parse_case, sweep_override
from fpsolve.discretisation.functionals import integral
from fpsolve.discretisation.operators import Discretisation
from fpsolve.log import get_logger, report
from fpsolve.output.convergence_figure import convergence_figure
from fpsolve.output.files import ResultDirectory, write_json

__all__ = ["run_sweep", "sweep_figures", "sweep_fits"]


def _label(point: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in point.items())


def _mesh_size(disc: Discretisation) -> float:
    r"""Mesh size h = (|Ω| / N)^{1/d} of ``disc``'s mesh (:func:`~fpsolve.cases.convergence.mesh_size`)."""
    msh = disc.msh
    volume = integral(dolfinx.fem.Constant(msh, 1.0), msh)
    cells = msh.topology.index_map(msh.topology.dim).size_global
    return mesh_size(volume, cells, msh.topology.dim)


def run_sweep(case: Case, out: Path, overwrite: bool, progress: bool) -> dict[str, Any]:
    """Run every sweep point of ``case`` into ``out``; return (and write) the collected summary."""
    with ResultDirectory(out, overwrite) as staged:
        result = _sweep_into(case, staged.path, progress)
    report(f"outputs in {out.resolve()}")
    return result


def _sweep_into(case: Case, out: Path, progress: bool) -> dict[str, Any]:
    comm = MPI.COMM_WORLD
    log = get_logger()
    t0 = time.perf_counter()
    names = list(case.sweep[0])
    result: dict[str, Any] = {
        "case": case.name,
        "case_file": str(case.path),
        "version": fpsolve.__version__,
        "ranks": comm.size,
        "sweep": {name: [p[name] for p in case.sweep] for name in names},
        "analyses": [a.kind for a in case.analyses],
        "runs": [],
        "checks": [],
    }
    sizes = []
    for k, point in enumerate(case.sweep):
        log.info(f"sweep run {k + 1}/{len(case.sweep)}: {_label(point)}")
        sub = parse_case(sweep_override(case.raw, point), case.path)  # without the claims
        run_dir = out / f"run{k:02d}"
        if comm.rank == 0:
            run_dir.mkdir()
        comm.Barrier()
        disc = discretise_case(sub, comm)
        summary = run_into(sub, disc, run_dir, progress)
        sizes.append(_mesh_size(disc))
        result["runs"].append({"values": point, "directory": f"run{k:02d}", "summary": summary})
        result["checks"] += [dict(c, name=f"[{_label(point)}] {c['name']}") for c in summary["checks"]]
    result["fits"] = sweep_fits(result["runs"], result["analyses"])
    result["checks"] += [c for fit in result["fits"].values() for c in fit.get("checks", [])]
    result["claims"] = resolve_claims(case.claims, result["checks"])
    record = convergence(sizes, [r["summary"] for r in result["runs"]]) if varies_mesh(names) else None
    if record is not None:
        result["convergence"] = record
    result["wall_time_s"] = time.perf_counter() - t0
    write_json(out / "summary.json", result, comm)
    if case.figures:
        result["figures"] = [str(p.relative_to(out)) for p in sweep_figures(out, result, comm)]
        write_json(out / "summary.json", result, comm)
    log.info("sweep checks:")
    log_checks(result["checks"])
    log_claims(result["claims"])
    for kind, fit in result["fits"].items():
        slopes = {
            k: v
            for k, v in fit.items()
            if k.startswith(("slope", "exponent"))
            or k in ("barrier", "predicted_slope", "predicted_exponent")
        }
        log.info(f"sweep fit ({kind}): {slopes}")
    if record is not None:
        _report_orders(record)
    return result


def _report_orders(record: dict[str, Any]) -> None:
    """One line per check of the convergence record: its observed orders (a result: shown with --quiet)."""
    h = ", ".join(f"{v:.4g}" for v in record["h"])
    report(f"convergence over the mesh, h = {record['h_definition']} = {h}:")
    for name, curve in record["checks"].items():
        report(
            f"  {name}: order {curve['order_least_squares']:.3f} (least squares), "
            f"{curve['order_finest_pair']:.3f} (finest pair)"
        )
    for name, why in record["skipped"].items():
        report(f"  {name}: no order ({why})")


def sweep_fits(runs: list[dict[str, Any]], kinds: list[str]) -> dict[str, Any]:
    """Each analysis's fit across the runs (analyses without one, or with < 2 runs, are left out)."""
    summaries = [r["summary"] for r in runs]
    fits = {kind: ANALYSES[kind].sweep_fit(summaries) for kind in dict.fromkeys(kinds)}
    return {kind: fit for kind, fit in fits.items() if fit is not None}


def sweep_figures(out: Path, result: dict[str, Any], comm: MPI.Comm = MPI.COMM_WORLD) -> list[Path]:
    """The fits' figures and ``figures/convergence.png`` of a mesh sweep (rank 0; a failing figure warns)."""
    made: list[Path] = []
    if comm.rank == 0:
        for kind, fit in result["fits"].items():
            try:
                made += ANALYSES[kind].sweep_figures(out, fit, result["case"])
            except Exception as exc:  # noqa: BLE001  (a figure never costs a result)
                get_logger().warning(f"warning: the {kind} sweep figures could not be drawn: {exc}")
        if "convergence" in result:
            try:
                target = out / "figures" / "convergence.png"
                made.append(convergence_figure(target, result["convergence"], result["case"]))
            except Exception as exc:  # noqa: BLE001
                get_logger().warning(f"warning: the convergence figure could not be drawn: {exc}")
    return comm.bcast(made, root=0)
