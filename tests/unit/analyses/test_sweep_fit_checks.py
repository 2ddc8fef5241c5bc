"""The claim checks of the sweep fits: exit-time Arrhenius slope against ΔL, breakdown slope against 2/λ.

Synthetic run summaries with known answers (no solve): log T = ΔL/ε² + ½ log ε² + c, whose local slope
between ε² = 0.15 and 0.1 is ΔL − ½·log(1.5)/(10 − 6.67) = ΔL − 0.0608; breakdown times exactly
(2/λ) log(1/ε) + c.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from fpsolve.analyses.exit_time import ExitTimeAnalysis
from fpsolve.analyses.mass_concentration import MassConcentrationAnalysis

EPS2 = (0.3, 0.2, 0.15, 0.1)


def _exit_run(eps2: float, tolerance: float | None, barrier: float = 0.75) -> dict[str, Any]:
    t = math.exp(barrier / eps2 + 0.5 * math.log(eps2) + 1.0)
    at = {"points": [[0.0, 0.0]], "T": [t], "lower_bound": [1.0], "upper_bound": [2 * t]}
    at["theory_upper_bound"] = [2 * t]
    obs = {"start_points": at, "arrhenius_barrier": barrier, "slope_tolerance": tolerance}
    return {"eps2": eps2, "observables": {"exit_time": obs}}


def test_exit_time_slope_check_only_when_asked() -> None:
    fit = ExitTimeAnalysis.sweep_fit([_exit_run(e, 0.15) for e in EPS2])
    (row,) = fit["checks"]
    expected = (0.75 - 0.5 * math.log(1.5) / (10 - 1 / 0.15)) / 0.75
    assert row["value"] == pytest.approx(expected, rel=1e-12) and row["passed"]
    assert ExitTimeAnalysis.sweep_fit([_exit_run(e, None) for e in EPS2])["checks"] == []
    (flat,) = ExitTimeAnalysis.sweep_fit([_exit_run(e, 0.15, barrier=0.0) for e in EPS2])["checks"]
    assert math.isnan(flat["value"]) and not flat["passed"]  # no barrier, no Arrhenius law


def _concentration_run(eps2: float, tolerance: float | None, breakdown: bool = True) -> dict[str, Any]:
    time = 2.0 * math.log(1 / math.sqrt(eps2)) - 1.1 if breakdown else None
    record = {
        "eps2": eps2,
        "lambda": 1.0,
        "threshold": 0.1,
        "slope_tolerance": tolerance,
        "t": [0.0],
        "beta_fe": [0.0],
        "beta_exact": None,
        **{f"breakdown_{k}": time for k in ("fe", "exact", "chebyshev")},
    }
    return {"observables": {"mass_concentration": record}}


def test_breakdown_slope_check_only_when_asked() -> None:
    eps2 = (0.04, 0.02, 0.01, 0.005)
    (row,) = MassConcentrationAnalysis.sweep_fit([_concentration_run(e, 0.01) for e in eps2])["checks"]
    assert row["value"] == pytest.approx(1.0, rel=1e-12) and row["passed"]
    assert MassConcentrationAnalysis.sweep_fit([_concentration_run(e, None) for e in eps2])["checks"] == []
    late = [_concentration_run(e, 0.01, breakdown=False) for e in eps2]
    (none,) = MassConcentrationAnalysis.sweep_fit(late)["checks"]
    assert math.isnan(none["value"]) and not none["passed"]  # no breakdown before t_end: failed
