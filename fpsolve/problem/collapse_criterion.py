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

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.affine_set import AffineSet
from fpsolve.problem.fokker_planck import FokkerPlanckProblem

__all__ = ["GRID", "NormalExponent", "normal_exponent"]

Array = npt.NDArray[np.float64]

#: Points of the chord for the stationary density along a line and the average of α.
GRID = 20001
#: Relative size (to the largest value on the set) below which b_n and Q_nn count as zero on A.
INVARIANCE_TOL = 1e-9


@dataclass(frozen=True)
class NormalExponent:
    """λ and what it is made of (``alpha`` at the ``points`` of A, the along-set density ``weights``)."""

    exponent: float
    points: Array
    alpha: Array
    weights: Array

    def record(self) -> dict[str, Any]:
        """Summary entry: λ, the range and π-mean of α, and the chord of A."""
        return {
            "lyapunov_exponent": self.exponent,
            "collapse_predicted": bool(self.exponent < 0),
            "alpha_min": float(self.alpha.min()),
            "alpha_max": float(self.alpha.max()),
            "chord": [self.points[0].tolist(), self.points[-1].tolist()],
        }


def normal_exponent(
    problem: FokkerPlanckProblem, aset: AffineSet, box: tuple[Array, Array]
) -> NormalExponent:
    """λ of the module docstring for the set ``aset`` of ``problem``; ``box`` bounds the domain (lo, hi).

    Raises :class:`~fpsolve.errors.ProblemError` for a set other than a point in 1-D or a line in 2-D,
    one that is not invariant (naming a point where the drift or the noise crosses it), or a line
    along which the noise vanishes somewhere (no stationary density along it).
    """
    d = problem.dim
    if aset.dim != d or aset.codimension != 1 or d > 2:
        raise ProblemError(
            "the collapse criterion is computed for a point in 1-D or a line in 2-D "
            f"(codimension 1), got a set of dimension {len(aset.along)} in {d}-D"
        )
    n = aset.normals()[:, 0]
    b, Q, x = problem.drift_field, problem.Q, problem.coords
    b_n = sum(n[i] * b[i] for i in range(d))
    q_nn = sum(n[i] * n[j] * Q[i, j] for i in range(d) for j in range(d))

    def along_n(f: sp.Expr) -> sp.Expr:
        return sum(n[i] * sp.diff(f, x[i]) for i in range(d))

    alpha_expr = along_n(b_n) - problem.eps2 / 2 * along_n(along_n(q_nn))
    points = _chord(aset, box)
    values = {
        name: np.broadcast_to(problem.numpy_function(e)(points), len(points)).astype(float)
        for name, e in (("b_n", b_n), ("q_nn", q_nn), ("alpha", alpha_expr))
    }
    _check_invariant(problem, points, values["b_n"], values["q_nn"], aset)
    alpha = values["alpha"]
    if not np.all(np.isfinite(alpha)):
        raise ProblemError(f"the normal exponent α is not finite on {aset.describe()}")
    if d == 1:
        return NormalExponent(float(alpha[0]), points, alpha, np.ones(1))
    e = aset.tangents()[:, 0]
    b_e = sum(e[i] * b[i] for i in range(d))
    k_ee = problem.eps2 * sum(e[i] * e[j] * Q[i, j] for i in range(d) for j in range(d))
    drift = np.broadcast_to(problem.numpy_function(b_e)(points), len(points)).astype(float)
    diffusion = np.broadcast_to(problem.numpy_function(k_ee)(points), len(points)).astype(float)
    if not np.all(diffusion > 0):
        k = int(np.argmin(diffusion))
        raise ProblemError(
            f"the noise along {aset.describe()} vanishes at x = {_point(points[k])}: "
            "the motion on the set has no stationary density to average the exponent over"
        )
    s = (points - points[0]) @ e
    f = drift / diffusion
    log_pi = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(s))]) - np.log(diffusion)
    pi = np.exp(log_pi - log_pi.max())
    weights = pi / np.trapezoid(pi, s)
    return NormalExponent(float(np.trapezoid(weights * alpha, s)), points, alpha, weights)


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
    b = problem.numpy("drift")(points.T).reshape(problem.dim, -1)
    Q = problem.numpy("Q")(points.T).reshape(problem.dim, problem.dim, -1)
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
