"""Kwon decomposition algebra against docs/theory.md §2.1/§3.1 numbers and random matrices."""

import re

import numpy as np
import pytest
import scipy.integrate

from fpsolve.errors import ProblemError
from fpsolve.problem.kwon import (
    controllability_rank,
    eigenbasis_Q_K,
    kwon_decomposition,
    ou_entropy_production,
    ou_level_circulation,
    sylvester_gap,
)

# round-off level of a 2–4-dimensional Lyapunov solve: measured ≤ 5e-15 on all matrices below
ROUND_OFF = 1e-12


def _random_stable(rng: np.random.Generator, d: int) -> np.ndarray:
    """A non-symmetric matrix with spectrum in Re λ ≥ 0.3 (shifted Gaussian matrix)."""
    M = rng.standard_normal((d, d))
    return M - (np.linalg.eigvals(M).real.min() - 0.3) * np.eye(d)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("d", [2, 3, 4])
def test_random_stable_A_full_and_rank1_D(seed: int, d: int) -> None:
    rng = np.random.default_rng(100 * d + seed)
    A = _random_stable(rng, d)
    G = rng.standard_normal((d, d))
    g = rng.standard_normal((d, 1))  # rank-1 noise: controllable for generic A (Kalman rank checked)
    for D in (G @ G.T, g @ g.T):
        assert controllability_rank(A, D) == d
        dec = kwon_decomposition(A, D)
        assert dec.antisymmetry_error < ROUND_OFF
        # U = B⁻¹ loses digits with the conditioning of B (rank-1 D: cond(B) up to 1e5 here)
        assert dec.reconstruction_error < ROUND_OFF + 1e-15 * np.linalg.cond(dec.B)
        assert np.allclose(dec.U, dec.U.T, atol=0) and np.linalg.eigvalsh(dec.U).min() > 0
        # Kwon/Sylvester form A Q + Q Aᵀ = A D − D Aᵀ (consequence of U = Uᵀ)
        lhs = A @ dec.Q_K + dec.Q_K @ A.T
        assert np.abs(lhs - (A @ D - D @ A.T)).max() < ROUND_OFF * np.abs(A).max() ** 2 * np.abs(dec.B).max()


def test_theory_example_nonsymmetric_rank1() -> None:
    # docs/theory.md §2.1 [DERIVED+CHECKED]: A = [[1,2],[-0.5,0.7]], D = diag(1,0)
    dec = kwon_decomposition([[1.0, 2.0], [-0.5, 0.7]], np.diag([1.0, 0.0]))
    assert np.allclose(dec.U, [[1.7, -2.38], [-2.38, 14.892]], rtol=0, atol=1e-12)
    assert np.allclose(dec.Q_K, [[0, 5 / 17], [-5 / 17, 0]], rtol=0, atol=1e-12)
    assert dec.controllability_rank == 2 and not dec.detailed_balance


def test_kunin_fig3_numbers() -> None:
    # docs/theory.md §3.1 [VERIFIED code + CHECKED]:
    # Q_K = [[0, .9], [-.9, 0]], U = [[385, -375], [-375, 865]]/481
    A = np.array([[2.5, -1.5], [-1.5, 2.5]])
    D = np.diag([4.0, 1.0])
    dec = kwon_decomposition(A, D)
    assert np.allclose(dec.Q_K, [[0, 0.9], [-0.9, 0]], rtol=0, atol=1e-13)
    assert np.allclose(dec.U, np.array([[385, -375], [-375, 865]]) / 481, rtol=0, atol=1e-13)
    assert np.abs(eigenbasis_Q_K(A, D) - dec.Q_K).max() < 1e-14  # Kunin's formula = Lyapunov recipe


def test_detailed_balance_when_A_and_D_commute() -> None:
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    dec = kwon_decomposition(A, 0.7 * A @ A)
    assert dec.detailed_balance and np.abs(dec.Q_K).max() < 1e-14


@pytest.mark.parametrize(
    ("A", "why"),
    [
        (np.diag([1.0, -1.0]), "λ_i + λ_j = 0"),  # saddle pair ±1
        (np.array([[0.0, 1.0], [-1.0, 0.0]]), "λ_i + λ_j = 0"),  # centre ±i
        (np.diag([1.0, 0.0]), "λ_i + λ_j = 0"),  # flat direction
        (np.diag([-1.0, -2.0]), "not stable"),
    ],
)
def test_singular_and_unstable_are_reported(A: np.ndarray, why: str) -> None:
    if "λ" in why:
        assert sylvester_gap(A) < 1e-12
    with pytest.raises(ProblemError, match=re.escape(why)):
        kwon_decomposition(A, np.eye(2))


