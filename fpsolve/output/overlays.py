r"""What a case asks to see under a 2-D density: loss contours, named curves and named points.

The density analyses write them (figure keys ``loss_contours``, ``curves``, ``points``; docs/cases.md)
into ``<kind>_figure.npz`` as values on a regular grid over the domain's bounding box:

* ``grid_x`` (nx,), ``grid_y`` (ny,): the grid;
* ``loss`` (ny, nx): the case's loss L;
* ``curves`` (m, ny, nx) and ``curve_labels`` (m,): functions whose zero sets are drawn (e.g.
  ``u*v - 1``: the minimum manifold of a loss whose zero set is a curve, which a contour of L itself
  cannot trace: L ≥ 0 does not change sign there);
* ``points`` (p, 2) and ``point_labels`` (p,).

The loss is drawn at the levels that hold :data:`QUANTILES` of the mass of the last panel's density,
{L ≤ ℓ_q} holding the fraction q of it: a density aligned with the loss fills these sets evenly, one
that is not (an isotropic density in an anisotropic loss) visibly does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fpsolve.output.scales import weighted_quantile

__all__ = ["QUANTILES", "Overlays", "loss_levels"]

#: Loss contours at the levels ℓ with ∫_{L ≤ ℓ} ρ = q for these q.
QUANTILES = (0.1, 0.5, 0.9)


def loss_levels(loss: np.ndarray, rho: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Levels ℓ_q of ``loss`` (at the vertices) with ρ-mass q inside {L ≤ ℓ_q}, q in :data:`QUANTILES`.

    ``rho`` and ``weights`` are the density and the quadrature weights at the same vertices; negative
    ρ counts as 0. Returns increasing, distinct levels (fewer where quantiles coincide).
    """
    mass = np.clip(rho, 0.0, None) * weights
    if not mass.any():
        return np.array([])
    return np.unique(weighted_quantile(loss, mass, np.array(QUANTILES)))


@dataclass
class Overlays:
    """The overlays of one density figure (all empty where the analysis wrote none).

    Attributes
    ----------
    grid
        ``(gx, gy)`` of the gridded values, or None.
    loss
        L on the grid, or None; ``levels`` its contour levels (:func:`loss_levels`).
    curves
        ``(values on the grid, label)`` per curve (its zero set is drawn).
    points
        ``(x, y, label)`` per point.
    """

    grid: tuple[np.ndarray, np.ndarray] | None = None
    loss: np.ndarray | None = None
    levels: np.ndarray = field(default_factory=lambda: np.array([]))
    curves: list[tuple[np.ndarray, str]] = field(default_factory=list)
    points: list[tuple[float, float, str]] = field(default_factory=list)

    @classmethod
    def from_data(
        cls, data: dict[str, np.ndarray], tri: Any, rho: np.ndarray, weights: np.ndarray
    ) -> Overlays:
        """The overlays in a figure file's ``data``; loss levels from ``rho`` on the triangulation ``tri``."""
        out = cls(
            points=[
                (float(x), float(y), str(s))
                for (x, y), s in zip(
                    data.get("points", np.zeros((0, 2))), data.get("point_labels", []), strict=True
                )
            ]
        )
        if "grid_x" not in data:
            return out
        from scipy.interpolate import RegularGridInterpolator

        gx, gy = np.meshgrid(data["grid_x"], data["grid_y"])
        out.grid = (gx, gy)
        out.curves = [
            (c, str(s)) for c, s in zip(data.get("curves", []), data.get("curve_labels", []), strict=True)
        ]
        if "loss" in data:
            out.loss = data["loss"]
            at = RegularGridInterpolator((data["grid_y"], data["grid_x"]), out.loss, bounds_error=False)
            vertex_loss = at(np.column_stack([tri.y, tri.x]))
            seen = np.isfinite(vertex_loss)
            out.levels = loss_levels(vertex_loss[seen], rho[seen], weights[seen])
        return out

    @property
    def notes(self) -> list[str]:
        """What the lines mean, for a note under the figure."""
        if self.loss is None or not len(self.levels):
            return []
        held = ", ".join(f"{q:.0%}" for q in QUANTILES)
        return [f"light grey lines: loss L at the levels ℓ with {held} of the last panel's ρ in {{L ≤ ℓ}}"]

    def draw(self, ax: Any, legend: bool = True) -> list[Any]:
        """Draw on ``ax`` (named in its legend if ``legend``); returns the contour sets, loss first."""
        drawn = []
        if self.grid is not None and self.loss is not None and len(self.levels):
            drawn.append(ax.contour(*self.grid, self.loss, levels=self.levels, colors="0.85", linewidths=0.8))
            if legend:
                ax.plot([], [], color="0.85", lw=0.8, label="loss L (levels: note below)")
        for values, label in self.curves:
            drawn.append(ax.contour(*self.grid, values, levels=[0.0], colors="tab:orange", linewidths=1.4))
            if legend:
                ax.plot([], [], color="tab:orange", lw=1.4, label=label)
        for x, y, label in self.points:
            # hollow: a density concentrated at the point (a collapse) stays visible inside it
            ax.plot(x, y, "*", mfc="none", mec="white", mew=1.4, ms=13, label=label if legend else None)
        return drawn
