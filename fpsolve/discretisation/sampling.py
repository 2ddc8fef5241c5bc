r"""Exact sampling from a piecewise-linear (P1) finite-element density, the same on any rank count.

On a simplex K with vertices :math:`X_0,\dots,X_d`, barycentric coordinates :math:`\lambda_k` and nodal
values :math:`v_k\ge0`, the P1 density is a mixture of Dirichlet laws of the barycentric coordinates:
:math:`\int_K\lambda_k = |K|/(d+1)` and :math:`(d+1)\lambda_k/|K|` is the density of
:math:`\lambda\sim\mathrm{Dirichlet}(\mathbf 1 + e_k)`, so

.. math::  \nu_h^+ = \sum_{K,k} w_{K,k}\,\frac{(d+1)\lambda_{K,k}}{|K|},\qquad
           w_{K,k} = \frac{|K|\,v_{K,k}^+}{d+1} .

A draw picks a (cell, vertex) pair with probability :math:`\propto w_{K,k}`, then
:math:`\lambda_j = E_j/\sum_iE_i` with independent :math:`E_j\sim\mathrm{Exp}(1)` and one more
Exp(1) added to :math:`E_k` (a Gamma(2) variable), and returns :math:`x = \sum_j\lambda_jX_j`: exact,
no rejection. The density sampled is :math:`\nu_h^+`, ν_h with its negative nodal values set to 0;
:attr:`P1Sampler.clipped` is the mass that adds, :math:`\int(\nu_h^+-\nu_h)/\int\nu_h`.

Degree p > 1: the function is first interpolated at the mesh vertices and that P1 interpolant is
sampled (a density O(h²) away from a smooth ν; exact only for p = 1).

Parallel: every rank gathers all cells, with the vertices of each cell sorted lexicographically and the
cells sorted by their vertices (as :func:`fpsolve.discretisation.mesh.exterior_facets`), so a draw from
a given generator is bit-identical on any number of ranks.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np
import numpy.typing as npt

import dolfinx

from fpsolve.errors import ProblemError

__all__ = ["P1Sampler", "p1_sampler"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class P1Sampler:
    r"""Draws from a non-negative P1 density given by its cells (module docstring).

    Attributes
    ----------
    vertices
        Vertex coordinates of every cell, shape (cells, d + 1, d), in canonical order.
    cdf
        Cumulative weights :math:`w_{K,k}` of the (cell, vertex) pairs, row-major, shape (cells·(d + 1),).
    clipped
        :math:`\int(\nu_h^+-\nu_h)/\int\nu_h`: the relative mass added by clipping negative nodal values.
    """

    vertices: Array
    cdf: Array
    clipped: float

    @property
    def mass(self) -> float:
        r""":math:`\int\nu_h^+`."""
        return float(self.cdf[-1])

    def __call__(self, rng: np.random.Generator, m: int) -> Array:
        """``m`` independent points, shape (m, d)."""
        d1 = self.vertices.shape[1]
        pair = np.searchsorted(self.cdf, rng.random(m) * self.cdf[-1], side="right")
        # rounding may put a draw at the total: take the last pair with positive weight
        pair = np.minimum(pair, np.searchsorted(self.cdf, self.cdf[-1], side="left"))
        cell, k = np.divmod(pair, d1)
        e = rng.standard_exponential((m, d1))
        e[np.arange(m), k] += rng.standard_exponential(m)
        lam = e / e.sum(axis=1, keepdims=True)
        return np.einsum("nj,nji->ni", lam, self.vertices[cell])


def p1_sampler(u: dolfinx.fem.Function) -> P1Sampler:
    """The :class:`P1Sampler` of a scalar Lagrange function ``u`` (collective; module docstring)."""
    msh = u.function_space.mesh
    tdim, gdim = msh.topology.dim, msh.geometry.dim
    if msh.topology.cell_type not in (
        dolfinx.mesh.CellType.interval,
        dolfinx.mesh.CellType.triangle,
        dolfinx.mesh.CellType.tetrahedron,
    ):
        raise ProblemError(f"sampling a P1 density needs simplex cells, not {msh.topology.cell_type.name}")
    if msh.geometry.cmaps[0].degree != 1 or tdim != gdim:
        raise ProblemError("sampling a P1 density needs an affine mesh of full dimension")
    if u.function_space.ufl_element().embedded_superdegree != 1:
        V1 = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
        vertex = dolfinx.fem.Function(V1)
        vertex.interpolate(u)
        u = vertex
    cells = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
    verts = msh.geometry.x[:, :gdim][msh.geometry.dofmaps[0][cells]]  # (cells, d + 1, d)
    values = u.x.array[u.function_space.dofmap.list[cells]]  # the same reference vertex order
    parts = msh.comm.allgather((verts, values))
    verts = np.concatenate([p[0] for p in parts]).reshape(-1, tdim + 1, gdim)
    values = np.concatenate([p[1] for p in parts]).reshape(-1, tdim + 1)
    order = np.lexsort(verts.transpose(2, 0, 1)[::-1], axis=-1)  # vertices within a cell
    verts = np.take_along_axis(verts, order[:, :, None], axis=1)
    values = np.take_along_axis(values, order, axis=1)
    rows = np.lexsort(verts.reshape(len(verts), -1).T[::-1])  # cells by their sorted vertices
    verts, values = verts[rows], values[rows]
    edges = verts[:, 1:] - verts[:, :1]
    volume = np.abs(np.linalg.det(edges)) / factorial(tdim)
    weights = volume[:, None] * values / (tdim + 1)  # ∫_K v_k λ_k
    cdf = np.cumsum(np.clip(weights, 0.0, None).ravel())
    total = float(weights.sum())
    if not (cdf.size and cdf[-1] > 0 and total > 0):
        raise ProblemError("the density to sample has no positive mass")
    return P1Sampler(verts, cdf, float(np.clip(-weights, 0.0, None).sum()) / total)
