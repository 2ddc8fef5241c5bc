"""Problem definition: validation, exact ∇·Q and β, numpy evaluation, PSD check."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates

x, y = coordinates(2)
BOX = Cuboid((-1.0, -1.0), (1.0, 1.0), (4, 4))


def test_beta_includes_exact_divergence_of_Q() -> None:
    Q = sp.Matrix([[x**2 + 1, x * y], [x * y, y**2]])
    p = FokkerPlanckProblem(2, Q, 0.5, BOX, loss=x**2 + 3 * y)
    # (∇·Q)_i = Σ_j ∂_j Q_ij: (2x + x, y + 2y)
    assert sp.simplify(p.div_Q - sp.Matrix([3 * x, 3 * y])) == sp.zeros(2, 1)
    assert sp.simplify(p.beta - sp.Matrix([-2 * x - 1.5 * x, -3 - 1.5 * y])) == sp.zeros(2, 1)


def test_numpy_evaluation_matches_sympy() -> None:
    Q = sp.Matrix([[1 + x**2, 0.5], [0.5, 1]])
    p = FokkerPlanckProblem(2, Q, 0.1, BOX, loss=sp.sin(x) * y)
    pts = np.array([[0.1, -0.3, 0.7], [0.2, 0.4, -0.9]])
    q = p.numpy("Q")(pts)
    assert q.shape == (2, 2, 3)
    np.testing.assert_allclose(q[0, 0], 1 + pts[0] ** 2)
    np.testing.assert_allclose(q[0, 1], 0.5)
    np.testing.assert_allclose(p.numpy("loss")(pts), np.sin(pts[0]) * pts[1])
    beta = p.numpy("beta")(pts)[:, 0, :]
    np.testing.assert_allclose(beta[0], -np.cos(pts[0]) * pts[1] - 0.1 * 2 * pts[0])


def test_psd_check_reports_rank_and_rejects_indefinite() -> None:
    pts = np.random.default_rng(0).uniform(-1, 1, (2, 50))
    rank1 = FokkerPlanckProblem(2, sp.Matrix([[x**2, x * y], [x * y, y**2]]), 0.1, BOX, loss=x**2)
    assert rank1.check_psd(pts) == 1
    bad = FokkerPlanckProblem(2, sp.Matrix([[1, 0], [0, x]]), 0.1, BOX, loss=x**2)
    with pytest.raises(ProblemError, match="not positive semi-definite"):
        bad.check_psd(pts)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"Q": sp.Matrix([[1, 1], [0, 1]])}, "symmetric"),
        ({"eps2": -0.1}, "positive"),
        ({"loss": x**2 + sp.Symbol("w")}, "undefined symbol"),
        ({"absorbing": ("left",)}, "do not exist"),
        ({"Q": sp.eye(3)}, "2×2"),
    ],
)
def test_bad_problems_are_rejected(kwargs: dict, message: str) -> None:
    args = {"dim": 2, "Q": sp.eye(2), "eps2": 0.1, "domain": BOX, "loss": x**2}
    args.update(kwargs)
    with pytest.raises(ProblemError, match=message):
        FokkerPlanckProblem(**args)
