r"""Exact small-noise suite: mean exit time from a rotated double well, 2-D and 3-D, full and rank-1 Q.

In the frame :math:`u = e_1\cdot x`, :math:`v_k = e_{k+1}\cdot x` (a rotation R that aligns with
neither the coordinate axes nor the unstructured gmsh mesh) the loss is separable,

.. math::  L = \Delta\,(u^2-1)^2 + \sum_k v_k^2,\qquad Q = e_1e_1^T + q_\perp\sum_k e_{k+1}e_{k+1}^T,

on the box :math:`u\in[-1.8, 0.5]`, :math:`|v_k|\le 0.6`, absorbing at u = 0.5, reflecting elsewhere.
Then :math:`du = -\partial_uL\,dt + \sqrt{2\varepsilon^2}dW` is autonomous and T(x) = T(u) is the 1-D
double integral :func:`fpsolve.problem.exact.mfpt_1d` (problem in
:func:`fpsolve.testing.rotated_double_well`). q⊥ = 0.25 (eigenvalue ratio 4) or 0 (rank 1).
The barrier-to-noise ratio is ΔL/ε² = Δ/ε² (Δ = 1/4).

Run from the repository root: ``.venv/bin/python bench/small_noise.py [--dim 2] [--ratios 5,10,20,30,40]
[--h 0.02,0.01,0.005]``; prints a markdown table (relative error of T at the minimum, min T, DOFs,
wall time). Numbers are quoted in docs/numerics.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fpsolve  # noqa: E402,F401
from fpsolve import testing  # noqa: E402
from fpsolve.discretisation.mesh import build_mesh  # noqa: E402
from fpsolve.discretisation.operators import Discretisation  # noqa: E402
from fpsolve.discretisation.points import point_values  # noqa: E402
from fpsolve.errors import FpsolveError  # noqa: E402
from fpsolve.solvers.exit_time import ExitTimeSolver  # noqa: E402


def main() -> None:
    """Print the table for the command-line choices."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--ratios", default="5,10,20,30,40")
    parser.add_argument("--h", default="0.04,0.02,0.01,0.005")
    parser.add_argument("--q-perp", default="0.25,0")
    args = parser.parse_args()
    print(f"\n### Rotated double well, {args.dim}-D, eafe (anchored backward solve)\n")
    print("| Q | ΔL/ε² | h | DOFs | T exact | T FE | rel. error | min T | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for h in map(float, args.h.split(",")):
            mesh = Path(tmp) / f"box_{h}.msh"
            testing.rotated_box(args.dim, h, mesh)
            for q_perp in map(float, args.q_perp.split(",")):
                for ratio in map(float, args.ratios.split(",")):
                    p = testing.rotated_double_well(args.dim, ratio, q_perp, mesh)
                    start = time.perf_counter()
                    disc = Discretisation(p, build_mesh(p.domain), scheme="eafe")
                    label = "rank 1" if q_perp == 0 else f"ratio {1 / q_perp:g}"
                    try:
                        T = ExitTimeSolver(disc).solve()
                    except FpsolveError as exc:
                        print(f"| {label} | {ratio:g} | {h:g} | {disc.num_dofs()} | fails: {exc} |||||")
                        continue
                    wall = time.perf_counter() - start
                    x_min = -testing.rotated_frame(args.dim)[0]
                    fe = float(point_values(T, x_min[None, :])[0])
                    ref = testing.rotated_double_well_exit_time(ratio)
                    print(
                        f"| {label} | {ratio:g} | {h:g} | {disc.num_dofs()} | {ref:.4e} | {fe:.4e} | "
                        f"{fe / ref - 1:+.2e} | {disc.minimum(T):.1e} | {wall:.1f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
