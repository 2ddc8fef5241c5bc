"""The case-level commands behind the CLI: ``run_case`` (one run or a ``[sweep]``) and ``plot_directory``.

``load_case`` (:mod:`fpsolve.cases.schema`) and ``validate_case`` (:mod:`fpsolve.cases.validate`)
complete the set; all four are in the public API (:mod:`fpsolve`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from mpi4py import MPI

from fpsolve.cases.runner import discretise_case, draw_figures, run_into
from fpsolve.cases.schema import Case
from fpsolve.cases.sweep import run_sweep, sweep_figures
from fpsolve.cases.validate import validation_figures
from fpsolve.errors import FpsolveError
from fpsolve.log import report
from fpsolve.output.files import ResultDirectory, add_to_manifest
from fpsolve.output.style import written

__all__ = ["plot_directory", "run_case"]


def run_case(
    case: Case, out: Path | None = None, overwrite: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Run all analyses of ``case`` (every point of its ``[sweep]``); return the summary.

    The results appear in ``out`` (default: the case's ``output.directory``) only when the run
    succeeds (:class:`~fpsolve.output.files.ResultDirectory`); ``summary.json`` is the summary.
    """
    target = Path(out or case.output_dir)
    if case.sweep:
        return run_sweep(case, target, overwrite, progress)
    t0 = time.perf_counter()
    disc = discretise_case(case)
    setup = time.perf_counter() - t0
    with ResultDirectory(target, overwrite) as result:  # only once the input is valid
        summary = run_into(case, disc, result.path, progress, setup)
    report(f"outputs in {target.resolve()}")
    return summary


def plot_directory(out: Path, comm: MPI.Comm = MPI.COMM_WORLD) -> list[Path]:
    """Draw again every figure of the result in ``out`` from its files (no solve); returns the paths.

    Works on ``fpsolve run`` results (every analysis type, sweeps with their runs) and on ``fpsolve
    validate`` results. The new figures are added to the directory's manifest.
    """
    out = Path(out)
    error, kind, record = None, None, None
    if comm.rank == 0:
        for name in ("summary.json", "validation.json"):
            try:
                record = json.loads((out / name).read_text())
                kind = name
                break
            except FileNotFoundError:
                continue
            except (OSError, ValueError) as exc:
                error = f"cannot plot {out}: {name} is unreadable ({exc})"
                break
        if error is None and (not isinstance(record, dict) or "case" not in record):
            error = f"cannot plot {out}: no fpsolve summary.json or validation.json there"
    error, kind, record = comm.bcast((error, kind, record), root=0)
    if error:
        raise FpsolveError(error)
    if kind == "validation.json":
        made = validation_figures(out, record, comm)
    elif "runs" in record:
        made = [
            p for run in record["runs"] for p in draw_figures(out / run["directory"], run["summary"], comm)
        ]
        made += sweep_figures(out, record, comm)
    else:
        made = draw_figures(out, record, comm)
    made = written(made)
    add_to_manifest(out, made, comm)
    return made
