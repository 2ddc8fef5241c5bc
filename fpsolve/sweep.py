r"""``[sweep]``: run one case for a list of values of any case key, collect the runs in one summary.

Run k (``<out>/run<k>/``, a full ``fpsolve run`` output) uses the k-th value of every list in
``[sweep]`` (:func:`fpsolve.case_extras.parse_sweep`). ``<out>/summary.json`` holds the swept values,
each run's summary, every run's checks (names prefixed with the run's values) and the fits:

* exit-time runs: :math:`\log T(x_0)` against :math:`1/\varepsilon^2` at each start point — least-squares
  slope over all runs and over the two smallest ε (the local Arrhenius slope), next to
  :math:`\Delta L = \min_{\partial D} L - L(x_0)`; figure ``figures/sweep_exit_time.png``;
* mass-concentration runs: breakdown time against :math:`\log(1/\varepsilon)` (FE, exact OU when
  given, Chebyshev bound), least-squares slopes next to the prediction 2/λ of
  :math:`T_\varepsilon = (2/\lambda)\log(R_0/(a\varepsilon))`; figure
  ``figures/sweep_mass_concentration.png``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from mpi4py import MPI

import fpsolve
from fpsolve.case import Case, parse_case
from fpsolve.case_extras import sweep_override
from fpsolve.io import ResultDirectory, write_json
from fpsolve.log import get_logger
from fpsolve.mesh import build_mesh
from fpsolve.operators import Discretisation


def _label(point: dict[str, float]) -> str:
    return ", ".join(f"{name}={value:g}" for name, value in point.items())


def run_sweep(case: Case, out: Path | None, overwrite: bool, progress: bool) -> dict[str, Any]:
    """Run every sweep point of ``case``; return (and write) the collected summary."""
    comm = MPI.COMM_WORLD
    target = Path(out or case.output_dir)
    with ResultDirectory(target, overwrite, comm) as staged:
        result = _sweep_into(case, staged.path, progress)
    get_logger().info(f"outputs in {target.resolve()}")
    return result


def _sweep_into(case: Case, out: Path, progress: bool) -> dict[str, Any]:
    from fpsolve.runner import log_checks, run_into

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
        disc = Discretisation(sub.problem, build_mesh(sub.problem.domain, comm), sub.degree, sub.scheme)
        summary = run_into(sub, disc, run_dir, progress)
        result["runs"].append({"values": point, "directory": f"run{k:02d}", "summary": summary})
        result["checks"] += [dict(c, name=f"[{_label(point)}] {c['name']}") for c in summary["checks"]]
    result["fits"] = sweep_fits(result["runs"])
    result["wall_time_s"] = time.perf_counter() - t0
    if case.figures and comm.rank == 0:
        from fpsolve.exit_figures import sweep_figures

        result["figures"] = [str(p.relative_to(out)) for p in sweep_figures(out, result["fits"], case.name)]
    write_json(out / "summary.json", result, comm)
    log.info("sweep checks:")
    log_checks(result["checks"])
    for kind, fit in result["fits"].items():
        slopes = {
            k: v for k, v in fit.items() if k.startswith("slope") or k in ("barrier", "predicted_slope")
        }
        log.info(f"sweep fit ({kind}): {slopes}")
    return result


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept (NaN with fewer than two points)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x[ok], y[ok], 1)
    return float(slope), float(intercept)


def sweep_fits(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Fits across the runs (see the module docstring); analyses absent from the runs are left out."""
    fits: dict[str, Any] = {}
    exit_runs = [r["summary"] for r in runs if "exit_time" in r["summary"]["observables"]]
    if len(exit_runs) >= 2:
        order = np.argsort([-s["eps2"] for s in exit_runs])  # increasing 1/ε²
        exit_runs = [exit_runs[i] for i in order]
        inv = np.array([1.0 / s["eps2"] for s in exit_runs])
        obs = [s["observables"]["exit_time"] for s in exit_runs]
        log_t = np.log(np.array([o["start_points"]["T"] for o in obs]))
        fits["exit_time"] = {
            "inverse_eps2": inv.tolist(),
            "start_points": obs[0]["start_points"]["points"],
            "log_T": log_t.tolist(),
            "log_lower_bound": np.log([o["start_points"]["lower_bound"][0] for o in obs]).tolist(),
            "log_upper_bound": np.log([o["start_points"]["upper_bound"][0] for o in obs]).tolist(),
            "slopes": [_slope(inv, log_t[:, k])[0] for k in range(log_t.shape[1])],
            "slopes_smallest_eps": [_slope(inv[-2:], log_t[-2:, k])[0] for k in range(log_t.shape[1])],
            "barrier": obs[0]["arrhenius_barrier"],
        }
    conc = [r["summary"] for r in runs if "mass_concentration" in r["summary"]["observables"]]
    if len(conc) >= 2:
        recs = [s["observables"]["mass_concentration"] for s in conc]
        x = np.array([-0.5 * np.log(r["eps2"]) for r in recs])
        entry: dict[str, Any] = {"log_inverse_eps": x.tolist(), "threshold": recs[0]["threshold"]}
        for kind in ("fe", "exact", "chebyshev"):
            y = np.array([np.nan if r[f"breakdown_{kind}"] is None else r[f"breakdown_{kind}"] for r in recs])
            slope, intercept = _slope(x, y)
            entry[f"breakdown_{kind}"] = [None if np.isnan(v) else float(v) for v in y]
            entry[f"slope_{kind}"] = None if np.isnan(slope) else slope
            entry[f"intercept_{kind}"] = None if np.isnan(intercept) else intercept
        entry["predicted_slope"] = 2.0 / recs[0]["lambda"]
        entry["curves"] = [
            {"eps2": r["eps2"], "t": r["t"], "beta_fe": r["beta_fe"], "beta_exact": r["beta_exact"]}
            for r in recs
        ]
        fits["mass_concentration"] = entry
    return fits
