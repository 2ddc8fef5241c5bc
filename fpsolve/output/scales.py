r"""Colour scales for densities: linear, logarithmic or asinh, chosen from how concentrated ρ is.

A density that has collapsed onto a point or a curve has a peak many decades above the values that
carry most of its mass: on a linear scale every panel but the peak is one flat colour. The measure
used here is the **concentration** max ρ / m, m the ρ-weighted median of ρ (half the mass sits where
ρ ≥ m). It does not depend on the window: a Gaussian in d dimensions has max ρ / m = e^{q/2}, q the
median of χ²_d (2.0 in 2-D), whatever its width or the domain's size.

:func:`choose_scale` (``colour_scale = "auto"``, a figure key of the density analyses, docs/cases.md):

* **log** where the concentration of any frame exceeds :data:`CONCENTRATED`. Its floor is the
  ρ-weighted :data:`FLOOR_MASS` quantile of ρ over the frames (99 % of the mass lies where ρ is above
  it); ρ ≤ floor, negative values included, takes the lowest colour, and ρ < 0 is marked apart.
* **per panel** (linear, one colour bar per snapshot) where the frames' peaks differ by more than
  :data:`PEAK_SPREAD` (a narrow initial density would otherwise leave the later panels flat);
* **linear**, one scale for all frames, otherwise.

``"asinh"`` (linear near 0 on the scale of the floor, logarithmic beyond, both signs) is available by
choice: it shows negative Galerkin undershoots in colour instead of marking them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CONCENTRATED",
    "FLOOR_MASS",
    "PEAK_SPREAD",
    "SCALES",
    "ColourScale",
    "choose_scale",
    "concentration",
    "vertex_weights",
    "weighted_quantile",
]

#: Choices of the ``colour_scale`` figure key.
SCALES = ("auto", "linear", "log", "asinh")
#: "auto" takes the log scale where max ρ / (ρ-weighted median of ρ) exceeds this (a Gaussian: 2; half
#: the mass in a spike 20 times narrower than the rest: 80): half the mass would then be drawn in the
#: lowest 1/30 of a linear scale's colours.
CONCENTRATED = 30.0
#: "auto" gives every panel its own linear scale where the frames' peaks differ by more than this: a
#: panel whose peak is a third of the shared top already uses only the lowest third of the colours
#: (kunin_limiting_dynamics' peaks 28 283 and 2 896 left its later panels one dark colour).
PEAK_SPREAD = 3.0
#: The log and asinh scales resolve the ρ that holds all but this fraction of the mass.
FLOOR_MASS = 0.01
#: Filled contour bands of a scale.
BANDS = 40


@dataclass(frozen=True)
class ColourScale:
    """How the density panels are coloured.

    Attributes
    ----------
    kind
        ``"linear"``, ``"log"`` or ``"asinh"``.
    per_panel
        Every panel has its own (linear) range and colour bar.
    lo, hi
        The range of a shared scale (for ``log``: the floor and the peak).
    width
        The asinh scale's linear width (0 for the others).
    """

    kind: str
    per_panel: bool
    lo: float
    hi: float
    width: float = 0.0

    def norm(self, values: np.ndarray | None = None) -> Any:
        """The matplotlib norm (of ``values``' own range for a per-panel scale)."""
        from matplotlib.colors import AsinhNorm, LogNorm, Normalize

        lo, hi = self.lo, self.hi
        if self.per_panel and values is not None:
            lo, hi = min(0.0, float(values.min())), float(values.max())
        hi = hi if hi > lo else lo + 1.0
        if self.kind == "log":
            return LogNorm(lo, hi)
        if self.kind == "asinh":
            return AsinhNorm(linear_width=self.width, vmin=lo, vmax=hi)
        return Normalize(lo, hi)

    def levels(self, values: np.ndarray | None = None) -> np.ndarray:
        """Contour-band edges, evenly spaced in the scale's own coordinate."""
        return np.asarray(self.norm(values).inverse(np.linspace(0.0, 1.0, BANDS + 1)), float)

    def ticks(self, values: np.ndarray | None = None) -> np.ndarray:
        """Round colour-bar ticks inside the range: powers of ten (log), else about six "nice" numbers.

        (The contour bands' own edges, which a colour bar would otherwise label, are not round.)
        """
        from matplotlib.ticker import MaxNLocator, SymmetricalLogLocator

        norm = self.norm(values)
        lo, hi = float(norm.vmin), float(norm.vmax)
        if self.kind == "log":
            ticks = 10.0 ** np.arange(np.ceil(np.log10(lo)), np.floor(np.log10(hi)) + 1)
        elif self.kind == "asinh":
            ticks = SymmetricalLogLocator(linthresh=self.width, base=10).tick_values(lo, hi)
        else:
            ticks = MaxNLocator(6).tick_values(lo, hi)
        return ticks[(ticks >= lo - 1e-12 * abs(lo)) & (ticks <= hi + 1e-12 * abs(hi))]

    def label(self) -> str:
        """The colour bar's label: the quantity and the scale."""
        if self.kind == "log":
            return f"ρ (log scale; ρ ≤ {self.lo:.2g} in the lowest colour)"
        if self.kind == "asinh":
            return f"ρ (asinh scale: linear for |ρ| ≲ {self.width:.2g}, logarithmic beyond)"
        return "ρ (linear scale, own range per panel)" if self.per_panel else "ρ (linear scale)"


def vertex_weights(triangles: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lumped area per vertex (a third of each adjacent triangle): ∫f ≈ Σ wᵢ f(xᵢ) for nodal f."""
    t = np.asarray(triangles)
    area = 0.5 * np.abs(
        (x[t[:, 1]] - x[t[:, 0]]) * (y[t[:, 2]] - y[t[:, 0]])
        - (x[t[:, 2]] - x[t[:, 0]]) * (y[t[:, 1]] - y[t[:, 0]])
    )
    weights = np.zeros(len(x))
    for k in range(3):
        np.add.at(weights, t[:, k], area / 3)
    return weights


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """The ``q``-quantile(s) of ``values`` under the (non-negative, not all zero) ``weights``.

    The smallest value whose cumulative weight reaches ``q`` times the total (no interpolation).
    """
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    at = np.searchsorted(cumulative, np.asarray(q) * cumulative[-1], side="left")
    return np.asarray(values[order][np.minimum(at, len(values) - 1)])


def concentration(rho: np.ndarray, weights: np.ndarray) -> float:
    """The ratio max ρ / (ρ-weighted median of ρ): 2 for a 2-D Gaussian, large for a collapsed density."""
    mass = np.clip(rho, 0.0, None) * weights
    if not mass.any():
        return 1.0
    median = float(weighted_quantile(rho, mass, 0.5))
    return float(rho.max() / median) if median > 0 else np.inf


def choose_scale(frames: Sequence[np.ndarray], weights: np.ndarray, choice: str = "auto") -> ColourScale:
    """The colour scale for the nodal densities ``frames`` (vertex quadrature ``weights``).

    Parameters
    ----------
    frames
        ρ at the vertices, one array per panel.
    weights
        :func:`vertex_weights` of the mesh.
    choice
        One of :data:`SCALES`; ``"auto"`` follows the module docstring.
    """
    if choice not in SCALES:
        raise ValueError(f"colour scale must be one of {', '.join(SCALES)}, got {choice!r}")
    peaks = np.array([float(v.max()) for v in frames])
    top, bottom = float(peaks.max()), min(0.0, min(float(v.min()) for v in frames))
    if choice == "auto":
        if max(concentration(v, weights) for v in frames) > CONCENTRATED:
            choice = "log"
        elif peaks.min() > 0 and top / peaks.min() > PEAK_SPREAD:
            return ColourScale("linear", True, bottom, top)
        else:
            choice = "linear"
    if choice == "linear":
        return ColourScale("linear", False, bottom, top)
    values = np.concatenate(frames)
    mass = np.clip(values, 0.0, None) * np.tile(weights, len(frames))
    floor = float(weighted_quantile(values, mass, FLOOR_MASS)) if mass.any() else 0.0
    floor = max(floor, top * 1e-12, np.finfo(float).tiny)
    if choice == "log":
        return ColourScale("log", False, floor, top)
    return ColourScale("asinh", False, bottom, top, floor)
