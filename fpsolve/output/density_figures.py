"""Density figures from written results (rank 0 reads ``<kind>.xdmf``: one image whatever the rank count).

* 1-D: density profiles (and the exact density, dashed, where the analysis wrote one).
* 2-D: the density on the mesh's own triangles (holes stay holes) on a colour scale chosen by
  :func:`~fpsolve.output.scales.choose_scale`, streamlines of the current coloured by |J| on a colour
  bar in the units of J that runs up to max(max|J|, max|βρ|), βρ the drift flux that J balances under
  detailed balance, with a black line at the largest |J|; streamlines only where |J| is at least 5 % of
  the top (a smaller current, e.g. the discretisation current of a reversible problem, is reported as a
  number on the panel, not drawn as a flow), and the exact density's contours at the snapshot's own
  time (:func:`exact_at`) where there is one. Four flat snapshots go in two rows.
* 3-D: the density on the three planes through its maximum (:mod:`fpsolve.output.slices`).
* ``observables.csv``: mass, min ρ / max ρ, mean and variances against time (:func:`observables_figure`).

Axes carry the case's coordinate names (``summary["coordinates"]``). Drawn by the stationary and
transient analyses' ``figures`` (after ``fpsolve run`` and by ``fpsolve plot``).
"""

from __future__ import annotations

import csv
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.fields import read_series
from fpsolve.output.overlays import Overlays
from fpsolve.output.scales import choose_scale, vertex_weights
from fpsolve.output.slices import draw_planes, planes
from fpsolve.output.style import plt_agg, save, to_scale

__all__ = [
    "collapse_figure",
    "density_figure",
    "exact_at",
    "mass_within",
    "mesh_triangulation",
    "observables_figure",
    "panel_grid",
    "window",
]

#: At most this many snapshots of a time series are drawn.
SNAPSHOTS = 4
#: Streamlines are drawn where |J| is at least this fraction of the colour bar's top (module docstring).
STREAM_FLOOR = 0.05
#: Maps zoom on the vertices with ρ ≥ SEEN·max ρ (linear scales, on which less is the lowest colour
#: anyway; the floor on a log scale) ...
SEEN = 0.01
#: ... widened by this fraction of the box on every side ...
MARGIN = 0.15
#: ... where that box covers at most this fraction of the domain's bounding box.
ZOOM = 0.5
#: Expressions longer than this are named f₁, f₂, … in the legend and spelled out under the figure.
SHORT_LABEL = 28
#: Mass changes and undershoots below this (relative) are round-off: said in words, not plotted.
ROUND_OFF = 1e-12
#: The exact density's contours, as fractions of the finite-element maximum.
EXACT_LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)
#: ρ below −NEGATIVE·max ρ is marked: an undershoot that large is part of the picture (smaller ones, the
#: ringing of a Galerkin solution far from the mass, would cover the panel).
NEGATIVE = 1e-3


def density_figure(out: Path, kind: str, title: str, summary: Mapping[str, Any]) -> list[Path]:
    """``out/figures/<kind>_density.png`` from ``<kind>.xdmf`` (fields ``rho_<kind>``, ``J_<kind>``).

    ``<kind>_figure.npz`` adds what the analysis wrote for the figure: the exact moments
    (``exact_mean``, ``exact_cov`` at the times ``exact_t``; :func:`exact_at`), the colour-scale
    choice ``colour_scale`` and the overlays of :class:`~fpsolve.output.overlays.Overlays`
    (``grid_x``, ``grid_y``, ``loss``, ``curves``, …).
    """
    path = out / f"{kind}.xdmf"
    if not path.is_file():
        return []
    name = f"rho_{kind}"
    frames = [(t, g) for t, g in read_series(path) if name in g.point_data]
    if not frames:
        return []
    picked = np.arange(len(frames))
    if kind == "stationary":
        picked = picked[-1:]
    elif len(frames) > SNAPSHOTS:
        picked = np.linspace(0, len(frames) - 1, SNAPSHOTS).astype(int)
    data = out / f"{kind}_figure.npz"
    extra = dict(np.load(data)) if data.is_file() else {}
    collapse = collapse_figure(out, kind, title, frames, extra) if "collapse_at" in extra else []
    exact = exact_at(extra, [float(frames[i][0]) for i in picked], [float(t) for t, _ in frames])
    frames = [frames[i] for i in picked]
    scales = summary.get("observables", {}).get(kind, {})
    dim = len(summary.get("coordinates", [])) or _dimension(frames[0][1])
    names = list(summary.get("coordinates", [])) or list("xyz"[:dim])
    target = out / "figures" / f"{kind}_density.png"
    if dim == 3:
        t_last = f" at t = {frames[-1][0]:g}" if kind == "transient" else ""
        return [_slices(frames[-1][1], name, names, target, f"{title}{t_last}"), *collapse]
    plt = plt_agg()
    if dim == 1:
        fig = _profiles(plt, frames, name, names[0], exact, kind)
    else:
        fig = _maps(plt, frames, kind, names, extra, exact, scales)
    fig.suptitle(title)
    return [save(fig, target), *collapse]


