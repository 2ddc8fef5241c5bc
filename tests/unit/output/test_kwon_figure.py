"""Kwon figure: the density panel shows ρ_h everywhere, the path start is named, the scatter explained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fpsolve.output.kwon_figure import kwon_figure


def _data() -> dict[str, np.ndarray]:
    """A Gaussian ρ_h = N(0, diag(0.01, 1)) on [−1, 1] × [−5, 5] with a rotating current."""
    gx, gy = np.meshgrid(np.linspace(-1, 1, 81), np.linspace(-5, 5, 81))
    U = np.diag([100.0, 1.0])
    quad = 0.5 * (U[0, 0] * gx**2 + U[1, 1] * gy**2)
    rho = np.exp(-quad) / (2 * np.pi * 0.1)
    j = np.column_stack([(gy * rho).ravel(), (-gx * rho).ravel()])
    path = np.column_stack([np.linspace(0.3, 0.0, 50), np.linspace(0.0, 1.0, 50)])
    return {
        "gx": gx, "gy": gy, "rho": rho, "j": j, "lo": np.array([-1.0, -5.0]), "hi": np.array([1.0, 5.0]),
        "path": path, "mu": np.zeros(2), "U": U, "eps2": np.array(1.0),
    }  # fmt: skip


def test_density_panel_is_not_masked_and_the_path_start_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def keep(fig: Any, target: Path) -> Path:
        seen["fig"] = fig
        return target

    monkeypatch.setattr("fpsolve.output.kwon_figure.save", keep)
    kwon_figure(_data(), "toy", Path("kwon.png"), ("θ", "v"))
    density, psi, scatter = seen["fig"].axes[:3]
    lowest = density.collections[0].get_paths()  # the band of the smallest ρ_h: it reaches the corners
    assert any(p.contains_point((-0.99, -4.99)) for p in lowest)
    for ax in (density, psi):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["path start (0.3, 0)"]
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("θ", "v")
    assert "distance to the domain's edge" in seen["fig"].axes[-1].get_ylabel()
