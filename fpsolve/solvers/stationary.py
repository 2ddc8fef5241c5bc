r"""Stationary density: the normalised right null vector of the forward operator.

.. math::  \nabla\cdot(K\nabla\rho_\infty - \beta\rho_\infty) = 0,
           \quad J\cdot n = 0 \text{ on }\partial\Omega, \quad \int_\Omega\rho_\infty = 1 .

Discretely :math:`A\rho = 0` with :math:`\mathbf 1^T A = 0`, so any single equation is redundant. We
replace the equation of one node ``p`` by :math:`\rho_p = 1` (eliminated symmetrically, "pinning") and
normalise afterwards by :math:`\sum_i m_i\rho_i`. For the AFC scheme the pinned :math:`A_L` is a
nonsingular M-matrix and the nonlinear limited problem
:math:`A_L\rho = \sum_j\alpha_{ij}(\rho)f_{ij}(\rho)` is solved by the accelerated defect correction
of :func:`fpsolve.solvers.boundary_value.solve_limited`. The pinned node is the minimiser of L (or of
``|β|``); if the computed density there is below ``1e-3·max ρ`` the solve is repeated pinned at the
maximiser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import dolfinx
from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError, SolverDivergedError
from fpsolve.log import get_logger
from fpsolve.solvers.boundary_value import solve_limited
from fpsolve.solvers.options import Options

#: Largest accepted residual ‖Aρ (+ limiter)‖∞ / (‖A‖∞‖ρ‖∞) of a stationary density: the fixed point
#: stops at 1e-10 and LU leaves ~1e-15, so 1e-6 only rejects solves that did not solve.
RESIDUAL_TOL = 1e-6


@dataclass
class StationaryResult:
    """Normalised stationary density and solve statistics."""

    rho: dolfinx.fem.Function
    iterations: int
    pinned_dof: int
    residual: float
    history: list[float] = field(default_factory=list)


class StationarySolver:
    """Stationary density of a discretised problem with reflecting boundaries.

    Parameters
    ----------
    disc
        The discretisation (its ``scheme`` decides Galerkin, upwind or AFC).
    petsc_options
        Options for the linear solver, under ``prefix``.
    prefix
        PETSc options prefix.
    rtol
        AFC fixed-point tolerance on ``max|ρ^{k+1} − ρ^k| / max ρ``.
    max_iterations
        AFC fixed-point iteration limit (raises :class:`SolverDivergedError` beyond it).
    """

    def __init__(
        self,
        disc: Discretisation,
        petsc_options: Options | None = None,
        prefix: str = "fpsolve_stationary_",
        rtol: float = 1e-10,
        max_iterations: int = 5000,
    ) -> None:
        if disc.problem.absorbing:
            msg = (
                "a stationary density needs reflecting boundaries everywhere (absorbing parts kill all mass)"
            )
            raise ProblemError(msg)
        self.disc = disc
        self.options = petsc_options
        self.prefix = prefix
        self.rtol = rtol
        self.max_iterations = max_iterations

    def solve(self) -> StationaryResult:
        """Compute the normalised stationary density."""
        p = self._initial_pin()
        result = self._solve_pinned(p)
        rho_max = self.disc.maximum(result.rho)
        value_at_p = self._value_at(result.rho, p)
        if value_at_p < 1e-3 * rho_max:
            p = self._argmax(result.rho)
            get_logger().info(f"stationary: re-pinning at dof {p} (density at first pin {value_at_p:.2e})")
            result = self._solve_pinned(p)
        mass = self.disc.mass(result.rho)
        result.rho.x.array[:] /= mass
        return result

    # -- internals -----------------------------------------------------------------------------

    def _solve_pinned(self, p: int) -> StationaryResult:
        disc = self.disc
        B = disc.operator().copy()
        x = B.createVecRight()
        b = B.createVecLeft()
        x.set(0.0)
        if disc.V.dofmap.index_map.local_range[0] <= p < disc.V.dofmap.index_map.local_range[1]:
            x.setValue(p, 1.0)
        x.assemble()
        b.set(0.0)
        B.zeroRowsColumns([p], 1.0, x, b)
        rho = disc.function("rho")
        u = rho.x.petsc_vec
        p_rows = np.array([p], dtype=np.int64)
        iterations, history = solve_limited(
            disc, B, b, p_rows, u, self.prefix, self.options, self.rtol, self.max_iterations
        )
        rho.x.scatter_forward()
        # residual of the full (unpinned) system, relative to the size of its terms
        r = B.createVecLeft()
        disc.operator().mult(u, r)
        if disc.limited:
            lo, hi = u.getOwnershipRange()
            fixed = p_rows[(p_rows >= lo) & (p_rows < hi)] - lo
            r.array[:] -= disc.limiter(u, fixed)
        scale = float(np.abs(disc.operator().norm(PETSc.NormType.INFINITY))) * u.norm(PETSc.NormType.INFINITY)
        residual = r.norm(PETSc.NormType.INFINITY) / scale
        B.destroy()
        if not residual <= RESIDUAL_TOL:  # also NaN: e.g. a preconditioner that solved nothing
            raise SolverDivergedError(
                f"stationary solve: relative residual {residual:.3e} of the computed density exceeds "
                f"{RESIDUAL_TOL:g}"
            )
        return StationaryResult(rho, iterations, p, residual, history)

    def _owned_coords(self) -> np.ndarray:
        V = self.disc.V
        n = V.dofmap.index_map.size_local
        return V.tabulate_dof_coordinates()[:n, : self.disc.problem.dim].T.copy()

    def _global_argmin(self, values: np.ndarray) -> int:
        imap = self.disc.V.dofmap.index_map
        local = (
            (float(values.min()), int(imap.local_range[0] + values.argmin())) if values.size else (np.inf, -1)
        )
        return _minloc(self.disc.comm, local)

    def _initial_pin(self) -> int:
        problem = self.disc.problem
        x = self._owned_coords()
        if problem.loss is not None:
            values = problem.numpy("loss")(x)
        else:
            values = np.linalg.norm(problem.numpy("beta")(x)[:, 0, :], axis=0)
        return self._global_argmin(values)

    def _argmax(self, rho: dolfinx.fem.Function) -> int:
        n = self.disc.V.dofmap.index_map.size_local
        return self._global_argmin(-rho.x.array[:n])

    def _value_at(self, rho: dolfinx.fem.Function, p: int) -> float:
        lo, hi = self.disc.V.dofmap.index_map.local_range
        local = float(rho.x.array[p - lo]) if lo <= p < hi else -np.inf
        return float(self.disc.comm.allreduce(local, op=MPI.MAX))


def _minloc(comm: MPI.Comm, local: tuple[float, int]) -> int:
    """Global index of the smallest value (ties: smallest index) from per-rank ``(value, index)``."""
    pairs = [p for p in comm.allgather(local) if p[1] >= 0]
    return min(pairs)[1]
