"""The relaxation analysis: entropy and distance decay rates against the spectral gap, OU entropy exact."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fpsolve.analyses.relaxation import RelaxationAnalysis, fit_decay, step_rate
from fpsolve.cases.commands import run_case
from fpsolve.cases.schema import parse_case
from fpsolve.errors import CaseError, ProblemError

#: 1-D OU, drift −a(x − μ) with a = 1.5, ε²Q = 0.1: ρ∞ = N(0.1, 0.1/1.5), spectrum {0, a, 2a, …}
GAP = 1.5
CASE: dict[str, Any] = {
    "problem": {"name": "relaxation_1d", "drift": ["-1.5*(x - 0.1)"], "Q": [["1"]], "eps2": 0.1},
    "domain": {"type": "interval", "lo": [-2.0], "hi": [2.2], "cells": [210]},  # μ ± 8 standard deviations
    "initial": {"type": "gaussian", "mean": [0.8], "cov": [[0.01]]},
    "discretisation": {"scheme": "eafe"},
    "analysis": [
        {
            "type": "relaxation",
            "t_end": 6.0,
            "dt": 0.01,
            "n_times": 31,
            "reference": "ou",
            "rate_tolerance": 1e-3,
        }
    ],
    "output": {"figures": False},
}


def _case(scheme: str | None = None, **analysis: Any) -> dict[str, Any]:
    data = copy.deepcopy(CASE)
    data["analysis"][0].update(analysis)
    data["analysis"][0] = {k: v for k, v in data["analysis"][0].items() if v is not None}  # None: key removed
    if scheme:
        data["discretisation"]["scheme"] = scheme
    return data


def test_fit_uses_the_late_window_above_round_off() -> None:
    t = np.linspace(0.0, 10.0, 41)
    v = 3.0 * np.exp(-2.0 * t) + np.exp(-5.0 * t)  # a faster mode early on
    v[t > 8] = 1e-14  # round-off: left out (below 1e-10·v(0))
    fit = fit_decay(t, v)
    assert fit["window"] == [4.0, 8.0] and fit["points"] == 17
    assert fit["rate"] == pytest.approx(2.0, rel=1e-6)  # e^{-3t} relative contamination from t = 4 on
    assert math.isnan(fit_decay(t[:3], v[:3])["rate"])


def test_step_rate_is_the_backward_euler_amplification() -> None:
    assert step_rate(1.5 + 0j, 0.01, "beuler") == pytest.approx(math.log(1.015) / 0.01, rel=1e-15)
    assert step_rate(1.5 + 2j, 0.01, "ts") == 1.5


def test_one_dimensional_ou_decays_at_the_exact_gap(tmp_out: Path) -> None:
    summary = run_case(parse_case(_case()), tmp_out / "relax", progress=False)
    assert all(c["passed"] for c in summary["checks"]), [c for c in summary["checks"] if not c["passed"]]
    obs = summary["observables"]["relaxation"]
    assert obs["gap"] == pytest.approx(GAP, rel=2e-3)  # EAFE, h = 0.02: measured 1.4985
    stepped = math.log(1 + GAP * 0.01) / 0.01  # the exact gap through backward Euler, 1.4888
    for name, power in (("relative_entropy", 2), ("l1_distance", 1), ("chi_squared", 2)):
        fit = obs["rates"][name]
        assert fit["window"] == [3.0, 6.0]
        # against the discrete gap: measured ratios 1.0000003, 1.000086, 1.000031
        assert fit["ratio"] == pytest.approx(1.0, abs=3e-4)
        # against the exact gap: −1.0e-3 measured for all three (the EAFE gap error); and 8.4e-3 below
        # the exact 1.5 itself, of which backward Euler (Δt = 0.01) makes 7.4e-3
        assert fit["rate"] / power == pytest.approx(stepped, rel=2e-3)
        assert fit["rate"] / power == pytest.approx(GAP, rel=1.2e-2)
    assert obs["relative_entropy_error"] < 4e-3  # max |H_FE − H_exact| / H(0), measured 2.1e-3
    assert obs["arnold_erb_rate"] == pytest.approx(2 * GAP, rel=1e-14)
    h = np.array(obs["relative_entropy"])
    assert h[0] == pytest.approx(obs["relative_entropy_exact"][0], rel=1e-3) and np.all(np.diff(h) < 0)


def test_parse_refuses_ambiguous_times_and_a_non_gaussian_reference() -> None:
    with pytest.raises(CaseError, match="n_times or output_times"):
        parse_case(_case(output_times=[1.0, 2.0]))
    case = parse_case(_case(n_times=None, output_times=[1.0, 2.0, 6.0]))
    assert case.analyses[0] == RelaxationAnalysis(
        6.0, 0.01, (0.0, 1.0, 2.0, 6.0), reference="ou", rate_tolerance=1e-3
    )
    bump = _case()
    bump["initial"] = {"type": "expression", "expression": "exp(-(x - 0.8)**4)"}
    with pytest.raises(CaseError, match="needs a Gaussian"):
        parse_case(bump)


def test_limited_schemes_are_refused(tmp_out: Path) -> None:
    data = _case("afc")
    data["domain"]["cells"] = [20]
    with pytest.raises(ProblemError, match="needs a linear scheme"):
        run_case(parse_case(data), tmp_out / "afc", progress=False)
