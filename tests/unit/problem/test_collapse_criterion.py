"""The collapse criterion λ = E_π[∂_v b_n − ½∂_v²K_nn] at a point in 1-D and a line in 2-D."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.affine_set import AffineSet
from fpsolve.problem.collapse_criterion import normal_exponent
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem

x, y = sp.symbols("x y", real=True)


@pytest.mark.parametrize("eps2", [0.5, 1.0, 3.125])
def test_quartic_well_exponent_is_mu_minus_eps2(eps2: float) -> None:
    # Chen's quartic well: L = x⁴/4 − μx²/2, K = ε²x²: λ = −(L''(0) + K''(0)/2) = μ − ε²
    problem = FokkerPlanckProblem(
        1, sp.Matrix([[x**2]]), eps2, Cuboid((0.0,), (4.0,), (8,)), loss=x**4 / 4 - 1.5 * x**2 / 2
    )
    found = normal_exponent(problem, AffineSet((0.0,)), (np.array([0.0]), np.array([4.0])))
    assert found.exponent == pytest.approx(1.5 - eps2, abs=1e-8)  # central differences: −h², h = 4e-5
    assert found.record()["collapse_predicted"] == (eps2 > 1.5)


def _line_problem(eps2: float, loss: sp.Expr, q_yy: sp.Expr = 3 * y**2) -> FokkerPlanckProblem:
    box = Cuboid((-4.0, -1.0), (6.0, 1.0), (4, 4))
    return FokkerPlanckProblem(2, sp.Matrix([[1, 0], [0, q_yy]]), eps2, box, loss=loss)


def test_line_exponent_averages_alpha_over_the_motion_along_the_line() -> None:
    # L = (x − 1)²/2 + (c0 + c1 x) y²/2, Q = diag(1, 3y²): along y = 0 the motion is OU, π = N(1, ε²)
    # (its tails beyond the box [−4, 6] are below e^−100), α(x) = −(c0 + c1 x) − 3ε², λ = −c0 − c1 − 3ε²
    eps2, c0, c1 = 0.25, -0.4, 0.3
    problem = _line_problem(eps2, (x - 1) ** 2 / 2 + (c0 + c1 * x) * y**2 / 2)
    box = (np.array([-4.0, -1.0]), np.array([6.0, 1.0]))
    found = normal_exponent(problem, AffineSet((0.0, 0.0), ((1.0, 0.0),)), box)
    assert found.exponent == pytest.approx(-c0 - c1 - 3 * eps2, abs=1e-6)
    record = found.record()
    assert record["chord"] == [[-4.0, 0.0], [6.0, 0.0]]
    # arc length from the chord's start (−4, 0): π = N(1, ε²) sits at s = 5 with sd ε
    assert record["along_mean"] == pytest.approx(5.0, abs=1e-6)
    assert record["along_sd"] == pytest.approx(0.5, abs=1e-6)


def test_a_set_that_is_not_invariant_is_refused() -> None:
    box = (np.array([-4.0, -1.0]), np.array([6.0, 1.0]))
    line = AffineSet((0.0, 0.0), ((1.0, 0.0),))
    drifting = _line_problem(0.25, (x - 1) ** 2 / 2 + y**2 / 2 + 0.1 * y)
    with pytest.raises(
        ProblemError, match=r"not invariant: n·b = -0.1 at x = \(-4.0, 0.0\) \(the drift crosses it\)"
    ):
        normal_exponent(drifting, line, box)
    noisy = _line_problem(0.25, (x - 1) ** 2 / 2 + y**2 / 2, q_yy=1 + y**2)
    with pytest.raises(ProblemError, match=r"not invariant: nᵀQn = 1 at .* \(the noise crosses it\)"):
        normal_exponent(noisy, line, box)
    with pytest.raises(ProblemError, match="a point in 1-D or a line in 2-D"):
        normal_exponent(drifting, AffineSet((0.0, 0.0)), box)
