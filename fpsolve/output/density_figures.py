"""Density figures from written results (rank 0 reads the VTK files: one image whatever the rank count).

* 1-D: density profiles; 2-D: density colour map with current streamlines (matplotlib);
  3-D: orthogonal slices of the density (PyVista, off-screen).
* ``observables.csv``: mass, min ρ and mean against time.

Drawn by the stationary and transient analyses' ``figures`` (after ``fpsolve run`` and by ``fpsolve plot``).
"""

from __future__ import annotations

import csv
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np


def _series(pvd: Path) -> list[tuple[float, Path]]:
    """(time, file) entries of a ``.pvd`` collection."""
    root = ET.parse(pvd).getroot()
    return [(float(d.get("timestep", 0)), pvd.parent / d.get("file", "")) for d in root.iter("DataSet")]


def _read(path: Path) -> Any:
    import pyvista

    return pyvista.read(path)


def density_figure(out: Path, kind: str, title: str) -> list[Path]:
    """``out/figures/<kind>_density.png`` from ``rho_<kind>.pvd`` (and ``J_<kind>.pvd`` if written)."""
    _agg()
    pvd = out / f"rho_{kind}.pvd"
    if not pvd.is_file():
        return []
    series = _series(pvd)
    current = out / f"J_{kind}.pvd"
    J = _read(_series(current)[-1][1]) if current.is_file() else None
    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    return [_plot_density(series, J, figs / f"{kind}_density.png", title, kind)]


def observables_figure(out: Path, title: str) -> list[Path]:
    """``out/figures/observables.png`` from ``observables.csv`` (mass, min ρ / max ρ, mean over time)."""
    _agg()
    obs = out / "observables.csv"
    if not obs.is_file():
        return []
    figs = out / "figures"
    figs.mkdir(exist_ok=True)
    return [_plot_observables(obs, figs / "observables.png", title)]


def _agg() -> None:
    import matplotlib

    matplotlib.use("Agg")


def _plot_density(series: list[tuple[float, Path]], J: Any, target: Path, title: str, kind: str) -> Path:
    import matplotlib.pyplot as plt

    last = _read(series[-1][1])
    name = f"rho_{kind}"
    pts = np.asarray(last.points)
    dim = 3 if np.ptp(pts[:, 2]) > 0 else (2 if np.ptp(pts[:, 1]) > 0 else 1)
    if dim == 3:
        return _plot_slices(last, name, target, title)
    picks = (
        series if len(series) <= 4 else [series[i] for i in np.linspace(0, len(series) - 1, 4).astype(int)]
    )
    if dim == 1:
        fig, ax = plt.subplots(figsize=(7, 4))
        for t, f in picks:
            g = _read(f)
            order = np.argsort(g.points[:, 0])
            label = f"t = {t:g}" if kind == "transient" else None
            ax.plot(g.points[order, 0], np.asarray(g.point_data[name])[order], label=label)
        ax.set_xlabel("x")
        ax.set_ylabel("ρ")
        if kind == "transient":
            ax.legend()
        ax.set_title(title)
    else:
        if kind == "stationary":
            picks = picks[-1:]
        fig, axes = plt.subplots(1, len(picks), figsize=(6.5 * len(picks), 5.5), squeeze=False)
        for ax, (t, f) in zip(axes[0], picks, strict=True):
            g = _read(f)
            p, rho = np.asarray(g.points), np.asarray(g.point_data[name])
            levels = np.linspace(rho.min(), rho.max(), 41) if rho.max() > rho.min() else 41
            tri = ax.tricontourf(p[:, 0], p[:, 1], rho, levels=levels, cmap="viridis")
            fig.colorbar(tri, ax=ax, label="ρ", shrink=0.85)
            if J is not None:
                _streamlines(ax, J, f"J_{kind}")
            ax.set_aspect("equal")
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            ax.set_title(f"{title} (t = {t:g})" if kind == "transient" else title)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target


def _streamlines(ax: Any, J: Any, name: str) -> None:
    from scipy.interpolate import griddata

    pts = np.asarray(J.points)[:, :2]
    vec = np.asarray(J.point_data[name])[:, :2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
    u = griddata(pts, vec[:, 0], (gx, gy), method="linear", fill_value=0.0)
    v = griddata(pts, vec[:, 1], (gx, gy), method="linear", fill_value=0.0)
    speed = np.hypot(u, v)
    if speed.max() <= 0:
        return
    faint = speed < 1e-4 * speed.max()  # no streamlines where the current is round-off noise
    u, v = np.ma.masked_where(faint, u), np.ma.masked_where(faint, v)
    ax.streamplot(
        gx, gy, u, v, color="white", density=1.2, linewidth=0.4 + 1.6 * speed / speed.max(), arrowsize=0.8
    )


def _plot_slices(grid: Any, name: str, target: Path, title: str) -> Path:
    import pyvista

    pyvista.OFF_SCREEN = True
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
    plotter = pyvista.Plotter(off_screen=True, window_size=(900, 700))
    plotter.add_mesh(grid.slice_orthogonal(), scalars=name, cmap="viridis")
    plotter.add_mesh(grid.outline(), color="black")
    plotter.add_text(title, font_size=10)
    plotter.screenshot(str(target))
    plotter.close()
    return target


def _plot_observables(obs: Path, target: Path, title: str) -> Path:
    import matplotlib.pyplot as plt

    with open(obs) as f:
        rows = list(csv.DictReader(f))
    data = {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}
    means = [k for k in data if k.startswith("mean_")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(data["t"], data["mass"] - data["mass"][0], "o-")
    axes[0].set_title("mass change ∫ρ(t) − ∫ρ(0)")
    axes[1].plot(data["t"], data["min"] / data["max"], "o-")
    axes[1].set_title("min ρ / max ρ")
    for k in means:
        axes[2].plot(data["t"], data[k], "o-", label=k)
    axes[2].legend()
    axes[2].set_title("mean")
    for ax in axes:
        ax.set_xlabel("t")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
