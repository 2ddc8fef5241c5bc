r"""Mass of a finite-element density near an affine set: the collapse fraction and the median distance.

For a set A (:class:`~fpsolve.problem.affine_set.AffineSet`) and a scalar Lagrange density ρ_h,

.. math::  P(r) = \int\rho_h\,1\{\operatorname{dist}(x, A) < r\}\,dx, \qquad
           r_{1/2}:\ P(r_{1/2}) = \tfrac12\int\rho_h,

computed by cutting the cells with :class:`~fpsolve.discretisation.bins.LevelSetCDF` (never from
vertex values, nor from an indicator at quadrature points, which misplace the edge by a fraction of
a cell):

* **codimension 1** (a point in 1-D, a line in 2-D, a plane in 3-D): with the linear
  :math:`s = n\cdot(x - c)`, :math:`P(r) = F_s(r) - F_s(-r)`; each cut cell is split exactly along the
  plane s = ±r and ρ_h integrated on the pieces by a Gauss rule of its degree: exact up to round-off;
* **codimension ≥ 2** (a point in 2-D/3-D, a line in 3-D): :math:`q = \operatorname{dist}^2` is
  quadratic; each cell that may meet the edge (a vertex within r + its diameter of A, one beyond r)
  is bisected k times per direction, keeping the pieces that may still meet it, and q is interpolated
  linearly on pieces of diameter δ = h/2^k (h the largest such cell), which moves the edge of the
  ball/cylinder inwards by at most δ²/(2r) (bins.py); k is the smallest with δ²/(2r) ≤
  :data:`RADIUS_SHIFT`·r (at most :data:`MAX_REFINE`), and :meth:`SetDistance.radius_shift` gives the
  bound reached.

The median :math:`r_{1/2}` is found by bisection on log r between the smallest positive distance of a
mesh vertex from A and the largest; below the former it is not resolved by the mesh (NaN).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

import dolfinx
from mpi4py import MPI

from fpsolve.discretisation.bins import LevelSetCDF
from fpsolve.problem.affine_set import AffineSet

__all__ = ["MAX_REFINE", "RADIUS_SHIFT", "SetDistance"]

Array = npt.NDArray[np.float64]

#: Largest inward shift of the ball's edge, relative to its radius, for codimension ≥ 2.
RADIUS_SHIFT = 1e-4
#: Most bisection levels per direction of a cut cell (the pieces per cut cell grow like 2^{k(d−1)}).
MAX_REFINE = {2: 14, 3: 7}
#: Bisection steps of the median on log r (relative precision (log of the range)/2^steps).
MEDIAN_STEPS = 60


class SetDistance:
    """P(r) and the median distance of one density ``rho`` from the set ``aset`` (collective).

    Built once per density; each call cuts the cells again at the asked radius.
    """

    def __init__(self, rho: dolfinx.fem.Function, aset: AffineSet) -> None:
        msh = rho.function_space.mesh
        self.aset, self.rho = aset, rho
        self.comm: MPI.Comm = msh.comm
        self.linear = aset.codimension == 1
        n = aset.normals()[:, 0]
        c = np.asarray(aset.point, float)
        if self.linear:
            self._cdf = LevelSetCDF(rho, lambda x: (x - c) @ n)
        self._balls: dict[int, LevelSetCDF] = {}
        tdim = msh.topology.dim
        cells = np.arange(msh.topology.index_map(tdim).size_local, dtype=np.int32)
        self.diameters = msh.h(tdim, cells)
        dist = aset.distance(msh.geometry.x[:, : aset.dim])
        cell_dist = dist[msh.geometry.dofmaps[0][cells]]
        self.near, self.far = cell_dist.min(axis=1), cell_dist.max(axis=1)
        self.r_min = self.comm.allreduce(float(dist[dist > 0].min(initial=np.inf)), op=MPI.MIN)
        self.r_max = self.comm.allreduce(float(dist.max(initial=0.0)), op=MPI.MAX)
        self.mass = self.fraction(2.0 * self.r_max + 1.0)[0]

    def refine(self, r: float) -> int:
        """Bisection levels k at radius r (codimension ≥ 2): δ²/(2r) ≤ RADIUS_SHIFT·r, k ≤ MAX_REFINE."""
        return min(
            math.ceil(math.log2(max(self._cut_size(r) / (r * math.sqrt(2 * RADIUS_SHIFT)), 1.0))),
            MAX_REFINE[self.aset.dim],
        )

    def radius_shift(self, r: float) -> float:
        """Bound on the inward shift of the edge at radius r, relative to r (0 for codimension 1)."""
        if self.linear:
            return 0.0
        delta = self._cut_size(r) / 2 ** self.refine(r)
        return delta**2 / (2 * r * r)

    def _cut_size(self, r: float) -> float:
        """Largest diameter of a cell that may meet the edge dist = r (over ranks)."""
        cut = (self.near - self.diameters < r) & (self.far >= r)
        return self.comm.allreduce(float(self.diameters[cut].max(initial=0.0)), op=MPI.MAX)

    def fraction(self, r: float) -> Array:
        """``[P(r)]``: the mass of ρ_h within distance r of the set (one entry, for any rank)."""
        if self.linear:
            below, above = self._cdf(np.array([-r, r]))
            return np.array([above - below])
        k = self.refine(r)
        if k not in self._balls:
            c, normals = np.asarray(self.aset.point, float), self.aset.normals()
            self._balls[k] = LevelSetCDF(
                self.rho, lambda x: np.sum(((x - c) @ normals) ** 2, 1), k, _below_distance
            )
        return self._balls[k](np.array([r * r]))

    def median(self) -> float:
        """The radius with P(r) = mass/2 (bisection on log r); NaN below the mesh's first vertex."""
        half = 0.5 * self.mass
        lo, hi = math.log(self.r_min), math.log(self.r_max)
        if self.fraction(self.r_min)[0] >= half:
            return float("nan")
        for _ in range(MEDIAN_STEPS):
            mid = 0.5 * (lo + hi)
            if self.fraction(math.exp(mid))[0] < half:
                lo = mid
            else:
                hi = mid
        return math.exp(0.5 * (lo + hi))


def _below_distance(q_min: Array, diameter: Array) -> Array:
    r"""Lower bound of dist² on a piece: :math:`(\sqrt{q_{min}} - \text{diam})_+^2` (triangle inequality)."""
    return np.maximum(np.sqrt(q_min) - diameter, 0.0) ** 2
