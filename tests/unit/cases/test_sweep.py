"""``[sweep]`` end to end under ``mpiexec -n 2``: one summary for all runs, fits and the figure.

Brownian motion in the unit disk (L = 0, Q = I): T(0) = 1/(4ε²) exactly, so the collected log T is
known at each swept ε².
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.integration.test_cli import run

CASE = """
[problem]
name = "brownian_sweep"
loss = "0"
Q = [["1", "0"], ["0", "1"]]
eps2 = 0.5

[domain]
type = "disk"
center = [0.0, 0.0]
radius = 1.0
h = 0.1

[boundary]
absorbing = ["boundary"]

[[analysis]]
type = "exit_time"
start_points = [[0.0, 0.0], [0.5, 0.0]]

[sweep]
"problem.eps2" = [0.5, 0.25, 0.125]
"""


@pytest.mark.serial
def test_sweep_collects_runs_fits_and_figure(tmp_path: Path) -> None:
    case = tmp_path / "brownian_sweep.toml"
    case.write_text(CASE)
    out = tmp_path / "out"
    proc = run(["run", str(case), "-o", str(out), "--quiet"])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sweep"] == {"problem.eps2": [0.5, 0.25, 0.125]} and summary["ranks"] == 2
    assert len(summary["runs"]) == 3 and all(
        (out / r["directory"] / "exit_time.xdmf").is_file() for r in summary["runs"]
    )
    # per run: T ≥ 0, H1, lower bound, slab upper bound, the stated upper bound (docs/theory.md §1.3(b))
    assert len(summary["checks"]) == 3 * 5 and all(c["passed"] for c in summary["checks"])
    assert summary["checks"][5]["name"].startswith("[problem.eps2=0.25]")
    fit = summary["fits"]["exit_time"]
    assert fit["inverse_eps2"] == [2.0, 4.0, 8.0]
    # T(0) = 1/(4ε²), T(0.5, 0) = 0.75/(4ε²): h = 0.1 polygonal disk, O(h²) ≈ 1 % (measured 0.6 %)
    for k, eps2 in enumerate((0.5, 0.25, 0.125)):
        assert math.exp(fit["log_T"][k][0]) == pytest.approx(1 / (4 * eps2), rel=0.02)
        assert math.exp(fit["log_T"][k][1]) == pytest.approx(0.75 / (4 * eps2), rel=0.02)
    # log T = log(1/4) + log(1/ε²) is not linear in 1/ε²: least squares over 2, 4, 8 gives 0.2228
    assert fit["slopes"][0] == pytest.approx(0.2228, abs=0.01)
    assert (out / "figures" / "sweep_exit_time.png").is_file()
