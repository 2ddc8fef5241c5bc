"""Monte Carlo throughput: Euler–Maruyama particle-steps per second per core, 2-D.

Problems: the demo OU (constant Q: one matrix square root), a state-dependent rank-1 Q (a 2×2 square
root per particle and step) and Brownian motion in the annulus mesh ``meshes/annulus.msh`` absorbing on
both circles (facet walls with the bridge test). Prints particle-steps per CPU-second
(``time.process_time``, meaningful on a shared machine) and per wall-second, per rank; run under
``mpiexec -n 2`` to see the per-core rate with two ranks (chunks are dealt to ranks).

    .venv/bin/python bench/montecarlo.py
    .venv/bin/mpiexec -n 2 .venv/bin/python bench/montecarlo.py
"""

from __future__ import annotations

import time

import numpy as np
import sympy as sp

from mpi4py import MPI

import fpsolve  # noqa: F401
from fpsolve import testing
from fpsolve.problem.domain import Cuboid, MeshFile
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.sde.montecarlo import EulerMaruyama, simulate_moments


def rate(em: EulerMaruyama, start: object, particles: int, steps: int) -> tuple[float, float, float]:
    """Particle-steps per CPU-second and per wall-second per rank (slowest rank), and CPU use in %."""
    comm = MPI.COMM_WORLD
    comm.Barrier()
    c0, t0 = time.process_time(), time.perf_counter()
    simulate_moments(em, start, particles, [steps * em.dt], seed=1, comm=comm)
    cpu = comm.allreduce(time.process_time() - c0, op=MPI.MAX)
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    work = particles * steps / comm.size
    return work / cpu, work / wall, 100 * cpu / wall


def main() -> None:
    """Print the table (best of 3 by CPU rate)."""
    x, y = coordinates(2)
    rank1 = FokkerPlanckProblem(
        2,
        sp.Matrix([[1, x], [x, x**2]]),
        1e-2,
        Cuboid((-1.0, -1.0), (1.0, 1.0), (2, 2)),
        loss=(x**2 + 2 * y**2 + x * y) / 2,
    )
    annulus = FokkerPlanckProblem(
        2, sp.eye(2), 1e-2, MeshFile("meshes/annulus.msh", 2), loss=0 * x, absorbing=("inner", "outer")
    )

    def gauss(rng: np.random.Generator, m: int) -> np.ndarray:
        return rng.normal(0.0, 0.1, (m, 2))

    def ring(rng: np.random.Generator, m: int) -> np.ndarray:
        r, phi = rng.uniform(0.35, 0.95, m), rng.uniform(0.0, 2 * np.pi, m)
        return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)

    rows = [
        ("OU, constant Q, reflecting box", testing.ou_problem(2), gauss),
        ("rank-1 state-dependent Q, reflecting box", rank1, gauss),
        ("Brownian, annulus mesh, absorbing + bridge", annulus, ring),
    ]
    if MPI.COMM_WORLD.rank == 0:
        print(f"ranks: {MPI.COMM_WORLD.size}")
        print("| problem | particles | steps | per CPU-s per core | per wall-s per core | CPU % |")
        print("|---|---|---|---|---|---|")
    for name, problem, start in rows:
        em = EulerMaruyama(problem, 1e-3)
        best = max((rate(em, start, 200_000, 200) for _ in range(3)), key=lambda r: r[0])
        if MPI.COMM_WORLD.rank == 0:
            print(f"| {name} | 200000 | 200 | {best[0]:.3e} | {best[1]:.3e} | {best[2]:.0f} |")


if __name__ == "__main__":
    main()