def exact_at(
    extra: Mapping[str, np.ndarray], drawn: Sequence[float], written: Sequence[float]
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """The exact (mean, covariance) at each ``drawn`` time, None where there is none for that time.

    The moments ``extra["exact_mean"]``, ``extra["exact_cov"]`` belong to the times
    ``extra["exact_t"]``; a figure file without them (written before the times were stored) is read
    as one moment per ``written`` time, in order, when the counts agree. A drawn time is matched to
    a stored time (relative tolerance 1e-9), never to a position: a reference is drawn at its own
    time or not at all.
    """
    if "exact_mean" not in extra:
        return [None] * len(drawn)
    means, covs = np.asarray(extra["exact_mean"]), np.asarray(extra["exact_cov"])
    times = np.asarray(extra["exact_t"] if "exact_t" in extra else written, float)
    if len(times) != len(means):
        return [None] * len(drawn)
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for t in drawn:
        hit = np.flatnonzero(np.isclose(times, t, rtol=1e-9, atol=1e-12))
        out.append((means[hit[0]], covs[hit[0]]) if len(hit) else None)
    return out


def mass_within(rho: np.ndarray, weights: np.ndarray, distance: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """P(|x − x*| ≤ r) for each r in ``radii``: Σ wᵢρᵢ over the vertices with ``distance`` ≤ r.

    Lumped quadrature of the nodal values (:func:`~fpsolve.output.scales.vertex_weights`), signed ρ
    (so the total is the mass).
    """
    order = np.argsort(distance)
    cumulative = np.concatenate([[0.0], np.cumsum((weights * rho)[order])])
    return cumulative[np.searchsorted(distance[order], radii, side="right")]


def collapse_figure(out: Path, kind: str, title: str, frames: list, extra: Mapping) -> list[Path]:
    """``out/figures/<kind>_collapse.png``: P(|x − x*| ≤ r) against r per written time, and against t.

    ``extra["collapse_at"]`` is x*, ``extra["collapse_radius"]`` the r of the right panel (the figure
    key ``collapse``); every written time is used, not only the drawn snapshots.
    """
    tri = mesh_triangulation(frames[0][1])
    weights = vertex_weights(tri.triangles, tri.x, tri.y)
    at, radius = np.asarray(extra["collapse_at"], float), float(extra["collapse_radius"])
    distance = np.hypot(tri.x - at[0], tri.y - at[1])
    span = float(distance.max())
    radii = np.geomspace(max(float(distance[distance > 0].min()), 1e-6 * span), span, 200)
    times = np.array([t for t, _ in frames])
    values = [np.asarray(g.point_data[f"rho_{kind}"]) for _, g in frames]
    plt = plt_agg()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.4), layout="constrained")
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(frames)))
    for t, rho, colour in zip(times, values, colours, strict=True):
        ax.semilogx(radii, mass_within(rho, weights, distance, radii), color=colour, label=f"t = {t:g}")
    ax.axvline(radius, color="k", ls=":", lw=0.8)
    ax.set_xlabel(f"r (distance from x* = ({', '.join(f'{c:g}' for c in at)}))")
    ax.set_ylabel("P(|x − x*| ≤ r)")
    ax.set_ylim(0.0, 1.02)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("mass within r of x*")
    inside = [float(mass_within(rho, weights, distance, np.array([radius]))[0]) for rho in values]
    ax2.plot(times, inside, "o-")
    ax2.annotate(
        f"{inside[-1]:.3g}", (times[-1], inside[-1]), textcoords="offset points", xytext=(-8, 8), ha="right"
    )
    ax2.set_xlabel("t")
    ax2.set_ylabel(f"P(|x − x*| ≤ {radius:g})")
    ax2.set_ylim(0.0, 1.02)
    ax2.set_title(f"collapse fraction at r = {radius:g}")
    fig.suptitle(f"{title}: mass near x* (lumped quadrature of the written vertex values)")
    return [save(fig, out / "figures" / f"{kind}_collapse.png")]


