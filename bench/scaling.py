r"""Problem-size scaling of the stationary Fokker–Planck solve against a Poisson solve.

For each ``n`` in ``--sizes`` an ``n × n`` right-diagonal triangle mesh of ``[-1.5, 1.5]²`` is built
(P1: ``N = (n+1)²`` DOFs) and on it, in the same process and run:

* our stationary solve, once per scheme in ``--schemes``: ``Discretisation(...)`` (forms, assembly,
  AFC edge graph / low-order operator) plus ``StationarySolver(...).solve()`` on the anisotropic
  Ornstein–Uhlenbeck problem

  .. math::  \nabla\cdot(\varepsilon^2 Q\nabla\rho + A x\,\rho) = 0,\quad
             A = \begin{pmatrix}2.5 & -1.5\\ -1.5 & 2.5\end{pmatrix},\
             Q = \begin{pmatrix}1 & 0.5\\ 0.5 & 0.5\end{pmatrix},\ \varepsilon^2 = 0.05,

  reflecting boundaries. The linear solver is fpsolve's default (MUMPS LU, AMF ordering in 2-D) unless
  ``--petsc`` gives options, which pass through to ``StationarySolver(petsc_options=...)``;
* a reference Poisson solve, :math:`-\Delta u = 1`, :math:`u = 0` on the boundary, P1, assembled with
  ``dolfinx.fem.petsc`` and solved with CG + GAMG, ``ksp_rtol 1e-8``.

Timings are wall-clock (``time.perf_counter``) from a ``comm.Barrier()`` to the end of the solve, the
maximum over ranks. Mesh creation is not timed. Form JIT compilation is excluded by a warm-up on a
small mesh. Only rank 0 prints.

Run from the repository root::

    .venv/bin/python bench/scaling.py
    .venv/bin/mpiexec -n 2 .venv/bin/python bench/scaling.py
    .venv/bin/python bench/scaling.py --petsc ksp_type=gmres ksp_rtol=1e-8 pc_type=bjacobi
"""

from __future__ import annotations

import fpsolve  # noqa: F401  (must come before mpi4py / petsc4py / dolfinx)

# isort: split

import argparse
import gc
import json
import logging
import platform
import resource
import sys
import time
from typing import Any

import numpy as np
import sympy as sp

import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.discretisation.mesh import TaggedMesh, build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import FpsolveError
from fpsolve.log import configure as configure_logging
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.solvers.stationary import StationarySolver

LO, HI = (-1.5, -1.5), (1.5, 1.5)
DRIFT_MATRIX = np.array([[2.5, -1.5], [-1.5, 2.5]])
Q = sp.Matrix([[1, 0.5], [0.5, 0.5]])
EPS2 = 0.05
POISSON_OPTIONS = {"ksp_type": "cg", "pc_type": "gamg", "ksp_rtol": 1e-8}


def problem(n: int) -> FokkerPlanckProblem:
    """The anisotropic OU benchmark problem on an ``n × n`` mesh of the square."""
    x, y = coordinates(2)
    drift = -sp.Matrix(DRIFT_MATRIX) * sp.Matrix([x, y])
    return FokkerPlanckProblem(2, Q, EPS2, Cuboid(LO, HI, (n, n)), drift=drift)


def _max_over_ranks(comm: MPI.Comm, value: float) -> float:
    return float(comm.allreduce(value, op=MPI.MAX))


