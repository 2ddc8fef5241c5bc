r"""Closed-form solutions used to verify the solvers (docs/theory.md §8).

Ornstein–Uhlenbeck process :math:`dX = -A(X-\mu)dt + \sqrt{2}\,K^{1/2}dW` with constant
:math:`K = \varepsilon^2 Q \succeq 0` (degenerate allowed when :math:`(A, K^{1/2})` is controllable):

* stationary law :math:`N(\mu, \Sigma_\infty)`, :math:`A\Sigma_\infty + \Sigma_\infty A^T = 2K`;
* transient law from :math:`N(m_0, \Sigma_0)`: mean :math:`\mu + e^{-At}(m_0-\mu)`,
  covariance :math:`\dot\Sigma = -A\Sigma - \Sigma A^T + 2K`;
* stationary current :math:`J_\infty = \beta\rho_\infty - K\nabla\rho_\infty
  = \big(-A + K\Sigma_\infty^{-1}\big)(x-\mu)\,\rho_\infty` (zero iff :math:`AK = KA^T`);
* spectrum :math:`\{\sum_i n_i\lambda_i(A): n_i\in\mathbb N\}` of the forward operator when the pair
  :math:`(A, K^{1/2})` is controllable (docs/theory.md §7; :func:`ou_spectrum`, :func:`kalman_rank`).

Mean exit times (docs/theory.md §4.1), by quadrature on a fine grid:

* 1-D :math:`\varepsilon^2 Q T'' + b T' = -1` on (a, b) (:func:`mfpt_1d`);
* radial :math:`\varepsilon^2(T'' + (d-1)T'/r) - \lambda r T' = -1`, :math:`T'(0) = 0`, :math:`T(R) = 0`:
  exit of the rotationally symmetric OU process (L = λ|x|²/2, Q = I) from the ball of radius R
  (:func:`radial_exit_time`; λ = 0 is Brownian motion, :math:`T = (R^2 - r^2)/(2d\varepsilon^2)`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy.integrate
import scipy.linalg
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates, gaussian_density, vanishes

Array = npt.NDArray[np.float64]


def ou_stationary_covariance(A: npt.ArrayLike, K: npt.ArrayLike) -> Array:
    r"""Solve the Lyapunov equation :math:`A\Sigma + \Sigma A^T = 2K`."""
    return scipy.linalg.solve_continuous_lyapunov(np.asarray(A, float), 2.0 * np.asarray(K, float))


def ou_mean(A: npt.ArrayLike, mu: npt.ArrayLike, m0: npt.ArrayLike, t: float) -> Array:
    r"""Mean :math:`\mu + e^{-At}(m_0 - \mu)`."""
    A, mu = np.asarray(A, float), np.asarray(mu, float)
    return mu + scipy.linalg.expm(-A * t) @ (np.asarray(m0, float) - mu)


def ou_covariance(A: npt.ArrayLike, K: npt.ArrayLike, sigma0: npt.ArrayLike, t: float) -> Array:
    r"""Covariance at time t: :math:`\Sigma(t) = \Sigma_\infty + e^{-At}(\Sigma_0 - \Sigma_\infty)e^{-A^Tt}`.

    (The difference :math:`\Sigma - \Sigma_\infty` solves the homogeneous Lyapunov ODE.)
    """
    A = np.asarray(A, float)
    s_inf = ou_stationary_covariance(A, K)
    e = scipy.linalg.expm(-A * t)
    return s_inf + e @ (np.asarray(sigma0, float) - s_inf) @ e.T


def kalman_rank(A: npt.ArrayLike, K: npt.ArrayLike) -> int:
    r"""Rank of the Kalman matrix :math:`[K, AK, \dots, A^{d-1}K]` (d: controllable, Hörmander's condition).

    :math:`K` has the range of :math:`K^{1/2}`, so this is the rank of :math:`[B, AB, \dots, A^{d-1}B]`,
    :math:`B = K^{1/2}` (docs/theory.md §1.5), computed with numpy's default SVD tolerance.
    """
    A, K = np.asarray(A, float), np.asarray(K, float)
    blocks = [K]
    for _ in range(len(A) - 1):
        blocks.append(A @ blocks[-1])
    return int(np.linalg.matrix_rank(np.hstack(blocks)))


def ou_spectrum(A: npt.ArrayLike, upto: float) -> npt.NDArray[np.complex128]:
    r"""The OU eigenvalues :math:`\sum_i n_i\lambda_i(A)`, :math:`n_i\in\mathbb N`, with real part ≤ ``upto``.

    Every multi-index gives one eigenvalue (so coincident sums appear with their multiplicity); sorted
    by real part, then imaginary part. This is the spectrum of the forward (and backward) operator
    of :math:`dX = -A(X-\mu)dt + \sqrt2K^{1/2}dW` for a stable A and a controllable pair
    :math:`(A, K^{1/2})`, whatever K (Metafune, Pallara & Priola 2002; docs/theory.md §7).
    """
    lam = np.linalg.eigvals(np.asarray(A, float))
    slowest = float(lam.real.min())
    if slowest <= 0:
        raise ProblemError("the OU spectrum needs a stable drift matrix (Re λ(A) > 0)")
    bound = upto + 1e-12 * abs(upto)
    top = int(np.floor(bound / slowest)) if bound >= 0 else -1  # Re Σnλ ≥ (Σn)·min Re λ(A)
    indices = itertools.product(range(top + 1), repeat=len(lam))
    values = np.array([np.dot(n, lam) for n in indices if np.dot(n, lam.real) <= bound], dtype=complex)
    return values[np.lexsort((values.imag, values.real))]


def ou_stationary_density(mu: npt.ArrayLike, sigma: npt.ArrayLike) -> sp.Expr:
    r"""The Gaussian :math:`N(\mu, \Sigma)` as a sympy expression of the coordinates."""
    return gaussian_density(list(np.asarray(mu, float)), sigma)


def ou_stationary_current(A: npt.ArrayLike, K: npt.ArrayLike, mu: npt.ArrayLike) -> sp.Matrix:
    r"""Exact stationary current :math:`(-A + K\Sigma_\infty^{-1})(x-\mu)\rho_\infty` (sympy column)."""
    A, K, mu = np.asarray(A, float), np.asarray(K, float), np.asarray(mu, float)
    sigma = ou_stationary_covariance(A, K)
    rho = ou_stationary_density(mu, sigma)
    xs = sp.Matrix(coordinates(len(mu))) - sp.Matrix(mu)
    return sp.Matrix(-A + K @ np.linalg.inv(sigma)) * xs * rho


def mfpt_1d(
    drift: Callable[[Array], Array],
    eps2: float,
    a: float,
    b: float,
    x: npt.ArrayLike,
    q: Callable[[Array], Array] | None = None,
    reflecting_a: bool = True,
    points: int = 200_001,
    source: Callable[[Array], Array] | None = None,
) -> Array:
    r"""Mean exit time of :math:`dX = b(X)dt + \sqrt{2\varepsilon^2 Q(X)}\,dW` from (a, b), at ``x``.

    With the scale density :math:`\psi = \exp(-\int b/(\varepsilon^2 Q))` and
    :math:`I(y) = \int_a^y dz/(\varepsilon^2 Q\psi)`, the ODE reads
    :math:`(T'/\psi)' = -1/(\varepsilon^2Q\psi)`:

    * reflecting at a, absorbing at b: :math:`T(x) = \int_x^b \psi I\,dy`;
    * absorbing at both ends: :math:`T(x) = \int_a^x \psi(C - I)\,dy`,
      :math:`C = \int_a^b\psi I / \int_a^b \psi`.

    Cumulative Simpson on ``points`` equispaced nodes, linear interpolation to ``x`` (relative change
    ≤ 4e-12 on doubling the points for the double well at ε² ≥ 0.01;
    checked against closed forms in the tests).
    ``drift`` and ``q`` are vectorised callables (Q ≡ 1 if ``q`` is None). With ``source`` f the
    equation is :math:`\varepsilon^2 Q T'' + b T' = -f` (``I`` gets the factor f): f = 2·(mean exit time)
    gives the second moment :math:`E_x\tau^2`.
    """
    y = np.linspace(a, b, points)
    qy, psi = _scale_density(drift, eps2, q, y)
    fy = np.ones_like(y) if source is None else np.asarray(source(y), float)
    inner = scipy.integrate.cumulative_simpson(fy / (eps2 * qy * psi), x=y, initial=0.0)
    if reflecting_a:
        outer = scipy.integrate.cumulative_simpson(psi * inner, x=y, initial=0.0)
        values = outer[-1] - outer
    else:
        c = scipy.integrate.simpson(psi * inner, x=y) / scipy.integrate.simpson(psi, x=y)
        values = scipy.integrate.cumulative_simpson(psi * (c - inner), x=y, initial=0.0)
    return np.interp(np.asarray(x, float), y, values)


def _scale_density(
    drift: Callable[[Array], Array], eps2: float, q: Callable[[Array], Array] | None, y: Array
) -> tuple[Array, Array]:
    r"""``Q(y)`` and the scale density :math:`\psi = \exp(-\int b/(\varepsilon^2 Q))` on the nodes ``y``.

    ψ is defined up to a constant factor (only ratios ψ(y)/ψ(z) enter): the exponent is centred
    between its extremes against overflow.
    """
    qy = np.ones_like(y) if q is None else np.broadcast_to(np.asarray(q(y), float), y.shape)
    phi = scipy.integrate.cumulative_simpson(-np.asarray(drift(y), float) / (eps2 * qy), x=y, initial=0.0)
    return qy, np.exp(phi - 0.5 * (phi.max() + phi.min()))


def committor_1d(
    drift: Callable[[Array], Array],
    eps2: float,
    a: float,
    b: float,
    x: npt.ArrayLike,
    q: Callable[[Array], Array] | None = None,
    points: int = 200_001,
) -> Array:
    r"""Probability of leaving (a, b) through b: :math:`u = \int_a^x\psi / \int_a^b\psi` (see mfpt_1d)."""
    y = np.linspace(a, b, points)
    _, psi = _scale_density(drift, eps2, q, y)
    cum = scipy.integrate.cumulative_simpson(psi, x=y, initial=0.0)
    return np.interp(np.asarray(x, float), y, cum / cum[-1])


def radial_exit_time(
    lam: float, eps2: float, radius: float, r: npt.ArrayLike, dim: int = 2, points: int = 200_001
) -> Array:
    r"""Mean exit time from the ball of ``radius`` for :math:`dX = -\lambda X dt + \sqrt{2\varepsilon^2}dW`.

    In ``dim`` dimensions,
    :math:`(r^{d-1}e^{-w}T')' = -r^{d-1}e^{-w}/\varepsilon^2`, :math:`w = \lambda r^2/2\varepsilon^2`,
    gives :math:`T'(r) = -\varepsilon^{-2} r^{1-d}\int_0^r s^{d-1}e^{\lambda(r^2-s^2)/2\varepsilon^2}ds`,
    :math:`T(r) = -\int_r^R T'`; both integrals by cumulative Simpson (``points`` nodes).
    """
    s = np.linspace(0.0, radius, points)
    w = lam * s**2 / (2 * eps2)
    shift = 0.5 * (w.max() + w.min())
    inner = scipy.integrate.cumulative_simpson(s ** (dim - 1) * np.exp(shift - w), x=s, initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(s > 0, np.exp(w - shift) * inner / np.where(s > 0, s, 1.0) ** (dim - 1), 0.0) / eps2
    outer = scipy.integrate.cumulative_simpson(slope, x=s, initial=0.0)
    return np.interp(np.asarray(r, float), s, outer[-1] - outer)


__all__ = [
    "committor_1d",
    "kalman_rank",
    "linear_drift",
    "mfpt_1d",
    "radial_exit_time",
    "ou_covariance",
    "ou_mean",
    "ou_spectrum",
    "ou_stationary_covariance",
    "ou_stationary_current",
    "ou_stationary_density",
]


def linear_drift(problem: FokkerPlanckProblem) -> tuple[Array, Array, Array]:
    r"""``(A, μ, K)`` if the problem is OU: drift :math:`-A(x-\mu)` and constant K; else ProblemError.

    Needs A invertible (μ = A⁻¹b(0)); the exact-solution references of case files use this.
    """
    xs = problem.coords
    drift = problem.drift_field
    jac = drift.jacobian(xs)
    if not all(vanishes(sp.diff(e, c)) for e in jac for c in xs):
        raise ProblemError("reference 'ou' needs a linear drift")
    if any(e.free_symbols for e in problem.K):
        raise ProblemError("reference 'ou' needs a constant Q")
    A = -np.array(jac.subs(dict.fromkeys(xs, 0)), dtype=float)
    b0 = np.array(drift.subs(dict.fromkeys(xs, 0)), dtype=float).ravel()
    try:
        mu = np.linalg.solve(A, b0)
    except np.linalg.LinAlgError:
        raise ProblemError("reference 'ou' needs an invertible drift matrix") from None
    return A, mu, np.array(problem.K, dtype=float)
