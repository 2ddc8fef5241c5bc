"""The shipped collapse cases: sweep points on both sides of the criterion, claims that name their checks.

cases/chen_quartic_well.toml runs end to end on a coarse uniform mesh (its claims must resolve; the
graded mesh of the case itself is what makes them pass); cases/rank_collapse.toml is checked without
finite elements (its discretisation alone costs about 15 s): λ at each sweep point and the claims'
check names.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from scipy.special import gammainc

from fpsolve.cases.schema import load_case, parse_case, sweep_override
from fpsolve.cases.sweep import run_sweep
from fpsolve.problem.collapse_criterion import normal_exponent

CASES = Path(__file__).resolve().parents[3] / "cases"


def test_chen_quartic_well_sweeps_across_the_threshold(tmp_out: Path) -> None:
    case = load_case(CASES / "chen_quartic_well.toml")
    raw = copy.deepcopy(case.raw)
    raw["domain"] = {"type": "interval", "lo": [0.0], "hi": [8.0], "cells": [160]}
    raw["analysis"][0]["dt"] = 0.2
    raw["output"] = {"figures": False}
    coarse = parse_case(raw, case.path)
    result = run_sweep(coarse, tmp_out / "chen", overwrite=False, progress=False)
    assert len(result["claims"]) == 6  # every claim found its check
    for run, eps2 in zip(result["runs"], (0.5, 1.0, 3.125), strict=True):
        record = run["summary"]["observables"]["transient"]["collapse"]
        assert record["lyapunov_exponent"] == pytest.approx(1.5 - eps2, abs=1e-8)
        (limit,) = [c for c in run["summary"]["checks"] if " at t=40 against " in c["name"]]
        k = max(1.5 / (2 * eps2) - 0.5, 0.0)
        assert limit["reference"] == pytest.approx(gammainc(k, 0.01 / (2 * eps2)), rel=1e-14)
    final = [r["summary"]["observables"]["transient"]["collapse"]["fraction"][-1] for r in result["runs"]]
    assert final[0] < 0.05 < final[1] < 0.5 < final[2]  # the coarse mesh orders them; the case converges


def test_rank_collapse_sweep_points_lie_on_both_sides_of_the_criterion() -> None:
    case = load_case(CASES / "rank_collapse.toml")
    (analysis,) = case.analyses
    late = [t for t in analysis.output_times if t >= analysis.t_end / 2]
    box = (np.array([0.0, -1.5]), np.array([3.0, 1.5]))  # meshes/make_graded_strip.py's defaults
    signs = []
    for point in case.sweep:
        sub = parse_case(sweep_override(case.raw, point), case.path)
        signs.append(np.sign(normal_exponent(sub.problem, sub.analyses[0].collapse.aset, box).exponent))
    assert signs == [1.0, -1.0]  # eta = 0.02: no collapse; 0.16: collapse
    names = {
        f"[model.eta={p['model.eta']:g}] transient: collapse slope of log median distance over t in "
        f"[{late[0]:g}, {late[-1]:g}] against min(lambda, 0)"
        for p in case.sweep
    }
    assert {c.check for c in case.claims} == names
