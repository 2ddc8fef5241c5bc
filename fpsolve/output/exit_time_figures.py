"""Figures of the exit-time analysis (rank 0, matplotlib): T and its bounds, validation, sweeps."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.style import plt_agg, save

__all__ = ["boundary_peak", "exit_time_figure", "exit_time_sweep_figure", "exit_validation_figure"]


def exit_time_figure(
    target: Path,
    maps: tuple[Any, np.ndarray, np.ndarray, np.ndarray] | None,
    profile: dict,
    start_points: np.ndarray,
    title: str,
    eps2: float,
    names: list[str],
    degenerate: bool = False,
) -> Path:
    """2-D: maps of T, lower/T and T/upper on the mesh's triangles; every dimension: the chord profile.

    ``maps`` is (matplotlib triangulation of the mesh, T, lower bound, upper bound) at its vertices, or
    None in 1-D and 3-D. Where the largest T lies within a cell of the absorbing boundary the figure
    says so (a boundary layer of the discrete T; with ``degenerate`` noise, Q of rank below the
    dimension, on boundary that the process does not cross).
    """
    from matplotlib.ticker import MaxNLocator

    plt = plt_agg()
    two_d = maps is not None
    fig, axes = plt.subplots(
        1, 4 if two_d else 1, figsize=(22 if two_d else 7, 5.4), squeeze=False, layout="constrained"
    )
    axes = axes[0]
    if maps is not None:
        _maps(fig, axes[:3], maps, np.asarray(start_points), names)
        note = boundary_peak(*maps[:2], degenerate)
        if note:
            fig.supxlabel(note, fontsize=8)
    _chord(axes[-1], profile)
    for ax in axes:  # at most 5 labelled ticks: 0.25-steps over [−1, 1] crowd a 5-inch panel
        ax.xaxis.set_major_locator(MaxNLocator(5))
    fig.suptitle(f"{title}: mean exit time and bounds (ε² = {eps2:g})")
    return save(fig, target)


def _maps(fig: Any, axes: Any, maps: tuple, starts: np.ndarray, names: list[str]) -> None:
    """T, lower bound / T and log10(T / upper bound), with round colour-bar ticks and the start points."""
    from matplotlib.ticker import MaxNLocator

    tri, T, lower, upper = maps
    keep = T > 1e-6 * T.max()
    for ax, values, label, masked in (
        (axes[0], T, "T(x) (FE)", False),
        (axes[1], np.where(keep, lower / np.where(keep, T, 1), np.nan), "lower bound / T", True),
        (axes[2], np.where(keep, T / np.where(keep, upper, 1), np.nan), "T / upper bound", True),
    ):
        if label == "T / upper bound":
            values = np.log10(np.clip(values, 1e-300, None))
            label = "log10(T / upper bound)"
        tri.set_mask(~keep[tri.triangles].all(axis=1) if masked else None)
        shown = np.where(np.isfinite(values), values, 0.0)
        image = ax.tricontourf(tri, shown, levels=30, cmap="viridis")
        fig.colorbar(image, ax=ax, shrink=0.85, label=label, ticks=MaxNLocator(6))
        ax.plot(starts[:, 0], starts[:, 1], "r*", ms=10, label="start points")
        ax.set_aspect("equal")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(label)
    tri.set_mask(None)
    axes[0].legend(fontsize=8, loc="lower right")


def boundary_peak(tri: Any, T: np.ndarray, degenerate: bool) -> str:
    """A note where the largest T is within one cell of the absorbing boundary (T = 0), else ''."""
    edges = tri.edges
    h = float(np.median(np.hypot(*(np.diff(np.stack([tri.x[edges], tri.y[edges]]), axis=2)[..., 0]))))
    top = int(np.argmax(T))
    zero = T <= 0.0
    if not zero.any():
        return ""
    gap = float(np.hypot(tri.x[zero] - tri.x[top], tri.y[zero] - tri.y[top]).min())
    if gap > 1.5 * h:
        return ""
    at = f"({tri.x[top]:.3g}, {tri.y[top]:.3g})"
    where = f"max T = {T[top]:.4g} at {at}, {gap:.2g} from the boundary (cell ≈ {h:.2g})"
    why = (
        "Q is degenerate: T = 0 is imposed also where the noise has no component across the boundary and "
        "the process does not exit there, and the discrete T jumps to it within a cell"
        if degenerate
        else "a boundary layer of the discrete T"
    )
    return textwrap.fill(f"{where}: {why}.", 230)


def _chord(ax: Any, profile: dict) -> None:
    """T and its bounds along the chord through the ball's centre; an off-scale bound is named."""
    s = profile["s"]
    ax.semilogy(s, profile["T"], "k-", lw=2, label="FE T")
    ax.semilogy(s, profile["lower"], "b--", label="lower bound (R0² − r²)/(2ε²σd)")
    curves = [profile["T"], profile["lower"]]
    theory = profile.get("theory")
    if theory is not None and np.isfinite(theory).any():
        ok = np.isfinite(theory)
        ax.semilogy(s[ok], theory[ok], "m-.", label="upper bound as stated, theory §1.3(b)")
        curves.append(theory[ok])
    top = 1e3 * max(float(np.nanmax(c)) for c in curves)  # room for the legend above the curves
    finite = np.isfinite(profile["upper"])
    if finite.any():
        slab = float(np.nanmax(profile["upper"][finite]))
        off = f" (up to {slab:.2g}, off the axis)" if slab > top else ""
        ax.semilogy(
            s[finite], profile["upper"][finite], "r--", label=f"slab upper bound, theory §1.3(a){off}"
        )
    ax.set_ylim(max(1e-3 * np.nanmax(profile["T"]), 1e-12), top)
    d = ", ".join(f"{c:.2f}" for c in profile["direction"])
    centre = profile.get("centre")
    x0 = f"x0 = ({', '.join(f'{c:.3g}' for c in centre)})" if centre is not None else "x0 the ball's centre"
    ax.set_xlabel(f"s along x0 + s·({d}), {x0}")
    ax.set_ylabel("mean exit time")
    ax.set_title("chord through the ball's centre x0")
    ax.legend(fontsize=7, loc="upper center")