def _dimension(grid: Any) -> int:
    spread = np.ptp(np.asarray(grid.points), axis=0)
    return int(np.count_nonzero(spread > 0))


def _gaussian(points: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """N(mean, cov) at ``points`` (n, d)."""
    y = points - mean
    quad = np.einsum("ni,ij,nj->n", y, np.linalg.inv(cov), y)
    return np.exp(-quad / 2) / np.sqrt((2 * np.pi) ** len(mean) * np.linalg.det(cov))


def _profiles(plt: Any, frames: list, name: str, xname: str, exact: list, kind: str) -> Any:
    fig, ax = plt.subplots(figsize=(7, 4))
    for (t, grid), ref in zip(frames, exact, strict=True):
        x = np.asarray(grid.points)[:, 0]
        order = np.argsort(x)
        label = f"t = {t:g}" if kind == "transient" else "FE"
        line = ax.plot(x[order], np.asarray(grid.point_data[name])[order], label=label)[0]
        if ref is not None:
            density = _gaussian(x[order, None], *ref)
            ax.plot(x[order], density, "--", color=line.get_color(), label=f"exact, t = {t:g}")
    ax.set_xlabel(xname)
    ax.set_ylabel("ρ")
    ax.legend(fontsize=8)
    return fig


def _maps(
    plt: Any, frames: list, kind: str, names: list[str], extra: dict, exact: list, scales: Mapping
) -> Any:
    """One map per snapshot (module docstring); a wide window puts four snapshots in two rows."""
    name, current = f"rho_{kind}", f"J_{kind}"
    tri = mesh_triangulation(frames[0][1])
    values = [np.asarray(g.point_data[name]) for _, g in frames]
    weights = vertex_weights(tri.triangles, tri.x, tri.y)
    scale = choose_scale(values, weights, str(extra.get("colour_scale", "auto")))
    overlays = Overlays.from_data(extra, tri, values[-1], weights)
    if "collapse_at" in extra:  # the point the collapse figure measures the mass around
        overlays.points.append((*(float(c) for c in extra["collapse_at"][:2]), "collapse point x*"))
    seen = [rho >= (scale.lo if scale.kind == "log" else SEEN * rho.max()) for rho in values]
    lo, hi, zoomed = window(tri, np.any(seen, axis=0), [p[:2] for p in overlays.points])
    equal = to_scale(*(hi - lo))
    aspect = float((hi[1] - lo[1]) / (hi[0] - lo[0])) if equal else 0.9
    rows, cols = panel_grid(len(frames), aspect)
    height = float(np.clip(4.6 * aspect, 2.4, 5.6))
    bars = 1.2 + 1.0 * cols * scale.per_panel  # a shared colour bar, or one beside every panel
    bars += 1.1 * any(f"J_{kind}" in g.point_data for _, g in frames)  # the |J| bar and its label
    width = 5.0 * cols + bars
    fig, grid = plt.subplots(
        rows, cols, figsize=(width, rows * height + 0.9), squeeze=False, layout="constrained"
    )
    axes = list(grid.ravel())
    for ax in axes[len(frames) :]:
        ax.axis("off")
    axes = axes[: len(frames)]
    currents = [
        np.asarray(g.point_data[current])[:, :2] if current in g.point_data else None for _, g in frames
    ]
    biggest = [float(np.linalg.norm(J, axis=1).max()) if J is not None else 0.0 for J in currents]
    flux = scales.get("max_drift_flux") or 0.0
    top = max(flux, *biggest)  # one |J| scale for every panel
    lines = image = None
    for k, (ax, (t, _), rho, J, ref) in enumerate(zip(axes, frames, values, currents, exact, strict=True)):
        image = _density_panel(fig, ax, tri, rho, scale, k == len(frames) - 1)
        if ref is not None:
            _exact_contours(ax, tri, (lo, hi), *ref, float(rho.max()), k == 0)
        overlays.draw(ax, legend=k == 0)  # what the lines are: said once, on the first panel
        if J is not None and biggest[k] > 0:
            lines = _streamlines(ax, tri, J, top) or lines
            share = f" = {100 * biggest[k] / flux:.2g} % of max |βρ|" if flux and kind == "stationary" else ""
            _corner_note(ax, f"max |J| = {biggest[k]:.3g}{share}")
        _frame(ax, lo, hi, equal, names, f"t = {t:g}" if kind == "transient" else "")
    if not scale.per_panel:
        bar = fig.colorbar(image, ax=axes, label=scale.label(), shrink=0.85, pad=0.02)
        bar.set_ticks(scale.ticks())
    if lines is not None:
        # beside the last panel where every panel has its own bar (matplotlib's constrained layout
        # misplaces per-panel bars next to one spanning all panels)
        _current_bar(fig, axes[-1:] if scale.per_panel else axes, lines, max(biggest), flux, kind)
    notes = [] if equal else ["axes not to scale"]
    if zoomed:
        where = f"ρ ≥ {scale.lo:.2g}" if scale.kind == "log" else f"ρ ≥ {SEEN:g} max ρ"
        notes.append(
            f"zoomed on where {where} in some panel (domain [{tri.x.min():.3g}, {tri.x.max():.3g}] × "
            f"[{tri.y.min():.3g}, {tri.y.max():.3g}])"
        )
    elif not equal:
        notes[-1] += f" (domain {np.ptp(tri.x):.3g} × {np.ptp(tri.y):.3g})"
    notes += overlays.notes
    if notes:
        fig.supxlabel("\n".join(textwrap.fill(note, int(14 * width)) for note in notes), fontsize=8)
    return fig


def panel_grid(n: int, aspect: float) -> tuple[int, int]:
    """Rows and columns for ``n`` maps of height/width ``aspect``: two rows for 3+ flat (< 0.55) maps."""
    rows = 2 if n >= 3 and aspect < 0.55 else 1
    return rows, -(-n // rows)


def _density_panel(fig: Any, ax: Any, tri: Any, rho: np.ndarray, scale: Any, last: bool) -> Any:
    """ρ filled on ``scale`` (its own colour bar if per panel), negative values marked; the image."""
    shown = np.maximum(rho, scale.lo) if scale.kind == "log" else rho
    image = ax.tricontourf(
        tri,
        shown,
        levels=scale.levels(rho),
        cmap="viridis",
        norm=scale.norm(rho),
        extend="min" if scale.kind == "log" else "neither",
    )
    if scale.per_panel:
        bar = fig.colorbar(image, ax=ax, shrink=0.85, pad=0.02, label=scale.label() if last else None)
        bar.set_ticks(scale.ticks(rho))
    _negative(ax, tri, rho)
    return image


def _corner_note(ax: Any, text: str) -> None:
    """White text on a dark box in the lower left corner of ``ax``."""
    box = {"facecolor": "black", "alpha": 0.5, "lw": 0, "boxstyle": "round,pad=0.25"}
    ax.text(0.03, 0.04, text, transform=ax.transAxes, fontsize=8, color="white", bbox=box)


def _frame(ax: Any, lo: np.ndarray, hi: np.ndarray, equal: bool, names: list[str], title: str) -> None:
    """Window, aspect, axis names, title and the legend of what ``ax`` drew."""
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal" if equal else "auto")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    if title:
        ax.set_title(title)
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=7, loc="upper right", facecolor="grey", framealpha=0.5)


def _current_bar(fig: Any, axes: list, lines: Any, largest: float, flux: float, kind: str) -> None:
    """The |J| colour bar with a black line at the largest |J| drawn; what its top is, in its label."""
    bar = fig.colorbar(lines, ax=axes, shrink=0.85, pad=0.01)
    bar.ax.axhline(largest, color="black", lw=1.5)
    over = " over the run" if kind == "transient" else ""
    top = f"max |βρ|{over} = {flux:.3g}" if flux >= largest else f"max |J|{over}"
    bar.set_label(
        f"|J| (black line: max |J| = {largest:.3g})\ntop: {top}; streamlines ≥ {STREAM_FLOOR:.0%} of it"
    )


def window(
    tri: Any, seen: np.ndarray, points: Sequence[tuple[float, float]]
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The drawn window: the domain, or the box around the ``seen`` vertices and ``points`` if smaller.

    The box is widened by :data:`MARGIN` of its size on every side and clipped to the domain; it is
    used (third value True) where its area is at most :data:`ZOOM` of the domain's bounding box.
    """
    full_lo = np.array([tri.x.min(), tri.y.min()])
    full_hi = np.array([tri.x.max(), tri.y.max()])
    xy = np.vstack([np.column_stack([tri.x[seen], tri.y[seen]]), np.reshape(points, (-1, 2))])
    if not len(xy):
        return full_lo, full_hi, False
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    pad = MARGIN * np.maximum(hi - lo, 0.05 * (full_hi - full_lo))
    lo, hi = np.maximum(lo - pad, full_lo), np.minimum(hi + pad, full_hi)
    if np.prod(hi - lo) > ZOOM * np.prod(full_hi - full_lo):
        return full_lo, full_hi, False
    return lo, hi, True


def _negative(ax: Any, tri: Any, rho: np.ndarray) -> None:
    """Fill where ρ < −:data:`NEGATIVE`·max ρ in red, naming the minimum in the legend."""
    low, cut = float(rho.min()), -NEGATIVE * float(rho.max())
    if low >= cut:
        return
    ax.tricontourf(tri, rho, levels=[low, cut], colors="red", alpha=0.7)
    ax.fill([], [], color="red", alpha=0.7, label=f"ρ < −{NEGATIVE:.1%} of max ρ (min {low:.2g})")


def mesh_triangulation(grid: Any) -> Any:
    """The mesh's own triangles as a matplotlib triangulation (quadrilaterals split, vertices only)."""
    import pyvista
    from matplotlib.tri import Triangulation

    parts = []
    for cell_type, cells in grid.cells_dict.items():
        if cell_type in (pyvista.CellType.TRIANGLE, pyvista.CellType.QUADRATIC_TRIANGLE):
            parts.append(cells[:, :3])
        elif cell_type in (pyvista.CellType.QUAD, pyvista.CellType.QUADRATIC_QUAD):
            parts += [cells[:, [0, 1, 2]], cells[:, [0, 2, 3]]]
    points = np.asarray(grid.points)
    return Triangulation(points[:, 0], points[:, 1], np.vstack(parts))


def _exact_contours(
    ax: Any, tri: Any, box: tuple, mean: np.ndarray, cov: np.ndarray, top: float, legend: bool
) -> None:
    """Exact density contours (white dashed) at 10, 30, …, 90 % of ``top``; in the legend if ``legend``.

    The Gaussian is evaluated on a 200 × 200 grid over the window ``box`` = (lo, hi), not at the
    mesh's vertices (on a coarse mesh the reference would carry the mesh's kinks), and masked outside
    the mesh (holes).
    """
    (x0, y0), (x1, y1) = box
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    ref = _gaussian(np.column_stack([gx.ravel(), gy.ravel()]), mean, cov).reshape(gx.shape)
    outside = tri.get_trifinder()(gx, gy) < 0
    levels = top * np.array(EXACT_LEVELS)
    ax.contour(
        gx,
        gy,
        np.ma.array(ref, mask=outside),
        levels=levels,
        colors="white",
        linestyles="dashed",
        linewidths=0.8,
    )
    if legend:
        shares = f"{EXACT_LEVELS[0]:.0%}, {EXACT_LEVELS[1]:.0%}, …, {EXACT_LEVELS[-1]:.0%}"
        ax.plot([], [], "w--", lw=0.8, label=f"exact ρ ({shares} of FE max)")


def _streamlines(ax: Any, tri: Any, J: np.ndarray, top: float) -> Any:
    """Streamlines of J where |J| ≥ :data:`STREAM_FLOOR`·``top`` (linear on the mesh's triangles).

    Colour and width follow |J| on the scale [0, ``top``]; returns the lines (for a colour bar), or None
    where J is nowhere that large: a current that small (e.g. the discretisation current of a
    detailed-balance problem) is not drawn as a flow, only reported as a number.
    """
    from matplotlib.colors import Normalize
    from matplotlib.tri import LinearTriInterpolator

    seen = np.linalg.norm(J, axis=1) >= STREAM_FLOOR * top
    if not seen.any():
        return None
    gx, gy = np.meshgrid(
        np.linspace(tri.x[seen].min(), tri.x[seen].max(), 120),
        np.linspace(tri.y[seen].min(), tri.y[seen].max(), 120),
    )
    u = LinearTriInterpolator(tri, J[:, 0])(gx, gy)
    v = LinearTriInterpolator(tri, J[:, 1])(gx, gy)
    speed = np.ma.masked_less(np.ma.sqrt(u**2 + v**2), STREAM_FLOOR * top)
    if speed.count() == 0:
        return None
    u, v = np.ma.array(u, mask=speed.mask), np.ma.array(v, mask=speed.mask)
    return ax.streamplot(
        gx,
        gy,
        u,
        v,
        color=speed.filled(0.0),
        cmap="cool",
        norm=Normalize(0.0, top),
        density=0.55,
        linewidth=(0.4 + 1.4 * speed / top).filled(0.0),
        arrowsize=0.6,
    ).lines


def _slices(grid: Any, name: str, names: list[str], target: Path, title: str) -> Path:
    """ρ on the three planes through its maximum, on the box where ρ ≥ :data:`SEEN` · max ρ (widened)."""
    rho = np.asarray(grid.point_data[name])
    points = np.asarray(grid.points)
    bulk = points[rho >= SEEN * rho.max()]
    lo, hi = bulk.min(axis=0), bulk.max(axis=0)
    pad = MARGIN * np.maximum(hi - lo, 0.05 * np.ptp(points, axis=0))
    lo, hi = np.maximum(lo - pad, points.min(axis=0)), np.minimum(hi + pad, points.max(axis=0))
    cuts = planes(grid, points[np.argmax(rho)], [name])
    plt = plt_agg()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), layout="constrained")
    if not draw_planes(fig, axes, cuts, name, names, (lo, hi), False, "ρ"):
        sides = " × ".join(f"{v:.3g}" for v in hi - lo)
        fig.supxlabel(f"axes not to scale where a plane is a long strip (window {sides})", fontsize=8)
    fig.suptitle(f"{title}: ρ on the planes through its maximum")
    return save(fig, target)