def test_uncontrollable_degenerate_D_is_reported() -> None:
    # docs/theory.md §1.5: diag A = (1, 2), D = e1 e1ᵀ: Σ∞ = diag(1, 0) has rank 1
    assert controllability_rank(np.diag([1.0, 2.0]), np.diag([1.0, 0.0])) == 1
    with pytest.raises(ProblemError, match="not controllable"):
        kwon_decomposition(np.diag([1.0, 2.0]), np.diag([1.0, 0.0]))


@pytest.mark.parametrize(("eta", "beta"), [(0.1, 0.8), (0.1, 0.0), (0.05, 0.95), (0.4, 0.3)])
def test_momentum_phase_space_matches_seed_eq12(eta: float, beta: float) -> None:
    """SGD with momentum (Kunin et al. eq. 4–12): Σ = κ⁻¹ diag(η(1+β)σ²h/(2(h+λ)), σ²h)."""
    h, lam, s2, S = 1.3, 0.2, 0.8, 4.0
    a = 2 * (h + lam) / (eta * (1 + beta))
    c = 2 * (1 - beta) / (eta * (1 + beta))
    A = np.array([[0.0, -1.0], [a, c]])
    D = np.diag([0.0, 2 * (1 - beta) * s2 * h / (eta * (1 + beta))])
    kappa = S * (1 - beta**2)
    dec = kwon_decomposition(A, D / kappa)  # K = D/κ: noise covariance 2D/κ
    seed = np.diag([eta * (1 + beta) * s2 * h / (2 * (h + lam)), s2 * h]) / kappa
    assert np.abs(dec.B - seed).max() < 1e-12 * np.abs(seed).max()
    # derived here: Q_K = [[0, -Var v], [Var v, 0]] and entropy production (pseudo-inverse) = a/c
    assert np.allclose(dec.Q_K, [[0, -seed[1, 1]], [seed[1, 1], 0]], rtol=0, atol=1e-12 * seed[1, 1])
    assert abs(ou_entropy_production(A, D / kappa) - a / c) < 1e-12 * a / c


def test_entropy_production_closed_form_by_quadrature() -> None:
    """tr(Q_Kᵀ K⁺ Q_K Σ⁻¹) against a direct 2-D quadrature of ∫ J·K⁻¹J/ρ (Kunin Fig. 3 numbers)."""
    A = np.array([[2.5, -1.5], [-1.5, 2.5]])
    K = 0.01 * np.diag([4.0, 1.0])
    dec = kwon_decomposition(A, K)
    Kinv = np.linalg.inv(K)
    M = dec.Q_K @ dec.U  # J/ρ = -M y
    norm = 1 / (2 * np.pi * np.sqrt(np.linalg.det(dec.B)))

    def integrand(y2: float, y1: float) -> float:
        y = np.array([y1, y2])
        j = M @ y
        return float(j @ Kinv @ j * norm * np.exp(-0.5 * y @ dec.U @ y))

    r = 12 * np.sqrt(np.abs(dec.B).max())
    val, _ = scipy.integrate.dblquad(integrand, -r, r, -r, r, epsabs=1e-11)
    assert abs(val - ou_entropy_production(A, K)) < 1e-8
    # Kunin numbers in D units (temperature cancels): tr(Q_Kᵀ D⁻¹ Q_K U) = (0.81·385 + 0.2025·865)/481
    assert abs(ou_entropy_production(A, K) - (0.81 * 385 + 0.2025 * 865) / 481) < 1e-12


def test_level_circulation_by_quadrature() -> None:
    """Γ(c) = q tr(U) c e^{-c} against the trapezoidal line integral on the ellipse ½ yᵀUy = c."""
    dec = kwon_decomposition([[1.0, 2.0], [-0.5, 0.7]], np.diag([1.0, 0.0]))
    U, Q = dec.U, dec.Q_K
    L = np.linalg.cholesky(np.linalg.inv(U))
    norm = np.sqrt(np.linalg.det(U)) / (2 * np.pi)
    for c in (0.3, 1.0, 2.5):
        t = np.linspace(0, 2 * np.pi, 4001)[:-1]
        y = np.sqrt(2 * c) * L @ np.vstack([np.cos(t), np.sin(t)])  # counter-clockwise (det L > 0)
        dy = np.sqrt(2 * c) * L @ np.vstack([-np.sin(t), np.cos(t)]) * (t[1] - t[0])
        J = -(Q @ U @ y) * norm * np.exp(-c)
        assert abs(np.sum(J * dy) - ou_level_circulation(Q, U, c)) < 1e-12
