"""Mass-concentration figure: snapshots of very different peaks each get a readable colour scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fpsolve.output.concentration_figures import concentration_figure


def test_snapshots_of_different_peaks_get_their_own_colour_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.tri import Triangulation

    seen: dict[str, Any] = {}

    def keep(fig: Any, target: Path) -> Path:
        seen["fig"] = fig
        return target

    monkeypatch.setattr("fpsolve.output.concentration_figures.save", keep)
    x, y = (v.ravel() for v in np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-1, 1, 41)))
    tri = Triangulation(x, y)
    coords = np.column_stack([x, y])
    snapshots = [
        (t, coords, np.exp(-(x**2 + y**2) / (2 * s**2)) / (2 * np.pi * s**2))
        for t, s in ((0, 0.07), (2, 0.14), (4, 0.14))
    ]
    t = np.linspace(0, 4, 5)
    record = {"center": [0.0, 0.0], "R0": 1.0, "lambda": 1.0, "t0": 0.0, "eps2": 0.04, "threshold": 0.1}
    record |= {"t": t, "beta_fe": t / 8, "beta_exact": t / 8, "beta_chebyshev_bound": t / 4}
    concentration_figure(Path("c.png"), record, snapshots, tri, "toy", ["u", "v"])
    fig = seen["fig"]
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 3  # peaks 32 and 8: one bar per snapshot, not one shared by all
    beta = fig.axes[3]
    assert beta.get_ylabel() == "β(t) = m(t₀) − m(t), t₀ = 0"
    assert "threshold 0.1" in [text.get_text() for text in beta.get_legend().get_texts()]
