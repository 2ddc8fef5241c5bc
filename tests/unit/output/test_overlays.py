"""Overlays of density maps: loss contours at mass quantiles, zero sets of named curves, points."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from matplotlib.tri import Triangulation

from fpsolve.analyses.figure_keys import FigureKeys
from fpsolve.cases.schema import parse_case
from fpsolve.errors import CaseError
from fpsolve.output.overlays import QUANTILES, Overlays, loss_levels
from fpsolve.output.scales import vertex_weights
from fpsolve.output.style import plt_agg

CASES = Path(__file__).resolve().parents[3] / "cases"


def _grid(n: int = 161) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(-1.0, 2.0, n), np.linspace(-1.0, 2.0, n)


def _triangulation(gx: np.ndarray, gy: np.ndarray) -> Triangulation:
    x, y = np.meshgrid(gx, gy)
    n = len(gx)
    corner = (np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]).ravel()
    cells = [
        np.column_stack([corner, corner + 1, corner + n + 1]),
        np.column_stack([corner, corner + n + 1, corner + n]),
    ]
    return Triangulation(x.ravel(), y.ravel(), np.vstack(cells))


def test_loss_levels_hold_the_mass_quantiles() -> None:
    """Uniform ρ on a 3 × 3 square, L = r²: {L ≤ ℓ} is a disc holding πℓ/9 while it fits (q < π/4)."""
    gx, gy = _grid()
    tri = _triangulation(gx, gy)
    w = vertex_weights(tri.triangles, tri.x, tri.y)
    loss = (tri.x - 0.5) ** 2 + (tri.y - 0.5) ** 2
    levels = loss_levels(loss, np.ones_like(loss), w)
    inside = np.array(QUANTILES) < np.pi / 4
    assert levels[inside] == pytest.approx(9.0 * np.array(QUANTILES)[inside] / np.pi, rel=0.02)
    assert not len(loss_levels(loss, -np.ones_like(loss), w))  # no positive mass: nothing to draw


def test_overlays_draw_the_zero_set_loss_contours_and_points() -> None:
    gx, gy = _grid()
    x, y = np.meshgrid(gx, gy)
    tri = _triangulation(gx, gy)
    w = vertex_weights(tri.triangles, tri.x, tri.y)
    rho = np.exp(-((tri.x - 0.5) ** 2 + 10 * (tri.y - 0.5) ** 2) / 0.5)
    data = {
        "grid_x": gx,
        "grid_y": gy,
        "loss": (x - 0.5) ** 2 + 10 * (y - 0.5) ** 2,
        "curves": np.array([x * y - 1]),
        "curve_labels": np.array(["xy = 1"]),
        "points": np.array([[1.0, 1.0]]),
        "point_labels": np.array(["balanced"]),
    }
    overlays = Overlays.from_data(data, tri, rho, w)
    assert len(overlays.levels) == len(QUANTILES) and overlays.notes
    plt = plt_agg()
    fig, ax = plt.subplots()
    loss, curve = overlays.draw(ax)
    for level, segments in zip(overlays.levels, loss.allsegs, strict=True):
        for seg in segments:  # the drawn lines lie on the level sets of L
            assert np.allclose((seg[:, 0] - 0.5) ** 2 + 10 * (seg[:, 1] - 0.5) ** 2, level, rtol=0.02)
    (segments,) = curve.allsegs
    points = np.vstack(segments)
    assert len(points) > 100 and np.abs(points[:, 0] * points[:, 1] - 1).max() < 2e-3
    assert points[:, 0].min() < 0.6 and points[:, 0].max() > 1.9  # the whole branch in the window
    assert sorted(ax.get_legend_handles_labels()[1]) == ["balanced", "loss L (levels: note below)", "xy = 1"]
    plt.close(fig)


def test_label_noise_case_parses_its_figure_keys() -> None:
    data = tomllib.loads((CASES / "label_noise_diagonal_net.toml").read_text())
    (transient,) = parse_case(data, CASES / "label_noise_diagonal_net.toml").analyses
    keys = transient.figure
    ((expr, label),) = keys.curves
    assert label == "minimum manifold uv = 1" and keys.points == (((1.0, 1.0), "balanced point u = v = 1"),)
    assert keys.colour_scale == "auto" and not keys.loss_contours
    data["analysis"][0]["figure"]["curves"][0]["zero"] = "u*w - 1"
    with pytest.raises(CaseError, match="curves"):
        parse_case(data, CASES / "label_noise_diagonal_net.toml")


@pytest.mark.parametrize(
    ("figure", "message"),
    [
        ({"colour_scale": "cubic"}, "colour_scale"),
        ({"shade": True}, "unknown key 'shade'"),
        ({"points": [{"at": [1.0], "label": "p"}]}, "points"),
        ({"curves": [{"zero": "w1 - w2"}]}, "label"),
        ({"collapse": {"at": [0.0], "radius": 0.1}}, "collapse.at"),
        ({"collapse": {"at": [0.0, 0.0], "radius": -1.0}}, "collapse.radius"),
    ],
)
def test_figure_key_errors(figure: dict, message: str) -> None:
    data = tomllib.loads((CASES / "modified_loss_isotropy.toml").read_text())
    data["analysis"][0]["figure"] = figure
    with pytest.raises(CaseError, match=message):
        parse_case(data, CASES / "modified_loss_isotropy.toml")


def test_loss_contours_need_a_loss() -> None:
    data = tomllib.loads((CASES / "momentum_phase_space.toml").read_text())
    data["analysis"][0]["figure"] = {"loss_contours": True}
    with pytest.raises(CaseError, match="no loss"):
        parse_case(data, CASES / "momentum_phase_space.toml")
    assert FigureKeys() == FigureKeys.parse(None, "figure", None)  # type: ignore[arg-type]


def test_collapse_key_of_the_stochastic_collapse_case() -> None:
    path = CASES / "stochastic_collapse.toml"
    (transient,) = parse_case(tomllib.loads(path.read_text()), path).analyses
    assert transient.figure.collapse == ((0.0, 0.0), 0.02)
