r"""Integrals of a finite-element density below level sets: the finite-element side of histograms.

:func:`level_set_cdf` computes

.. math::  F(s) = \int_\Omega \rho\,1\{q(x) < s\}\,dx

for a scalar Lagrange function ρ (any degree) on an affine simplex mesh, summed over ranks, so that
the probability of a histogram bin :math:`a \le q < b` is :math:`F(b) - F(a)` (:func:`bin_probabilities`).

The cut is done geometrically instead of by quadrature of the indicator (which misplaces the bin
edges by a fraction of a cell: relative errors of 1–4 % per bin measured on the 96×96 demo mesh,
coherent along mesh lines). For each cell cut by :math:`q = s`, :math:`q` is interpolated linearly
on the cell's vertices, so :math:`\{q < s\}` is a polytope: one corner simplex, the cell minus one, or
(3-D) a prism of three tetrahedra, on which ρ is integrated by a Gauss rule of ρ's degree.

* Linear ``q`` (a coordinate): the result is exact up to round-off.
* Nonlinear ``q`` (e.g. :math:`|x-c|^2`): each cut cell is first halved ``refine`` times in every
  direction (longest-edge bisection, :math:`d\cdot` ``refine`` levels, keeping only the pieces that are
  still cut), and :math:`q` is interpolated on the pieces, of diameter
  :math:`\delta \approx h/2^{\text{refine}}`.
  For :math:`q = |x-c|^2` the interpolant exceeds q by at most :math:`\delta^2`, which moves the edge
  at radius r inwards by at most :math:`\delta^2/(2r)`. A cell (or piece) is cut where its vertex
  values straddle s; a convex q can dip below s inside a cell whose vertices all lie above it (an arc
  through one edge), which :class:`LevelSetCDF` finds with ``lower``, a lower bound of q on a piece from
  its smallest vertex value and its diameter (for :math:`q = |x-c|^2`:
  :math:`(\sqrt{q_{min}} - \text{diam})_+^2`); without it such pieces count as outside.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

import basix
import dolfinx
from mpi4py import MPI

from fpsolve.errors import ProblemError

__all__ = ["LevelSetCDF", "bin_probabilities", "level_set_cdf"]

Array = npt.NDArray[np.float64]

#: ``{q < s}`` in a simplex of dimension d with k of its (sorted) vertices below s: (complement?, pieces).
#: A piece lists its vertices as (j, m): the vertex j if j == m, else the point on edge j–m where q = s.
#: With ``complement`` the pieces make up {q ≥ s}, and {q < s} is the simplex minus them.
_CUTS: dict[tuple[int, int], tuple[bool, list[list[tuple[int, int]]]]] = {
    (1, 1): (False, [[(0, 0), (0, 1)]]),
    (2, 1): (False, [[(0, 0), (0, 1), (0, 2)]]),
    (2, 2): (True, [[(2, 2), (0, 2), (1, 2)]]),
    (3, 1): (False, [[(0, 0), (0, 1), (0, 2), (0, 3)]]),
    # the prism with triangles (0, 02, 03) and (1, 12, 13), as three tetrahedra
    (3, 2): (
        False,
        [
            [(0, 0), (0, 2), (0, 3), (1, 1)],
            [(0, 2), (0, 3), (1, 1), (1, 2)],
            [(0, 3), (1, 1), (1, 2), (1, 3)],
        ],
    ),
    (3, 3): (True, [[(3, 3), (0, 3), (1, 3), (2, 3)]]),
}

_SIMPLICES = (basix.CellType.interval, basix.CellType.triangle, basix.CellType.tetrahedron)


class _Cells:
    """The owned cells of ρ's mesh: vertices, Jacobian determinants, dof values and a Gauss rule."""

    def __init__(self, rho: dolfinx.fem.Function) -> None:
        V = rho.function_space
        msh = V.mesh
        tdim, gdim = msh.topology.dim, msh.geometry.dim
        if msh.geometry.cmaps[0].degree != 1 or tdim != gdim or msh.basix_cell() not in _SIMPLICES:
            raise ProblemError("histogram bins need an affine simplex mesh of full dimension")
        if V.element.needs_dof_transformations or V.dofmap.index_map_bs != 1:
            raise ProblemError("histogram bins need a scalar Lagrange density")
        n = msh.topology.index_map(tdim).size_local
        self.d = tdim
        self.vertices = msh.geometry.x[msh.geometry.dofmaps[0][:n], :gdim]  # (n, d+1, d)
        edges = self.vertices[:, 1:] - self.vertices[:, :1]
        self.jacobian = np.abs(np.linalg.det(edges))
        self.values = rho.x.array[V.dofmap.list[:n]]  # (n, ndofs)
        self.element = V.ufl_element().basix_element
        points, self.weights = basix.make_quadrature(msh.basix_cell(), max(self.element.degree, 1))
        self.bary = np.column_stack([1 - points.sum(1), points])  # (nq, d+1)

    def integrals(self, cells: npt.NDArray[np.intp], simplices: Array) -> Array:
        r""":math:`\int\rho` over simplices given by their vertices' barycentric coordinates in ``cells``.

        ``simplices``: (m, d+1, d+1), row i the barycentric coordinates of vertex i.
        """
        if not len(cells):
            return np.zeros(0)
        fraction = np.abs(np.linalg.det(simplices))  # volume relative to the cell
        lam = np.einsum("qi,mij->mqj", self.bary, simplices)  # (m, nq, d+1)
        phi = self.element.tabulate(0, lam[..., 1:].reshape(-1, self.d))[0, :, :, 0]
        rho = np.einsum("mqk,mk->mq", phi.reshape(len(cells), len(self.weights), -1), self.values[cells])
        return self.jacobian[cells] * fraction * (rho @ self.weights)


