"""The transient ``collapse`` table: observable, limit/lower/rate checks, schema errors, Monte Carlo.

Chen's quartic well on the half-line, L = x⁴/4 − μx²/2, Q = x², μ = 1.5, ε² = 3.125 > μ (collapse onto
0 at λ = μ − ε² = −1.625), on a uniform mesh and a short run: cheap, not converged (the shipped case
cases/chen_quartic_well.toml is). Serial and under ``mpiexec -n 2``.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.special import gammainc

from fpsolve.analyses.base import Context, ValidateSettings
from fpsolve.cases.runner import discretise_case
from fpsolve.cases.schema import parse_case
from fpsolve.cases.validate import validate_case
from fpsolve.errors import CaseError
from tests.case_edits import DELETE, edited

CASE = """
[problem]
loss = "x**4/4 - mu*x**2/2"
Q = [["x**2"]]
eps2 = 3.125

[parameters]
mu = 1.5

[domain]
type = "interval"
lo = [0.0]
hi = [4.0]
cells = [200]

[initial]
type = "point"
point = [1.0]
width = 0.05

[discretisation]
scheme = "eafe"

[[analysis]]
type = "transient"
t_end = 2.0
dt = 0.02
output_times = [1.0, 2.0]

[analysis.collapse]
at = [0.0]
radius = 0.1
limit = "gammainc(max(mu/(2*eps2) - 0.5, 0), r**2/(2*eps2))"
limit_tolerance = 1.0
lower = "(1 + erf((log(r) - (mu - eps2)*t)/(2*sqrt(eps2*t))))/2"
lower_tolerance = 0.01
rate_tolerance = 1.0
"""


def _run(data: dict[str, Any]) -> Any:
    case = parse_case(data)
    return case.analyses[0].run(Context(discretise_case(case), progress=False, figures=False))


def test_collapse_fraction_median_and_checks() -> None:
    result = _run(tomllib.loads(CASE))
    record = result.observables["transient"]["collapse"]
    assert record["t"] == [0.0, 1.0, 2.0]
    assert [row["collapse_fraction"] for row in result.table] == record["fraction"]
    assert [row["median_distance"] for row in result.table] == record["median_distance"]
    # the initial N(1, 0.05²) holds no mass below 0.1; the fraction grows, the median falls
    assert record["fraction"][0] < 1e-12 and 0.3 < record["fraction"][1] < record["fraction"][2] < 1
    assert record["median_distance"][0] == pytest.approx(1.0, abs=0.01)
    assert record["median_distance"][2] < record["median_distance"][1] < record["median_distance"][0]
    assert record["lyapunov_exponent"] == pytest.approx(-1.625, abs=1e-8) and record["collapse_predicted"]
    checks = {c["name"]: c for c in result.checks if "collapse" in c["name"]}
    limit = checks[
        "transient: collapse P(dist < 0.1) at t=2 against gammainc(max(mu/(2*eps2) - 0.5, 0), r**2/(2*eps2))"
    ]
    assert limit["value"] == record["fraction"][2] and limit["reference"] == 1.0  # P(0, x) = 1: collapse
    lower = checks[
        "transient: collapse min over t > 0 of P(dist < 0.1) - "
        "((1 + erf((log(r) - (mu - eps2)*t)/(2*sqrt(eps2*t))))/2)"
    ]
    assert lower["value"] == 0.0 and lower["passed"]  # the linearised bound holds (exact comparison)
    rate = checks["transient: collapse slope of log median distance over t in [1, 2] against min(lambda, 0)"]
    slope = math.log(record["median_distance"][2] / record["median_distance"][1])
    assert rate["value"] == pytest.approx(slope, rel=1e-12)
    assert rate["reference"] == record["lyapunov_exponent"]


def test_below_the_threshold_the_limit_is_the_gamma_mass() -> None:
    data = edited(tomllib.loads(CASE), ["problem", "eps2"], 1.0)
    result = _run(data)
    (limit,) = [c for c in result.checks if " at t=2 against " in c["name"]]
    assert limit["reference"] == pytest.approx(gammainc(0.25, 0.005), rel=1e-14)  # 0.29308
    assert result.observables["transient"]["collapse"]["lyapunov_exponent"] == pytest.approx(0.5, abs=1e-8)


def test_a_line_in_two_dimensions_is_measured_by_its_distance() -> None:
    data = tomllib.loads(CASE)
    data["problem"] = {"loss": "(x - 1)**2/2 + y**2/2", "Q": [["1", "0"], ["0", "y**2"]], "eps2": 0.1}
    data["domain"] = {"type": "rectangle", "lo": [-1.0, -1.0], "hi": [3.0, 1.0], "cells": [20, 20]}
    data["initial"] = {"type": "expression", "expression": "1 + y"}
    data["analysis"][0]["collapse"] = {"at": [0.0, 0.0], "along": [[1.0, 0.0]], "radius": 0.23}
    record = _run(data).observables["transient"]["collapse"]
    assert record["set"] == "(x, y) = (0, 0) + s1 (1, 0)" and record["radius_shift_bound"] == 0.0
    # ρ₀ ∝ 1 + y (P1 holds it) on [−1, 3] × [−1, 1]: the mass within 0.23 of y = 0 is 0.46/2, cut exactly
    assert record["fraction"][0] == pytest.approx(0.23, abs=1e-14)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("radius", DELETE, r"collapse.radius must be a finite number"),
        ("radius", -1.0, "must be positive"),
        ("limit_tolerance", DELETE, "'limit' and 'limit_tolerance' go together"),
        ("lower", DELETE, "'lower' and 'lower_tolerance' go together"),
        ("limit", "gammainc(1, x)", r"collapse.limit: undefined symbol 'x'"),
        ("at", [0.0, 1.0], r"collapse.at must be a list of 1 numbers"),
        ("along", [[1.0]], "nothing to collapse onto"),
        ("centre", [0.0], "unknown key 'centre'"),
    ],
)
def test_bad_collapse_tables_are_case_errors(key: str, value: Any, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        parse_case(edited(tomllib.loads(CASE), ["analysis", 0, "collapse", key], value))


def test_the_rate_needs_a_set_of_codimension_one_in_one_or_two_dimensions() -> None:
    data = tomllib.loads(CASE)
    data["problem"] = {"loss": "x**2/2 + y**2/2", "Q": [["x**2", "0"], ["0", "y**2"]], "eps2": 0.1}
    data["domain"] = {"type": "rectangle", "lo": [0.0, 0.0], "hi": [1.0, 1.0], "cells": [4, 4]}
    data["initial"] = {"type": "point", "point": [0.5, 0.5], "width": 0.1}
    data["analysis"][0]["collapse"] = {"at": [0.0, 0.0], "radius": 0.1, "rate_tolerance": 0.1}
    with pytest.raises(
        CaseError, match="rate_tolerance: the collapse criterion is computed for a point in 1-D"
    ):
        parse_case(data)


def test_gammainc_is_for_reference_expressions_only() -> None:
    data = edited(tomllib.loads(CASE), ["problem", "loss"], "gammainc(1, x)")
    with pytest.raises(CaseError, match="unknown function 'gammainc'"):
        parse_case(data)


def test_validate_compares_the_fraction_with_monte_carlo(tmp_out: Path) -> None:
    case = parse_case(tomllib.loads(CASE))
    case = dataclasses.replace(
        case, validate=ValidateSettings(particles=4000, dt=0.005, seed=2), figures=False
    )
    result = validate_case(case, tmp_out / "v")
    found = [c for c in result["checks"] if "collapse" in c["name"]]
    assert [c["name"] for c in found] == [f"transient t={t}: collapse P(dist < 0.1)" for t in (1, 2)]
    assert all(c["passed"] for c in found), found
    assert np.all(np.array([c["mc_standard_error"] for c in found]) >= 1 / 4000)
