"""Shared linear-solver plumbing: a configured KSP that raises on divergence."""

from __future__ import annotations

from petsc4py import PETSc

from fpsolve.errors import SolverDivergedError
from fpsolve.solvers.options import Options, configure, merged

DIRECT = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}


def direct_options(dim: int) -> dict[str, object]:
    """MUMPS LU; in 1-D and 2-D with the approximate minimum fill ordering (``ICNTL(7) = 2``).

    In 2-D, MUMPS's default (METIS nested dissection) gives less fill, but METIS itself takes longer than
    the whole factorisation: at 10⁶ DOFs 6.6 s of an 11.5 s LU set-up, against 0.7 s of 7.6 s with a
    minimum-degree ordering (measured, docs/benchmarks.md). AMF fills in 8 % less than AMD at the same
    cost. In 3-D minimum-degree orderings fill in far more: MUMPS chooses there.
    """
    return {**DIRECT, "mat_mumps_icntl_7": 2} if dim <= 2 else dict(DIRECT)


def make_ksp(A: PETSc.Mat, prefix: str, options: Options | None, dim: int) -> PETSc.KSP:
    """A set-up KSP on ``A`` under ``prefix``: :func:`direct_options` unless ``options`` say otherwise.

    ``dim`` is the space dimension of the problem behind ``A``. The preconditioner is set up
    (factorised) here, so that options read only then (``mat_mumps_*``, ``mg_levels_*``) take effect.
    """
    ksp = PETSc.KSP().create(A.getComm())
    ksp.setOperators(A)
    configure(ksp, prefix, merged(direct_options(dim), options), set_up=True)
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