def observables_figure(out: Path, title: str, names: Sequence[str] = ()) -> list[Path]:
    """``out/figures/observables.png`` from ``observables.csv``, one panel per group of columns.

    Mass change and min ρ / max ρ (a text where they are round-off only, :data:`ROUND_OFF`), the
    means and the variances (FE markers; the exact values of ``transient_figure.npz`` at the same
    times, matched by :func:`exact_at`, as black crosses with the largest difference in the legend),
    the case's expectations E f(X_t) against their exact g(t) where the analysis wrote them, and any
    further columns (an analysis' own observables). Coordinates are named ``names`` (the case's).
    """
    obs = out / "observables.csv"
    if not obs.is_file():
        return []
    with open(obs) as f:
        rows = list(csv.DictReader(f))
    data = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    letters = [k.removeprefix("mean_") for k in data if k.startswith("mean_")]
    names = list(names) if len(names) == len(letters) else letters
    npz = out / "transient_figure.npz"
    extra = dict(np.load(npz)) if npz.is_file() else {}
    exact = exact_at(extra, list(data["t"]), list(data["t"]))
    others = [k for k in data if k not in ("t", "mass", "min", "max") and not k.startswith(("mean_", "cov_"))]
    variances = [f"cov_{c}{c}" for c in letters if f"cov_{c}{c}" in data]
    panels = 3 + bool(variances) + ("expectation_fe" in extra) + bool(others)
    plt = plt_agg()
    fig, axes = plt.subplots(1, panels, figsize=(4.4 * panels + 0.4, 3.8), layout="constrained")
    t = data["t"]
    _small(axes[0], t, data["mass"] - data["mass"][0], "mass change ∫ρ(t) − ∫ρ(0)")
    _small(axes[1], t, data["min"] / data["max"], "min ρ / max ρ")
    _moments(axes[2], t, [data[f"mean_{c}"] for c in letters], names, exact, "E", lambda m, i: m[0][i])
    axes[2].set_title("mean")
    k = 3
    if variances:
        values = [data[v] for v in variances]
        _moments(axes[k], t, values, names, exact, "var", lambda m, i: m[1][i, i])
        axes[k].set_title("variance")
        if min(v.min() for v in values) > 0 and max(v.max() for v in values) > 100 * min(
            v.min() for v in values
        ):
            axes[k].set_yscale("log")
        k += 1
    notes: list[str] = []
    if "expectation_fe" in extra:
        notes = _expectations(axes[k], extra)
        k += 1
    if others:  # further observables the analysis wrote (e.g. a collapse fraction)
        for key in others:
            axes[k].plot(t, data[key], "o-", label=key)
        axes[k].legend(fontsize=8)
        axes[k].set_title("other observables")
    positive = t[t > 0]
    for ax in axes:
        ax.set_xlabel("t")
        if len(positive) and positive.min() < positive.max() / 100:  # early times would crowd at 0
            _early_times(ax, float(positive.min()), float(positive.max()))
    if notes:
        fig.supxlabel("\n".join(notes), fontsize=8)
    fig.suptitle(title)
    return [save(fig, out / "figures" / "observables.png")]


