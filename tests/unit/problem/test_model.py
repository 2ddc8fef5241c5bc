r"""Derived L, Q, G and ε² of SGD models against hand computations (fpsolve/problem/model.py).

Two-point data set a = (1, 2), t = (1, 0), ℓ = (u v a − t)²/2, at θ = (u, v) = (1, 2):
residuals r = (2·1 − 1, 2·2 − 0) = (1, 4), g_i = r_i a_i (v, u) = (2, 1) and (16, 8):
L = (1 + 16)/4 = 4.25, ∇L = ḡ = (9, 4.5), Q_data = ½Σ(g_i − ḡ)(g_i − ḡ)ᵀ = [[49, 24.5], [24.5, 12.25]]
(rank 1 = N − 1). Label noise δ = 0.5: c_i = ∂_t g_i = −a_i (v, u) = −(2, 1), −(4, 2),
δ²·½Σ c_i c_iᵀ = 0.25·[[10, 5], [5, 2.5]], so Q = [[51.5, 25.75], [25.75, 12.875]].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.fokker_planck import coordinates
from fpsolve.problem.model import SGDModel, model_from_tables

U, V = coordinates(2)
AT = {U: 1.0, V: 2.0}


def _model(**kw) -> SGDModel:
    table = {"parameters": ["u", "v"], "loss": "(u*v*a - t)**2/2", "eta": 0.1, "batch": 1} | kw
    data = kw.pop("data", {"columns": {"a": [1, 2], "t": [1, 0]}})
    table.pop("data", None)
    return model_from_tables(table, data, {}, Path("."))


def _num(m: sp.MatrixBase) -> np.ndarray:
    return np.array(sp.Matrix(m).subs(AT), dtype=float)


def test_two_point_loss_gradient_and_covariance_by_hand() -> None:
    m = _model()
    assert float(m.mean_loss.subs(AT)) == pytest.approx(4.25, abs=1e-14)
    grad = [float(sp.diff(m.mean_loss, c).subs(AT)) for c in (U, V)]
    np.testing.assert_allclose(grad, [9.0, 4.5], atol=1e-13)
    np.testing.assert_allclose(_num(m.per_sample_gradients), [[2, 16], [1, 8]], atol=1e-13)
    q = _num(m.Q)
    np.testing.assert_allclose(q, [[49, 24.5], [24.5, 12.25]], atol=1e-12)
    assert np.linalg.matrix_rank(q, tol=1e-9) == 1  # ≤ N − 1
    assert m.eps2 == pytest.approx(0.05)  # η/(2b)


def test_label_noise_adds_delta_squared_jacobian_term() -> None:
    m = _model(label="t", label_noise=0.5)
    np.testing.assert_allclose(_num(m.Q), [[51.5, 25.75], [25.75, 12.875]], atol=1e-12)
    G = _num(m.noise_factor)
    assert G.shape == (2, 4)
    np.testing.assert_allclose(G @ G.T, _num(m.Q), atol=1e-12)


def test_without_replacement_finite_population_factor() -> None:
    data = {"columns": {"a": [1, 2, 3], "t": [1, 0, 2]}}
    with_r = _num(_model(data=data, batch=2).Q)
    without = _num(_model(data=data, batch=2, replacement=False).Q)
    np.testing.assert_allclose(without, with_r * (3 - 2) / (3 - 1), atol=1e-12)  # f = (N − b)/(N − 1)
    full = _model(data=data, batch=3, replacement=False, label="t", label_noise=0.5)
    # full batch without replacement: only the label-noise part remains, δ²·mean c cᵀ
    c = -np.array([[1, 2, 3]]) * np.array([[2.0], [1.0]])  # −a_i (v, u)
    np.testing.assert_allclose(_num(full.Q), 0.25 * c @ c.T / 3, atol=1e-12)


@pytest.mark.parametrize(
    ("kw", "replacement", "distribution"),
    [
        ({"label": "t", "label_noise": 0.5}, True, "gaussian"),
        ({"label": "t", "label_noise": 0.5}, True, "rademacher"),
    ],
)
def test_minibatch_gradients_have_mean_grad_l_and_covariance_q_over_b(
    kw: dict, replacement: bool, distribution: str
) -> None:
    m = _model(batch=2, replacement=replacement, label_noise_distribution=distribution, **kw)
    rng = np.random.default_rng(1)
    n = 200_000
    theta = np.tile([1.0, 2.0], (n, 1))
    g = m.minibatch_gradient(theta, m.draw_batches(rng, n), rng)
    q_over_b = _num(m.Q) / 2
    se_mean = np.sqrt(np.diag(q_over_b) / n)
    np.testing.assert_array_less(np.abs(g.mean(0) - [9.0, 4.5]), 5 * se_mean)
    # covariance entries: relative s.e. ≈ sqrt(2/n)·(kurtosis factor ≤ 3) ≈ 0.5 %; allow 3 %
    np.testing.assert_allclose(np.cov(g.T), q_over_b, rtol=0.03)


def test_without_replacement_sampling_matches_its_covariance() -> None:
    data = {"columns": {"a": [1, 2, 3], "t": [1, 0, 2]}}
    m = _model(data=data, batch=2, replacement=False)
    rng = np.random.default_rng(2)
    n = 200_000
    batches = m.draw_batches(rng, n)
    assert np.all(batches[:, 0] != batches[:, 1])
    g = m.minibatch_gradient(np.tile([1.0, 2.0], (n, 1)), batches, rng)
    np.testing.assert_allclose(np.cov(g.T), _num(m.Q) / 2, rtol=0.03)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"loss": "(u*v*a - t)**4", "label": "t", "label_noise": 0.1}, "affine in the label"),
        ({"batch": 3}, "model.batch must be in"),
        ({"parameters": ["u", "a"]}, "used twice"),
        ({"label_noise": 0.1}, "needs model.label"),
        ({"label": "q"}, "not a data column"),
        ({"loss": "u*v*w"}, "undefined symbol 'w'"),
        ({"eta": -1}, "model.eta must be a positive"),
        ({"colour": 1}, "unknown key 'colour'"),
        ({"label": "t", "label_noise": 0.1, "label_noise_distribution": "cauchy"}, "must be one of"),
    ],
)
def test_bad_models_are_one_line_errors(kw: dict, message: str) -> None:
    with pytest.raises(Exception, match=message) as info:
        _model(**kw)
    assert isinstance(info.value, ProblemError) or "ExpressionError" in type(info.value).__name__


def test_many_samples_of_a_polynomial_loss_collapse_to_a_few_monomials() -> None:
    # 300 samples of linear regression: L and Q are quadratics in θ (6 monomials at most), not sums of
    # 300 terms (as UFL chains those overflowed the recursion limit: cases/escape_sgd_regression.toml)
    rng = np.random.default_rng(0)
    a1, a2, t = rng.normal(size=(3, 300))
    table = {"parameters": ["u", "v"], "loss": "(a1*u + a2*v - t)**2/2", "eta": 0.1, "batch": 1}
    cols = {"a1": a1.tolist(), "a2": a2.tolist(), "t": t.tolist()}
    m = model_from_tables(table, {"columns": cols}, {}, Path("."))
    assert len(sp.Add.make_args(m.mean_loss)) <= 6
    assert all(len(sp.Add.make_args(q)) <= 6 for q in m.Q)
    w = np.array([AT[U], AT[V]])
    r = a1 * w[0] + a2 * w[1] - t
    g = r * np.vstack([a1, a2])
    assert float(m.mean_loss.subs(AT)) == pytest.approx(np.mean(r**2) / 2, rel=1e-12)
    np.testing.assert_allclose(_num(m.Q), np.cov(g, bias=True), rtol=1e-10)
