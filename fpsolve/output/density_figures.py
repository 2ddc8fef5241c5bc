"""Density figures from written results (rank 0 reads ``<kind>.xdmf``: one image whatever the rank count).

* 1-D: density profiles (and the exact density, dashed, where the analysis wrote one).
* 2-D: the density on the mesh's own triangles (holes stay holes), one colour scale shared by all
  snapshots, streamlines of the current coloured by |J| on a colour bar in the units of J that runs up
  to max(max|J|, max|βρ|), βρ the drift flux that J balances under detailed balance; streamlines only
  where |J| is at least 5 % of that (a smaller current, e.g. the discretisation current of a reversible
  problem, is reported as a number on the panel, not drawn as a flow), and the exact density's contours
  where one exists.
* 3-D: orthogonal slices of the density (PyVista, off-screen) with a colour bar.
* ``observables.csv``: mass, min ρ and mean against time.

Axes carry the case's coordinate names (``summary["coordinates"]``). Drawn by the stationary and
transient analyses' ``figures`` (after ``fpsolve run`` and by ``fpsolve plot``).
"""

from __future__ import annotations

import csv
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.fields import read_series
from fpsolve.output.overlays import Overlays
from fpsolve.output.scales import choose_scale, vertex_weights
from fpsolve.output.style import plt_agg, save, to_scale

