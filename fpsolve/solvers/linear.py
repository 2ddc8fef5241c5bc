"""Shared linear-solver plumbing: a configured KSP that raises on divergence."""

from __future__ import annotations

from petsc4py import PETSc

from fpsolve.errors import SolverDivergedError
from fpsolve.solvers.options import Options, configure, merged, petsc_errors

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


#: Largest accepted true residual ‖b − Ax‖ relative to ‖A‖‖x‖ + ‖b‖ beyond the KSP's own tolerance
#: (an LU solve leaves about 1e-15; ``preonly`` with a poor preconditioner "converges" regardless).
RESIDUAL_TOL = 1e-8


def solve(ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec, what: str) -> None:
    r"""Solve; raise :class:`SolverDivergedError` unless the KSP converged and the solution is one.

    Two checks: PETSc's converged reason, and the true residual,
    :math:`\|b - Ax\|_\infty \le \max(10\,\mathrm{rtol}\|b\|_\infty,\ \mathrm{atol})
    + \mathrm{RESIDUAL\_TOL}\,(\|A\|_\infty\|x\|_\infty + \|b\|_\infty)` (``preonly`` always reports
    convergence, whatever its preconditioner did).
    """
    with petsc_errors(ksp.getOptionsPrefix() or ""):
        ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    its = ksp.getIterationNumber()
    if reason <= 0:
        names = {v: k for k, v in vars(PETSc.KSP.ConvergedReason).items() if isinstance(v, int)}
        name = names.get(reason, reason)
        msg = f"{what}: linear solver did not converge (KSP reason {name}, {its} iterations)"
        raise SolverDivergedError(msg)
    A = ksp.getOperators()[0]
    r = b.duplicate()
    A.mult(x, r)
    r.aypx(-1.0, b)
    rtol, atol, _, _ = ksp.getTolerances()
    inf = PETSc.NormType.INFINITY
    bn, rn = b.norm(inf), r.norm(inf)
    r.destroy()
    allowed = max(10 * rtol * bn, atol) + RESIDUAL_TOL * (A.norm(inf) * x.norm(inf) + bn)
    if not rn <= allowed:  # also catches NaN
        msg = (
            f"{what}: the linear solve did not solve the system: true residual {rn:.3e} > {allowed:.3e} "
            f"(KSP {ksp.getType()}, PC {ksp.getPC().getType()}, {its} iterations)"
        )
        raise SolverDivergedError(msg)
