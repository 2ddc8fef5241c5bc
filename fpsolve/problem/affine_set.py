r"""An affine subset of parameter space, the candidate invariant set of stochastic collapse.

.. math::  A = \{c + E s : s \in \mathbb{R}^k\},\qquad
           \operatorname{dist}(x, A) = |N^T(x - c)|,

with c = ``point``, the columns of E the ``along`` vectors (k = 0: the point c itself) and N an
orthonormal basis of the normal space (the complement of the span of E), so that :math:`NN^T` is the
orthogonal projector onto it. For codimension 1 (a point in 1-D, a line in 2-D, a plane in 3-D)
:math:`s_\perp = n\cdot(x - c)` is the signed normal coordinate and dist = :math:`|s_\perp|`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fpsolve.errors import ProblemError

__all__ = ["AffineSet"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class AffineSet:
    """The point ``point`` plus the span of the ``along`` vectors (none: the point)."""

    point: tuple[float, ...]
    along: tuple[tuple[float, ...], ...] = ()

    def __post_init__(self) -> None:
        d = len(self.point)
        if not 1 <= d <= 3 or not all(np.isfinite(self.point)):
            raise ProblemError(f"an affine set needs a finite point of dimension 1–3, got {self.point}")
        if any(len(e) != d or not all(np.isfinite(e)) for e in self.along):
            raise ProblemError(f"the 'along' vectors must be finite and of dimension {d}, got {self.along}")
        if self.along and np.linalg.matrix_rank(np.array(self.along, float)) < len(self.along):
            raise ProblemError(f"the 'along' vectors {self.along} are linearly dependent (or zero)")
        if len(self.along) >= d:
            raise ProblemError(
                f"{len(self.along)} 'along' vectors span all of R^{d}: nothing to collapse onto"
            )

    @property
    def dim(self) -> int:
        """Dimension of the space it lies in."""
        return len(self.point)

    @property
    def codimension(self) -> int:
        """The number of normal directions, d − k."""
        return self.dim - len(self.along)

    def tangents(self) -> Array:
        """Orthonormal basis of the span of ``along``, shape (d, k)."""
        if not self.along:
            return np.zeros((self.dim, 0))
        q, _ = np.linalg.qr(np.array(self.along, float).T)
        return q

    def normals(self) -> Array:
        """Orthonormal basis N of the normal space, shape (d, d − k)."""
        full, _ = np.linalg.qr(np.hstack([self.tangents(), np.eye(self.dim)]))
        return full[:, len(self.along) :]

    def normal_coordinates(self, x: Array) -> Array:
        r""":math:`N^T(x - c)` for points ``x`` of shape (n, d): shape (n, d − k)."""
        return (np.asarray(x, float) - np.asarray(self.point, float)) @ self.normals()

    def distance(self, x: Array) -> Array:
        """dist(x, A) for points ``x`` of shape (n, d)."""
        return np.linalg.norm(self.normal_coordinates(x), axis=1)

    def describe(self, names: tuple[str, ...] | list[str] = ("x", "y", "z")) -> str:
        """Text naming the set, e.g. ``x = 0`` or ``(u, v) = (0, 0) + s (1, 0)``."""
        coords = ", ".join(names[: self.dim])
        point = ", ".join(f"{v:g}" for v in self.point)
        if self.dim == 1:
            return f"{coords} = {point}"
        text = f"({coords}) = ({point})"
        for k, e in enumerate(self.along):
            text += f" + s{k + 1} (" + ", ".join(f"{v:g}" for v in e) + ")"
        return text
