r"""UFL weak forms of the Fokker–Planck operator and its generator, and matrix assembly.

Forward operator in conservative flux form, reflecting (zero-flux) boundaries natural:

.. math::  (\partial_t\rho, v) + (K\nabla\rho - \beta\rho, \nabla v) = 0
           \quad\Longleftrightarrow\quad M\dot\rho + A\rho = 0,\qquad
           A_{ij} = \int_\Omega (K\nabla\phi_j - \beta\phi_j)\cdot\nabla\phi_i .

The backward generator's weak form :math:`-(\mathcal L T, v) = (K\nabla T,\nabla v) - (\beta\cdot\nabla T, v)`
has the matrix :math:`A^T`.
"""

from __future__ import annotations

from typing import Any

import dolfinx
import dolfinx.fem.petsc
import ufl
from petsc4py import PETSc

__all__ = ["assemble", "current_from_gradient", "forward_form", "generator_form"]


def forward_form(K: Any, beta: Any, rho: Any, v: Any, dx: ufl.Measure) -> ufl.Form:
    r"""Bilinear form :math:`a(\rho, v) = \int (K\nabla\rho - \beta\rho)\cdot\nabla v\,dx`."""
    return ufl.inner(K * ufl.grad(rho) - beta * rho, ufl.grad(v)) * dx


def generator_form(K: Any, beta: Any, T: Any, v: Any, dx: ufl.Measure) -> ufl.Form:
    r"""Bilinear form of :math:`-\mathcal L`: :math:`\int K\nabla T\cdot\nabla v - (\beta\cdot\nabla T)v`."""
    return (ufl.inner(K * ufl.grad(T), ufl.grad(v)) - ufl.inner(beta, ufl.grad(T)) * v) * dx


def current_from_gradient(K: Any, beta: Any, rho: Any, grad_rho: Any) -> Any:
    r"""Probability current :math:`J = \beta\rho - K\nabla\rho` given :math:`\nabla\rho` (UFL expression)."""
    return beta * rho - K * grad_rho


def assemble(a: ufl.Form) -> PETSc.Mat:
    """Assembled PETSc matrix of the bilinear form ``a``."""
    A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(a))
    A.assemble()
    return A
