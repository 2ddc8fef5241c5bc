"""Schema of the exit_time / mass_concentration analyses and of [sweep]: bad input is a CaseError."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from fpsolve.analyses.exit_time import ExitTimeAnalysis
from fpsolve.analyses.mass_concentration import MassConcentrationAnalysis
from fpsolve.cases.schema import CaseError, load_case, parse_case
from tests.case_edits import DELETE, edited

CASES = Path(__file__).resolve().parents[3] / "cases"
EXIT = tomllib.loads((CASES / "exit_time_ball.toml").read_text())
CONC = tomllib.loads((CASES / "mass_concentration.toml").read_text())


def test_shipped_cases_parse_into_the_new_analyses() -> None:
    ball = load_case(CASES / "exit_time_ball.toml")
    (a,) = ball.analyses
    assert isinstance(a, ExitTimeAnalysis) and a.radius == 1.0 and a.center == (0.0, 0.0)
    assert len(a.start_points) == 4 and a.bound_direction is None
    assert [p["problem.eps2"] for p in ball.sweep] == [1.0, 0.5, 0.3, 0.2, 0.15, 0.1]
    conc = load_case(CASES / "mass_concentration.toml")
    (m,) = conc.analyses
    assert isinstance(m, MassConcentrationAnalysis) and m.reference == "ou" and m.lam == 1.0
    assert len(m.times()) == 61 and m.times()[0] == 0.0 and m.times()[-1] == 6.0
    assert m.radius(2.0) == pytest.approx(1.0 * 2.718281828459045**-1.0)
    assert isinstance(load_case(CASES / "exit_time_degenerate.toml").analyses[0], ExitTimeAnalysis)


@pytest.mark.parametrize(
    ("base", "path", "value", "message"),
    [
        (EXIT, ["analysis", 0, "start_point"], [[0, 0]], "unknown key 'start_point'"),
        (EXIT, ["analysis", 0, "start_points"], [[0.0, 1.5]], "not inside the ball"),
        (EXIT, ["analysis", 0, "start_points"], [[0.0]], "start_points[0] must be a list of 2"),
        (EXIT, ["analysis", 0, "start_points"], DELETE, "start_points must be a non-empty list"),
        (EXIT, ["analysis", 0, "bound_direction"], [0, 0], "non-zero vector"),
        (EXIT, ["analysis", 0, "bound_tolerance"], -1, "must be positive"),
        (EXIT, ["boundary", "absorbing"], [], "needs [boundary] absorbing parts"),
        (CONC, ["analysis", 0, "lambda"], DELETE, "lambda must be a finite number"),
        (CONC, ["analysis", 0, "threshold"], 1.5, "threshold must lie in (0, 1)"),
        (CONC, ["analysis", 0, "reference"], "gauss", "reference must be one of"),
        (CONC, ["analysis", 0, "n_times"], 2, "n_times must be an integer"),
        (CONC, ["analysis", 0, "t0"], 7.0, "t0 must lie in [0, t_end)"),
        (CONC, ["analysis", 0, "radius"], 1.0, "unknown key 'radius'"),
        (CONC, ["initial"], DELETE, "needs an [initial] density"),
        (CONC, ["sweep", "problem.eps2"], [0.1, -0.1], "sweep point 1"),
        (CONC, ["sweep", "problem.eps2"], 0.1, "must be a non-empty list"),
        (CONC, ["sweep", "problem.eps2"], ["a"], "must be a finite number"),
        (CONC, ["sweep", "unknown_name"], [1.0, 2.0, 3.0, 4.0], "neither a dotted case key"),
        (CONC, ["sweep", "solverr.x"], [1.0, 2.0, 3.0, 4.0], "unknown section 'solverr'"),
        (CONC, ["sweep", "domain.h"], [0.1], "same length"),
        (CONC, ["sweep", "problem.eps2"], [0.1] * 51, "more than 50"),
    ],
)
def test_bad_input_is_a_case_error(base: dict, path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(CaseError) as info:
        parse_case(edited(base, path, value))
    assert message in str(info.value), str(info.value)


def test_sweep_accepts_parameters_and_nested_tables() -> None:
    data = edited(CONC, ["sweep"], {"problem": {"eps2": [0.02, 0.01]}, "k": [1.0, 2.0]})
    data["parameters"] = {"k": 1.0}
    data["problem"]["loss"] = "k*x**2/2 + y**2"
    case = parse_case(data)
    assert case.sweep == ({"problem.eps2": 0.02, "k": 1.0}, {"problem.eps2": 0.01, "k": 2.0})
