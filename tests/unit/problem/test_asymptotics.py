"""Eyring–Kramers reference times against exact double integrals (fpsolve/problem/asymptotics.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from fpsolve import testing
from fpsolve.errors import ProblemError
from fpsolve.problem.asymptotics import eyring_kramers
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.exact import mfpt_1d
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates


def double_well(eps2: float) -> FokkerPlanckProblem:
    (x,) = coordinates(1)
    return FokkerPlanckProblem(
        1, sp.Matrix([[1]]), eps2, Cuboid((-3.0,), (3.0,), (8,)), loss=(x**2 - 1) ** 2 / 4
    )


# exact/EK for L = (x²−1)²/4 from −1 into the other minimum (absorbing at +1), reflecting at −3:
# 1.1066 (ε² = 0.05: 729.67 against π√2 e⁵ = 659.38), 1.0434 (0.025), 1.0200 (0.0125): 1 + c ε² with
# c = 2.1, 1.7, 1.6 → the O(ε²) correction. Absorbing on the separatrix x = 0 halves it:
# 0.549, 0.522, 0.510.
@pytest.mark.parametrize(
    ("eps2", "ratio", "half"), [(0.05, 1.1066, 0.5489), (0.025, 1.0434, 0.5217), (0.0125, 1.0200, 0.5100)]
)
def test_one_dimensional_double_well(eps2: float, ratio: float, half: float) -> None:
    ek = eyring_kramers(double_well(eps2), [-1.0], [0.0])
    assert ek.prefactor == pytest.approx(math.pi * math.sqrt(2), rel=1e-12)
    assert ek.barrier == pytest.approx(0.25, rel=1e-12)
    into_basin = float(mfpt_1d(lambda y: -(y**3 - y), eps2, -3.0, 1.0, -1.0))
    to_separatrix = float(mfpt_1d(lambda y: -(y**3 - y), eps2, -3.0, 0.0, -1.0))
    assert into_basin / ek.time == pytest.approx(ratio, abs=2e-4)
    assert to_separatrix / ek.time == pytest.approx(half, abs=2e-4)


def rotated(q_perp: float, ratio: float) -> FokkerPlanckProblem:
    R = testing.rotated_frame(2)
    u, v = (sp.Matrix(R) * sp.Matrix(coordinates(2)))[:]
    Q = np.outer(R[0], R[0]) + q_perp * np.outer(R[1], R[1])
    box = Cuboid((-2.0, -2.0), (2.0, 2.0), (4, 4))
    return FokkerPlanckProblem(2, sp.Matrix(Q), 0.25 / ratio, box, loss=0.25 * (u**2 - 1) ** 2 + v**2)


# Rotated anisotropic well of bench/small_noise.py (absorbing at u = 0.5, past the saddle): exact/EK =
# 1.0412, 1.0200, 1.0097 at ΔL/ε² = 10, 20, 40 — the prefactor 2π/|λ⁻|·sqrt(|det H_V(s)|/det H_V(m)) with
# V = Q⁻¹-weighted loss (here 4.4429 = π√2) and its O(ε²) correction.
@pytest.mark.parametrize(("ratio", "measured"), [(10, 1.0412), (20, 1.0200), (40, 1.0097)])
def test_rotated_anisotropic_well(ratio: float, measured: float) -> None:
    R = testing.rotated_frame(2)
    ek = eyring_kramers(rotated(0.25, ratio), -R[0], [0.0, 0.0])
    assert ek.lambda_minus == pytest.approx(-1.0, rel=1e-10)
    assert testing.rotated_double_well_exit_time(ratio) / ek.time == pytest.approx(measured, abs=2e-4)


def test_not_reversible_or_not_critical_is_refused() -> None:
    R = testing.rotated_frame(2)
    with pytest.raises(ProblemError, match="positive definite"):
        eyring_kramers(rotated(0.0, 20), -R[0], [0.0, 0.0])  # rank-1 Q
    x, y = coordinates(2)
    kunin = FokkerPlanckProblem(
        2,
        sp.Matrix([[1, 0.5], [0.5, 1]]),
        0.05,
        Cuboid((-2.0, -2.0), (2.0, 2.0), (4, 4)),
        loss=(x**2 - 1) ** 2 / 4 + 2 * y**2,
    )
    with pytest.raises(ProblemError, match="not reversible"):
        eyring_kramers(kunin, [-1.0, 0.0], [0.0, 0.0])
    with pytest.raises(ProblemError, match="index-1 saddle"):
        eyring_kramers(rotated(0.25, 20), -R[0], -R[0])


def _transverse(gamma: float, extra: sp.Expr | int = 0) -> FokkerPlanckProblem:
    """L = (x² − 1)²/4 + y²/2, drift −∇L + γJ∇L (+ ``extra`` in the y component), Q = I."""
    x, y = coordinates(2)
    loss = (x**2 - 1) ** 2 / 4 + y**2 / 2
    lx, ly = sp.diff(loss, x), sp.diff(loss, y)
    drift = sp.Matrix([-lx - gamma * ly, -ly + gamma * lx + extra])
    return FokkerPlanckProblem(
        2, sp.eye(2), 0.05, Cuboid((-2.0, -1.0), (0.4, 1.0), (4, 4)), loss=loss, drift=drift
    )


@pytest.mark.parametrize("gamma", [0.0, 1.0, 3.0])
def test_bouchet_reygner_for_a_transverse_field(gamma: float) -> None:
    # ∇b(0) = diag(1, −1) + γ[[0, −1], [−1, 0]]: μ = √(1 + γ²); prefactor 2π/μ · √(|det H_s| / det H_m)
    # = 2π/μ · √(1/2); γ = 0 is the reversible formula
    br = eyring_kramers(_transverse(gamma), [-1.0, 0.0], [0.0, 0.0])
    mu = math.sqrt(1 + gamma**2)
    assert br.lambda_minus == pytest.approx(-mu, rel=1e-12)
    assert br.prefactor == pytest.approx(2 * math.pi / mu * math.sqrt(0.5), rel=1e-12)
    assert br.barrier == pytest.approx(0.25, rel=1e-12)


def test_a_field_that_changes_the_quasi_potential_is_refused() -> None:
    x, _ = coordinates(2)
    with pytest.raises(ProblemError, match="not of that form"):
        eyring_kramers(_transverse(1.0, extra=x), [-1.0, 0.0], [0.0, 0.0])  # ℓ·∇L ≠ 0


def _loss_proportional(dim: int, eps2: float, lower: float = -3.0) -> FokkerPlanckProblem:
    """L = L* + (x² − 1)²/4 + Σ y_i²/4 with L* = 0.1, Q = (L/L*)·I: Mori et al.'s noise, reversible."""
    xs = coordinates(dim)
    loss = 0.1 + (xs[0] ** 2 - 1) ** 2 / 4 + sum(c**2 / 4 for c in xs[1:])
    box = Cuboid((lower,) * dim, (3.0,) * dim, (4,) * dim)
    return FokkerPlanckProblem(dim, sp.eye(dim) * loss / 0.1, eps2, box, loss=loss)


