r"""Path–boundary geometry for Monte Carlo on a general simplicial mesh: crossings, reflections, distances.

The domain is given by its boundary facets (segments in 2-D, triangles in 3-D, points in 1-D), each
with an outward unit normal :math:`n_f`, offset :math:`c_f = n_f\cdot v_0` and a part tag. A step
:math:`p \to q` leaves through facet :math:`f` at the smallest

.. math::  s = \frac{a}{a - b},\qquad a = n_f\cdot p - c_f \le 0 < b = n_f\cdot q - c_f,

for which the hit point :math:`p + s(q - p)` lies in the facet (barycentric test). A reflecting facet
mirrors the rest of the step, :math:`q \mapsto q - 2(n_f\cdot q - c_f)n_f`, and the walk continues from
the hit point (several reflections per step, bounded); an absorbing facet kills the path.

Work is kept off the bulk of the particles: a uniform grid over the bounding box stores a lower bound
of the distance from each cell to the boundary (its *clearance*), so a step shorter than the clearance
of its starting cell cannot cross a facet and is not tested. Candidate facets of the remaining steps
come from a k-d tree on facet centroids (a facet meeting the segment has its centroid within
:math:`|q - p|/2 + R` of the segment's midpoint, :math:`R` the largest centroid–vertex distance).

The facets are gathered from the distributed mesh to every rank and put in a canonical order, so the
geometry — and every path — is bit-identical for any number of ranks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from fpsolve.errors import MeshError

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
MAX_REFLECTIONS = 16
GRID_CELLS = {1: 4096, 2: 160, 3: 24}  # clearance grid cells per axis


def facet_normals(vertices: Array, inside: Array) -> Array:
    """Unit normals of the facets ``vertices`` (nf, d, d) pointing away from the points ``inside`` (nf, d)."""
    nf, d = vertices.shape[:2]
    if d == 1:
        n = np.ones((nf, 1))
    elif d == 2:
        e = vertices[:, 1] - vertices[:, 0]
        n = np.stack([e[:, 1], -e[:, 0]], axis=1)
    else:
        n = np.cross(vertices[:, 1] - vertices[:, 0], vertices[:, 2] - vertices[:, 0])
    n /= np.linalg.norm(n, axis=1)[:, None]
    flip = np.einsum("fi,fi->f", n, inside - vertices[:, 0]) > 0
    n[flip] *= -1.0
    return n


class MeshWalls:
    """Reflecting and absorbing walls made of simplicial boundary facets.

    Parameters
    ----------
    vertices
        Facet vertex coordinates, shape (nf, d, d).
    normals
        Outward unit normals (nf, d).
    absorbing
        Which facets absorb (nf,); the others reflect.
    """

    def __init__(self, vertices: Array, normals: Array, absorbing: Mask) -> None:
        if len(vertices) == 0:
            raise MeshError("the mesh has no boundary facets")
        self.vertices = np.ascontiguousarray(vertices, dtype=float)
        self.normals = np.ascontiguousarray(normals, dtype=float)
        self.absorbing = np.asarray(absorbing, dtype=bool)
        nf, d = vertices.shape[:2]
        self.d = d
        self.offsets = np.einsum("fi,fi->f", self.normals, self.vertices[:, 0])
        # (v1 − v0, …, v_{d−1} − v0, n)⁻¹: barycentric coordinates and signed normal distance
        basis = np.concatenate([(self.vertices[:, 1:] - self.vertices[:, :1]), self.normals[:, None]], axis=1)
        self.to_local = np.linalg.inv(np.swapaxes(basis, 1, 2))
        self.centroids = self.vertices.mean(axis=1)
        self.reach = float(np.max(np.linalg.norm(self.vertices - self.centroids[:, None], axis=2)))
        lo, hi = self.vertices.min(axis=(0, 1)), self.vertices.max(axis=(0, 1))
        self.tol = 1e-12 * float(np.max(hi - lo))
        self._all = (cKDTree(self.centroids), np.arange(nf))
        ids = np.flatnonzero(self.absorbing)
        self._absorbing = (cKDTree(self.centroids[ids]), ids) if len(ids) else None
        # clearance grid
        self.n_grid = GRID_CELLS[d]
        self.lo = lo
        self.cell = np.maximum(hi - lo, self.tol) / self.n_grid
        self._strides = self.n_grid ** np.arange(d - 1, -1, -1, dtype=np.intp)  # C order
        axes = [lo[i] + (np.arange(self.n_grid) + 0.5) * self.cell[i] for i in range(d)]
        centres = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
        half_diagonal = 0.5 * float(np.linalg.norm(self.cell))
        self.clearance = np.maximum(self.nearest(centres)[0] - half_diagonal, 0.0)
        self.clearance_absorbing = np.full(len(centres), np.inf)
        if self._absorbing is not None:
            best = self.nearest(centres, absorbing_only=True)[0]
            self.clearance_absorbing = np.maximum(best - half_diagonal, 0.0)
            self._candidates(centres, best + 2 * half_diagonal)

    @classmethod
    def from_facets(
        cls, verts: Array, tags: npt.NDArray[np.int32], inside: Array, absorbing: list[int]
    ) -> MeshWalls:
        """Walls of boundary facets (:func:`fpsolve.discretisation.mesh.exterior_facets`).

        ``inside``: a point inside each facet's cell (orients the normals); facets whose tag is in
        ``absorbing`` absorb, all others reflect.
        """
        return cls(verts, facet_normals(verts, inside), np.isin(tags, absorbing))

    def _candidates(self, centres: Array, bound: Array) -> None:
        """Per grid cell, the absorbing facets within ``bound`` of its centre (stored flat, CSR-like).

        The nearest facet f* to a point x of a cell with centre z, half-diagonal δ and nearest distance
        D(z) satisfies |z − f*| ≤ |x − f*| + δ ≤ D(z) + 2δ, so it is among them.
        """
        tree, ids = self._absorbing
        lists = tree.query_ball_point(centres, bound + self.reach)
        width = max(len(c) for c in lists)
        table = np.full((len(centres), width), -1, dtype=np.intp)
        for i, c in enumerate(lists):  # setup only: once per grid cell
            table[i, : len(c)] = ids[np.asarray(c, dtype=np.intp)]
        dist = self.distances(centres, np.maximum(table, 0))
        table[(table < 0) | (dist > bound[:, None] + self.tol)] = -1
        counts = (table >= 0).sum(axis=1)
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._counts = counts
        self._flat = table[table >= 0]  # row-major: each cell's candidates contiguous

    def nearest_absorbing(
        self, x: Array, cells: npt.NDArray[np.intp] | None = None
    ) -> tuple[Array, npt.NDArray[np.intp]]:
        """Distance from each point inside the grid to the nearest absorbing facet, and its index (exact).

        Only the (point, candidate) pairs of the point's grid cell (``cells``, if known) are evaluated.
        """
        if not len(x):
            return np.zeros(0), np.zeros(0, dtype=np.intp)
        cells = self.cell_of(x) if cells is None else cells
        counts = self._counts[cells]
        owner = np.repeat(np.arange(len(x)), counts)
        first = np.cumsum(counts) - counts
        pos = np.arange(counts.sum()) - np.repeat(first, counts) + np.repeat(self._starts[cells], counts)
        facet = self._flat[pos]
        dist = self.distances(x[owner], facet)
        best = np.minimum.reduceat(dist, first)
        # the first pair of each point attaining its minimum
        at_min = np.flatnonzero(dist == best[owner])
        _, pick = np.unique(owner[at_min], return_index=True)
        return best, facet[at_min[pick]]

    def cell_of(self, x: Array) -> npt.NDArray[np.intp]:
        """Flat index of the clearance-grid cell holding each point (clipped to the grid)."""
        ijk = ((x - self.lo) / self.cell).astype(np.intp)
        np.clip(ijk, 0, self.n_grid - 1, out=ijk)
        return ijk @ self._strides

    def distances(self, x: Array, facets: npt.NDArray[np.intp]) -> Array:
        """Euclidean distances from points ``x`` (m, d) to facets ``facets`` (m, k) or (m,) (exact, d ≤ 3)."""
        shape = facets.shape
        f = facets.reshape(-1)
        y = np.broadcast_to(x.reshape(len(x), *([1] * (len(shape) - 1)), self.d), (*shape, self.d))
        y = y.reshape(-1, self.d)
        v = self.vertices[f]
        if self.d == 1:
            dist = np.abs(y[:, 0] - v[:, 0, 0])
        elif self.d == 2:
            dist = _segment_distance(y, v[:, 0], v[:, 1])
        else:  # projection onto the plane if it falls in the triangle, else the nearest edge
            local = np.einsum("fij,fj->fi", self.to_local[f], y - v[:, 0])
            t = local[:, :2]
            inside = np.all(t >= 0, axis=-1) & (t.sum(-1) <= 1)
            edges = [_segment_distance(y, v[:, i], v[:, j]) for i, j in ((0, 1), (1, 2), (0, 2))]
            dist = np.where(inside, np.abs(local[:, 2]), np.minimum.reduce(edges))
        return dist.reshape(shape)

    def nearest(self, x: Array, absorbing_only: bool = False) -> tuple[Array, npt.NDArray[np.intp]]:
        """Distance from each point to the nearest (absorbing) facet and that facet's index.

        Candidates are the k nearest centroids; k doubles until the k-th centroid is so far that no
        facet beyond it can be nearer (centroid distance − reach ≥ best distance), so the answer is exact.
        """
        tree, ids = self._absorbing if absorbing_only else self._all
        dist = np.full(len(x), np.inf)
        best = np.zeros(len(x), dtype=np.intp)
        todo = np.arange(len(x))
        k = min(8, len(ids))
        while len(todo):
            cd, ci = tree.query(x[todo], k=k)
            cd, ci = cd.reshape(len(todo), k), ci.reshape(len(todo), k)
            fac = ids[ci]
            dd = self.distances(x[todo], fac)
            j = np.argmin(dd, axis=1)
            dist[todo] = dd[np.arange(len(todo)), j]
            best[todo] = fac[np.arange(len(todo)), j]
            if k == len(ids):
                break
            todo = todo[cd[:, -1] - self.reach < dist[todo]]
            k = min(2 * k, len(ids))
        return dist, best

    def first_crossing(
        self, p: Array, q: Array, exclude: npt.NDArray[np.intp]
    ) -> tuple[Array, npt.NDArray[np.intp]]:
        """First facet crossed outward by each segment p → q (−1 if none) and the fraction s ∈ [0, 1] there.

        ``exclude`` (per segment, −1 for none) is the facet the segment starts on after a reflection.
        """
        tree, ids = self._all
        mid = 0.5 * (p + q)
        radius = 0.5 * np.linalg.norm(q - p, axis=1) + self.reach + self.tol
        m = len(p)
        s_best = np.full(m, np.inf)
        f_best = np.full(m, -1, dtype=np.intp)
        k = min(8, len(ids))
        todo = np.arange(m)
        while len(todo):
            cd, ci = tree.query(mid[todo], k=k, distance_upper_bound=float(radius[todo].max()))
            cd, ci = cd.reshape(len(todo), k), ci.reshape(len(todo), k)
            valid = cd <= radius[todo, None]
            cand = np.where(valid, ci, 0)
            s = self._crossing_fraction(p[todo], q[todo], cand)
            s[~valid | (cand == exclude[todo, None])] = np.inf
            j = np.argmin(s, axis=1)
            sj = s[np.arange(len(todo)), j]
            better = sj < s_best[todo]
            s_best[todo[better]] = sj[better]
            f_best[todo[better]] = cand[better, j[better]]
            if k == len(ids):
                break
            todo = todo[valid[:, -1]]  # the k nearest all lie in range: there may be more
            k = min(2 * k, len(ids))
        f_best[~np.isfinite(s_best)] = -1
        return np.where(np.isfinite(s_best), s_best, 1.0), f_best

    def _crossing_fraction(self, p: Array, q: Array, cand: npt.NDArray[np.intp]) -> Array:
        """Fraction s where p → q leaves through each candidate facet (m, k); inf where it does not."""
        n, c = self.normals[cand], self.offsets[cand]
        a = np.einsum("mki,mi->mk", n, p) - c
        b = np.einsum("mki,mi->mk", n, q) - c
        out = (b > 0) & (a <= self.tol) & (a < b)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.clip(a / (a - b), 0.0, 1.0)
        hit = p[:, None] + s[..., None] * (q - p)[:, None]
        t = np.einsum("mkij,mkj->mki", self.to_local[cand], hit - self.vertices[cand, 0])[..., : self.d - 1]
        tol = 1e-9
        within = np.all(t >= -tol, axis=-1) & (t.sum(-1) <= 1 + tol)
        return np.where(out & within, s, np.inf)

    def move(self, old: Array, new: Array, cells: npt.NDArray[np.intp] | None = None) -> Mask:
        """Walk each step old → new through the walls: reflect ``new`` in place; return the absorbed mask.

        Only steps longer than the clearance of their starting cell (``cells``: the grid cells of
        ``old`` if known) are tested. A path still
        reflecting after ``MAX_REFLECTIONS`` is left at its last wall point.
        """
        killed = np.zeros(len(old), dtype=bool)
        step = new - old
        clearance = self.clearance[self.cell_of(old) if cells is None else cells]
        ids = np.flatnonzero(np.einsum("ni,ni->n", step, step) >= clearance**2)
        p, q = old[ids], new[ids]
        exclude = np.full(len(ids), -1, dtype=np.intp)
        for _ in range(MAX_REFLECTIONS):
            if not len(ids):
                return killed
            s, f = self.first_crossing(p, q, exclude)
            hit = f >= 0
            ids, p, q, s, f = ids[hit], p[hit], q[hit], s[hit], f[hit]
            dead = self.absorbing[f]
            killed[ids[dead]] = True
            ids, p, q, s, f = ids[~dead], p[~dead], q[~dead], s[~dead], f[~dead]
            n = self.normals[f]
            p = p + s[:, None] * (q - p)
            q = q - 2.0 * (np.einsum("mi,mi->m", n, q) - self.offsets[f])[:, None] * n
            new[ids] = q
            exclude = f
        new[ids] = p
        return killed


def _segment_distance(x: Array, u: Array, w: Array) -> Array:
    """Distance from points x to segments [u, w] (broadcast over leading axes)."""
    e = w - u
    t = np.clip(np.einsum("...i,...i->...", x - u, e) / np.einsum("...i,...i->...", e, e), 0.0, 1.0)
    return np.linalg.norm(x - u - t[..., None] * e, axis=-1)
