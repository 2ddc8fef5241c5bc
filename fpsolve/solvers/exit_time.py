r"""Exit-time statistics from backward (generator) problems: mean, second moment, committors.

With the generator :math:`\mathcal L u = \nabla\cdot(K\nabla u) + \beta\cdot\nabla u` and the exit time
τ from Ω through the absorbing parts (reflecting elsewhere, :math:`K\nabla u\cdot n = 0`):

.. math::
    \mathcal L T = -1,\quad T = 0 \text{ on absorbing parts}\qquad (T(x) = E_x\tau),\\
    \mathcal L T_2 = -2T,\quad T_2 = 0 \text{ on absorbing parts}\qquad (T_2(x) = E_x\tau^2),\\
    \mathcal L u = 0,\quad u = 1 \text{ on target parts},\ u = 0 \text{ on the other absorbing parts}
    \qquad (u(x) = P_x(X_\tau \in \text{target})),

and :math:`\mathrm{sd}(\tau) = \sqrt{T_2 - T^2}`, :math:`E_{\rho_0}\tau = \int T\rho_0 / \int\rho_0`.

Discretely each is :math:`B^T u = b` with :math:`B` the forward operator of the discretisation's
scheme (:meth:`Discretisation.generator`), so forward and backward problems are exactly adjoint;
right-hand sides use the lumped mass :math:`m_i = \int\phi_i` (:math:`b_i = m_i`, :math:`2m_iT_i`).
Dirichlet rows sit only on the absorbing facets the process can reach (Fichera,
:mod:`fpsolve.discretisation.fichera`).

Linear schemes are solved in the anchored form of :mod:`fpsolve.solvers.anchored`, which resolves T
up to ΔL/ε² of several hundred; ``"eafe"`` uses its fitted matrix linearly and turns to the limiter only
if the solution leaves its range (T < 0, a committor outside [0, 1]).

Use ``scheme="eafe"`` for small ε: its transpose is an M-matrix (T ≥ 0, 0 ≤ u ≤ 1) and it resolves
the :math:`e^{L/\varepsilon^2}` growth of T (1-D double well, ε² = 0.02, 64 cells: relative error
2.0e-3 at the minimum; Galerkin and AFC: 0.30, since the limiter is inactive on a monotone T).
``"afc"`` is positive too but only as accurate as Galerkin there; ``"galerkin"`` oscillates and can go
negative. Measurements in docs/numerics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import dolfinx
import ufl
from petsc4py import PETSc

from fpsolve.discretisation.fichera import FicheraPart
from fpsolve.discretisation.functionals import integral
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.errors import ProblemError
from fpsolve.log import get_logger
from fpsolve.solvers.anchored import (
    PRECISION_TOL,
    AnchoredSolver,
    PrecisionLimitError,
    anchor_row,
    precision_indicator,
    rate_scale,
)
from fpsolve.solvers.boundary_value import solve_limited
from fpsolve.solvers.options import Options

#: Accepted excursion of a solution below 0 (relative to its maximum) or of a committor above 1.
RANGE_TOL = 1e-9


class ExitTimeSolver:
    r"""Backward solves for the exit time τ through the problem's absorbing parts (module docstring).

    Parameters
    ----------
    disc
        Discretisation of a problem with at least one absorbing part (``scheme="eafe"`` recommended).
    petsc_options, prefix, rtol, max_iterations
        As for :func:`fpsolve.solvers.boundary_value.solve_limited` (the last two matter only for a
        :attr:`~fpsolve.discretisation.operators.Discretisation.limited` scheme; ``iterations`` holds the
        count of the
        last solve).

    Raises
    ------
    ProblemError
        If the problem has no absorbing part, or none that the process can reach (Fichera).

    Examples
    --------
    ``T = ExitTimeSolver(disc).solve()`` is the mean exit time as a dolfinx Function on ``disc.V``
    (nodal values in ``T.x.array``; ``fpsolve.discretisation.points.point_values(T, [x0])`` evaluates it
    at a
    point); ``solver.second_moment(T)``, ``solver.standard_deviation(T, T2)``,
    ``solver.committor(["xmax"])`` (Functions) and ``solver.mean_exit_time(rho0, T)`` (a float,
    ``rho0`` a sympy expression of the coordinates) give the rest; ``solver.boundary_classes()`` says
    which boundary parts are characteristic.
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
        if disc.comm.allreduce(disc.bc_rows.size) == 0:
            raise ProblemError(
                "no absorbing boundary part can be reached by the process (Fichera: all characteristic "
                "with inward drift); the exit time is infinite"
            )
        self.disc, self.options, self.prefix = disc, petsc_options, prefix
        self.rtol, self.max_iterations = rtol, max_iterations
        self.iterations = 0
        self._fitted = True  # "eafe": the fitted matrix A_E is tried before the limiter
        self._anchored: AnchoredSolver | None = None
        for part in disc.boundary_classes():
            if part.characteristic and part.name in disc.problem.absorbing:
                shares = ", ".join(f"{k} {v:.0%}" for k, v in part.fractions.items() if v > 0)
                get_logger().info("absorbing part %s is characteristic (Fichera): %s", part.name, shares)

    # -- the backward solves -------------------------------------------------------------------

    def solve(self) -> dolfinx.fem.Function:
        r"""Mean exit time :math:`T = E_x\tau`: :math:`\mathcal L T = -1`, T = 0 on the Dirichlet rows."""
        b = self.disc.lumped.copy()
        T = self._backward(b, np.zeros(0, dtype=PETSc.IntType), "T")
        b.destroy()
        return T

    def second_moment(self, T: dolfinx.fem.Function | None = None) -> dolfinx.fem.Function:
        r"""Second moment :math:`T_2 = E_x\tau^2`: :math:`\mathcal L T_2 = -2T` (T solved if not given)."""
        T = self.solve() if T is None else T
        b = self.disc.lumped.copy()
        b.pointwiseMult(b, T.x.petsc_vec)
        b.scale(2.0)
        T2 = self._backward(b, np.zeros(0, dtype=PETSc.IntType), "T2")
        b.destroy()
        return T2

    def standard_deviation(
        self, T: dolfinx.fem.Function | None = None, T2: dolfinx.fem.Function | None = None
    ) -> dolfinx.fem.Function:
        r"""Nodal :math:`\mathrm{sd}(\tau) = \sqrt{\max(T_2 - T^2, 0)}` (T, T₂ solved if not given)."""
        T = self.solve() if T is None else T
        T2 = self.second_moment(T) if T2 is None else T2
        sd = self.disc.function("sd_tau")
        sd.x.array[:] = np.sqrt(np.maximum(T2.x.array - T.x.array**2, 0.0))
        return sd

    def committor(self, target: Sequence[str]) -> dolfinx.fem.Function:
        r"""Probability :math:`u(x) = P_x(X_\tau \in \text{target})` of exiting through the ``target`` parts.

        :math:`\mathcal L u = 0`, u = 1 on the reachable facets of ``target``, u = 0 on those of the other
        absorbing parts (a node shared by both counts as target).
        """
        problem = self.disc.problem
        unknown = [p for p in target if p not in problem.absorbing]
        if not target or unknown:
            raise ProblemError(
                f"committor target parts must be absorbing parts {list(problem.absorbing)}, "
                f"got {list(target)}"
            )
        return self.committor_on_rows(self.disc.dirichlet_rows(tuple(target)))

    def committor_on_rows(self, ones: np.ndarray) -> dolfinx.fem.Function:
        r"""Committor to the owned global Dirichlet rows ``ones`` (u = 1 there, 0 on the other rows).

        Rows split between several targets give committors that sum to 1 (:meth:`committor` takes
        whole parts, whose shared corner nodes count for each).
        """
        b = self.disc.lumped.duplicate()
        b.zeroEntries()
        u = self._backward(b, np.asarray(ones, dtype=PETSc.IntType), "committor")
        b.destroy()
        return u

    def mean_exit_time(self, initial: Any, T: dolfinx.fem.Function | None = None) -> float:
        r""":math:`E_{\rho_0}\tau = \int T\rho_0\,dx / \int\rho_0\,dx` for a sympy density ``initial``."""
        T = self.solve() if T is None else T
        disc = self.disc
        rho0 = to_ufl(initial, ufl.SpatialCoordinate(disc.msh), disc.problem.coords)
        return integral(T * rho0, disc.msh) / integral(rho0, disc.msh)

    def boundary_classes(self) -> list[FicheraPart]:
        """Fichera classification of the boundary parts (which ones are characteristic / reachable)."""
        return self.disc.boundary_classes()

    # -- helpers -------------------------------------------------------------------------------

    def _backward(self, b: PETSc.Vec, ones: np.ndarray, name: str) -> dolfinx.fem.Function:
        r"""Solve :math:`B^T u = b`; u = 1 on the global rows ``ones``, 0 on the other Dirichlet rows.

        Linear schemes (and ``"eafe"``, whose fitted matrix is tried first) use the anchored form of
        :mod:`fpsolve.solvers.anchored`, exact in any precision the direct solve keeps; a limited
        scheme solves directly and must pass the precision check on T.
        """
        disc = self.disc
        u = disc.function(name)
        x = u.x.petsc_vec
        anchored = self._anchored_solver()
        if anchored is not None:
            g = x.duplicate()
            g.set(0.0)
            g.array[ones - g.getOwnershipRange()[0]] = 1.0
            anchored.solve(b, g, x, f"{name} solve")
            g.destroy()
            self.iterations = 1
            if not self._fitted or disc.scheme != "eafe" or self._positive(x, name):
                u.x.scatter_forward()
                return u
            get_logger().warning(
                "%s: the exponentially fitted matrix is no M-matrix here and its solution leaves the "
                "admissible range (min %.3g): solving with the limiter instead",
                name,
                x.min()[1],
            )
            self._fitted = False
            anchored.destroy()
            anchored.B.destroy()  # the transpose built for it in _anchored_solver
            self._anchored = None
        B = disc.generator()
        self._direct(b, ones, x, B, linear=False)
        u.x.scatter_forward()
        if name == "T":
            self._check_precision(x, B)
        B.destroy()
        return u

    def _direct(
        self, b: PETSc.Vec, ones: np.ndarray, x: PETSc.Vec, B: PETSc.Mat, linear: bool, transpose: bool = True
    ) -> None:
        """``x`` ← direct solve of ``B x = b`` with the Dirichlet rows (limited unless ``linear``)."""
        disc = self.disc
        rows = np.union1d(disc.bc_rows, ones).astype(PETSc.IntType)
        lo = x.getOwnershipRange()[0]
        x.set(0.0)
        x.array[ones - lo] = 1.0
        B = B.copy()
        rhs = b.copy()
        B.zeroRowsColumns(rows, 1.0, x=x, b=rhs)  # rhs_i −= B_ij u_j for the eliminated columns
        self.iterations, _ = solve_limited(
            disc,
            B,
            rhs,
            rows,
            x,
            self.prefix,
            self.options,
            self.rtol,
            self.max_iterations,
            transpose=transpose,
            linear=linear,
        )
        B.destroy()
        rhs.destroy()

    def _linear_forward(self) -> PETSc.Mat | None:
        """The linear forward matrix: ``A_E`` for ``"eafe"`` (until it fails), a linear scheme's, or None."""
        disc = self.disc
        if disc.scheme == "eafe" and self._fitted:
            return disc.method.A
        return None if disc.limited else disc.operator()

    def _anchored_solver(self) -> AnchoredSolver | None:
        """The :class:`AnchoredSolver` of the linear matrix, anchored where the occupation density peaks."""
        forward = self._linear_forward()
        if forward is None:
            return None
        if self._anchored is None:
            disc = self.disc
            occupation = disc.lumped.duplicate()
            no_ones = np.zeros(0, dtype=PETSc.IntType)
            self._direct(disc.lumped, no_ones, occupation, forward, linear=True, transpose=False)
            anchor = anchor_row(occupation, disc.bc_rows)
            occupation.destroy()
            self._anchored = AnchoredSolver(
                forward.transpose(PETSc.Mat()),
                disc.bc_rows,
                anchor,
                disc.lumped,
                self.prefix,
                self.options,
                disc.problem.dim,
            )
        return self._anchored

    def _positive(self, x: PETSc.Vec, name: str) -> bool:
        """Whether ``x`` lies in its admissible range: [0, ∞) for moments, [0, 1] for committors."""
        top = x.norm(PETSc.NormType.INFINITY)
        low, high = x.min()[1], x.max()[1]
        tol = RANGE_TOL * max(top, 1e-300)
        return low >= -tol and (name != "committor" or high <= 1.0 + RANGE_TOL)

    def _check_precision(self, T: PETSc.Vec, B: PETSc.Mat) -> None:
        """A direct T (generator ``B``) must pass the round-off indicator of :mod:`.anchored`."""
        indicator = precision_indicator(T, rate_scale(B, self.disc.lumped))
        if indicator > PRECISION_TOL:
            remedy = (
                "its fitted matrix left the admissible range on this mesh: refine the mesh"
                if self.disc.scheme == "eafe"
                else 'use scheme = "eafe", whose linear matrix is solved in the anchored form'
            )
            raise PrecisionLimitError(
                f"mean exit time {T.norm(PETSc.NormType.INFINITY):.3g}: beyond what a direct solve of the "
                f"limited scheme {self.disc.scheme!r} resolves in double precision (round-off indicator "
                f"{indicator:.2g} > {PRECISION_TOL:g}); {remedy}"
            )


__all__ = ["ExitTimeSolver"]
