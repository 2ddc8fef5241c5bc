"""Exit-time figures: a boundary peak of T is named, an off-scale bound does not squeeze the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fpsolve.output.exit_time_figures import boundary_peak, exit_time_sweep_figure


def _disk() -> Any:
    """A Delaunay triangulation of the unit disk (rings of nodes, spacing about 0.05)."""
    from matplotlib.tri import Triangulation

    points = [(0.0, 0.0)]
    for r in np.linspace(0.05, 1.0, 20):
        k = int(2 * np.pi * r / 0.05)
        points += [(r * np.cos(a), r * np.sin(a)) for a in np.linspace(0, 2 * np.pi, k, endpoint=False)]
    x, y = np.array(points).T
    return Triangulation(x, y)


def test_a_peak_of_t_next_to_the_boundary_is_named() -> None:
    tri = _disk()
    r = np.hypot(tri.x, tri.y)
    smooth = np.where(r > 0.999, 0.0, 1 - r**2)
    assert boundary_peak(tri, smooth, degenerate=True) == ""  # the maximum is inside: nothing to say
    layer = np.where((r > 0.94) & (r < 0.99) & (tri.y > 0.9), 2.0, smooth)
    note = boundary_peak(tri, layer, degenerate=True)
    assert note.startswith("max T = 2 at (") and "Q is degenerate" in note
    assert "boundary layer" in boundary_peak(tri, layer, degenerate=False)


def test_an_off_scale_slab_bound_is_named_not_drawn_to_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def keep(fig: Any, target: Path) -> Path:
        seen["fig"] = fig
        return target

    monkeypatch.setattr("fpsolve.output.exit_time_figures.save", keep)
    x = np.array([1.0, 2.0, 5.0, 10.0])
    fit = {
        "inverse_eps2": x,
        "start_points": [[0.0, 0.0], [0.5, 0.0]],
        "log_T": np.column_stack([0.7 * x - 1, 0.72 * x - 1.2]),
        "slopes": [0.7, 0.72],
        "slopes_smallest_eps": [0.69, 0.7],
        "log_lower_bound": np.log(x / 4),
        "log_upper_bound": 4.1 * x,  # the slab bound: 41 at 1/ε² = 10
        "log_theory_bound": x,
        "barrier": 0.75,
    }
    exit_time_sweep_figure(Path("sweep.png"), fit, "toy")
    left, right = seen["fig"].axes[:2]
    assert right.get_ylim()[1] < 20  # T (≤ 6) and the bound as stated (≤ 10) fill the panel, not 41
    labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert labels[-1] == "log slab upper bound, §1.3(a) (up to 41, off the axis)"
    assert [t.get_text() for t in left.get_legend().get_texts()][0] == (
        "FE log T(0, 0): slope 0.700, 0.690 at the two smallest ε"
    )
