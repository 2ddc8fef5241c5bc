"""Transient cost per step against one forward/back substitution of the same LU factors, in one run.

For each case (its first ``transient`` or ``mass_concentration`` analysis: scheme, integrator, Δt), the
transient solver advances the case's initial density over ``--t-end`` (default: the analysis's whole
interval) and the script prints

* steps, wall time of the run and per step;
* ``subst``: one solve with an already factorised matrix of the same size and kind (MUMPS, the default
  direct solver), timed over ``--repeat`` solves in the same process;
* ``ratio`` = per-step time / ``subst`` (issue target: ≤ 5);
* ``LU`` = numeric factorisations during the run (PETSc's ``MatLUFactorNum`` event count): a PETSc TS
  that refactorises at every step pays a factorisation per step, not a substitution;
* mass drift and min ρ / max ρ of the final density (positivity).

A ``ts`` case runs twice: with its adaptive steps rounded down to the levels Δt₀·2^(k/2)
(:func:`fpsolve.solvers.transient.dt_level`, the default) and as ``ts/raw`` with PETSc's proposals as
they are, which gives the before/after of the factorisation reuse in one run; ``rho-diff`` is the
relative L² difference of the two final densities (both within the TS tolerance of the exact one).

Times are wall seconds, maximum over ranks, mesh/forms/JIT excluded. Run::

    .venv/bin/python bench/transient.py
    .venv/bin/mpiexec -n 2 .venv/bin/python bench/transient.py cases/label_noise_diagonal_net.toml --t-end 1
"""

from __future__ import annotations

import fpsolve  # noqa: F401  (must come before mpi4py / petsc4py / dolfinx)

# isort: split

import argparse
import time
from pathlib import Path

import numpy as np

from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.analyses.transient import initial_density
from fpsolve.cases.runner import discretise_case
from fpsolve.cases.schema import load_case
from fpsolve.solvers.linear import direct_options, make_ksp
from fpsolve.solvers.transient import TransientSolver

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["cases/ou_transient_rank1.toml", "cases/mass_concentration.toml", "cases/relaxation_ou_2d.toml"]


def _lu_count() -> int:
    return int(PETSc.Log.Event("MatLUFactorNum").getPerfInfo()["count"])


def _substitution(disc: object, dt: float, repeat: int) -> float:
    """Seconds per solve with factors of M + Δt A (the size and pattern of every step's systems)."""
    S = disc.A.copy()  # type: ignore[attr-defined]
    S.scale(dt)
    S.axpy(1.0, disc.M, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)  # type: ignore[attr-defined]
    ksp = make_ksp(S, "bench_subst_", None, disc.problem.dim)  # type: ignore[attr-defined]
    b = S.createVecRight()
    b.set(1.0)
    x = b.duplicate()
    ksp.solve(b, x)
    comm = disc.comm  # type: ignore[attr-defined]
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(repeat):
        ksp.solve(b, x)
    seconds = comm.allreduce((time.perf_counter() - t0) / repeat, op=MPI.MAX)
    for obj in (ksp, S, b, x):
        obj.destroy()
    return seconds


def bench_case(path: str, t_end: float | None, repeat: int, levels: bool) -> dict[str, object]:
    """Run the case's transient over [0, t_end]; its timings, step counts and final density."""
    case = load_case(ROOT / path)
    analysis = next(a for a in case.analyses if a.kind in ("transient", "mass_concentration", "relaxation"))
    disc = discretise_case(case)
    method = getattr(analysis, "method", "beuler")
    dt = analysis.dt
    end = t_end if t_end is not None else analysis.t_end
    rho = initial_density(disc)
    solver = TransientSolver(disc, dt, method=method, petsc_options=case.petsc, levels=levels)
    # JIT and first factorisations outside the timing: one short warm-up run on a copy
    warm = rho.copy()
    list(TransientSolver(disc, dt, method=method, petsc_options=case.petsc).run(warm, [dt]))
    lu0 = _lu_count()
    disc.comm.Barrier()
    t0 = time.perf_counter()
    list(solver.run(rho, [end]))
    wall = disc.comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    lu = _lu_count() - lu0
    steps = len(solver.history)
    subst = _substitution(disc, dt, repeat)
    last = solver.history[-1]
    return {
        "case": Path(path).stem,
        "dofs": disc.num_dofs(),
        "scheme": disc.scheme,
        "method": method + ("" if levels or method != "ts" else "/raw"),
        "t_end": end,
        "steps": steps,
        "wall": wall,
        "per_step": wall / steps,
        "subst": subst,
        "ratio": wall / steps / subst,
        "lu": disc.comm.allreduce(lu, op=MPI.MAX),
        "mass": last.mass,
        "min_over_max": last.min / last.max,
        "rho": rho.x.array[: disc.V.dofmap.index_map.size_local].copy(),
    }


def _relative_difference(a: np.ndarray, b: np.ndarray, comm: MPI.Comm) -> float:
    """Relative Euclidean difference of two distributed nodal vectors, ‖a − b‖ / ‖b‖."""
    num = comm.allreduce(float(np.sum((a - b) ** 2)), op=MPI.SUM)
    den = comm.allreduce(float(np.sum(b**2)), op=MPI.SUM)
    return (num / den) ** 0.5


def main() -> None:
    """Benchmark the given cases and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="*", default=DEFAULT)
    parser.add_argument("--t-end", type=float, default=None, help="integrate over [0, T] (default: whole)")
    parser.add_argument("--repeat", type=int, default=20, help="substitutions timed for 'subst'")
    args = parser.parse_args()
    PETSc.Log.begin()
    comm = MPI.COMM_WORLD
    rows = []
    for c in args.cases:
        rows.append(bench_case(c, args.t_end, args.repeat, levels=True))
        if rows[-1]["method"] == "ts":  # the same run with PETSc's step proposals taken as they are
            rows.append(bench_case(c, args.t_end, args.repeat, levels=False))
            rows[-1]["diff"] = _relative_difference(rows[-2]["rho"], rows[-1]["rho"], comm)
    if comm.rank == 0:
        print(f"# fpsolve transient benchmark — {comm.size} MPI rank(s), PETSc {PETSc.Sys.getVersion()}")
        print(f"# direct solver {direct_options(2)}; wall seconds, max over ranks, JIT and set-up excluded")
        head = (
            f"{'case':<28}{'dofs':>8} {'scheme':>9} {'method':>7} {'t_end':>6} {'steps':>6} {'wall s':>8} "
            f"{'step ms':>8} {'subst ms':>9} {'ratio':>6} {'LU':>5} {'mass-1':>9} {'min/max':>9} "
            f"{'rho-diff':>9}"
        )
        print(head)
        print("-" * len(head))
        for r in rows:
            print(
                f"{r['case']:<28}{r['dofs']:>8} {r['scheme']:>9} {r['method']:>7} {r['t_end']:>6g} "
                f"{r['steps']:>6} {r['wall']:>8.2f} {1e3 * r['per_step']:>8.2f} {1e3 * r['subst']:>9.3f} "
                f"{r['ratio']:>6.1f} {r['lu']:>5} {r['mass'] - 1:>9.1e} {r['min_over_max']:>9.1e} "
                f"{r.get('diff', float('nan')):>9.1e}"
            )
        worst = max(float(r["ratio"]) for r in rows)
        print(f"# ratio = (wall / steps) / subst; target ≤ 5 (issue 15); largest ratio {worst:.1f}")


if __name__ == "__main__":
    main()