def _below(cells: _Cells, idx: npt.NDArray[np.intp], simplices: Array, knots: Array, s: float) -> Array:
    r""":math:`\int\rho\,1\{\hat q < s\}` over each simplex, :math:`\hat q` linear with vertex ``knots``.

    Every simplex must be cut: min knots < s ≤ max knots.
    """
    d = cells.d
    order = np.argsort(knots, axis=1, kind="stable")
    t = np.take_along_axis(knots, order, axis=1)
    B = np.take_along_axis(simplices, order[:, :, None], axis=1)
    k = (t < s).sum(1)
    out = np.zeros(len(idx))
    for below in range(1, d + 1):
        sel = np.flatnonzero(k == below)
        if not len(sel):
            continue
        complement, pieces = _CUTS[(d, below)]
        total = np.zeros(len(sel))
        for piece in pieces:
            verts = []
            for j, m in piece:
                if j == m:
                    verts.append(B[sel, j])
                else:  # t_j < s ≤ t_m, so t_m − t_j > 0
                    w = (s - t[sel, j]) / (t[sel, m] - t[sel, j])
                    verts.append(B[sel, j] + w[:, None] * (B[sel, m] - B[sel, j]))
            total += cells.integrals(idx[sel], np.stack(verts, axis=1))
        out[sel] = cells.integrals(idx[sel], B[sel]) - total if complement else total
    return out


def _diameters(cells: _Cells, idx: npt.NDArray[np.intp], simplices: Array) -> Array:
    """The longest edge of each simplex (barycentric ``simplices`` of the cells ``idx``)."""
    d = cells.d
    phys = np.einsum("mij,mjk->mik", simplices, cells.vertices[idx])
    pairs = [(a, b) for a in range(d + 1) for b in range(a + 1, d + 1)]
    return np.sqrt(np.max([np.sum((phys[:, a] - phys[:, b]) ** 2, 1) for a, b in pairs], axis=0))


def _bisect(
    cells: _Cells, idx: npt.NDArray[np.intp], simplices: Array, knots: Array, q: Callable[[Array], Array]
) -> tuple[npt.NDArray[np.intp], Array, Array]:
    """Halve every simplex across its longest edge; q is evaluated at the new vertices."""
    d = cells.d
    phys = np.einsum("mij,mjk->mik", simplices, cells.vertices[idx])
    pairs = [(a, b) for a in range(d + 1) for b in range(a + 1, d + 1)]
    lengths = np.stack([np.sum((phys[:, a] - phys[:, b]) ** 2, 1) for a, b in pairs], axis=1)
    longest = np.asarray(pairs)[lengths.argmax(1)]
    rows = np.arange(len(idx))
    a, b = longest[:, 0], longest[:, 1]
    mid = 0.5 * (simplices[rows, a] + simplices[rows, b])
    q_mid = q(0.5 * (phys[rows, a] + phys[rows, b]))
    children, child_knots = [], []
    for replaced in (a, b):
        child = simplices.copy()
        child[rows, replaced] = mid
        kn = knots.copy()
        kn[rows, replaced] = q_mid
        children.append(child)
        child_knots.append(kn)
    return np.concatenate([idx, idx]), np.concatenate(children), np.concatenate(child_knots)


