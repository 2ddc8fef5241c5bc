"""Mesh adaptation pays: L¹ error of a small-noise stationary density against DOFs, adapted vs uniform.

Problem (``cases/adapted_double_well.toml``): L = (x² − 1)²/100 + y²/2 on [−1.6, 1.6] × [−0.8, 0.8],
Q = I, drift −∇L, so ρ∞ = e^{−L/ε²}/Z exactly; EAFE. For each ε² the script prints

* the ``[mesh.adapt]`` sequence (``indicator``, Dörfler θ = 0.5, from 32 × 16 cells): DOFs, the
  indicator's estimate and the true relative L¹ error after each step;
* uniform meshes n × n/2: DOFs and the true error;
* the DOFs each needs for an L¹ error of 1e-2 (log–log interpolation between the bracketing meshes)
  and their ratio (issue 13's target: a uniform mesh needs ≥ 10× the DOFs).

Run::

    .venv/bin/python bench/adaptation.py                    # ε² = 1e-3, Gibbs indicator
    .venv/bin/python bench/adaptation.py --eps2 3e-4 1e-3 --indicator density
"""

from __future__ import annotations

import fpsolve  # noqa: F401  (must come before mpi4py / petsc4py / dolfinx)

# isort: split

import argparse
import time

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.discretisation.adapt import AdaptSettings
from fpsolve.discretisation.functionals import gibbs_l1_error
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.solvers.mesh_adaptation import adapt_mesh
from fpsolve.solvers.stationary import StationarySolver

TARGET = 1e-2


def problem(eps2: float, cells: tuple[int, int]) -> FokkerPlanckProblem:
    """The double well of the module docstring on an n × m mesh."""
    x, y = coordinates(2)
    loss = (x**2 - 1) ** 2 / 100 + y**2 / 2
    box = Cuboid((-1.6, -0.8), (1.6, 0.8), cells)
    return FokkerPlanckProblem(2, sp.eye(2), eps2, box, loss=loss, name="double_well")


def l1_error(disc: Discretisation) -> float:
    """Relative L¹ error of the stationary solution against e^{−L/ε²}/Z (quadrature degree 8)."""
    return gibbs_l1_error(StationarySolver(disc).solve().rho, disc.problem)


def dofs_for(target: float, dofs: list[int], errors: list[float]) -> float:
    """DOFs at which the error reaches ``target`` (log–log interpolation; NaN when not bracketed)."""
    for (n0, e0), (n1, e1) in zip(zip(dofs, errors, strict=True), zip(dofs[1:], errors[1:], strict=True)):
        if e0 > target >= e1:
            p = np.log(e1 / e0) / np.log(n1 / n0)
            return float(n0 * (target / e0) ** (1 / p))
    return float("nan")


def main() -> None:
    """Print the adapted and uniform sequences and the DOF ratio at the target error."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eps2", type=float, nargs="+", default=[1e-3])
    parser.add_argument("--indicator", default="gibbs", choices=["gibbs", "density"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--uniform", type=int, nargs="+", default=[64, 128, 256, 384, 512])
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    say(f"# mesh adaptation benchmark: {comm.size} rank(s), indicator {args.indicator}, Dörfler θ = 0.5")
    for eps2 in args.eps2:
        say(f"\n## ε² = {eps2:g} (ΔL/ε² = {0.01 / eps2:g})")
        say(f"{'mesh':>16} {'DOFs':>8} {'estimate':>9} {'L1 error':>9} {'seconds':>8}")
        adapted_dofs, adapted_err = [], []
        p = problem(eps2, (32, 16))
        for steps in range(args.steps + 1):
            t0 = time.perf_counter()
            settings = AdaptSettings(args.indicator, steps)
            tagged, history = adapt_mesh(p, build_mesh(p.domain), settings, "eafe")
            disc = Discretisation(p, tagged, scheme="eafe")
            err = l1_error(disc)
            adapted_dofs.append(disc.num_dofs())
            adapted_err.append(err)
            say(
                f"{'adapted, ' + str(steps) + ' steps':>16} {disc.num_dofs():>8} "
                f"{history[-1]['estimate']:>9.2e} {err:>9.2e} {time.perf_counter() - t0:>8.2f}"
            )
        uniform_dofs, uniform_err = [], []
        for n in args.uniform:
            t0 = time.perf_counter()
            q = problem(eps2, (n, n // 2))
            disc = Discretisation(q, build_mesh(q.domain), scheme="eafe")
            err = l1_error(disc)
            uniform_dofs.append(disc.num_dofs())
            uniform_err.append(err)
            seconds = time.perf_counter() - t0
            say(f"{f'uniform {n}x{n // 2}':>16} {disc.num_dofs():>8} {'':>9} {err:>9.2e} {seconds:>8.2f}")
        a = dofs_for(TARGET, adapted_dofs, adapted_err)
        u = dofs_for(TARGET, uniform_dofs, uniform_err)
        say(f"DOFs for L1 error {TARGET:g}: adapted {a:.0f}, uniform {u:.0f}, ratio {u / a:.1f} (target ≥ 10)")


if __name__ == "__main__":
    main()
