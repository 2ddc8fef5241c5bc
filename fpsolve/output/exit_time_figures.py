"""Figures of the exit-time analysis (rank 0, matplotlib): T and its bounds, validation, sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.style import plt_agg, save

__all__ = ["exit_time_figure", "exit_time_sweep_figure", "exit_validation_figure"]


def exit_time_figure(
    target: Path,
    maps: tuple[Any, np.ndarray, np.ndarray, np.ndarray] | None,
    profile: dict,
    start_points: np.ndarray,
    title: str,
    eps2: float,
    names: list[str],
) -> Path:
    """2-D: maps of T, lower/T and T/upper on the mesh's triangles; every dimension: the chord profile.

    ``maps`` is (matplotlib triangulation of the mesh, T, lower bound, upper bound) at its vertices, or
    None in 1-D and 3-D.
    """
    from matplotlib.ticker import MaxNLocator

    plt = plt_agg()
    two_d = maps is not None
    fig, axes = plt.subplots(1, 4 if two_d else 1, figsize=(22 if two_d else 7, 5), squeeze=False)
    axes = axes[0]
    if maps is not None:
        tri, T, lower, upper = maps
        starts = np.asarray(start_points)
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
            fig.colorbar(image, ax=ax, shrink=0.85, label=label)
            ax.plot(starts[:, 0], starts[:, 1], "r*", ms=10, label="start points")
            ax.set_aspect("equal")
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
            ax.set_title(label)
        tri.set_mask(None)
        axes[0].legend(fontsize=8, loc="lower right")
    ax = axes[-1]
    s = profile["s"]
    ax.semilogy(s, profile["T"], "k-", lw=2, label="FE T")
    ax.semilogy(s, profile["lower"], "b--", label="lower bound (R0² − r²)/(2ε²σd)")
    finite = np.isfinite(profile["upper"])
    if finite.any():
        ax.semilogy(s[finite], profile["upper"][finite], "r--", label="slab upper bound, theory §1.3(a)")
    theory = profile.get("theory")
    if theory is not None and np.isfinite(theory).any():
        ok = np.isfinite(theory)
        ax.semilogy(s[ok], theory[ok], "m-.", label="upper bound as stated, theory §1.3(b)")
    d = ", ".join(f"{c:.2f}" for c in profile["direction"])
    ax.set_xlabel(f"s along x0 + s·({d})")
    ax.set_ylabel("mean exit time")
    ax.set_ylim(bottom=max(1e-3 * np.nanmax(profile["T"]), 1e-12))
    ax.set_title("chord through x0")
    ax.legend(fontsize=8)
    for ax in axes:  # at most 5 labelled ticks: 0.25-steps over [−1, 1] crowd a 5-inch panel
        ax.xaxis.set_major_locator(MaxNLocator(5))
    fig.suptitle(f"{title}: mean exit time and bounds (ε² = {eps2:g})")
    return save(fig, target)


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
    """Log E τ against 1/ε² at the start points, with the bounds and the slope ΔL."""
    plt = plt_agg()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    x = np.asarray(f["inverse_eps2"])
    for k, p in enumerate(f["start_points"]):
        y = np.asarray(f["log_T"])[:, k]
        ax.plot(x, y, "o-", label=f"FE log T{tuple(p)}: slope {f['slopes'][k]:.3f}")
    ax.plot(x, f["log_lower_bound"], "b--", label="log lower bound at the first point")
    if f.get("barrier") is not None:
        ax.plot(
            x,
            np.asarray(f["log_T"])[-1, 0] + f["barrier"] * (x - x[-1]),
            "k:",
            label=f"slope ΔL = {f['barrier']:.3f}",
        )
    ax.set_xlabel("1/ε²")
    ax.set_ylabel("log E τ")
    ax.legend(fontsize=8)
    ax.set_title("FE exit times and the lower bound")
    ax2.plot(x, np.asarray(f["log_T"])[:, 0], "ko-", label="FE log T at the first point")
    ax2.plot(x, f["log_lower_bound"], "b--", label="log lower bound")
    ax2.plot(x, f["log_upper_bound"], "r--", label="log slab upper bound, §1.3(a)")
    if "log_theory_bound" in f:
        ax2.plot(x, f["log_theory_bound"], "m-.", label="log upper bound as stated, §1.3(b)")
    ax2.set_xlabel("1/ε²")
    ax2.legend(fontsize=8)
    ax2.set_title("both bounds at the first start point")
    fig.suptitle(f"{title}: exit time vs 1/ε²")
    return save(fig, target)
