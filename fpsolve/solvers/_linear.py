"""Shared linear-solver plumbing: a configured KSP that raises on divergence."""

from __future__ import annotations

from petsc4py import PETSc

from fpsolve._petsc import Options, configure, merged
from fpsolve.errors import SolverDivergedError

DIRECT = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


def make_ksp(A: PETSc.Mat, prefix: str, options: Options | None) -> PETSc.KSP:
    """A KSP on ``A`` under ``prefix``: MUMPS LU unless ``options`` (or the command line) say otherwise."""
    ksp = PETSc.KSP().create(A.getComm())
    ksp.setOperators(A)
    configure(ksp, prefix, merged(DIRECT, options))
    return ksp


def solve(ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec, what: str) -> None:
    """Solve and raise :class:`SolverDivergedError` with PETSc's reason if the KSP did not converge."""
    ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    if reason <= 0:
        names = {v: k for k, v in vars(PETSc.KSP.ConvergedReason).items() if isinstance(v, int)}
        its = ksp.getIterationNumber()
        name = names.get(reason, reason)
        msg = f"{what}: linear solver did not converge (KSP reason {name}, {its} iterations)"
        raise SolverDivergedError(msg)
