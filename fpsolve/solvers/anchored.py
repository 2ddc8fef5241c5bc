r"""Backward problems at small noise: the renewal (anchored) form that keeps double precision.

The mean exit time of a metastable well grows like :math:`e^{\Delta V/\varepsilon^2}` (2e17 at
ΔV/ε² = 40). A direct solve of the generator system :math:`B T = m` cannot resolve it: every interior
row of :math:`B = -G` (the transpose of the forward operator) sums to zero, and storing its diagonal
and factorising it perturb those sums by about :math:`u\,B_{ii}` (u the unit round-off). The
perturbations act as killing rates of either sign, of size :math:`u\max_i B_{ii}/m_i` per unit
time, against a true escape rate :math:`1/T`: the direct solve is right only while

.. math::  \mathrm{indicator}(x) = u\,\max_i \frac{B_{ii}}{m_i}\,\max|x| \ll 1

(measured on the exact suite of docs/numerics.md: indicator 0.9 gave 5 % error, 3.6 gave 27 %).

With an **anchor** node a inside the well, the strong Markov property at the first visit to a splits
the solution of :math:`Bx = f`, x = g on the Dirichlet rows D, exactly (the same discrete solution, in
exact arithmetic) into three well-conditioned solves with Dirichlet rows :math:`D\cup\{a\}`:

.. math::
    Bw = f,\ w|_D = g,\ w_a = 0;\qquad Bq = 0,\ q|_D = 1,\ q_a = 0;\qquad Bh = 0,\ h|_D = 0,\ h_a = 1;

    x = w + h\,x_a,\qquad
    x_a = \frac{f_a - (Bw)_a}{-(Bq)_a}
        = \frac{f_a + \sum_{j\ne a}|B_{aj}|\,w_j}{\sum_{j\ne a}|B_{aj}|\,q_j}

(row a of :math:`Bx = f` with :math:`\sum_j B_{aj} = 0`). w is the time to reach a or D, q the
probability of reaching D before a (:math:`e^{-\Delta V/\varepsilon^2}`-small next to a, computed
with small *relative* error because the killing at a dominates the round-off), h = 1 − q. No
quantity of size :math:`e^{\Delta V/\varepsilon^2}` ever meets a cancellation. Where a further well
traps the process before it reaches a or D, the time to reach a or D (w for f = m) is large again:
its indicator, checked once per anchor, says so, and :class:`PrecisionLimitError` names the limit.
"""

from __future__ import annotations

import numpy as np

from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.errors import SolverDivergedError
from fpsolve.solvers.linear import make_ksp, solve
from fpsolve.solvers.options import Options

#: Largest accepted :func:`precision_indicator` of a solution (about 1e-4 relative error, measured).
PRECISION_TOL = 1e-3
#: Unit round-off of double precision.
ROUNDOFF = float(np.finfo(float).eps) / 2


class PrecisionLimitError(SolverDivergedError):
    """The discrete system is beyond what double precision resolves (the message names the limit)."""


def rate_scale(B: PETSc.Mat, lumped: PETSc.Vec) -> float:
    r""":math:`\max_i B_{ii}/m_i`: the fastest jump rate of the discrete generator (collective).

    Rows whose lumped mass is below 1e-6 of the largest are left out: P2 vertex functions integrate to
    zero on simplices, up to round-off, and carry no time of their own.
    """
    comm = B.getComm().tompi4py()
    d = B.getDiagonal()
    m = lumped.array
    floor = 1e-6 * comm.allreduce(float(np.max(m, initial=0.0)), op=MPI.MAX)
    local = float(np.max(np.abs(d.array) / np.where(m > floor, m, np.inf), initial=0.0))
    d.destroy()
    return float(comm.allreduce(local, op=MPI.MAX))


def precision_indicator(x: PETSc.Vec, scale: float) -> float:
    r""":math:`u\,\max_i(B_{ii}/m_i)\,\max|x|` (module docstring); ``scale`` from :func:`rate_scale`."""
    return ROUNDOFF * scale * x.norm(PETSc.NormType.INFINITY)


def anchor_row(x: PETSc.Vec, exclude: np.ndarray) -> int:
    r"""Global row of the largest |x| outside the global rows ``exclude`` (collective).

    With x the occupation density :math:`A\rho = m`, ρ = 0 on D (the time a process started
    uniformly spends near each node before absorption), this is the bottom of the deepest well: the
    time T itself is no guide (it is largest on far walls uphill of the well, which the process
    seldom visits).
    """
    lo, hi = x.getOwnershipRange()
    values = np.abs(x.array.copy())
    local_ex = exclude[(exclude >= lo) & (exclude < hi)] - lo
    values[local_ex] = -1.0
    i = int(np.argmax(values)) if values.size else 0
    best = (float(values[i]) if values.size else -1.0, lo + i)
    comm = x.getComm().tompi4py()
    return int(max(comm.allgather(best))[1])


