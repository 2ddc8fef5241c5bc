"""Where the time of ``make demo`` goes: interpreter, imports, set-up (mesh, forms, JIT), solve, figures.

Runs, each ``--repeat`` times (best kept), as separate processes on ``--ranks`` MPI ranks:

1. ``python -c pass``: the interpreter;
2. ``python -c "import fpsolve.cli"``: what every command pays before parsing its arguments;
3. ``python -c "import fpsolve, dolfinx, ...; import matplotlib.pyplot"``: the numerical stack and the
   plotting stack a run imports;
4. ``fpsolve demo -o DIR --overwrite`` end to end (``mpiexec -n RANKS`` when RANKS > 1), with the parts
   that its ``summary.json`` records (``timings``: mesh + discretisation incl. form JIT, the analysis,
   the figures); "rest" = end-to-end wall − imports (3) − the recorded total: MPI start, case parsing,
   writing the XDMF/HDF5 and JSON outputs, moving the result into place.

The JIT cache (~/.cache/fenics) is warm after the first repeat: "warm" times are what a user sees from
the second run on. Run::

    .venv/bin/python bench/demo_profile.py --ranks 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _wall(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    """Time the parts and print one table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    launch = [str(BIN / "mpiexec"), "-n", str(args.ranks)] if args.ranks > 1 else []
    stack = "import fpsolve, dolfinx, dolfinx.fem.petsc, slepc4py, matplotlib.pyplot, pyvista"
    rows = {
        "interpreter (python -c pass)": _wall([*launch, py, "-c", "pass"], args.repeat),
        "import fpsolve.cli": _wall([*launch, py, "-c", "import fpsolve.cli"], args.repeat),
        "import the numerical + plotting stack": _wall([*launch, py, "-c", stack], args.repeat),
    }
    out = Path(tempfile.mkdtemp(prefix="fpsolve-demo-profile-")) / "demo"
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        subprocess.run(
            [*launch, str(BIN / "fpsolve"), "demo", "-o", str(out), "--overwrite", "--quiet"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wall = time.perf_counter() - t0
        runs.append((wall, json.loads((out / "summary.json").read_text())["timings"]))
    shutil.rmtree(out.parent, ignore_errors=True)
    wall, timings = min(runs, key=lambda r: r[0])
    analysis = sum(v for k, v in timings.items() if k.startswith("analysis_"))
    rows["fpsolve demo, end to end (best)"] = wall
    rows["  set-up: mesh, forms, JIT (summary)"] = timings["setup"]
    rows["  the stationary solve and its checks"] = analysis
    rows["  figures"] = timings.get("figures", 0.0)
    rows["  rest: MPI start, parsing, output files"] = (
        wall - rows["import the numerical + plotting stack"] - timings["total"]
    )
    print(f"# fpsolve demo profile: {args.ranks} rank(s), best of {args.repeat}, wall seconds")
    for name, seconds in rows.items():
        print(f"{name:<45}{seconds:>8.2f}")
    print(f"# first (cold-JIT or cold-cache) end-to-end run: {runs[0][0]:.2f} s; target: warm run < 10 s")


if __name__ == "__main__":
    main()
