"""Monte Carlo throughput: Euler–Maruyama particle-steps per second per core, 2-D.

Problems: the demo OU (constant Q: one matrix square root) and a state-dependent rank-1 Q
(an eigen-decomposition per particle and step). Prints particle-steps/s for one rank; run under
``mpiexec -n 2`` to see the per-core rate with two ranks (chunks are dealt to ranks).

    .venv/bin/python bench/montecarlo.py
    .venv/bin/mpiexec -n 2 .venv/bin/python bench/montecarlo.py
"""

from __future__ import annotations

import time

import sympy as sp
from mpi4py import MPI

import fpsolve  # noqa: F401
from fpsolve import demo
from fpsolve.domain import Cuboid
from fpsolve.montecarlo import EulerMaruyama, simulate_moments
from fpsolve.problem import FokkerPlanckProblem, coordinates


def rate(problem: FokkerPlanckProblem, particles: int, steps: int, dt: float) -> float:
    """Particle-steps per second per rank of one ``simulate_moments`` call (max time over ranks)."""
    comm = MPI.COMM_WORLD
    em = EulerMaruyama(problem, dt)
    start = lambda rng, m: rng.normal(0.0, 0.1, (m, problem.dim))  # noqa: E731
    comm.Barrier()
    t0 = time.perf_counter()
    simulate_moments(em, start, particles, [steps * dt], seed=1, comm=comm)
    elapsed = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    return particles * steps / elapsed / comm.size


def main() -> None:
    """Print the table."""
    x, y = coordinates(2)
    rank1 = FokkerPlanckProblem(
        2, sp.Matrix([[1, x], [x, x**2]]), 1e-2, Cuboid((-1.0, -1.0), (1.0, 1.0), (2, 2)),
        loss=(x**2 + 2 * y**2 + x * y) / 2,
    )
    rows = [
        ("OU, constant Q, reflecting box", demo.ou_problem(2)),
        ("rank-1 state-dependent Q, reflecting box", rank1),
    ]
    if MPI.COMM_WORLD.rank == 0:
        print(f"ranks: {MPI.COMM_WORLD.size}")
        print("| problem | particles | steps | particle-steps/s per core |")
        print("|---|---|---|---|")
    for name, problem in rows:
        r = rate(problem, 200_000, 200, 1e-3)
        if MPI.COMM_WORLD.rank == 0:
            print(f"| {name} | 200000 | 200 | {r:.3e} |")


if __name__ == "__main__":
    main()