__all__ = [
    "collapse_figure",
    "density_figure",
    "mass_within",
    "mesh_triangulation",
    "observables_figure",
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
#: ρ below −NEGATIVE·max ρ is marked: an undershoot that large is part of the picture (smaller ones, the
#: ringing of a Galerkin solution far from the mass, would cover the panel).
NEGATIVE = 1e-3


def density_figure(out: Path, kind: str, title: str, summary: Mapping[str, Any]) -> list[Path]:
    """``out/figures/<kind>_density.png`` from ``<kind>.xdmf`` (fields ``rho_<kind>``, ``J_<kind>``).

    ``<kind>_figure.npz`` adds what the analysis wrote for the figure: the exact moments
    (``exact_mean``, ``exact_cov``, one per written time), the colour-scale choice ``colour_scale``
    and the overlays of :func:`draw_overlays` (``grid_x``, ``grid_y``, ``loss``, ``curves``, …).
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
    # the exact moments are stored for every written time: keep those of the drawn snapshots
    extra = {
        k: v[picked] if k.startswith("exact_") and len(v) == len(frames) else v for k, v in extra.items()
    }
    collapse = collapse_figure(out, kind, title, frames, extra) if "collapse_at" in extra else []
    frames = [frames[i] for i in picked]
    scales = summary.get("observables", {}).get(kind, {})
    dim = len(summary.get("coordinates", [])) or _dimension(frames[0][1])
    names = list(summary.get("coordinates", [])) or list("xyz"[:dim])
    target = out / "figures" / f"{kind}_density.png"
    if dim == 3:
        return [_slices(frames[-1][1], name, names, target, title)]
    plt = plt_agg()
    if dim == 1:
        fig = _profiles(plt, frames, name, names[0], extra, kind)
    else:
        fig = _maps(plt, frames, kind, names, extra, scales)
    fig.suptitle(title)
    return [save(fig, target), *collapse]


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


def _profiles(plt: Any, frames: list, name: str, xname: str, exact: dict, kind: str) -> Any:
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, (t, grid) in enumerate(frames):
        x = np.asarray(grid.points)[:, 0]
        order = np.argsort(x)
        label = f"t = {t:g}" if kind == "transient" else "FE"
        line = ax.plot(x[order], np.asarray(grid.point_data[name])[order], label=label)[0]
        if "exact_mean" in exact and k < len(exact["exact_mean"]):
            ref = _gaussian(x[order, None], exact["exact_mean"][k], exact["exact_cov"][k])
            ax.plot(x[order], ref, "--", color=line.get_color(), label="exact")
    ax.set_xlabel(xname)
    ax.set_ylabel("ρ")
    ax.legend(fontsize=8)
    return fig


def _maps(plt: Any, frames: list, kind: str, names: list[str], extra: dict, scales: Mapping) -> Any:
    name, current = f"rho_{kind}", f"J_{kind}"
    tri = mesh_triangulation(frames[0][1])
    values = [np.asarray(g.point_data[name]) for _, g in frames]
    weights = vertex_weights(tri.triangles, tri.x, tri.y)
    scale = choose_scale(values, weights, str(extra.get("colour_scale", "auto")))
    overlays = Overlays.from_data(extra, tri, values[-1], weights)
    seen = [rho >= (scale.lo if scale.kind == "log" else SEEN * rho.max()) for rho in values]
    lo, hi, zoomed = window(tri, np.any(seen, axis=0), [p[:2] for p in overlays.points])
    equal = to_scale(*(hi - lo))
    n = len(frames)
    aspect = float((hi[1] - lo[1]) / (hi[0] - lo[0])) if equal else 0.9
    height = float(np.clip(4.6 * aspect, 3.4, 5.6))
    width = 5.0 * n + (2.2 if scale.per_panel else 1.2) + 0.6 * n * scale.per_panel
    fig, axes = plt.subplots(1, n, figsize=(width, height + 0.9), squeeze=False, layout="constrained")
    axes = axes[0]
    flux = scales.get("max_drift_flux") or 0.0
    currents = [
        np.asarray(g.point_data[current])[:, :2] if current in g.point_data else None for _, g in frames
    ]
    biggest = [float(np.linalg.norm(J, axis=1).max()) if J is not None else 0.0 for J in currents]
    top = max(flux, *biggest)  # one |J| scale for every panel
    lines = image = None
    for k, (ax, (t, _), rho, J) in enumerate(zip(axes, frames, values, currents, strict=True)):
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
            bar = fig.colorbar(
                image, ax=ax, shrink=0.85, pad=0.02, label=scale.label() if k == n - 1 else None
            )
            bar.set_ticks(scale.ticks(rho))
        _negative(ax, tri, rho)
        if "exact_mean" in extra and k < len(extra["exact_mean"]):
            _exact_contours(ax, tri, extra["exact_mean"][k], extra["exact_cov"][k], float(rho.max()), k == 0)
        overlays.draw(ax, legend=k == 0)  # what the lines are: said once, on the first panel
        if J is not None and biggest[k] > 0:
            lines = _streamlines(ax, tri, J, top) or lines
            share = f" = {100 * biggest[k] / flux:.2g} % of max |βρ|" if flux and kind == "stationary" else ""
            ax.text(
                0.02,
                0.02,
                f"max |J| = {biggest[k]:.3g}{share}",
                transform=ax.transAxes,
                fontsize=8,
                color="white",
                bbox={"facecolor": "black", "alpha": 0.5, "lw": 0},
            )
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal" if equal else "auto")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        if kind == "transient":
            ax.set_title(f"t = {t:g}")
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize=7, loc="upper right", facecolor="grey", framealpha=0.5)
    if not scale.per_panel:
        bar = fig.colorbar(image, ax=list(axes), label=scale.label(), shrink=0.85, pad=0.02)
        bar.set_ticks(scale.ticks())
    if lines is not None:
        bar = fig.colorbar(lines, ax=list(axes), shrink=0.85, pad=0.01)
        over = " over the run" if kind == "transient" else ""
        bar.set_label(f"|J| (top: max |J|, |βρ|{over}; drawn where ≥ {STREAM_FLOOR:.0%} of it)")
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


def _exact_contours(ax: Any, tri: Any, mean: np.ndarray, cov: np.ndarray, top: float, legend: bool) -> None:
    """Exact density contours (white dashed) at 10, 30, …, 90 % of ``top``; in the legend if ``legend``."""
    ref = _gaussian(np.column_stack([tri.x, tri.y]), mean, cov)
    levels = top * np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    ax.tricontour(tri, ref, levels=levels, colors="white", linestyles="dashed", linewidths=0.8)
    if legend:
        ax.plot([], [], "w--", lw=0.8, label="exact ρ (dashed)")


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
        cmap="autumn_r",
        norm=Normalize(0.0, top),
        density=0.7,
        linewidth=(0.5 + 2.0 * speed / top).filled(0.0),
        arrowsize=0.7,
    ).lines


def _slices(grid: Any, name: str, names: list[str], target: Path, title: str) -> Path:
    import pyvista

    pyvista.OFF_SCREEN = True
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
    target.parent.mkdir(parents=True, exist_ok=True)
    plotter = pyvista.Plotter(off_screen=True, window_size=(900, 700))
    plotter.add_mesh(
        grid.slice_orthogonal(),
        scalars=name,
        cmap="viridis",
        scalar_bar_args={
            "title": "density",
            "vertical": True,
            "fmt": "%.2g",
            "position_x": 0.78,
            "width": 0.08,
        },
    )
    plotter.add_mesh(grid.outline(), color="black")
    plotter.add_text(title, font_size=10)
    plotter.add_axes(xlabel=names[0], ylabel=names[1], zlabel=names[2])
    plotter.screenshot(str(target))
    plotter.close()
    return target


def observables_figure(out: Path, title: str, names: Sequence[str] = ()) -> list[Path]:
    """``out/figures/observables.png`` from ``observables.csv``: mass, min ρ / max ρ and mean over time.

    Columns other than those and the covariances (an analysis' own observables) get a fourth panel.

    The means are labelled with the coordinate ``names`` (the case's parameter names); where the
    analysis wrote the exact moments (``transient_figure.npz``, one per row) the exact mean is drawn
    dashed beside the FE mean.
    """
    obs = out / "observables.csv"
    if not obs.is_file():
        return []
    with open(obs) as f:
        rows = list(csv.DictReader(f))
    data = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    means = [k for k in data if k.startswith("mean_")]
    names = list(names) if len(names) == len(means) else [k.removeprefix("mean_") for k in means]
    others = [k for k in data if k not in ("t", "mass", "min", "max") and not k.startswith(("mean_", "cov_"))]
    npz = out / "transient_figure.npz"
    exact = None
    if npz.is_file():
        with np.load(npz) as f:
            exact = f["exact_mean"] if "exact_mean" in f.files else None
    plt = plt_agg()
    fig, axes = plt.subplots(1, 3 + bool(others), figsize=(13 + 4.3 * bool(others), 3.6))
    axes[0].plot(data["t"], data["mass"] - data["mass"][0], "o-")
    axes[0].set_title("mass change ∫ρ(t) − ∫ρ(0)")
    axes[1].plot(data["t"], data["min"] / data["max"], "o-")
    axes[1].set_title("min ρ / max ρ")
    for i, (key, name) in enumerate(zip(means, names, strict=True)):
        line = axes[2].plot(data["t"], data[key], "o-", label=f"E {name} (FE)")[0]
        if exact is not None and len(exact) == len(data["t"]):
            axes[2].plot(data["t"], exact[:, i], "--", color=line.get_color(), label=f"E {name} (exact)")
    axes[2].legend(fontsize=8)
    axes[2].set_title("mean")
    if others:  # further observables the analysis wrote (e.g. a collapse fraction)
        for key in others:
            axes[3].plot(data["t"], data[key], "o-", label=key)
        axes[3].legend(fontsize=8)
        axes[3].set_title("other observables")
    for ax in axes:
        ax.set_xlabel("t")
    fig.suptitle(title)
    return [save(fig, out / "figures" / "observables.png")]