def _early_times(ax: Any, first: float, last: float) -> None:
    """A time axis linear up to the first output time ``first``, logarithmic beyond; ticks 0 and decades."""
    from matplotlib.ticker import FixedLocator, FuncFormatter

    ax.set_xscale("symlog", linthresh=first, linscale=0.3)
    decades = 10.0 ** np.arange(np.ceil(np.log10(first)), np.floor(np.log10(last)) + 1)
    ax.xaxis.set_major_locator(FixedLocator([0.0, *decades]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _small(ax: Any, t: np.ndarray, values: np.ndarray, label: str) -> None:
    """``values`` against t, or a sentence where every |value| is below :data:`ROUND_OFF` (no plot)."""
    largest = float(np.abs(values).max())
    ax.set_title(label)
    if largest >= ROUND_OFF:
        ax.plot(t, values, "o-")
        return
    ax.axis("off")
    sentence = f"|{label.split(' ∫')[0]}| ≤ {largest:.1e}\nat every written time:\nround-off, nothing to plot"
    ax.text(0.5, 0.5, sentence, ha="center", va="center", transform=ax.transAxes, fontsize=9)


def _moments(
    ax: Any, t: np.ndarray, values: list, names: list[str], exact: list, symbol: str, pick: Any
) -> None:
    """FE series (coloured markers) and the exact ones where known (black crosses); the largest gap."""
    gaps = []
    for i, (series, name) in enumerate(zip(values, names, strict=True)):
        ax.plot(t, series, "o-", ms=5, lw=1, label=f"{symbol} {name} (FE)")
        known = [(s, pick(m, i)) for s, m in zip(t, exact, strict=True) if m is not None]
        if known:
            times, reference = (np.array(v) for v in zip(*known, strict=True))
            ax.plot(times, reference, "kx", ms=7, label="exact" if i == 0 else None)
            gaps.append(float(np.abs(series[np.isin(t, times)] - reference).max()))
    title = f"max |FE − exact| = {max(gaps):.2g}" if gaps else None
    ax.legend(fontsize=8, title=title, title_fontsize=8)


def _expectations(ax: Any, extra: Mapping[str, np.ndarray]) -> list[str]:
    """The case's E f(X_t): FE at the output times, the exact g(t) as a line; the largest difference.

    Long expressions are named f₁, f₂, … in the legend; returns the notes that spell them out.
    """
    labels = [_pretty(str(v)) for v in extra["expectation_labels"]]
    short = max(len(label) for label in labels) <= SHORT_LABEL
    names = labels if short else [f"E[f{_subscript(i + 1)}]" for i in range(len(labels))]
    fe, reference = np.atleast_2d(extra["expectation_fe"]), np.atleast_2d(extra["expectation_reference"])
    for i, name in enumerate(names):
        line = ax.plot(extra["expectation_exact_t"], extra["expectation_exact"][:, i], "-", lw=1)[0]
        line.set_label(f"{name} exact")
        ax.plot(extra["expectation_t"], fe[:, i], "o", color=line.get_color(), label=f"{name} FE")
    gap = float(np.abs(fe - reference).max()) if fe.size else float("nan")
    ax.legend(fontsize=8, title=f"max |FE − exact| = {gap:.2g}", title_fontsize=8)
    ax.set_title("expectations of the case")
    return [] if short else [f"f{_subscript(i + 1)} = {label[2:-1]}" for i, label in enumerate(labels)]


def _subscript(i: int) -> str:
    """``i`` in subscript digits."""
    return str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _pretty(expression: str) -> str:
    """``E[u**2 - v**2]`` as ``E[u² − v²]`` (squares, cubes, products and minus signs)."""
    for a, b in (("**2", "²"), ("**3", "³"), ("**", "^"), ("*", "·"), (" - ", " − ")):
        expression = expression.replace(a, b)
    return expression