def _mori_rate(dim: int, eps2: float, correction: bool = True) -> float:
    """Mori et al.'s (17): (|h_s|/2π)(1 + 1/φ)√(det H*/|det H_s|) c^{−(φ + 1 − n/2)} (docs/theory.md §4.4).

    φ = L*/ε² (σ² = 1), c = L_s/L* = 3.5, H* = diag(2, ½, …), H_s = diag(−1, ½, …); without
    ``correction`` the exponent is φ alone.
    """
    phi, c = 0.1 / eps2, 3.5
    exponent = phi + (1 - dim / 2 if correction else 0.0)
    return (1 + 1 / phi) / (2 * math.pi) * math.sqrt(2.0) * c**-exponent


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_loss_proportional_noise_gives_mori_power_law(dim: int) -> None:
    # U = (1 + φ) log L: the Eyring–Kramers law is Mori's rate with the exponent φ + 1 − n/2, exactly
    for eps2 in (0.02, 0.005):
        ek = eyring_kramers(_loss_proportional(dim, eps2), [-1.0] + [0.0] * (dim - 1), [0.0] * dim)
        assert ek.time * _mori_rate(dim, eps2) == pytest.approx(1.0, rel=1e-10)
        assert ek.barrier == pytest.approx((eps2 + 0.1) * math.log(3.5), rel=1e-10)


