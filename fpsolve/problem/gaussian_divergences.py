r"""Relative entropy between Gaussians, and along the Ornstein–Uhlenbeck relaxation (docs/theory.md §1.5).

For :math:`p = N(m, S)` and :math:`q = N(\mu, \Sigma)` in d dimensions (both covariances SPD)

.. math::  H(p|q) = \int p\log\frac pq
           = \tfrac12\Big(\operatorname{tr}(\Sigma^{-1}S) - d + (m-\mu)^T\Sigma^{-1}(m-\mu)
             + \log\frac{\det\Sigma}{\det S}\Big) .

An OU process :math:`dX = -A(X-\mu)dt + \sqrt2K^{1/2}dW` started from a Gaussian stays Gaussian,
:math:`N(m(t), S(t))` with the mean and covariance of :mod:`fpsolve.problem.exact`, and relaxes to
:math:`N(\mu, \Sigma_\infty)`: :func:`ou_relative_entropy` is :math:`H(\rho(t)|\rho_\infty)` in closed
form, the reference of the ``relaxation`` analysis. Arnold & Erb: it decays as :math:`e^{-2\gamma t}`,
:math:`\gamma = \min\operatorname{Re}\lambda(A)`, when the eigenvalues of real part γ are not defective
(docs/theory.md §1.5).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fpsolve.problem.exact import ou_covariance, ou_mean, ou_stationary_covariance

__all__ = ["gaussian_relative_entropy", "ou_relative_entropy"]


def gaussian_relative_entropy(
    m: npt.ArrayLike, S: npt.ArrayLike, mu: npt.ArrayLike, Sigma: npt.ArrayLike
) -> float:
    r""":math:`H(N(m, S)\,|\,N(\mu, \Sigma))` (module docstring), by Cholesky factors of S and Σ.

    The log-determinants come from the factors' diagonals and :math:`\Sigma^{-1}S`, :math:`\Sigma^{-1}\delta`
    from triangular solves, so the value keeps its relative accuracy down to round-off of the
    difference of the terms (about 1e-16·d, absolute).
    """
    m, mu = np.atleast_1d(np.asarray(m, float)), np.atleast_1d(np.asarray(mu, float))
    S, Sigma = np.atleast_2d(np.asarray(S, float)), np.atleast_2d(np.asarray(Sigma, float))
    ls, lq = np.linalg.cholesky(S), np.linalg.cholesky(Sigma)
    w = np.linalg.solve(lq, ls)  # Σ^{-1/2}S^{1/2} in Cholesky form: tr(Σ⁻¹S) = ‖w‖_F²
    z = np.linalg.solve(lq, m - mu)
    log_det_ratio = 2.0 * float(np.log(np.diag(lq)).sum() - np.log(np.diag(ls)).sum())
    return 0.5 * float((w * w).sum() - len(m) + z @ z + log_det_ratio)


def ou_relative_entropy(
    A: npt.ArrayLike, mu: npt.ArrayLike, K: npt.ArrayLike, m0: npt.ArrayLike, S0: npt.ArrayLike, t: float
) -> float:
    r""":math:`H(N(m(t), S(t))\,|\,N(\mu, \Sigma_\infty))` of the OU process started from :math:`N(m_0, S_0)`.

    :math:`m(t) = \mu + e^{-At}(m_0-\mu)`,
    :math:`S(t) = \Sigma_\infty + e^{-At}(S_0 - \Sigma_\infty)e^{-A^Tt}`,
    :math:`A\Sigma_\infty + \Sigma_\infty A^T = 2K` (:mod:`fpsolve.problem.exact`).
    """
    return gaussian_relative_entropy(
        ou_mean(A, mu, m0, t), ou_covariance(A, K, S0, t), mu, ou_stationary_covariance(A, K)
    )
