r"""Closed-form solutions used to verify the solvers (THEORY.md §8).

Ornstein–Uhlenbeck process :math:`dX = -A(X-\mu)dt + \sqrt{2}\,K^{1/2}dW` with constant
:math:`K = \varepsilon^2 Q \succeq 0` (degenerate allowed when :math:`(A, K^{1/2})` is controllable):

* stationary law :math:`N(\mu, \Sigma_\infty)`, :math:`A\Sigma_\infty + \Sigma_\infty A^T = 2K`;
* transient law from :math:`N(m_0, \Sigma_0)`: mean :math:`\mu + e^{-At}(m_0-\mu)`,
  covariance :math:`\dot\Sigma = -A\Sigma - \Sigma A^T + 2K`;
* stationary current :math:`J_\infty = \beta\rho_\infty - K\nabla\rho_\infty
  = \big(-A + K\Sigma_\infty^{-1}\big)(x-\mu)\,\rho_\infty` (zero iff :math:`AK = KA^T`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.linalg
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem import FokkerPlanckProblem, coordinates, gaussian_density

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


__all__ = [
    "linear_drift",
    "ou_covariance",
    "ou_mean",
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
    if any(sp.simplify(sp.diff(e, c)) != 0 for e in jac for c in xs):
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
