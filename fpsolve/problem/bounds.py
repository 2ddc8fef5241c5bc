r"""Rigorous two-sided bounds on the mean exit time (docs/theory.md §1.2–1.3), evaluated at given points.

Generator :math:`\mathcal L f = b\cdot\nabla f + \varepsilon^2 Q:\nabla^2 f` with drift
:math:`b = -\nabla L` (or the problem's general drift; ``∇L`` below means ``−b``).

Lower bound (§1.2), ball :math:`B_{R_0}(x_0)`, hypotheses (H1) :math:`\nabla L\cdot(x-x_0)\ge 0` and
(H2) :math:`\operatorname{tr}Q\le\sigma d` in the ball (Q may be degenerate):

.. math::  E_x\tau \ge \frac{R_0^2 - |x-x_0|^2}{2\varepsilon^2\sigma d},

with equality for Brownian motion (:math:`\nabla L = 0`, :math:`Q = \sigma I`).

Upper bound (§1.3), domain inside the slab :math:`0\le s(x) = v\cdot x - \min_D v\cdot x\le R_v` of a unit
direction ``v``, (H3) :math:`v^TQv\ge\Lambda>0`, (H4) :math:`|\nabla L\cdot v|\le G` in D; for every
:math:`\beta > G/(\varepsilon^2\Lambda)`

.. math::  E_x\tau \le \frac{e^{\beta R_v} - e^{\beta s(x)}}{\beta(\varepsilon^2\beta\Lambda - G)},

minimised here over a logarithmic grid of β at each point (every β gives a valid bound, so the minimum
over a grid is valid too; the grid only makes it slightly less tight than the exact minimum).

Upper bound as the theory states it (§1.3(b)), for a reference point x₀, a unit direction v, the
coordinate :math:`y = v\cdot(x-x_0)`, the extent :math:`R_v = \max_D |y|`, and constants with
:math:`v^TQv\ge\beta>0` and :math:`(v\cdot\nabla L)\,y\le\Lambda y^2` in D:

.. math::  E_x\tau \le \frac{2}{\Lambda}\Big(e^{\Lambda R_v^2/(2\beta\varepsilon^2)}
           - e^{\Lambda r^2/(2\beta\varepsilon^2)}\Big),\qquad r = |y(x)|,

(:func:`theory_upper_bound`); the proof gives the prefactor 1/Λ, reported beside it. With Λ ≤ 0 the
hypothesis holds for every Λ' > 0 and the Λ' → 0 limit applies: :math:`2(R_v^2 - r^2)/(2\beta\varepsilon^2)`.
Its exponent grows like :math:`\Lambda R_v^2/(2\beta)` in 1/ε², the (a) bound's like :math:`GR_v/\Lambda`.

The constants σ, Λ, G are taken as max/min over the points given (the mesh nodes): for a P1 mesh that
is an estimate of the sup/inf over the domain, exact when the extremum is attained at a node (it is
for the shipped cases: they are attained on the boundary or at the centre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mpi4py import MPI

from fpsolve.problem.fokker_planck import FokkerPlanckProblem

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LowerBoundConstants:
    """Constants of the lower bound: σ = max tr Q / d, and min over the ball of ∇L·(x − x₀) (H1)."""

    sigma: float
    h1_minimum: float


@dataclass(frozen=True)
class UpperBoundConstants:
    """Constants of the upper bound in direction ``v``: Λ = min vᵀQv, G = max |∇L·v|, slab width R_v."""

    direction: tuple[float, ...]
    Lambda: float
    G: float
    R_v: float
    s_min: float


def _reduce(value: float, op: MPI.Op, comm: MPI.Comm | None) -> float:
    return float(value) if comm is None else float(comm.allreduce(float(value), op=op))


def lower_bound_constants(
    problem: FokkerPlanckProblem, points: Array, centre: Array, radius: float, comm: MPI.Comm | None = None
) -> LowerBoundConstants:
    """σ and the H1 quantity over the ``points`` (shape ``(n, d)``) in the ball, reduced over ``comm``."""
    inside = points[np.einsum("ni,ni->n", points - centre, points - centre) <= radius**2 * (1 + 1e-12)]
    q = problem.numpy("Q")(inside.T)
    grad = -problem.numpy("drift")(inside.T)[:, 0, :].T
    trace = np.einsum("iin->n", q)
    h1 = np.einsum("ni,ni->n", grad, inside - centre)
    return LowerBoundConstants(
        sigma=_reduce(trace.max(initial=-np.inf), MPI.MAX, comm) / problem.dim,
        h1_minimum=_reduce(h1.min(initial=np.inf), MPI.MIN, comm),
    )


def lower_bound(points: Array, centre: Array, radius: float, eps2: float, sigma: float) -> Array:
    r""":math:`\max(R_0^2 - |x - x_0|^2, 0)/(2\varepsilon^2\sigma d)` at ``points`` (shape ``(n, d)``).

    Zero outside the ball: :math:`E_x\tau_D \ge E_x\tau_B` needs the ball inside the domain D.
    """
    d = points.shape[1]
    r2 = np.einsum("ni,ni->n", points - centre, points - centre)
    return np.maximum(radius**2 - r2, 0.0) / (2.0 * eps2 * sigma * d)


def upper_bound_constants(
    problem: FokkerPlanckProblem, points: Array, v: Array, comm: MPI.Comm | None = None
) -> UpperBoundConstants:
    """Λ, G and the slab of the unit direction ``v`` over ``points``, reduced over ``comm``."""
    v = np.asarray(v, float) / np.linalg.norm(v)
    q = problem.numpy("Q")(points.T)
    grad = -problem.numpy("drift")(points.T)[:, 0, :].T
    s = points @ v
    lo = _reduce(s.min(initial=np.inf), MPI.MIN, comm)
    hi = _reduce(s.max(initial=-np.inf), MPI.MAX, comm)
    return UpperBoundConstants(
        direction=tuple(float(c) for c in v),
        Lambda=_reduce(np.einsum("i,ijn,j->n", v, q, v).min(initial=np.inf), MPI.MIN, comm),
        G=_reduce(np.abs(grad @ v).max(initial=0.0), MPI.MAX, comm),
        R_v=hi - lo,
        s_min=lo,
    )


def upper_bound(points: Array, c: UpperBoundConstants, eps2: float, grid: int = 400) -> Array:
    r"""Pointwise :math:`\min_\beta (e^{\beta R_v} - e^{\beta s})/(\beta(\varepsilon^2\beta\Lambda - G))`.

    ``+inf`` where Λ ≤ 0 (no bound of this type). β runs over ``grid`` values from
    :math:`\beta_0(1 + 10^{-3})` to :math:`\beta_0 + 60/R_v` (:math:`\beta_0 = G/(\varepsilon^2\Lambda)`,
    or from :math:`10^{-3}/R_v` when G = 0), log-spaced in :math:`\beta - \beta_0`.
    """
    if c.Lambda <= 0:
        return np.full(len(points), np.inf)
    s = points @ np.asarray(c.direction) - c.s_min
    beta0 = c.G / (eps2 * c.Lambda)
    offsets = np.geomspace(max(beta0 * 1e-3, 1e-3 / c.R_v), beta0 + 60.0 / c.R_v, grid)
    betas = beta0 + offsets
    log_best = np.full(len(points), np.inf)
    with np.errstate(divide="ignore"):  # s = R_v gives log 0 = −inf: the bound is 0 there
        for b in betas:  # loop over β, vectorised over points; in logs (e^{βR_v} overflows for small ε)
            log_b = b * c.R_v + np.log1p(-np.exp(b * (s - c.R_v))) - np.log(b * (eps2 * b * c.Lambda - c.G))
            log_best = np.minimum(log_best, log_b)
    with np.errstate(over="ignore"):
        return np.exp(log_best)


def candidate_directions(dim: int, candidates: int = 36) -> Array:
    """Directions tried for an upper bound: ``candidates`` angles over a half circle in 2-D, else the axes."""
    if dim == 2:
        angles = np.pi * np.arange(candidates) / candidates
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return np.eye(dim)


def best_direction(
    problem: FokkerPlanckProblem,
    points: Array,
    eps2: float,
    probe: Array,
    comm: MPI.Comm | None = None,
    candidates: int = 36,
) -> UpperBoundConstants:
    """The direction whose bound is smallest at ``probe`` (shape ``(m, d)``, e.g. the start points).

    Candidates: ``candidates`` angles over a half circle in 2-D, the axes otherwise; Λ = 0 loses.
    """
    return min(
        (
            upper_bound_constants(problem, points, v, comm)
            for v in candidate_directions(problem.dim, candidates)
        ),
        key=lambda c: float(upper_bound(probe, c, eps2).max()),
    )


@dataclass(frozen=True)
class TheoryBoundConstants:
    """Constants of the §1.3(b) bound: direction v, x₀, β = min vᵀQv, Λ = max (v·∇L)y/y², R_v = max |y|."""

    direction: tuple[float, ...]
    centre: tuple[float, ...]
    beta: float
    Lambda: float
    R_v: float


def theory_bound_constants(
    problem: FokkerPlanckProblem, points: Array, v: Array, centre: Array, comm: MPI.Comm | None = None
) -> TheoryBoundConstants:
    r"""β, Λ and R_v of the unit direction ``v`` about ``centre`` over ``points`` (n, d), over ``comm``.

    Λ is the largest ratio :math:`(v\cdot\nabla L)\,y/y^2` over the points with
    :math:`|y| > 10^{-12}R_v` (the hypothesis at y = 0 holds for any Λ).
    """
    v = np.asarray(v, float) / np.linalg.norm(v)
    q = problem.numpy("Q")(points.T)
    grad = -problem.numpy("drift")(points.T)[:, 0, :].T
    y = (points - np.asarray(centre, float)) @ v
    R_v = _reduce(np.abs(y).max(initial=0.0), MPI.MAX, comm)
    away = np.abs(y) > 1e-12 * max(R_v, 1e-300)
    ratio = (grad[away] @ v) / y[away]
    return TheoryBoundConstants(
        direction=tuple(float(c) for c in v),
        centre=tuple(float(c) for c in centre),
        beta=_reduce(np.einsum("i,ijn,j->n", v, q, v).min(initial=np.inf), MPI.MIN, comm),
        Lambda=_reduce(ratio.max(initial=-np.inf), MPI.MAX, comm),
        R_v=R_v,
    )


def theory_upper_bound(points: Array, c: TheoryBoundConstants, eps2: float, prefactor: float = 2.0) -> Array:
    r""":math:`(p/\Lambda)(e^{kR_v^2} - e^{kr^2})` with :math:`k = \Lambda/(2\beta\varepsilon^2)`.

    p = ``prefactor``: 2 is the bound as stated (§1.3(b)); 1 is what its proof gives. Λ ≤ 0: the limit
    :math:`p(R_v^2 - r^2)/(2\beta\varepsilon^2)`. ``+inf`` where β ≤ 0 (no noise along v somewhere).
    Evaluated in logarithms (the exponent reaches hundreds for small ε).
    """
    if c.beta <= 0:
        return np.full(len(points), np.inf)
    r2 = np.minimum(((points - np.asarray(c.centre)) @ np.asarray(c.direction)) ** 2, c.R_v**2)
    if c.Lambda <= 0:
        return prefactor * (c.R_v**2 - r2) / (2 * c.beta * eps2)
    k = c.Lambda / (2 * c.beta * eps2)
    with np.errstate(divide="ignore", over="ignore"):
        log_b = np.log(prefactor / c.Lambda) + k * c.R_v**2 + np.log1p(-np.exp(k * (r2 - c.R_v**2)))
        return np.exp(log_b)


def best_theory_direction(
    problem: FokkerPlanckProblem,
    points: Array,
    eps2: float,
    centre: Array,
    probe: Array,
    comm: MPI.Comm | None = None,
    candidates: int = 36,
) -> TheoryBoundConstants:
    """The direction whose §1.3(b) bound is smallest at ``probe`` (a half circle in 2-D, the axes else)."""
    directions = candidate_directions(problem.dim, candidates)
    return min(
        (theory_bound_constants(problem, points, v, centre, comm) for v in directions),
        key=lambda c: float(theory_upper_bound(probe, c, eps2).max()),
    )


__all__ = [
    "TheoryBoundConstants",
    "best_theory_direction",
    "theory_bound_constants",
    "theory_upper_bound",
    "LowerBoundConstants",
    "UpperBoundConstants",
    "best_direction",
    "lower_bound",
    "lower_bound_constants",
    "upper_bound",
    "upper_bound_constants",
]
