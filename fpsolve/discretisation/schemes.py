r"""Spatial schemes of the Fokker–Planck operator as objects, registered by name in :data:`SCHEMES`.

Every scheme gives, for an assembled Galerkin operator :math:`A` (:mod:`fpsolve.discretisation.operators`),

* ``A``: its high-order matrix (the Galerkin :math:`A`, or the exponentially fitted :math:`A_E`);
* ``A_L``: a low-order M-matrix :math:`A_L = A - D` (discrete upwinding, :mod:`fpsolve.discretisation.afc`),
  or None where the scheme uses ``A`` alone;
* ``graph``/``d``: the edge graph and artificial diffusion behind :math:`D` (for the limiter);
* ``limited``: whether solutions need the nonlinear AFC limiter on top of ``A_L``;
* ``positive``: whether the scheme preserves positivity;
* :meth:`Scheme.operator`: the linear part used by the solvers, :meth:`Scheme.generator` its transpose
  (the backward generator :math:`-\mathcal L`).

Schemes (``[discretisation] scheme``): ``galerkin`` (any degree; not positivity preserving),
``upwind`` (:math:`A_L`, first order, positive), ``afc`` (default, P1: :math:`A_L` plus limited
antidiffusion, positive, ≈ second order), ``eafe`` (P1: :math:`A_E` of :mod:`fpsolve.discretisation.eafe`,
accurate where the solution varies like :math:`e^{\pm L/\varepsilon^2}`; where :math:`A_E` is no
M-matrix its positive off-diagonals are upwinded and limited as in ``afc``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.discretisation.afc import EdgeGraph, artificial_diffusion, low_order_entries
from fpsolve.discretisation.eafe import eafe_matrix
from fpsolve.discretisation.forms import assemble, forward_form
from fpsolve.errors import ProblemError

__all__ = ["SCHEMES", "AFC", "EAFE", "Galerkin", "Scheme", "Upwind", "register_scheme"]


class Scheme:
    """Galerkin discretisation: ``A`` alone (the base class of the other schemes)."""

    name: ClassVar[str] = "galerkin"
    positive: ClassVar[bool] = False
    any_degree: ClassVar[bool] = True

    def __init__(self, disc: Any) -> None:
        self.A = self.high_order(disc)
        self.A_L: PETSc.Mat | None = None
        self.graph: EdgeGraph | None = None
        self.d: np.ndarray | None = None
        self.limited = False

    def high_order(self, disc: Any) -> PETSc.Mat:
        """The Galerkin matrix :math:`A` of ``disc`` (a :class:`.operators.Discretisation`)."""
        rho, v = ufl.TrialFunction(disc.V), ufl.TestFunction(disc.V)
        return assemble(forward_form(disc.K, disc.beta, rho, v, disc.dx))

    def operator(self) -> PETSc.Mat:
        """The linear part of the spatial operator: ``A_L`` where there is one, else ``A``."""
        return self.A if self.A_L is None else self.A_L

    def generator(self) -> PETSc.Mat:
        r"""Matrix of :math:`-\mathcal L` (the backward generator): the transpose of :meth:`operator`."""
        return self.operator().transpose(PETSc.Mat())

    def _upwind(self) -> None:
        """``graph``, ``d`` and ``A_L = A − D`` (discrete upwinding of ``A``)."""
        self.graph = EdgeGraph(self.A)
        self.d = artificial_diffusion(self.graph, self.A)
        self.A_L = self.graph.matrix(
            self.A, low_order_entries(self.graph, self.graph.entries(self.A), self.d)
        )


class Galerkin(Scheme):
    """Plain Galerkin, any degree."""


class Upwind(Scheme):
    """Discrete upwinding: the M-matrix ``A_L`` (first order, positive)."""

    name = "upwind"
    positive = True
    any_degree = False

    def __init__(self, disc: Any) -> None:
        super().__init__(disc)
        self._upwind()


class AFC(Upwind):
    """Algebraic flux correction: ``A_L`` plus limited antidiffusion (positive, ≈ second order)."""

    name = "afc"

    def __init__(self, disc: Any) -> None:
        super().__init__(disc)
        self.limited = True


class EAFE(Scheme):
    """Edge-averaged exponentially fitted P1 (:func:`fpsolve.discretisation.eafe.eafe_matrix`).

    Linear where :math:`A_E` is an M-matrix; otherwise limited like :class:`AFC` around its upwinding.
    """

    name = "eafe"
    positive = True
    any_degree = False

    def __init__(self, disc: Any) -> None:
        super().__init__(disc)
        self._upwind()
        # cotangent weights of right angles are 0 up to round-off: not positive off-diagonals
        self.d[self.d <= 1e-12 * self.A.norm(PETSc.NormType.INFINITY)] = 0.0
        self.A_L = self.graph.matrix(
            self.A, low_order_entries(self.graph, self.graph.entries(self.A), self.d)
        )
        self.limited = bool(disc.comm.allreduce(bool(np.any(self.d > 0)), op=MPI.LOR))

    def high_order(self, disc: Any) -> PETSc.Mat:
        """:math:`A_E` from the stiffness matrix of K on ``disc``'s space."""
        rho, v = ufl.TrialFunction(disc.V), ufl.TestFunction(disc.V)
        S = assemble(ufl.inner(disc.K * ufl.grad(rho), ufl.grad(v)) * disc.dx)
        A = eafe_matrix(disc.problem, disc.V, S)
        S.destroy()
        return A


#: scheme name → class; :func:`register_scheme` adds one.
SCHEMES: dict[str, type[Scheme]] = {}


def register_scheme(cls: type[Scheme]) -> type[Scheme]:
    """Class decorator: make ``cls`` available as ``scheme = cls.name``."""
    SCHEMES[cls.name] = cls
    return cls


for _cls in (AFC, EAFE, Galerkin, Upwind):
    register_scheme(_cls)


def scheme_class(name: str, degree: int) -> type[Scheme]:
    """The registered scheme ``name``, checked against the Lagrange ``degree``."""
    if name not in SCHEMES:
        raise ProblemError(f"unknown scheme {name!r}; choose one of {tuple(sorted(SCHEMES))}")
    cls = SCHEMES[name]
    if not cls.any_degree and degree != 1:
        raise ProblemError(f"scheme {name!r} needs degree 1 (got {degree})")
    return cls