def _peak_rss_gib(comm: MPI.Comm) -> float:
    """Sum over ranks of each process's peak resident set size (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return comm.allreduce(kib, op=MPI.SUM) / 2**20


def best_of(repeat: int, run: Any, *args: Any) -> dict[str, Any]:
    """Run ``run(*args)`` ``repeat`` times and keep the result with the smallest total time."""
    results = [run(*args) for _ in range(max(1, repeat))]
    return min(results, key=lambda r: r["total_s"])


def time_ours(
    prob: FokkerPlanckProblem, tagged: TaggedMesh, scheme: str, options: dict[str, Any] | None
) -> dict[str, Any]:
    """Assemble (``Discretisation``) and solve (``StationarySolver``); times are max over ranks."""
    comm = tagged.mesh.comm
    comm.Barrier()
    c0 = time.process_time()
    t0 = time.perf_counter()
    disc = Discretisation(prob, tagged, scheme=scheme)
    t1 = time.perf_counter()
    res = StationarySolver(disc, petsc_options=options).solve()
    t2 = time.perf_counter()
    cpu = (time.process_time() - c0) / (t2 - t0)
    out = {
        "setup_s": _max_over_ranks(comm, t1 - t0),
        "solve_s": _max_over_ranks(comm, t2 - t1),
        "total_s": _max_over_ranks(comm, t2 - t0),
        "cpu_fraction": float(comm.allreduce(cpu, op=MPI.MIN)),
        "iterations": int(res.iterations),
        "residual": float(res.residual),
        "rho_min": disc.minimum(res.rho),
        "dofs": disc.num_dofs(),
    }
    del res, disc
    gc.collect()
    return out


def time_poisson(tagged: TaggedMesh) -> dict[str, Any]:
    """P1 Poisson ``-Δu = 1``, ``u = 0`` on ∂Ω: assembly + CG/GAMG solve; times are max over ranks."""
    msh = tagged.mesh
    comm = msh.comm
    comm.Barrier()
    c0 = time.process_time()
    t0 = time.perf_counter()
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    L = dolfinx.fem.form(dolfinx.fem.Constant(msh, PETSc.ScalarType(1.0)) * v * ufl.dx)
    fdim = msh.topology.dim - 1
    msh.topology.create_connectivity(fdim, msh.topology.dim)
    facets = dolfinx.mesh.exterior_facet_indices(msh.topology)
    dofs = dolfinx.fem.locate_dofs_topological(V, fdim, facets)
    bc = dolfinx.fem.dirichletbc(PETSc.ScalarType(0.0), dofs, V)
    A = dolfinx.fem.petsc.assemble_matrix(a, bcs=[bc])
    A.assemble()
    b = dolfinx.fem.petsc.assemble_vector(L)
    dolfinx.fem.petsc.apply_lifting(b, [a], bcs=[[bc]])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, [bc])
    uh = dolfinx.fem.Function(V)
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(A)
    ksp.setOptionsPrefix("bench_poisson_")
    db = PETSc.Options()
    for key, value in POISSON_OPTIONS.items():
        db.setValue(f"bench_poisson_{key}", value)
    ksp.setFromOptions()
    ksp.solve(b, uh.x.petsc_vec)
    uh.x.scatter_forward()
    t1 = time.perf_counter()
    cpu = (time.process_time() - c0) / (t1 - t0)
    reason = ksp.getConvergedReason()
    if reason <= 0:
        raise RuntimeError(f"Poisson CG/GAMG did not converge (reason {reason})")
    out = {
        "total_s": _max_over_ranks(comm, t1 - t0),
        "cpu_fraction": float(comm.allreduce(cpu, op=MPI.MIN)),
        "iterations": ksp.getIterationNumber(),
        "dofs": V.dofmap.index_map.size_global,
    }
    for key in POISSON_OPTIONS:
        db.delValue(f"bench_poisson_{key}")
    ksp.destroy()
    A.destroy()
    b.destroy()
    del uh, bc, a, L, V
    gc.collect()
    return out


def parse_petsc(tokens: list[str] | None) -> dict[str, Any] | None:
    """``["ksp_type=gmres", "pc_type=gamg", "ksp_monitor"]`` → options dict (``None`` if empty)."""
    if not tokens:
        return None
    options: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.lstrip("-").partition("=")
        options[key] = value if sep else None
    return options


def fit_exponent(dofs: list[int], times: list[float]) -> float:
    """Slope ``p`` of ``log t = p log N + c`` (least squares)."""
    if len(dofs) < 2:
        return float("nan")
    return float(np.polyfit(np.log(dofs), np.log(times), 1)[0])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (rank 0)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[100, 200, 400, 700, 1000],
        help="cells per axis n (P1 DOFs = (n+1)^2); default: 100 200 400 700 1000",
    )
    parser.add_argument(
        "--schemes",
        nargs="+",
        default=["afc", "galerkin"],
        choices=["afc", "galerkin", "upwind"],
        help="fpsolve schemes to time (default: afc galerkin)",
    )
    parser.add_argument(
        "--petsc",
        nargs="+",
        metavar="KEY[=VALUE]",
        help="options for our linear solves, e.g. ksp_type=gmres pc_type=bjacobi (default: MUMPS LU)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time every solve this many times and report the fastest (default 1)",
    )
    parser.add_argument("--no-poisson", action="store_true", help="skip the Poisson reference")
    parser.add_argument("--output", help="also write the results as JSON to this file (rank 0)")
    parser.add_argument("--verbose", action="store_true", help="let fpsolve log at INFO level")
    args = parser.parse_args(argv)

    comm = MPI.COMM_WORLD
    rank0 = comm.rank == 0
    configure_logging(logging.INFO if args.verbose else logging.WARNING)
    options = parse_petsc(args.petsc)

    def say(text: str = "") -> None:
        if rank0:
            print(text, flush=True)

    say(
        f"# fpsolve stationary scaling benchmark — {comm.size} MPI rank(s), dolfinx {dolfinx.__version__}, "
        f"PETSc {'.'.join(map(str, PETSc.Sys.getVersion()))}, python {platform.python_version()}"
    )
    say(f"# problem: anisotropic OU on [-1.5,1.5]^2, eps2={EPS2}, P1, right-diagonal triangles")
    say(
        f"# ours: schemes {' '.join(args.schemes)}; linear solver: "
        f"{options if options else 'fpsolve default (MUMPS LU, AMF ordering in 2-D)'}"
    )
    say(f"# Poisson: -Δu=1, u=0 on ∂Ω, P1, {POISSON_OPTIONS}")
    say(
        "# times: wall seconds, Barrier → end of solve, max over ranks; mesh creation and JIT not timed; "
        f"best of {max(1, args.repeat)}"
    )
    say(
        "# setup = Discretisation (assembly, AFC graph); solve = StationarySolver.solve; ours = setup + solve"
    )
    say("# iters = AFC fixed-point iterations; resid = relative residual of the stationary equations")
    say("# cpu% = CPU time / wall time, min over ranks and both solves (well below 100: other load)")

    # warm-up: JIT-compile every form (and load MUMPS/GAMG) on a small mesh
    prob = problem(8)
    tagged = build_mesh(prob.domain, comm)
    for scheme in args.schemes:
        try:
            time_ours(prob, tagged, scheme, options)
        except FpsolveError as exc:  # the forms are compiled before any solve; the failure shows below
            say(f"# warm-up ({scheme}, n=8) failed: {exc}")
    if not args.no_poisson:
        time_poisson(tagged)
    del tagged

    header = (
        f"{'n':>5} {'DOFs':>9} {'scheme':>8} {'setup s':>8} {'solve s':>8} {'ours s':>8} "
        f"{'DOFs/s':>9} {'iters':>5} {'resid':>7} {'Poisson s':>9} {'CG its':>6} {'ratio':>6} {'cpu%':>4} "
        f"{'peak RSS GiB':>12}"
    )
    say()
    say(header)
    say("-" * len(header))
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        prob = problem(n)
        tagged = build_mesh(prob.domain, comm)
        poisson = None if args.no_poisson else best_of(args.repeat, time_poisson, tagged)
        for scheme in args.schemes:
            try:
                ours = best_of(args.repeat, time_ours, prob, tagged, scheme, options)
            except FpsolveError as exc:  # e.g. an iterative --petsc choice that does not converge
                say(f"{n:5d} {(n + 1) ** 2:9d} {scheme:>8} FAILED: {exc}")
                rows.append(
                    {"n": n, "scheme": scheme, "ranks": comm.size, "failed": str(exc), "poisson": poisson}
                )
                gc.collect()
                continue
            rss = _peak_rss_gib(comm)
            cpu = min(ours["cpu_fraction"], poisson["cpu_fraction"] if poisson else 1.0)
            N = ours["dofs"]
            ratio = ours["total_s"] / poisson["total_s"] if poisson else float("nan")
            p_time = f"{poisson['total_s']:9.3f}" if poisson else f"{'-':>9}"
            p_its = f"{poisson['iterations']:6d}" if poisson else f"{'-':>6}"
            say(
                f"{n:5d} {N:9d} {scheme:>8} {ours['setup_s']:8.3f} {ours['solve_s']:8.3f} "
                f"{ours['total_s']:8.3f} {N / ours['total_s']:9.3g} {ours['iterations']:5d} "
                f"{ours['residual']:7.1e} {p_time} {p_its} {ratio:6.2f} {100 * cpu:4.0f} "
                f"{rss:12.2f}"
            )
            rows.append(
                {
                    "n": n,
                    "scheme": scheme,
                    "ranks": comm.size,
                    "ours": ours,
                    "poisson": poisson,
                    "ratio": ratio,
                    "peak_rss_gib": rss,
                }
            )
        del tagged
        gc.collect()

    say()
    say(
        "# fitted exponent p of time ∝ N^p (np.polyfit on log-log over all sizes; local slopes between sizes)"
    )
    series: dict[str, tuple[list[int], list[float]]] = {}
    for scheme in args.schemes:
        sel = [r for r in rows if r["scheme"] == scheme and "ours" in r]
        series[f"ours/{scheme}"] = ([r["ours"]["dofs"] for r in sel], [r["ours"]["total_s"] for r in sel])
    if not args.no_poisson:
        sel = [r for r in rows if r["scheme"] == args.schemes[0]]
        series["Poisson"] = ([r["poisson"]["dofs"] for r in sel], [r["poisson"]["total_s"] for r in sel])
    fits = {}
    for name, (dofs, times) in series.items():
        if len(dofs) < 2:
            say(f"p[{name:>13}] =   n/a (fewer than two successful sizes)")
            continue
        fits[name] = fit_exponent(dofs, times)
        local = [
            np.log(times[i + 1] / times[i]) / np.log(dofs[i + 1] / dofs[i]) for i in range(len(dofs) - 1)
        ]
        say(f"p[{name:>13}] = {fits[name]:5.2f}   local: {' '.join(f'{s:5.2f}' for s in local)}")

    if rank0 and args.output:
        with open(args.output, "w") as fh:
            json.dump(
                {"ranks": comm.size, "petsc_options": options, "rows": rows, "exponents": fits}, fh, indent=1
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
