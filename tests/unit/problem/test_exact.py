"""Exit-time references of fpsolve.problem.exact (quadrature) against closed forms and against each other."""

from __future__ import annotations

import numpy as np
import pytest

from fpsolve.problem.exact import committor_1d, mfpt_1d, radial_exit_time

# Simpson on 200 001 nodes: measured relative errors ≤ 1.1e-12 on these closed forms; 1e-9 leaves
# room for platform differences while still catching any wrong formula (those are O(1) off).
TOL = 1e-9


def zero(y: np.ndarray) -> np.ndarray:
    return 0.0 * y


def test_mfpt_1d_brownian_closed_forms() -> None:
    eps2, x = 0.3, np.array([-1.5, -1.0, -0.3])
    reflecting = mfpt_1d(zero, eps2, -2.0, 0.0, x)  # reflecting at a = −2, absorbing at 0
    np.testing.assert_allclose(reflecting, (4 - (x + 2) ** 2) / (2 * eps2), rtol=TOL)
    both = mfpt_1d(zero, eps2, -2.0, 0.0, x, reflecting_a=False)
    np.testing.assert_allclose(both, (x + 2) * (-x) / (2 * eps2), rtol=TOL)


def test_mfpt_1d_second_moment_of_brownian_exit() -> None:
    # ε²T₂'' = −2T, T = x(1−x)/(2ε²) on (0, 1): T₂ = x(1−x)(1 + x − x²)/(12ε⁴)
    eps2, x = 0.5, np.array([0.1, 0.5, 0.8])
    T = lambda y: mfpt_1d(zero, eps2, 0.0, 1.0, y, reflecting_a=False)  # noqa: E731
    T2 = mfpt_1d(zero, eps2, 0.0, 1.0, x, reflecting_a=False, source=lambda y: 2 * T(y))
    np.testing.assert_allclose(T2, x * (1 - x) * (1 + x - x**2) / (12 * eps2**2), rtol=TOL)


def test_committor_1d_constant_drift() -> None:
    # dX = c dt + √(2ε²)dW on (a, b): P(exit at b) = (e^{−c(x−a)/ε²} − 1)/(e^{−c(b−a)/ε²} − 1)
    c, eps2, x = 0.7, 0.2, np.array([0.2, 0.5, 0.9])
    exact = np.expm1(-c * x / eps2) / np.expm1(-c / eps2)
    np.testing.assert_allclose(committor_1d(lambda y: c + 0 * y, eps2, 0.0, 1.0, x), exact, rtol=TOL)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_radial_exit_time_brownian(dim: int) -> None:
    r = np.array([0.0, 0.3, 0.9])
    np.testing.assert_allclose(radial_exit_time(0.0, 0.5, 1.0, r, dim), (1 - r**2) / dim, rtol=TOL)


def test_radial_exit_time_in_1d_is_the_reflecting_mfpt() -> None:
    # d = 1: the radial ODE is the 1-D problem on (0, R), reflecting at 0 (symmetry), drift −λx
    r = np.array([0.0, 0.3, 0.9])
    np.testing.assert_allclose(
        radial_exit_time(2.0, 0.1, 1.0, r, 1), mfpt_1d(lambda y: -2.0 * y, 0.1, 0.0, 1.0, r), rtol=TOL
    )


def test_mfpt_1d_double_well_is_resolved() -> None:
    # L = x⁴/4 − x²/2, reflecting at −2, absorbing at the saddle: doubling the nodes changes T(−1) by
    # ≤ 4e-12 (measured) even at ε² = 0.01 where T(−1) = 1.6e11
    drift = lambda y: -(y**3 - y)  # noqa: E731
    for eps2 in (0.1, 0.01):
        coarse = mfpt_1d(drift, eps2, -2.0, 0.0, -1.0)
        fine = mfpt_1d(drift, eps2, -2.0, 0.0, -1.0, points=400_001)
        assert abs(coarse / fine - 1) < 1e-10
    # an independent trapezoid double integral on 200 001 nodes gave 1.62478771569e11
    assert mfpt_1d(drift, 0.01, -2.0, 0.0, -1.0) == pytest.approx(1.6247877157e11, rel=1e-8)
