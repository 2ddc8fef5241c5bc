r"""``[sweep]``: run one case for a list of values of any case key, collect the runs in one summary.

Run k (``<out>/run<k>/``, a full ``fpsolve run`` output) uses the k-th value of every list in
``[sweep]`` (:func:`fpsolve.cases.schema.parse_sweep`). ``<out>/summary.json`` holds the swept values,
each run's summary, every run's checks (names prefixed with the run's values) and the fits that the
analyses make across runs (:meth:`fpsolve.analyses.base.Analysis.sweep_fit`; e.g. the Arrhenius slope
of exit times against :math:`1/\varepsilon^2`, the breakdown time of mass concentration against
:math:`\log(1/\varepsilon)`), with their figures.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mpi4py import MPI

import fpsolve
from fpsolve.analyses import ANALYSES
from fpsolve.analyses.base import log_checks
from fpsolve.cases.runner import discretise_case, run_into
from fpsolve.cases.schema import Case, parse_case, sweep_override
from fpsolve.log import get_logger, report
from fpsolve.output.files import ResultDirectory, write_json

__all__ = ["run_sweep", "sweep_figures", "sweep_fits"]


def _label(point: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in point.items())


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
    for k, point in enumerate(case.sweep):
        log.info(f"sweep run {k + 1}/{len(case.sweep)}: {_label(point)}")
        sub = parse_case(sweep_override(case.raw, point), case.path)
        run_dir = out / f"run{k:02d}"
        if comm.rank == 0:
            run_dir.mkdir()
        comm.Barrier()
        summary = run_into(sub, discretise_case(sub, comm), run_dir, progress)
        result["runs"].append({"values": point, "directory": f"run{k:02d}", "summary": summary})
        result["checks"] += [dict(c, name=f"[{_label(point)}] {c['name']}") for c in summary["checks"]]
    result["fits"] = sweep_fits(result["runs"], result["analyses"])
    result["wall_time_s"] = time.perf_counter() - t0
    write_json(out / "summary.json", result, comm)
    if case.figures:
        result["figures"] = [str(p.relative_to(out)) for p in sweep_figures(out, result, comm)]
        write_json(out / "summary.json", result, comm)
    log.info("sweep checks:")
    log_checks(result["checks"])
    for kind, fit in result["fits"].items():
        slopes = {
            k: v for k, v in fit.items() if k.startswith("slope") or k in ("barrier", "predicted_slope")
        }
        log.info(f"sweep fit ({kind}): {slopes}")
    return result


def sweep_fits(runs: list[dict[str, Any]], kinds: list[str]) -> dict[str, Any]:
    """Each analysis's fit across the runs (analyses without one, or with < 2 runs, are left out)."""
    summaries = [r["summary"] for r in runs]
    fits = {kind: ANALYSES[kind].sweep_fit(summaries) for kind in dict.fromkeys(kinds)}
    return {kind: fit for kind, fit in fits.items() if fit is not None}


def sweep_figures(out: Path, result: dict[str, Any], comm: MPI.Comm = MPI.COMM_WORLD) -> list[Path]:
    """The fits' figures (rank 0; a failing figure is a warning)."""
    made: list[Path] = []
    if comm.rank == 0:
        for kind, fit in result["fits"].items():
            try:
                made += ANALYSES[kind].sweep_figures(out, fit, result["case"])
            except Exception as exc:  # noqa: BLE001  (a figure never costs a result)
                get_logger().warning(f"warning: the {kind} sweep figures could not be drawn: {exc}")
    return comm.bcast(made, root=0)
