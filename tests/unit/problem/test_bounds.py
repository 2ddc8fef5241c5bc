r"""Exit-time bounds (docs/theory.md §1.2–1.3) on Brownian motion in a disk, where the lower bound is exact.

Brownian motion (L = 0, Q = I, ε² = 1/2) in the unit disk: :math:`E_x\tau = (1 - r^2)/2` exactly, which is
the lower bound :math:`(R_0^2 - r^2)/(2\varepsilon^2\sigma d)` with σ = 1, d = 2 (the equality case).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize as so
import sympy as sp

from fpsolve.cases.commands import run_case
from fpsolve.cases.schema import parse_case
from fpsolve.problem.bounds import (
    best_direction,
    lower_bound,
    lower_bound_constants,
    theory_bound_constants,
    theory_upper_bound,
    upper_bound,
    upper_bound_constants,
)
from fpsolve.problem.domain import Cuboid, Sphere
from fpsolve.problem.exact import mfpt_1d
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates

BROWNIAN = {
    "problem": {"name": "brownian_disk", "loss": "0", "Q": [["1", "0"], ["0", "1"]], "eps2": 0.5},
    "domain": {"type": "disk", "center": [0.0, 0.0], "radius": 1.0, "h": 0.05},
    "boundary": {"absorbing": ["boundary"]},
    "analysis": [{"type": "exit_time", "start_points": [[0.0, 0.0], [0.6, 0.0], [0.0, -0.5]]}],
    "output": {"figures": False},
}


def _ring_points() -> np.ndarray:
    th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    rings = [r * np.stack([np.cos(th), np.sin(th)], 1) for r in (0.25, 0.5, 0.75, 1.0)]
    return np.concatenate([[[0.0, 0.0]], *rings])


def _brownian_problem(Q: sp.Matrix) -> FokkerPlanckProblem:
    x, _ = coordinates(2)
    return FokkerPlanckProblem(2, Q, 0.5, Sphere((0.0, 0.0), 1.0, 0.1), loss=0 * x, absorbing=("boundary",))


def test_lower_bound_is_the_exact_brownian_exit_time() -> None:
    p, pts = _brownian_problem(sp.eye(2)), _ring_points()
    c = lower_bound_constants(p, pts, np.zeros(2), 1.0)
    assert c.sigma == 1.0 and c.h1_minimum == 0.0
    exact = (1 - (pts**2).sum(1)) / 2
    np.testing.assert_allclose(lower_bound(pts, np.zeros(2), 1.0, 0.5, c.sigma), exact, atol=1e-15)


def test_upper_bound_is_the_minimum_over_beta_and_lies_above_the_exit_time() -> None:
    p, pts = _brownian_problem(sp.eye(2)), _ring_points()
    c = upper_bound_constants(p, pts, np.array([1.0, 0.0]))
    assert (c.Lambda, c.G, c.R_v) == (1.0, 0.0, 2.0)
    ub = upper_bound(pts, c, 0.5)
    exact = (1 - (pts**2).sum(1)) / 2
    assert (ub >= exact - 1e-15).all()
    # at the centre (s = 1): continuous minimum of (e^{2β} − e^β)/(β²/2) is 3.0880 at β ≈ 1.59; the
    # 400-point grid must be within 0.1 % of it (it is 2e-5 relative)
    best = so.minimize_scalar(
        lambda b: (np.exp(2 * b) - np.exp(b)) / (0.5 * b * b), bounds=(0.1, 10), method="bounded"
    )
    assert ub[0] == pytest.approx(best.fun, rel=1e-3)
    assert ub[0] >= best.fun * (1 - 1e-12)


def test_no_upper_bound_in_a_noiseless_direction() -> None:
    x, y = coordinates(2)
    p = _brownian_problem(sp.Matrix([[1, 0], [0, 0]]))
    pts = _ring_points()
    assert np.isinf(upper_bound(pts, upper_bound_constants(p, pts, np.array([0.0, 1.0])), 0.5)).all()
    best = best_direction(p, pts, 0.5, pts[:1])
    assert best.direction == pytest.approx((1.0, 0.0)) and best.Lambda == 1.0


def test_fe_exit_time_meets_the_lower_bound_on_the_mesh(tmp_out: Path) -> None:
    summary = run_case(parse_case(copy.deepcopy(BROWNIAN)), tmp_out / "b", progress=False)
    assert all(c["passed"] for c in summary["checks"]), summary["checks"]
    obs = summary["observables"]["exit_time"]
    # polygonal disk, h = 0.05: the FE error is O(h²) ≈ 2.5e-3 relative (tests/unit/solvers/
    # test_exit_time.py);
    # lower/T is then 1 within 1e-2 at every interior node and at the start points
    ratios = obs["margins_over_interior_nodes"]["lower_over_T"]
    assert 0.99 < ratios["min"] and ratios["max"] < 1.01, ratios
    np.testing.assert_allclose(obs["start_points"]["T"], [0.5, 0.32, 0.375], rtol=5e-3)
    assert obs["lower_bound_constants"]["sigma"] == 1.0
    # second moment (½ΔT₂ = −2T): T₂ = (1 − r²)/2 − (1 − r⁴)/8, so sd(τ) = √(T₂ − T²) = √(1/8) at r = 0
    assert obs["start_points"]["sd_tau"][0] == pytest.approx(np.sqrt(1 / 8), rel=1e-2)


@pytest.mark.parametrize(
    ("k", "eps2", "ratio"),
    [(1.0, 0.5, 0.84), (1.0, 0.1, 0.45), (0.01, 0.5, 0.998), (4.0, 0.05, None)],
)
def test_theory_bound_holds_for_the_1d_ou_process_and_is_tight_in_the_brownian_limit(
    k: float, eps2: float, ratio: float | None
) -> None:
    """docs/theory.md §1.3(b) on dX = −kX dt + √(2ε²) dW, exit from (−1, 1): Λ = k, β = 1, R_v = 1.

    T(0) is the exact double integral (reflecting at 0 by symmetry). The proof's constant 1/Λ gives the
    stated ratios T/bound (0.84, 0.45, 0.998 at k → 0); the stated 2/Λ is twice that bound.
    """
    (x,) = coordinates(1)
    p = FokkerPlanckProblem(1, sp.Matrix([[1]]), eps2, Cuboid((-1.0,), (1.0,), (2,)), loss=k * x**2 / 2)
    nodes = np.linspace(-1.0, 1.0, 201)[:, None]
    c = theory_bound_constants(p, nodes, np.array([1.0]), np.array([0.0]))
    assert (c.beta, c.R_v) == (1.0, 1.0) and c.Lambda == pytest.approx(k, rel=1e-12)
    exact = float(mfpt_1d(lambda y: -k * y, eps2, 0.0, 1.0, 0.0))
    stated = float(theory_upper_bound(np.zeros((1, 1)), c, eps2)[0])
    proof = float(theory_upper_bound(np.zeros((1, 1)), c, eps2, prefactor=1.0)[0])
    assert exact <= proof <= stated and stated == pytest.approx(2 * proof, rel=1e-12)
    if ratio is not None:
        assert exact / proof == pytest.approx(ratio, abs=0.01)


def test_theory_bound_beats_the_slab_bound_by_orders_of_magnitude() -> None:
    """cases/exit_time_ball.toml at ε² = 0.1 (issue 18): v = e_x, β = 1, Λ = max(1 + x²) = 2, R_v = 1.

    The stated bound is (2/2)(e^{2/(2·0.1)} − 1) = e^10 − 1 = 2.2e4 (FE T(0) = 301.6); the slab bound
    of §1.3(a) gives 6e17 there.
    """
    x, y = coordinates(2)
    Q = sp.Matrix([[1, 0], [0, x**2 + y**2]])
    p = FokkerPlanckProblem(2, Q, 0.1, Sphere((0.0, 0.0), 1.0, 0.2), loss=x**2 / 2 + y**2 + x**4 / 4)
    th = np.linspace(0, 2 * np.pi, 721)
    r = np.linspace(0, 1, 41)
    nodes = np.array([(a * np.cos(t), a * np.sin(t)) for a in r for t in th])
    c = theory_bound_constants(p, nodes, np.array([1.0, 0.0]), np.zeros(2))
    stated = float(theory_upper_bound(np.zeros((1, 2)), c, 0.1)[0])
    assert (c.beta, c.R_v) == (1.0, 1.0) and c.Lambda == pytest.approx(2.0, rel=1e-12)
    assert stated == pytest.approx(np.expm1(10.0), rel=1e-12)
    slab = upper_bound(np.zeros((1, 2)), upper_bound_constants(p, nodes, np.array([1.0, 0.0])), 0.1)[0]
    assert slab > 1e17