class AnchoredSolver:
    r"""Solves :math:`Bx = f`, x = g on the Dirichlet rows, in the anchored form (module docstring).

    Parameters
    ----------
    B
        The generator matrix without boundary conditions (zero row sums in the interior).
    dirichlet
        Global Dirichlet rows D (the absorbing nodes).
    anchor
        Global row a, not in D, at the bottom of the metastable well: where the process spends its time,
        e.g. the largest value of the occupation density of a forward solve (:func:`anchor_row`).
    lumped, prefix, options, dim
        Lumped mass (for the indicator), PETSc prefix and options of the one factorisation, dimension.
    """

    def __init__(
        self,
        B: PETSc.Mat,
        dirichlet: np.ndarray,
        anchor: int,
        lumped: PETSc.Vec,
        prefix: str,
        options: Options | None,
        dim: int,
    ) -> None:
        self.B = B
        self.anchor = anchor
        self.dirichlet = np.asarray(dirichlet, dtype=PETSc.IntType)
        self.rows = np.union1d(self.dirichlet, [anchor]).astype(PETSc.IntType)
        self.scale = rate_scale(B, lumped)
        self.comm = B.getComm().tompi4py()
        self.Bd = B.copy()
        self.Bd.zeroRowsColumns(self.rows, 1.0)
        self.ksp = make_ksp(self.Bd, prefix, options, dim)
        zero = B.createVecLeft()
        zero.set(0.0)
        trap = self._solve(lumped, zero, 0.0, "anchored solve (time to reach the anchor)")
        indicator = precision_indicator(trap, self.scale)
        top = trap.norm(PETSc.NormType.INFINITY)
        zero.destroy()
        trap.destroy()
        if indicator > PRECISION_TOL:
            raise PrecisionLimitError(
                "a second metastable well traps the process before it reaches the anchor or the absorbing "
                f"boundary: that time reaches {top:.3g}, where round-off of the generator matters "
                f"(indicator {indicator:.2g} > {PRECISION_TOL:g})"
            )
        self.h = self._solve_homogeneous(boundary=0.0, at_anchor=1.0, what="anchored solve (h)")
        self.q = self._solve_homogeneous(boundary=1.0, at_anchor=0.0, what="anchored solve (q)")
        Bq = self.q.duplicate()
        B.mult(self.q, Bq)
        #: :math:`\sum_{j\ne a}|B_{aj}|q_j`: the anchor's escape rate to D per unit mass
        self.escape = -self._at_anchor(Bq)
        Bq.destroy()
        if np.isfinite(self.escape) and self.escape < 0:
            raise PrecisionLimitError(
                f"the escape probability from the well's centre came out negative ({self.escape:.3g}): the "
                "backward matrix is no M-matrix on this mesh (an anisotropic K or obtuse 3-D cells) and the "
                "barrier is too high for its undershoots; refine the mesh"
            )
        if not (np.isfinite(self.escape) and self.escape > 0):
            raise PrecisionLimitError(
                "the probability of reaching the absorbing boundary before returning to the well's centre "
                f"is {self.escape:.3g} in double precision (underflow: barrier/ε² beyond about 700, or the "
                "boundary is unreachable from the well)"
            )

    def solve(self, f: PETSc.Vec, g: PETSc.Vec, x: PETSc.Vec, what: str) -> None:
        r"""``x`` ← solution of :math:`Bx = f`, x = ``g`` on D (``g`` read on D only)."""
        w = self._solve(f, g, 0.0, what)
        Bw = w.duplicate()
        self.B.mult(w, Bw)
        x_a = (self._at_anchor(f) - self._at_anchor(Bw)) / self.escape
        Bw.destroy()
        w.axpy(x_a, self.h)  # x = w + h x_a
        w.copy(x)
        w.destroy()

    def destroy(self) -> None:
        """Free the factorisation and the matrices."""
        for obj in (self.ksp, self.Bd, self.h, self.q):
            obj.destroy()

    # -- helpers -------------------------------------------------------------------------------

    def _solve(self, f: PETSc.Vec, g: PETSc.Vec, at_anchor: float, what: str) -> PETSc.Vec:
        """Solve with Dirichlet rows D ∪ {a}: values ``g`` on D, ``at_anchor`` at a (lifting by hand)."""
        lifted = g.duplicate()
        lifted.set(0.0)
        lo, hi = g.getOwnershipRange()
        own = self.dirichlet[(self.dirichlet >= lo) & (self.dirichlet < hi)] - lo
        lifted.array[own] = g.array[own]
        if lo <= self.anchor < hi:
            lifted.array[self.anchor - lo] = at_anchor
        rhs = f.duplicate()
        self.B.mult(lifted, rhs)
        rhs.aypx(-1.0, f)  # f − B g_ext off the Dirichlet rows
        rows = self.rows[(self.rows >= lo) & (self.rows < hi)] - lo
        rhs.array[rows] = lifted.array[rows]
        x = f.duplicate()
        x.array[:] = lifted.array
        solve(self.ksp, rhs, x, what)
        rhs.destroy()
        lifted.destroy()
        return x

    def _solve_homogeneous(self, boundary: float, at_anchor: float, what: str) -> PETSc.Vec:
        f = self.B.createVecLeft()
        f.set(0.0)
        g = f.duplicate()
        g.set(boundary)
        x = self._solve(f, g, at_anchor, what)
        f.destroy()
        g.destroy()
        return x

    def _at_anchor(self, v: PETSc.Vec) -> float:
        lo, hi = v.getOwnershipRange()
        local = float(v.array[self.anchor - lo]) if lo <= self.anchor < hi else 0.0
        return float(self.comm.allreduce(local, op=MPI.SUM))


__all__ = [
    "PRECISION_TOL",
    "AnchoredSolver",
    "PrecisionLimitError",
    "anchor_row",
    "precision_indicator",
    "rate_scale",
]