# exact 1-D mean time from −1 to +1 (reflecting at −3) over the law: 1.0844, 1.0420, 1.0210 at
# ε² = 0.01, 0.005, 0.0025 (φ = 10, 20, 40): 1 + 8.4ε². Without Mori's "+1 − n/2" the exponent is φ
# and the rate √3.5 = 1.87 times too fast (T·rate 2.03, 1.95, 1.91).
@pytest.mark.parametrize(("eps2", "ratio"), [(0.01, 1.0844), (0.005, 1.0420), (0.0025, 1.0210)])
def test_loss_proportional_exact_1d(eps2: float, ratio: float) -> None:
    ek = eyring_kramers(_loss_proportional(1, eps2), [-1.0], [0.0])
    exact = float(
        mfpt_1d(lambda y: -(y**3 - y), eps2, -3.0, 1.0, -1.0, q=lambda y: 1 + (y**2 - 1) ** 2 / 0.4)
    )
    assert exact / ek.time == pytest.approx(ratio, abs=2e-4)
    assert exact * _mori_rate(1, eps2, correction=False) > 1.8


# Q = 1 + 0.3x: ∇·Q ≠ 0 moves the critical points of U = −log ρ∞ by O(ε²) (−1.0015 and 0.0030 at
# ε² = 0.01); from the moved minimum exact/EK = 1.0327, 1.0156, 1.0076 at ε² = 0.02, 0.01, 0.005
@pytest.mark.parametrize(("eps2", "ratio"), [(0.02, 1.0327), (0.01, 1.0156), (0.005, 1.0076)])
def test_state_dependent_q_moves_the_critical_points(eps2: float, ratio: float) -> None:
    (x,) = coordinates(1)
    problem = FokkerPlanckProblem(
        1, sp.Matrix([[1 + 0.3 * x]]), eps2, Cuboid((-2.0,), (3.0,), (4,)), loss=(x**2 - 1) ** 2 / 4
    )
    ek = eyring_kramers(problem, [-1.0], [0.0])
    assert ek.minimum[0] == pytest.approx(-1 - 0.15 * eps2, rel=0.05)
    assert ek.saddle[0] == pytest.approx(0.3 * eps2, rel=0.05)
    exact = float(mfpt_1d(lambda y: -(y**3 - y), eps2, -2.0, 1.0, ek.minimum[0], q=lambda y: 1 + 0.3 * y))
    assert exact / ek.time == pytest.approx(ratio, abs=2e-4)


def test_anisotropic_loss_proportional_noise_is_not_reversible() -> None:
    # cases/escape_noise_loss.toml's Q = (L/L*)·diag(1.6, 0.4): no potential, so no Eyring–Kramers law
    x, y = coordinates(2)
    loss = 0.1 + (x**2 - 1) ** 2 / 4 + y**2 / 4
    problem = FokkerPlanckProblem(
        2, sp.diag(16 * loss, 4 * loss), 0.05, Cuboid((-2.0, -1.0), (0.4, 1.0), (4, 4)), loss=loss
    )
    with pytest.raises(ProblemError, match="not reversible"):
        eyring_kramers(problem, [-1.0, 0.0], [0.0, 0.0])
