r"""Mean exit time through the absorbing boundary parts: the backward (generator) problem.

.. math::  \mathcal L T = \nabla\cdot(K\nabla T) + \beta\cdot\nabla T = -1 \text{ in } \Omega,\quad
           T = 0 \text{ on absorbing parts},\quad K\nabla T\cdot n = 0 \text{ elsewhere},

discretised with the transpose of the forward operator (:meth:`Discretisation.generator`), so that
forward and backward problems are discretely adjoint: :math:`A^T T = m` with the lumped mass vector
:math:`m_i = \int\phi_i`. With ``scheme="afc"`` the limited fluxes make the solution non-negative and
second order where smooth; plain Galerkin oscillates when the drift dominates.

The Fichera classification of degenerate boundaries (THEORY.md §9) is not applied yet: Dirichlet data
are imposed on every absorbing part.
"""

from __future__ import annotations

import dolfinx

from fpsolve._petsc import Options
from fpsolve.errors import ProblemError
from fpsolve.operators import Discretisation
from fpsolve.solvers.steady import solve_limited


class ExitTimeSolver:
    r"""Mean first exit time :math:`T(x) = E_x\tau` through the problem's absorbing parts.

    Parameters
    ----------
    disc
        Discretisation of a problem with at least one absorbing part.
    petsc_options, prefix, rtol, max_iterations
        As for :func:`fpsolve.solvers.steady.solve_limited`.
    """

    def __init__(
        self,
        disc: Discretisation,
        petsc_options: Options | None = None,
        prefix: str = "fpsolve_exit_time_",
        rtol: float = 1e-10,
        max_iterations: int = 5000,
    ) -> None:
        if not disc.problem.absorbing:
            raise ProblemError("an exit time needs at least one absorbing boundary part")
        self.disc, self.options, self.prefix = disc, petsc_options, prefix
        self.rtol, self.max_iterations = rtol, max_iterations
        self.iterations = 0

    def solve(self) -> dolfinx.fem.Function:
        """Return T as a finite-element function."""
        disc = self.disc
        B = disc.generator()
        B.zeroRowsColumns(disc.bc_rows, 1.0)
        b = disc.lumped.copy()
        b.array[disc.bc_rows - b.getOwnershipRange()[0]] = 0.0
        T = disc.function("T")
        self.iterations, _ = solve_limited(
            disc,
            B,
            b,
            disc.bc_rows,
            T.x.petsc_vec,
            self.prefix,
            self.options,
            self.rtol,
            self.max_iterations,
            transpose=True,
        )
        T.x.scatter_forward()
        for obj in (B, b):
            obj.destroy()
        return T


__all__ = ["ExitTimeSolver"]