def exit_validation_figure(target: Path, series: dict, title: str, sigmas: float) -> Path:
    """FE T at the start points against the Monte Carlo means ± k s.e."""
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    k = np.arange(len(series["fe_T"]))
    ax.plot(k, series["fe_T"], "ko", ms=8, label="FE T(x0)")
    ax.errorbar(
        k + 0.1,
        series["mc_T"],
        yerr=sigmas * np.asarray(series["mc_T_se"]),
        fmt="rs",
        mfc="none",
        capsize=4,
        label=f"MC (Δt/2) ± {sigmas:g} s.e.",
    )
    ax.set_xticks(k, [str(tuple(round(c, 3) for c in p)) for p in series["start_points"]], fontsize=8)
    ax.set_xlabel("start point")
    ax.set_ylabel("mean exit time")
    ax.legend()
    ax.set_title(f"{title}: exit times, finite elements vs Monte Carlo")
    return save(fig, target)


def exit_time_sweep_figure(target: Path, f: dict[str, Any], title: str) -> Path:
    """Log E τ against 1/ε² at the start points, with the bounds and the slope ΔL.

    The legend gives each start point's least-squares slope and its local slope at the two smallest ε
    (what the Arrhenius check compares with ΔL); the right panel's y range follows T and the bounds
    that stay near it, an off-scale slab bound is named with its largest value.
    """
    plt = plt_agg()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    x = np.asarray(f["inverse_eps2"])
    log_t = np.asarray(f["log_T"])
    first = _point(f["start_points"][0])
    local = f.get("slopes_smallest_eps", [np.nan] * len(f["slopes"]))
    for k, p in enumerate(f["start_points"]):
        label = f"FE log T{_point(p)}: slope {f['slopes'][k]:.3f}, {local[k]:.3f} at the two smallest ε"
        ax.plot(x, log_t[:, k], "o-", ms=4, label=label)
    ax.plot(x, f["log_lower_bound"], "b--", label=f"log lower bound at {first}")
    if f.get("barrier") is not None:
        ax.plot(
            x,
            log_t[-1, 0] + f["barrier"] * (x - x[-1]),
            "k:",
            label=f"slope ΔL = {f['barrier']:.3f} (through the last point)",
        )
    ax.set_xlabel("1/ε²")
    ax.set_ylabel("log E τ")
    ax.legend(fontsize=7)
    ax.set_title("FE exit times and the lower bound")
    ax2.plot(x, log_t[:, 0], "ko-", label=f"FE log T at {first}")
    ax2.plot(x, f["log_lower_bound"], "b--", label="log lower bound")
    shown = [log_t[:, 0], np.asarray(f["log_lower_bound"])]
    if "log_theory_bound" in f:
        ax2.plot(x, f["log_theory_bound"], "m-.", label="log upper bound as stated, §1.3(b)")
        shown.append(np.asarray(f["log_theory_bound"]))
    lo, hi = min(float(v.min()) for v in shown), max(float(v.max()) for v in shown)
    top = hi + 0.5 * (hi - lo)
    slab = np.asarray(f["log_upper_bound"])
    off = f" (up to {slab.max():.3g}, off the axis)" if slab.max() > top else ""
    ax2.plot(x, slab, "r--", label=f"log slab upper bound, §1.3(a){off}")
    ax2.set_ylim(lo - 0.1 * (hi - lo), top)
    ax2.set_xlabel("1/ε²")
    ax2.legend(fontsize=8, loc="upper left")
    ax2.set_title(f"both bounds at the first start point {first}")
    fig.suptitle(f"{title}: exit time vs 1/ε²")
    return save(fig, target)


def _point(p: Any) -> str:
    """``(0, 0.5)``: a start point with short coordinates."""
    return "(" + ", ".join(f"{float(c):g}" for c in p) + ")"
