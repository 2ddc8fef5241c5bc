"""The ``kwon`` analysis: current diagnostics and Kwon matrices of the stationary solution, end to end."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mpi4py import MPI

from fpsolve.cases.commands import run_case
from fpsolve.cases.schema import CaseError, parse_case
from fpsolve.problem.kwon import kwon_decomposition

CASES = Path(__file__).resolve().parents[3] / "cases"
KUNIN = tomllib.loads((CASES / "kunin_fig3_ou.toml").read_text())


def _kunin(cells: int, stationary: dict[str, Any] | None = None, **kwon: Any) -> dict[str, Any]:
    data = copy.deepcopy(KUNIN)
    data["domain"]["cells"] = [cells, cells]
    data["analysis"][0].update(stationary or {})
    data["analysis"][1].update(kwon)
    assert data["analysis"][1]["type"] == "kwon"
    return data


def test_kunin_case_on_a_coarse_mesh_writes_checks_observables_and_figure(tmp_out: Path) -> None:
    # 48 cells: the errors are about 4x those at 96 cells (order ~2); the largest, the net flux through
    # the smallest level curve, is 6.4e-2 (transverse index 5.4e-2, divergence index 4.0e-2): tolerance 0.1
    case = parse_case(_kunin(48, {"current_tolerance": 0.3}, tolerance=0.1, divergence_tolerance=0.1))
    summary = run_case(case, tmp_out / "kunin", progress=False)
    names = [c["name"] for c in summary["checks"]]
    assert sum(n.startswith("kwon: rel. error of circulation") for n in names) == 3
    assert all(c["passed"] for c in summary["checks"]), [c for c in summary["checks"] if not c["passed"]]
    obs = summary["observables"]["kwon"]
    dec = kwon_decomposition([[2.5, -1.5], [-1.5, 2.5]], np.diag([4.0, 1.0]))
    assert np.allclose(obs["U_exact"], dec.U) and np.allclose(obs["Q_K_exact"], dec.Q_K)
    assert abs(obs["Q_K_fit"][0][1] - 0.9) < 0.05  # measured 0.876 at 48 cells
    if MPI.COMM_WORLD.rank == 0:
        assert (tmp_out / "kunin" / "figures" / "kwon.png").stat().st_size > 10_000
        on_disk = json.loads((tmp_out / "kunin" / "summary.json").read_text())
        assert on_disk["observables"]["kwon"]["entropy_production_exact"] == pytest.approx(1.0125, abs=1e-12)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("reference", "gauss", "reference must be one of ou"),
        ("circulation_levels", [1.0, -2.0], "circulation_levels must be positive"),
        ("trajectory_time", 0, "trajectory_time must be positive"),
        ("tolerance", "small", "tolerance must be a finite number"),
        ("kwon_tolerance", 0.1, "unknown key 'kwon_tolerance'"),
    ],
)
def test_bad_kwon_keys_are_case_errors(key: str, value: Any, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        parse_case(_kunin(8, **{key: value}))
