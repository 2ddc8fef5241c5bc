"""Orthogonal slices of a 3-D field as 2-D maps (matplotlib): real axes, ticks and colour bars.

A 3-D density or mode is drawn as three maps, the planes through a point (the maximum of the density)
normal to each coordinate axis: PyVista cuts the mesh (values linear on the cut tetrahedra), matplotlib
draws every plane on its own triangles with the case's coordinate names, to scale where the plane's
window is not a long strip (:func:`fpsolve.output.style.to_scale`). Every map of one field shares its
colour scale, so the three planes can be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fpsolve.output.style import to_scale

__all__ = ["Plane", "draw_planes", "planes"]


@dataclass(frozen=True)
class Plane:
    """One cut: the plane ``normal``-coordinate = ``at``, drawn over ``axes`` (the other two indices).

    Attributes
    ----------
    normal
        Index of the coordinate that is constant on the plane.
    at
        Its value.
    axes
        The two in-plane coordinate indices, in order.
    tri
        Matplotlib triangulation of the cut in those coordinates.
    values
        Field name → values at the triangulation's points.
    """

    normal: int
    at: float
    axes: tuple[int, int]
    tri: Any
    values: dict[str, np.ndarray]


def planes(grid: Any, centre: Sequence[float], fields: Sequence[str]) -> list[Plane]:
    """The three planes through ``centre`` normal to x, y and z, with the named point fields."""
    from matplotlib.tri import Triangulation

    out = []
    for normal in range(3):
        axes = tuple(k for k in range(3) if k != normal)
        cut = grid.slice(normal="xyz"[normal], origin=tuple(float(c) for c in centre)).triangulate()
        points = np.asarray(cut.points)
        triangles = np.asarray(cut.faces).reshape(-1, 4)[:, 1:]
        tri = Triangulation(points[:, axes[0]], points[:, axes[1]], triangles)
        values = {name: np.asarray(cut.point_data[name]) for name in fields}
        out.append(Plane(normal, float(centre[normal]), axes, tri, values))
    return out


def draw_planes(
    fig: Any,
    axes: Sequence[Any],
    cuts: Sequence[Plane],
    field: str,
    names: Sequence[str],
    box: tuple[np.ndarray, np.ndarray],
    symmetric: bool,
    label: str,
) -> bool:
    """Draw ``field`` on every plane of ``cuts`` into ``axes``, one colour bar named ``label``.

    ``box`` (lo, hi) is the window in all three coordinates; ``symmetric`` colours about 0 (a mode),
    otherwise from min(0, min) (a density). Returns whether every map is to scale.
    """
    from matplotlib.ticker import MaxNLocator

    everything = np.concatenate([c.values[field] for c in cuts])
    top = float(np.abs(everything).max()) or 1.0
    lo, hi = (-top, top) if symmetric else (min(float(everything.min()), 0.0), float(everything.max()) or 1.0)
    cmap = "RdBu_r" if symmetric else "viridis"
    image, scaled = None, True
    for ax, cut in zip(axes, cuts, strict=True):
        image = ax.tripcolor(cut.tri, cut.values[field], shading="gouraud", cmap=cmap, vmin=lo, vmax=hi)
        i, j = cut.axes
        ax.set_xlim(box[0][i], box[1][i])
        ax.set_ylim(box[0][j], box[1][j])
        equal = to_scale(box[1][i] - box[0][i], box[1][j] - box[0][j])
        scaled &= equal
        ax.set_aspect("equal" if equal else "auto")
        ax.set_xlabel(names[i])
        ax.set_ylabel(names[j])
        ax.set_title(f"{names[cut.normal]} = {cut.at:.3g}", fontsize=9)
    ticks = MaxNLocator(7, symmetric=symmetric)
    fig.colorbar(image, ax=list(axes), shrink=0.85, ticks=ticks, format="%.2g", label=label)
    return scaled
