r"""Stochastic collapse criterion: the Lyapunov exponent of the dynamics normal to an invariant set.

For ``dX = b dt + sqrt(2ε²) Q^{1/2} dW`` and an affine set A of codimension 1 with unit normal n
(:class:`~fpsolve.problem.affine_set.AffineSet`), let :math:`v = n\cdot(x - c)` and
:math:`b_n = n\cdot b`, :math:`Q_{nn} = n^TQn`. A is **invariant** when :math:`b_n = 0` and
:math:`Q_{nn} = 0` on it (then also Qn = 0 there: Q is PSD). Near A, :math:`b_n \approx v\,\partial_v b_n`
and :math:`\varepsilon^2 Q_{nn}\approx \tfrac12 v^2\,\partial_v^2 K_{nn}` (K = ε²Q), and Itô's formula
gives

.. math::  d\log|v| = \alpha\,dt + \sqrt{\partial_v^2K_{nn}}\;dW,\qquad
           \alpha = \partial_v b_n - \tfrac12\,\partial_v^2 K_{nn}

(docs/theory.md §5.3), both evaluated on A. For b = −∇L: :math:`\alpha = -(\partial_v^2 L + \tfrac12
\partial_v^2K_{nn})`. The exponent is

* a point in 1-D: :math:`\lambda = \alpha(c)`, so |X| → 0 almost surely (for starts close enough to
  c) iff :math:`L''(c) + \tfrac12K''(c) > 0` (Chen et al.'s quartic well, docs/theory.md §5.1);
* a line in 2-D (:math:`x = c + s e`): the motion along A does not depend on v to leading order, so
  by the ergodic theorem :math:`\lambda = \int\pi\alpha\,ds` with π the stationary density of the
  one-dimensional diffusion on A, :math:`ds = b_e\,dt + \sqrt{2K_{ee}}\,dW` (:math:`b_e = e\cdot b`,
  :math:`K_{ee} = e^TKe`), reflected where the line leaves the box:

  .. math::  \pi(s) \propto \frac{1}{K_{ee}(s)}\exp\int^s \frac{b_e}{K_{ee}}\,ds'

  (zero flux), computed on :data:`GRID` points of the chord with the trapezoidal rule.

λ < 0: A attracts (collapse); λ > 0: it repels. Other sets (a point in 2-D or 3-D, sets in 3-D) need
the top Lyapunov exponent of a matrix-valued linearisation and are not computed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fpsolve.errors import ProblemError
from fpsolve.problem.affine_set import AffineSet
from fpsolve.problem.fokker_planck import FokkerPlanckProblem

__all__ = ["GRID", "NormalExponent", "normal_exponent"]

Array = npt.NDArray[np.float64]

#: Points of the chord for the stationary density along a line and the average of α.
GRID = 20001
#: Relative size (to the largest value on the set) below which b_n and Q_nn count as zero on A.
INVARIANCE_TOL = 1e-9
#: Step of the normal differences, relative to the size of the box.
STEP = 1e-5


@dataclass(frozen=True)
class NormalExponent:
    """λ and what it is made of.

    ``alpha`` at the ``points`` of A, at arc length ``s`` along it, where the stationary density along
    A is ``weights`` (a point: s = 0, weight 1).
    """

    exponent: float
    points: Array
    alpha: Array
    s: Array
    weights: Array

    def record(self) -> dict[str, Any]:
        """Summary entry: λ, the range of α, the chord of A and the mean and sd of π along it."""
        mean = float(np.trapezoid(self.weights * self.s, self.s)) if len(self.s) > 1 else 0.0
        var = float(np.trapezoid(self.weights * (self.s - mean) ** 2, self.s)) if len(self.s) > 1 else 0.0
        return {
            "lyapunov_exponent": self.exponent,
            "collapse_predicted": bool(self.exponent < 0),
            "alpha_min": float(self.alpha.min()),
            "alpha_max": float(self.alpha.max()),
            "chord": [self.points[0].tolist(), self.points[-1].tolist()],
            "along_mean": mean,
            "along_sd": var**0.5,
        }


def normal_exponent(
    problem: FokkerPlanckProblem, aset: AffineSet, box: tuple[Array, Array]
) -> NormalExponent:
    r"""λ of the module docstring for the set ``aset`` of ``problem``; ``box`` bounds the domain (lo, hi).

    The normal derivatives are central differences of b and Q (evaluated as the Monte Carlo evaluates
    them) a step h = :data:`STEP` · (size of the box) off the set: with b_n = Q_nn = 0 on A,
    :math:`\partial_vb_n = (b_n(h) - b_n(-h))/(2h)` and
    :math:`\partial_v^2Q_{nn} = (Q_{nn}(h) + Q_{nn}(-h))/h^2`, both with errors O(h²) (about 1e-9).
    Raises :class:`~fpsolve.errors.ProblemError` for a set other than a point in 1-D or a line in 2-D,
    one that is not invariant (naming a point where the drift or the noise crosses it), or a line along
    which the noise vanishes somewhere (no stationary density along it).
    """
    d = problem.dim
    if aset.dim != d or aset.codimension != 1 or d > 2:
        raise ProblemError(
            "the collapse criterion is computed for a point in 1-D or a line in 2-D "
            f"(codimension 1), got a set of dimension {len(aset.along)} in {d}-D"
        )
    n = aset.normals()[:, 0]
    points = _chord(aset, box)
    h = STEP * max(1.0, float(np.max(np.asarray(box[1], float) - np.asarray(box[0], float))))
    drift, noise = _normal_parts(problem, n)
    _check_invariant(problem, points, drift(points), noise(points), aset)
    up, down = points + h * n, points - h * n
    alpha = (drift(up) - drift(down)) / (2 * h) - problem.eps2 / 2 * (noise(up) + noise(down)) / h**2
    if not np.all(np.isfinite(alpha)):
        raise ProblemError(f"the normal exponent α is not finite on {aset.describe()}")
    if d == 1:
        return NormalExponent(float(alpha[0]), points, alpha, np.zeros(1), np.ones(1))
    e = aset.tangents()[:, 0]
    b = problem.numpy("drift")(points.T).reshape(d, -1)
    Q = problem.numpy("Q")(points.T).reshape(d, d, -1)
    along, diffusion = e @ b, problem.eps2 * np.einsum("i,ijn,j->n", e, Q, e)
    if not np.all(diffusion > 0):
        k = int(np.argmin(diffusion))
        raise ProblemError(
            f"the noise along {aset.describe()} vanishes at x = {_point(points[k])}: "
            "the motion on the set has no stationary density to average the exponent over"
        )
    s = (points - points[0]) @ e
    f = along / diffusion
    log_pi = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(s))]) - np.log(diffusion)
    pi = np.exp(log_pi - log_pi.max())
    weights = pi / np.trapezoid(pi, s)
    return NormalExponent(float(np.trapezoid(weights * alpha, s)), points, alpha, s, weights)


def _normal_parts(
    problem: FokkerPlanckProblem, n: Array
) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    """The maps x ↦ n·b(x) and x ↦ nᵀQ(x)n, for points x of shape (m, d)."""
    d = problem.dim
    drift, Q = problem.numpy("drift"), problem.numpy("Q")

    def b_n(x: Array) -> Array:
        return n @ drift(x.T).reshape(d, -1)

    def q_nn(x: Array) -> Array:
        return np.einsum("i,ijm,j->m", n, Q(x.T).reshape(d, d, -1), n)

    return b_n, q_nn


def _chord(aset: AffineSet, box: tuple[Array, Array]) -> Array:
    """The set's points in the box: the point itself (1-D), or :data:`GRID` points of the line's chord."""
    c = np.asarray(aset.point, float)
    lo, hi = (np.asarray(v, float) for v in box)
    if aset.dim == 1:
        if not lo[0] <= c[0] <= hi[0]:
            raise ProblemError(f"the point {aset.describe()} lies outside the domain [{lo[0]:g}, {hi[0]:g}]")
        return c[None, :]
    e = aset.tangents()[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        ends = np.stack([(lo - c) / e, (hi - c) / e])
    first = np.max(np.where(e != 0, ends.min(axis=0), -np.inf))
    last = np.min(np.where(e != 0, ends.max(axis=0), np.inf))
    inside = [np.all((c + t * e >= lo - 1e-12) & (c + t * e <= hi + 1e-12)) for t in (first, last)]
    if not (last > first and all(inside)):
        raise ProblemError(f"the line {aset.describe()} does not cross the domain's box {lo} – {hi}")
    return c + np.linspace(first, last, GRID)[:, None] * e


def _check_invariant(
    problem: FokkerPlanckProblem, points: Array, b_n: Array, q_nn: Array, aset: AffineSet
) -> None:
    """b_n and Q_nn must vanish on the set (relative to the size of b and Q there)."""
    d = problem.dim
    b = problem.numpy("drift")(points.T).reshape(d, -1)
    Q = problem.numpy("Q")(points.T).reshape(d, d, -1)
    for name, values, scale in (("n·b", b_n, np.abs(b).max()), ("nᵀQn", q_nn, np.abs(Q).max())):
        bad = np.flatnonzero(~(np.abs(values) <= INVARIANCE_TOL * max(scale, 1e-300)))
        if bad.size:
            k = int(bad[0])
            raise ProblemError(
                f"{aset.describe()} is not invariant: {name} = {values[k]:.3g} at x = "
                f"{_point(points[k])} (the {'drift' if name == 'n·b' else 'noise'} crosses it)"
            )


def _point(x: Array) -> tuple[float, ...]:
    """A point for a message: plain floats, 6 decimals."""
    return tuple(round(float(v), 6) for v in x)
