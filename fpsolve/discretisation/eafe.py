r"""Exponentially fitted (EAFE / Scharfetter–Gummel) P1 matrix of the forward operator.

Edge form of the P1 stiffness on a simplex T: with :math:`\omega_E = -|T|\,\nabla\phi_i\cdot\nabla\phi_j`
for the edge :math:`E = (i, j)`, :math:`t_E = x_j - x_i`, any linear u, v satisfy
:math:`\int_T \nabla u\cdot\nabla v = \sum_E \omega_E\,\delta_E u\,\delta_E v`
(:math:`\delta_E u = u_i - u_j`).
Along each edge the flux :math:`\alpha\rho' - s\rho/|t_E|` with edge diffusion
:math:`\alpha_E = \hat t_E^T K \hat t_E` and edge drift :math:`s_E = \beta\cdot t_E` (both at the edge
midpoint) is integrated exactly (Scharfetter–Gummel; Xu & Zikatanov 1999, docs/numerics.md):

.. math::  A_{ij} = S_{ij} + C_{ij},\qquad
           C|_E = \omega_E\big[g(-s_E)\,\rho_i - g(s_E)\,\rho_j\big](v_i - v_j),\qquad
           g(s) = \alpha_E\big(B(s/\alpha_E) - 1\big),\quad B(z) = \frac{z}{e^z - 1},

where :math:`S_{ij} = \int K\nabla\phi_j\cdot\nabla\phi_i` is the Galerkin diffusion. For scalar
:math:`K = kI` this is exactly EAFE, :math:`\omega_E k [B(-s/k)\rho_i - B(s/k)\rho_j](v_i - v_j)`, whose
zero-flux state is :math:`\rho_j/\rho_i = e^{s/k}` (the Gibbs state :math:`e^{-L/\varepsilon^2}` for
:math:`Q = I`, exact when L is linear on the edge). For anisotropic K the split keeps consistency of both
parts (:math:`\sum_E\omega_E t_E t_E^T = |T| I` makes the drift part consistent for any
:math:`\alpha_E`); that :math:`\alpha_E` is the right fitting diffusion is not proven — it is checked by
convergence tests. Where :math:`\alpha_E \to 0`, :math:`g(s) \to \max(-s, 0)`: first-order upwinding.

Every edge term is antisymmetric in (i, j) after summation over ``v``, so :math:`\mathbf 1^TA = 0` (exact
mass conservation) and :math:`A^T` is the backward operator. Off-diagonals are non-positive when
:math:`S` is and the Laplace weights are non-negative (Delaunay 2-D mesh, scalar or axis-diagonal K on an
axis-aligned mesh). Positive ones (obtuse 3-D meshes, cross-correlated K) are upwinded and then limited
(AFC) in :class:`~fpsolve.discretisation.operators.Discretisation`: upwinding alone (docs/numerics.md)
changes the
diffusion by O(1) there (measured: 37 % error for Brownian exit from a coarse ball).

Assembly is cell by cell on the locally owned cells into a matrix with the layout of ``S``, so the
construction is the same in serial and in parallel.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.special

import dolfinx
from petsc4py import PETSc

from fpsolve.problem.fokker_planck import FokkerPlanckProblem

Array = npt.NDArray[np.float64]


def fitted_drift(s: Array, alpha: Array) -> Array:
    r""":math:`g(s) = \alpha\,(B(s/\alpha) - 1)`, :math:`B(z) = z/(e^z - 1)`; :math:`\max(-s, 0)` at α = 0.

    ``B = 1/exprel`` is accurate for small z; overflow gives B = 0 (z → +∞) or B = |z| (z → −∞).
    """
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        z = s / alpha
        out = alpha / scipy.special.exprel(z) - alpha
    limit = np.maximum(-s, 0.0)
    return np.where((alpha > 0) & np.isfinite(out), out, limit)


def eafe_drift_matrix(
    problem: FokkerPlanckProblem, V: dolfinx.fem.FunctionSpace, template: PETSc.Mat
) -> PETSc.Mat:
    r"""The drift part ``C`` (module docstring) as a new matrix with ``template``'s layout and pattern."""
    msh = V.mesh
    dim = problem.dim
    tdim = msh.topology.dim
    ncells = msh.topology.index_map(tdim).size_local
    dofs = V.dofmap.list[:ncells]  # P1: one dof per cell vertex
    X = V.tabulate_dof_coordinates()[:, :dim][dofs]  # (cells, d+1, dim)
    J = np.moveaxis(X[:, 1:, :] - X[:, :1, :], 1, 2)  # (cells, dim, d): columns x_k − x_0
    inv = np.linalg.inv(J) if dim == tdim else np.linalg.pinv(J)  # (cells, d, dim)
    grads = np.concatenate([-inv.sum(axis=1, keepdims=True), inv], axis=1)  # (cells, d+1, dim)
    volume = np.abs(np.linalg.det(J)) / math.factorial(tdim)
    beta = problem.numpy("beta")
    Q = problem.numpy("Q")
    nloc = tdim + 1
    local = np.zeros((ncells, nloc, nloc))
    for a in range(nloc):
        for b in range(a + 1, nloc):
            omega = -volume * np.einsum("ck,ck->c", grads[:, a], grads[:, b])
            t = X[:, b] - X[:, a]
            mid = 0.5 * (X[:, a] + X[:, b]).T  # (dim, cells)
            s = np.einsum("kc,ck->c", beta(mid).reshape(dim, -1), t)
            K = problem.eps2 * Q(mid).reshape(dim, dim, -1)
            alpha = np.einsum("ck,klc,cl->c", t, K, t) / np.einsum("ck,ck->c", t, t)
            g_plus, g_minus = fitted_drift(s, alpha), fitted_drift(-s, alpha)
            local[:, a, a] += omega * g_minus
            local[:, a, b] -= omega * g_plus
            local[:, b, a] -= omega * g_minus
            local[:, b, b] += omega * g_plus
    rows = np.repeat(dofs, nloc, axis=1).ravel()
    cols = np.tile(dofs, (1, nloc)).ravel()
    C = PETSc.Mat().create(comm=template.getComm())
    C.setSizes(template.getSizes())
    C.setType(PETSc.Mat.Type.AIJ)
    C.setLGMap(*template.getLGMap())
    C.setPreallocationCOOLocal(rows.astype(PETSc.IntType), cols.astype(PETSc.IntType))
    C.setValuesCOO(local.ravel(), addv=PETSc.InsertMode.ADD_VALUES)
    C.assemble()
    return C


def eafe_matrix(problem: FokkerPlanckProblem, V: dolfinx.fem.FunctionSpace, S: PETSc.Mat) -> PETSc.Mat:
    r"""New matrix :math:`A = S + C`: Galerkin diffusion ``S`` plus the fitted drift part ``C``."""
    C = eafe_drift_matrix(problem, V, S)
    A = S.copy()
    A.axpy(1.0, C, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)
    C.destroy()
    return A


__all__ = ["eafe_drift_matrix", "eafe_matrix", "fitted_drift"]
