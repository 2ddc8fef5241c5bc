r"""Steady linear problems of the discretised operator, with AFC limiting where the scheme asks for it.

.. math::  B u = b + g(u),\qquad g_i(u) = \sum_j \alpha_{ij}(u) f_{ij}(u)
           \ \ (\text{AFC; } g = 0 \text{ otherwise}),

where ``B`` is the scheme's operator (:math:`A` or :math:`A_L`, or their transposes for backward
problems) with some rows fixed (Dirichlet rows or a pinned node), eliminated symmetrically. The AFC
problem is solved by an Anderson-accelerated defect correction (PETSc SNES ``anderson``) that reuses
one factorisation of the preconditioner :math:`A - 0.7D`.

:class:`SourceSolver` uses this for :math:`\nabla\cdot J = f` with absorbing boundaries (the
manufactured-solution problem).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import dolfinx
import dolfinx.fem.petsc
import ufl
from petsc4py import PETSc

from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.errors import ProblemError, SolverDivergedError
from fpsolve.solvers.linear import make_ksp, solve
from fpsolve.solvers.options import Options, configure, merged


def solve_limited(
    disc: Discretisation,
    B: PETSc.Mat,
    b: PETSc.Vec,
    fixed_rows: np.ndarray,
    u: PETSc.Vec,
    prefix: str,
    options: Options | None,
    rtol: float,
    max_iterations: int,
    blend: float = 0.3,
    transpose: bool = False,
    linear: bool = False,
) -> tuple[int, list[float]]:
    r"""Solve ``B u = b (+ g(u) for AFC)`` in place; ``fixed_rows`` (global) keep ``u = b`` there.

    For AFC the defect-correction map :math:`u \mapsto u + P^{-1}(b + g(u) - Bu)` is Anderson-accelerated,
    starting from :math:`P^{-1}b` (one factorisation in all), with :math:`P = A - (1-\omega)D` (``blend``
    = ω, same fixed rows). ω = 0 is the plain fixed point on :math:`A_L`, which stagnates when the
    artificial diffusion dominates the physical one (degenerate Q, small ε: phase-space OU with
    γ = 0.01 stalls at a change of 2e-7); ω = 1 (Galerkin) diverges where the limiter is strongly
    active. ω = 0.3 converged on every problem of the test suite (measured in docs/numerics.md).

    ``linear=True`` solves ``B u = b`` alone even for a limited scheme (``B`` is then a linear matrix of
    the caller's, e.g. the fitted ``A_E``).

    ``transpose=True`` solves the backward (generator) problem with ``B`` built from the transposed
    operator: the same limited fluxes :math:`d_{ij}(u_i - u_j)` apply because D is symmetric.

    Returns
    -------
    tuple
        Number of fixed-point iterations (1 for a linear scheme) and the history of
        ``max|F(u)|/max|u|``.
    """
    if linear or not disc.limited:
        ksp = make_ksp(B, prefix, options, disc.problem.dim)
        try:
            solve(ksp, b, u, "steady solve")
        finally:
            ksp.destroy()
        return 1, []
    P = disc.blended_operator(blend)
    if transpose:  # backward problems: (A − (1−ω)D)ᵀ = Aᵀ − (1−ω)D, D symmetric
        P = P.transpose()
    P.zeroRowsColumns(np.asarray(fixed_rows, dtype=PETSc.IntType), 1.0)
    # the one linear solver of the AFC solve, under the caller's prefix
    pksp = make_ksp(P, prefix, options, disc.problem.dim)
    try:
        solve(pksp, b, u, "steady solve")  # starting guess; the fixed rows already hold their values
        return _anderson(disc, pksp, B, b, fixed_rows, u, prefix, rtol, max_iterations)
    finally:
        pksp.destroy()
        P.destroy()


def _anderson(
    disc: Discretisation,
    ksp: PETSc.KSP,
    B: PETSc.Mat,
    b: PETSc.Vec,
    fixed_rows: np.ndarray,
    u: PETSc.Vec,
    prefix: str,
    rtol: float,
    max_iterations: int,
) -> tuple[int, list[float]]:
    defect = b.duplicate()
    lo, hi = u.getOwnershipRange()
    fixed_rows = np.asarray(fixed_rows, dtype=np.int64)
    fixed = fixed_rows[(fixed_rows >= lo) & (fixed_rows < hi)] - lo
    history: list[float] = []

    def residual(snes: PETSc.SNES, x: PETSc.Vec, f: PETSc.Vec) -> None:
        g = disc.limiter(x, fixed)
        g[fixed] = 0.0
        B.mult(x, defect)
        defect.array[:] = b.array + g - defect.array  # b + g(x) - Bx
        solve(ksp, defect, f, "AFC fixed-point iteration")
        f.scale(-1.0)  # F(x) = -P^{-1}(b + g(x) - Bx)
        history.append(f.norm(PETSc.NormType.INFINITY) / max(x.norm(PETSc.NormType.INFINITY), 1e-300))

    def converged(snes: PETSc.SNES, it: int, norms: Any) -> int:
        if history and history[-1] < rtol:
            return PETSc.SNES.ConvergedReason.CONVERGED_FNORM_ABS
        if it >= max_iterations:
            return PETSc.SNES.ConvergedReason.DIVERGED_MAX_IT
        return PETSc.SNES.ConvergedReason.ITERATING

    snes = PETSc.SNES().create(disc.comm)
    snes.setFunction(residual, u.duplicate())
    defaults = {"snes_type": "anderson", "snes_anderson_m": 10, "snes_max_funcs": 10 * max_iterations}
    configure(snes, prefix + "afc_", merged(defaults, None))
    snes.setConvergenceTest(converged)
    snes.solve(None, u)
    reason, iterations = snes.getConvergedReason(), snes.getIterationNumber()
    snes.destroy()
    defect.destroy()
    if reason <= 0:
        last = history[-1] if history else float("nan")
        msg = (
            f"AFC fixed-point iteration did not converge (SNES reason {reason}, {iterations} iterations, "
            f"last relative change {last:.2e})"
        )
        raise SolverDivergedError(msg)
    return iterations, history


class SourceSolver:
    r"""Steady forward problem with a source and absorbing boundaries.

    .. math::  \nabla\cdot(\beta\rho - K\nabla\rho) = f \text{ in } \Omega,\quad
               \rho = 0 \text{ on absorbing parts},\quad J\cdot n = 0 \text{ elsewhere}.

    Parameters
    ----------
    disc
        Discretisation of a problem with at least one absorbing part.
    petsc_options, prefix, rtol, max_iterations
        As for :func:`solve_limited`.
    """

    def __init__(
        self,
        disc: Discretisation,
        petsc_options: Options | None = None,
        prefix: str = "fpsolve_source_",
        rtol: float = 1e-10,
        max_iterations: int = 5000,
    ) -> None:
        if not disc.problem.absorbing:
            raise ProblemError("a source problem needs an absorbing boundary part (else it is singular)")
        self.disc, self.options, self.prefix = disc, petsc_options, prefix
        self.rtol, self.max_iterations = rtol, max_iterations
        self.iterations = 0

    def solve(self, source: Any) -> dolfinx.fem.Function:
        """Solve for the sympy source expression ``source`` and return ρ."""
        disc = self.disc
        x = ufl.SpatialCoordinate(disc.msh)
        v = ufl.TestFunction(disc.V)
        f = to_ufl(source, x, disc.problem.coords)
        b = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(f * v * disc.dx))
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        b.array[disc.bc_rows - b.getOwnershipRange()[0]] = 0.0
        B = disc.operator().copy()
        B.zeroRowsColumns(disc.bc_rows, 1.0)
        rho = disc.function("rho")
        self.iterations, _ = solve_limited(
            disc,
            B,
            b,
            disc.bc_rows,
            rho.x.petsc_vec,
            self.prefix,
            self.options,
            self.rtol,
            self.max_iterations,
        )
        rho.x.scatter_forward()
        B.destroy()
        b.destroy()
        return rho
