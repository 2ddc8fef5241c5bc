"""Relative entropy between Gaussians and along the OU relaxation (docs/theory.md §1.5)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate as si
import scipy.stats as ss

from fpsolve.problem.exact import ou_stationary_covariance
from fpsolve.problem.gaussian_divergences import gaussian_relative_entropy, ou_relative_entropy

A = np.array([[2.5, -1.5], [-1.5, 2.5]])  # eigenvalues 1, 4
K = 0.05 * np.diag([4.0, 1.0])  # does not commute with A
MU = np.array([0.1, -0.05])


def test_one_dimensional_closed_form() -> None:
    # H(N(m, s²) | N(μ, σ²)) = log(σ/s) + (s² + (m − μ)²)/(2σ²) − 1/2
    m, s, mu, sigma = 0.7, 0.4, -0.2, 1.3
    expected = np.log(sigma / s) + (s**2 + (m - mu) ** 2) / (2 * sigma**2) - 0.5
    assert gaussian_relative_entropy([m], [[s**2]], [mu], [[sigma**2]]) == pytest.approx(expected, rel=1e-14)


def test_two_dimensional_against_quadrature() -> None:
    m, S = np.array([0.3, 0.2]), np.array([[0.05, 0.01], [0.01, 0.03]])
    mu, Sigma = np.array([0.0, 0.1]), np.array([[0.1, 0.04], [0.04, 0.06]])
    p, q = ss.multivariate_normal(m, S), ss.multivariate_normal(mu, Sigma)

    def integrand(y: float, x: float) -> float:
        z = np.array([x, y])
        return float(p.pdf(z) * (p.logpdf(z) - q.logpdf(z)))

    numeric, _ = si.dblquad(integrand, -1.5, 2.0, -1.5, 2.0, epsabs=1e-11, epsrel=1e-10)
    assert gaussian_relative_entropy(m, S, mu, Sigma) == pytest.approx(numeric, rel=1e-8)
    assert gaussian_relative_entropy(mu, Sigma, mu, Sigma) == pytest.approx(0.0, abs=1e-15)


def test_ou_entropy_starts_at_the_initial_divergence_and_decays_at_twice_the_gap() -> None:
    m0, S0 = np.array([0.9, 0.45]), 0.02 * np.eye(2)
    Sigma = ou_stationary_covariance(A, K)
    h = np.array([ou_relative_entropy(A, MU, K, m0, S0, t) for t in np.linspace(0, 12, 61)])
    assert h[0] == pytest.approx(gaussian_relative_entropy(m0, S0, MU, Sigma), rel=1e-14)
    assert np.all(np.diff(h) < 0)  # the relative entropy is a Lyapunov function
    # Arnold–Erb: H ~ c e^{-2γt}, γ = min Re λ(A) = 1; between t = 10 and 12 the log slope is 2 to 1e-6
    assert np.log(h[-11] / h[-1]) / 2.0 == pytest.approx(2.0, rel=1e-6)
