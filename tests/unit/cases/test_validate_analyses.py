"""``fpsolve validate`` for reduced exit-time and mass-concentration cases: FE vs Monte Carlo.

Reduced versions of the shipped cases (coarse mesh, few paths, one start point) so that the test
stays short; the full cases are run by hand (README / docs/cases.md give the numbers).
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np

from fpsolve.cases.schema import parse_case, sweep_override
from fpsolve.cases.validate import validate_case

CASES = Path(__file__).resolve().parents[3] / "cases"


def _reduced(name: str, changes: dict) -> dict:
    data = tomllib.loads((CASES / f"{name}.toml").read_text())
    return sweep_override(data, {"output.figures": False, **changes})


def _exit_case():
    data = _reduced(
        "exit_time_degenerate",
        {"domain.h": 0.1, "validate.particles": 2000, "validate.dt": 0.01, "validate.seed": 3},
    )
    data["analysis"][0]["start_points"] = [[0.0, 0.0]]
    return parse_case(data)


def test_exit_time_validation_passes(tmp_out: Path) -> None:
    result = validate_case(_exit_case(), tmp_out / "exit")
    assert result["passed"], result["checks"]
    (row,) = result["checks"]
    # FE T(0) = 1.7289 at h = 0.1 (1.7276 at h = 0.0125); MC with 4e4 paths: 1.732 ± 0.008
    assert abs(row["value"] - 1.73) < 0.01
    assert row["exited_fraction"] == 1.0 and row["mc_standard_error"] < 0.04  # sd(τ) ≈ 1.4
    (hist,) = result["series"][0]["histograms"]
    p = np.asarray(hist["mc"])  # fractions of the paths per bin; the rest exited later
    assert abs(p.sum() + hist["beyond"] - 1) < 1e-12 and hist["beyond"] < 0.02
    assert hist["fe_T"] == row["value"] and hist["mc_T"] == row["reference"]


def test_exit_time_validation_rejects_a_wrong_eps2(tmp_out: Path) -> None:
    case = _exit_case()
    truth = case.problem
    wrong = dataclasses.replace(case, problem=dataclasses.replace(truth, eps2=1.3 * truth.eps2))
    result = validate_case(wrong, tmp_out / "wrong", mc_problem=truth)
    assert not result["passed"]  # T drops by ~20 %, about 10 standard errors


def test_mass_concentration_validation_passes(tmp_out: Path) -> None:
    data = _reduced(
        "mass_concentration",
        {"problem.eps2": 0.04, "domain.h": 0.05, "validate.particles": 4000, "validate.dt": 0.02},
    )
    data["analysis"][0].update(t_end=2.5, dt=0.02, n_times=6)
    result = validate_case(parse_case(data), tmp_out / "conc")
    assert result["passed"], [c for c in result["checks"] if not c["passed"]]
    # m(t) at six times; at three of them the radial histogram: its worst bin and χ²
    assert len(result["checks"]) == 6 + 3 * 2
    (series,) = result["series"]
    # the ball empties as it shrinks to the ε-wide law: the deficit passes 0.1 near t ≈ 2.09 (exact OU)
    assert series["fe_m"][0] > 0.999 and series["fe_m"][-1] < 0.85
    assert np.all(np.asarray(series["mc_m_se"]) < 0.01)
