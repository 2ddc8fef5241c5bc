"""``expectations``: E f(X_t) against g(t), local exponents, stationary expectations, bad entries.

1-D OU dX = −X dt + √(2ε²) dW from N(1, 0.01): E X_t = e^{−t} (local exponent d log E X_t / d log t
between 0.5 and 1: −0.5/log 2), E X_t² = 1.01 e^{−2t} + ε²(1 − e^{−2t}) exactly, E_ρ∞ X² = ε².
Serial and under ``mpiexec -n 2``.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

import pytest

from fpsolve.analyses.base import Context
from fpsolve.cases.runner import discretise_case
from fpsolve.cases.schema import parse_case
from fpsolve.errors import CaseError

CASE = """
[problem]
loss = "x**2/2"
Q = [["1"]]
eps2 = 0.1

[parameters]
s0 = 0.01

[domain]
type = "interval"
lo = [-2.5]
hi = [3.0]
cells = [220]

[initial]
type = "gaussian"
mean = [1.0]
cov = [[0.01]]

[discretisation]
scheme = "galerkin"
degree = 2

[[analysis]]
type = "transient"
method = "ts"
t_end = 1.0
dt = 0.001
output_times = [0.5, 1.0]
expectations = [
  { of = "x", exact = "exp(-t)", tolerance = 1e-4, exponent_tolerance = 1e-3 },
  { of = "x**2", exact = "(1 + s0)*exp(-2*t) + eps2*(1 - exp(-2*t))", tolerance = 1e-4 },
]

[[analysis]]
type = "stationary"
expectations = [{ of = "x**2 - eps2", exact = "0", tolerance = 1e-4 }]
"""


def _data(entries: Any) -> dict[str, Any]:
    data = tomllib.loads(CASE)
    data["analysis"][0]["expectations"] = entries
    return data


def test_expectations_are_checked_against_the_exact_functions() -> None:
    case = parse_case(tomllib.loads(CASE))
    result = case.analyses[0].run(Context(discretise_case(case), progress=False, figures=False))
    found = {c["name"]: c for c in result.checks if " E[" in c["name"]}
    assert list(found) == [
        "transient t=0.5: E[x] against exp(-t)",
        "transient t=0.5: E[x**2] against (1 + s0)*exp(-2*t) + eps2*(1 - exp(-2*t))",
        "transient t=1: E[x] against exp(-t)",
        "transient t=1: E[x**2] against (1 + s0)*exp(-2*t) + eps2*(1 - exp(-2*t))",
        "transient t=0.5..1: local exponent d log E[x] / d log t against exp(-t)",
    ]
    second = found["transient t=1: E[x**2] against (1 + s0)*exp(-2*t) + eps2*(1 - exp(-2*t))"]
    assert second["reference"] == pytest.approx(1.01 * math.exp(-2) + 0.1 * (1 - math.exp(-2)), rel=1e-14)
    exponent = found["transient t=0.5..1: local exponent d log E[x] / d log t against exp(-t)"]
    assert exponent["reference"] == pytest.approx(-0.5 / math.log(2), rel=1e-14)
    assert all(c["passed"] for c in found.values()), found


def test_stationary_expectations_are_checked_against_constants() -> None:
    case = parse_case(tomllib.loads(CASE))
    result = case.analyses[1].run(Context(discretise_case(case), progress=False, figures=False))
    (found,) = [c for c in result.checks if " E[" in c["name"]]
    assert found["name"] == "stationary: E[x**2 - eps2] against 0"
    assert found["passed"], found


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"of": "x"}, "must be a non-empty list of tables"),
        ([{"of": "x", "exact": "1", "tolerance": 1, "label": "a"}], "unknown key 'label'"),
        ([{"of": "x", "exact": "1"}], r"expectations\[0\].tolerance must be a finite number"),
        ([{"of": "x", "exact": "exp(-x)", "tolerance": 1}], r"expectations\[0\].exact"),
        ([{"of": "q", "exact": "1", "tolerance": 1}], r"expectations\[0\].of"),
        ([{"of": "x", "exact": "1", "tolerance": 0}], "must be positive"),
        ([{"of": "x", "exact": "1", "tolerance": 1, "exponent_tolerance": -1}], "must be positive"),
    ],
)
def test_bad_expectations_are_case_errors(entries: Any, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        parse_case(_data(entries))


def test_expectations_belong_to_transient_and_stationary_analyses_only() -> None:
    data = tomllib.loads(CASE)
    data["analysis"] = [{"type": "spectrum", "expectations": [{"of": "x", "exact": "1", "tolerance": 1}]}]
    with pytest.raises(CaseError, match="unknown key 'expectations'"):
        parse_case(data)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"of": "x", "exact": "exp(-t)", "tolerance": 1}, r"expectations\[0\].exact must not depend on t"),
        ({"of": "x", "exact": "0", "tolerance": 1, "exponent_tolerance": 1}, "needs a transient analysis"),
    ],
)
def test_stationary_expectations_are_constant_and_have_no_exponents(entry: Any, message: str) -> None:
    data = tomllib.loads(CASE)
    data["analysis"][1]["expectations"] = [entry]
    with pytest.raises(CaseError, match=message):
        parse_case(data)


def test_eps2_is_a_reserved_parameter_name() -> None:
    data = tomllib.loads(CASE)
    data["parameters"]["eps2"] = 0.2
    with pytest.raises(CaseError, match="parameter name 'eps2' is reserved"):
        parse_case(data)
