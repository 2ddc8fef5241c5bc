"""The same answers serially and under ``mpiexec -n 2`` (to solver tolerance)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "rank_invariance.py"


def mpiexec() -> str:
    """The MPI launcher next to this interpreter (the venv's MPICH) or on PATH."""
    local = Path(sys.executable).with_name("mpiexec")
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec")
    return found


def run(ranks: int) -> dict:
    """Run the rank-invariance script on ``ranks`` ranks and parse its JSON."""
    cmd = [mpiexec(), "-n", str(ranks), sys.executable, str(SCRIPT)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.serial
def test_results_do_not_depend_on_rank_count() -> None:
    one, two = run(1), run(2)
    assert one.keys() == two.keys()
    for key in one:
        a, b = np.atleast_1d(one[key]), np.atleast_1d(two[key])
        # stationary AFC: fixed point converged to 1e-10; LU and FCT steps: round-off
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12, err_msg=key)
