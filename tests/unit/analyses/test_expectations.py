"""``transient`` ``expectations``: E f(X_t) against an exact g(t), and the errors of a bad entry.

1-D OU dX = −X dt + √(2ε²) dW from N(1, 0.01): E X_t = e^{−t} and
E X_t² = 1.01 e^{−2t} + ε²(1 − e^{−2t}) exactly. Serial and under ``mpiexec -n 2``.
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
  { of = "x", exact = "exp(-t)", tolerance = 1e-4 },
  { of = "x**2", exact = "(1 + s0)*exp(-2*t) + 0.1*(1 - exp(-2*t))", tolerance = 1e-4 },
]
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
        "transient t=0.5: E[x**2] against (1 + s0)*exp(-2*t) + 0.1*(1 - exp(-2*t))",
        "transient t=1: E[x] against exp(-t)",
        "transient t=1: E[x**2] against (1 + s0)*exp(-2*t) + 0.1*(1 - exp(-2*t))",
    ]
    second = found["transient t=1: E[x**2] against (1 + s0)*exp(-2*t) + 0.1*(1 - exp(-2*t))"]
    assert second["reference"] == pytest.approx(1.01 * math.exp(-2) + 0.1 * (1 - math.exp(-2)), rel=1e-14)
    assert all(c["passed"] for c in found.values()), found


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"of": "x"}, "must be a non-empty list of tables"),
        ([{"of": "x", "exact": "1", "tolerance": 1, "label": "a"}], "unknown key 'label'"),
        ([{"of": "x", "exact": "1"}], r"expectations\[0\].tolerance must be a finite number"),
        ([{"of": "x", "exact": "exp(-x)", "tolerance": 1}], r"expectations\[0\].exact"),
        ([{"of": "q", "exact": "1", "tolerance": 1}], r"expectations\[0\].of"),
        ([{"of": "x", "exact": "1", "tolerance": 0}], "must be positive"),
    ],
)
def test_bad_expectations_are_case_errors(entries: Any, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        parse_case(_data(entries))


def test_expectations_belong_to_transient_analyses_only() -> None:
    data = tomllib.loads(CASE)
    data["analysis"] = [{"type": "stationary", "expectations": [{"of": "x", "exact": "1", "tolerance": 1}]}]
    with pytest.raises(CaseError, match="unknown key 'expectations'"):
        parse_case(data)
