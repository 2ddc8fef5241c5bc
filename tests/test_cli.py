"""The command line under ``mpiexec -n 2``: the demo runs and checks itself; bad use exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_parallel import mpiexec

FPSOLVE = [sys.executable, "-m", "fpsolve"]


def run(args: list[str], ranks: int = 2) -> subprocess.CompletedProcess:
    """Run ``fpsolve ARGS`` on ``ranks`` ranks."""
    cmd = [mpiexec(), "-n", str(ranks), *FPSOLVE, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.serial
def test_demo_runs_under_mpi_and_all_checks_pass(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = run(["demo", "-o", str(out), "--cells", "48", "-fpsolve_stationary_ksp_view"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranks"] == 2
    assert summary["checks"] and all(c["passed"] for c in summary["checks"])
    assert "mumps" in proc.stdout  # the PETSc option from the command line reached the solver
    assert proc.stdout.count("outputs in") == 1  # only rank 0 prints
    for name in ("rho.pvd", "J.pvd", "rho000000.pvtu"):
        assert (out / name).is_file()


@pytest.mark.serial
def test_existing_output_is_refused_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "data.csv").write_text("1,2,3\n")
    proc = run(["demo", "-o", str(out)])
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("fpsolve: error: output directory"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "data.csv").read_text() == "1,2,3\n"
