"""Colour scales of density maps: the concentration measure and the automatic choice."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.tri import Triangulation

from fpsolve.output.scales import choose_scale, concentration, vertex_weights, weighted_quantile
from fpsolve.output.style import to_scale


def _square(n: int = 201, side: float = 2.0) -> tuple[Triangulation, np.ndarray]:
    """A structured triangulation of [−side/2, side/2]² and its vertex weights."""
    x, y = np.meshgrid(np.linspace(-side / 2, side / 2, n), np.linspace(-side / 2, side / 2, n))
    corner = (np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]).ravel()
    cells = [
        np.column_stack([corner, corner + 1, corner + n + 1]),
        np.column_stack([corner, corner + n + 1, corner + n]),
    ]
    tri = Triangulation(x.ravel(), y.ravel(), np.vstack(cells))
    return tri, vertex_weights(tri.triangles, tri.x, tri.y)


def _gaussian(tri: Triangulation, s: float, at: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    return np.exp(-((tri.x - at[0]) ** 2 + (tri.y - at[1]) ** 2) / (2 * s**2)) / (2 * np.pi * s**2)


def test_vertex_weights_integrate_exactly() -> None:
    tri, w = _square(side=3.0)
    assert w.sum() == pytest.approx(9.0)
    assert (w * tri.x**2).sum() == pytest.approx(3.0**4 / 12, rel=1e-3)  # ∫x² over the square


def test_weighted_quantile() -> None:
    values = np.array([3.0, 1.0, 2.0, 4.0])
    assert weighted_quantile(values, np.array([0.0, 1.0, 1.0, 0.0]), 1.0) == pytest.approx(2.0)
    assert weighted_quantile(values, np.ones(4), 0.5) == pytest.approx(2.0)


def test_gaussian_concentration_is_two_whatever_its_width() -> None:
    tri, w = _square()
    for s in (0.05, 0.1, 0.2):  # e^{q/2} with q = 2 ln 2 the median of χ²₂
        assert concentration(_gaussian(tri, s), w) == pytest.approx(2.0, rel=0.05)


def test_auto_scale_linear_log_and_per_panel() -> None:
    tri, w = _square()
    broad = _gaussian(tri, 0.2)
    linear = choose_scale([broad, _gaussian(tri, 0.15)], w)
    assert (linear.kind, linear.per_panel) == ("linear", False)
    assert "linear" in linear.label()
    # half the mass collapsed into a spike 20× narrower (resolved: 2 cells)
    tri, w = _square(401)
    broad = _gaussian(tri, 0.2)
    collapsed = 0.5 * broad + 0.5 * _gaussian(tri, 0.01)
    assert concentration(collapsed, w) > 30
    log = choose_scale([broad, collapsed], w)
    assert log.kind == "log" and "log scale" in log.label()
    assert log.hi == pytest.approx(collapsed.max()) and 0 < log.lo < broad.max()
    levels = log.levels()
    assert levels[0] == pytest.approx(log.lo) and levels[-1] == pytest.approx(log.hi)
    assert np.allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]))  # even in log ρ
    # a narrow initial density, Gaussian later: each panel its own linear scale
    spread = choose_scale([_gaussian(tri, 0.03), broad], w)
    assert spread.per_panel and spread.kind == "linear"
    assert spread.norm(broad).vmax == pytest.approx(broad.max())
    # peaks 3.3× apart (width ratio 1.83, kunin_limiting_dynamics: 9.8×): the flatter panel gets its own
    assert choose_scale([_gaussian(tri, 0.11), broad], w).per_panel


def test_explicit_scales_and_negative_values() -> None:
    tri, w = _square()
    rho = _gaussian(tri, 0.1) - 0.01 * _gaussian(tri, 0.05, (0.5, 0.5))
    asinh = choose_scale([rho], w, "asinh")
    assert asinh.kind == "asinh" and asinh.lo < 0 < asinh.width < asinh.hi
    assert choose_scale([rho], w, "linear").lo == pytest.approx(rho.min())
    with pytest.raises(ValueError, match="colour scale"):
        choose_scale([rho], w, "cubic")


def test_to_scale() -> None:
    assert to_scale(1.0, 3.0) and to_scale(2.4, 2.0)
    assert not to_scale(10.0, 2.0) and not to_scale(2.4, 8.4)