class LevelSetCDF:
    r""":math:`F(s) = \int\rho\,1\{q < s\}` of one density at any levels (:meth:`__call__`, collective).

    ``q(x)`` maps points (m, d) to (m,). ``refine = 0``: q is taken as linear on each cell (exact for
    a linear q); otherwise each cut cell is halved ``refine`` times per direction first (module
    docstring). ``lower(q_min, diam)``: a lower bound of q on a cell or piece from its smallest vertex
    value and its diameter (default: q_min itself, right for a linear q); a piece is refined while it
    may meet {q < s}. The cells, the values of q at their vertices and the integral of ρ over each are
    computed once, so that a call costs a pass over the cells plus the work on the cut ones (a
    bisection for a level with a given F calls it many times).
    """

    def __init__(
        self,
        rho: dolfinx.fem.Function,
        q: Callable[[Array], Array],
        refine: int = 0,
        lower: Callable[[Array, Array], Array] | None = None,
    ) -> None:
        self.comm = rho.function_space.mesh.comm
        self.cells = cells = _Cells(rho)
        d, n = cells.d, len(cells.values)
        self.q, self.refine, self.lower = q, refine, lower
        self.knots = q(cells.vertices.reshape(-1, d)).reshape(n, d + 1)
        self.lo, self.hi = self.knots.min(1), self.knots.max(1)
        every = np.broadcast_to(np.eye(d + 1), (n, d + 1, d + 1))
        self.floor = self.lo if lower is None else lower(self.lo, _diameters(cells, np.arange(n), every))
        self.whole = cells.integrals(np.arange(n), every)

    def __call__(self, levels: Array) -> Array:
        """F at each of ``levels``, summed over ranks."""
        cells, d = self.cells, self.cells.d
        local = np.zeros(len(levels))
        for i, s in enumerate(np.asarray(levels, float)):
            local[i] = self.whole[self.hi < s].sum()
            idx = np.flatnonzero((self.floor < s) & (self.hi >= s))
            simplices = np.broadcast_to(np.eye(d + 1), (len(idx), d + 1, d + 1)).copy()
            knots = self.knots[idx]
            for _ in range(d * self.refine):
                idx, simplices, knots = _bisect(cells, idx, simplices, knots, self.q)
                full = knots.max(1) < s
                local[i] += cells.integrals(idx[full], simplices[full]).sum()
                floor = knots.min(1)
                if self.lower is not None:
                    floor = self.lower(floor, _diameters(cells, idx, simplices))
                keep = ~full & (floor < s)
                idx, simplices, knots = idx[keep], simplices[keep], knots[keep]
            cut = knots.min(1) < s  # the interpolant of q is linear: a piece above s holds nothing
            local[i] += _below(cells, idx[cut], simplices[cut], knots[cut], s).sum()
        return self.comm.allreduce(local, op=MPI.SUM)


def level_set_cdf(
    rho: dolfinx.fem.Function, q: Callable[[Array], Array], levels: Array, refine: int = 0
) -> Array:
    r""":math:`F(s) = \int\rho\,1\{q < s\}` at each of ``levels``, summed over ranks (collective).

    One call of :class:`LevelSetCDF` (``q`` and ``refine`` as there).
    """
    return LevelSetCDF(rho, q, refine)(levels)


def bin_probabilities(
    rho: dolfinx.fem.Function, q: Callable[[Array], Array], edges: Array, refine: int = 0
) -> Array:
    r""":math:`\int\rho\,1\{e_k \le q < e_{k+1}\}` for each bin of ``edges`` (collective)."""
    return np.diff(level_set_cdf(rho, q, edges, refine))
