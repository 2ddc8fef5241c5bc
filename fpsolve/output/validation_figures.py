"""Figures of ``fpsolve validate`` (rank 0): FE moments over time, FE bins against Monte Carlo histograms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.style import plt_agg, save

__all__ = ["exit_histogram_figure", "histogram_figure", "moments_figure"]


def moments_figure(series: list[dict[str, Any]], target: Path, title: str) -> Path:
    """FE mean and variance of every coordinate against Monte Carlo ± 4 s.e., over time."""
    plt = plt_agg()
    series = [s for s in series if "fe_mean" in s]
    d = len(series[0]["fe_mean"])
    t = np.array([s["t"] for s in series])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i in range(d):
        fe = np.array([s["fe_mean"][i] for s in series])
        mc = np.array([s["mc_mean"][i] for s in series])
        se = np.array([s["mc_mean_se"][i] for s in series])
        axes[0].plot(t, fe, "o-", label=f"FE mean {'xyz'[i]}")
        axes[0].errorbar(
            t, mc, yerr=4 * se, fmt="s", mfc="none", capsize=4, label=f"MC mean {'xyz'[i]} ± 4 s.e."
        )
        fe_c = np.array([s["fe_cov"][i][i] for s in series])
        mc_c = np.array([s["mc_cov"][i][i] for s in series])
        se_c = np.array([s["mc_cov_se"][i][i] for s in series])
        axes[1].plot(t, fe_c, "o-", label=f"FE var {'xyz'[i]}")
        axes[1].errorbar(
            t, mc_c, yerr=4 * se_c, fmt="s", mfc="none", capsize=4, label=f"MC var {'xyz'[i]} ± 4 s.e."
        )
    for ax, name in zip(axes, ("mean", "variance"), strict=True):
        ax.set_xlabel("t")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: finite elements vs Monte Carlo")
    return save(fig, target)


def histogram_figure(histograms: list[dict[str, Any]], target: Path, title: str, caption: str) -> Path:
    """Monte Carlo histograms (± 1 s.e.) against the FE probability of each bin, with residuals.

    ``histograms``: records of :func:`fpsolve.analyses.histograms.compare`, drawn in (quantity, time)
    order, three to a row; each a density panel (probability / bin width) over a panel of the
    residuals (MC − FE)/s.e. with the check's tolerance.
    """
    plt = plt_agg()
    panels = sorted(histograms, key=lambda h: (h["quantity"], h["t"]))
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(
        2 * rows,
        cols,
        figsize=(max(5.2 * cols, 9.0), 4.4 * rows + 0.8),
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1] * rows},
    )
    for k, h in enumerate(panels):
        ax, res = axes[2 * (k // cols), k % cols], axes[2 * (k // cols) + 1, k % cols]
        res.sharex(ax)
        edges = np.asarray(h["edges"])
        width, centres = np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
        ax.stairs(np.asarray(h["fe"]) / width, edges, color="k", lw=1.4, label="FE probability of the bin")
        ax.errorbar(
            centres,
            np.asarray(h["mc"]) / width,
            yerr=np.asarray(h["mc_se"]) / width,
            fmt="o",
            ms=3,
            color="tab:red",
            capsize=2,
            label=f"MC, {h['n_paths']} paths ± 1 s.e.",
        )
        ax.set_ylabel("probability / bin width")
        ax.set_title(
            f"{h['quantity']} at t = {h['t']:g}: χ² = {h['chi2']:.1f} over {h['chi2_bins']} bins"
            f" (tolerance {h['chi2_tolerance']:.1f})",
            fontsize=10,
        )
        ax.legend(fontsize=8)
        ax.tick_params(labelbottom=False)
        z, tol = np.asarray(h["z"]), h["z_tolerance"]
        res.bar(centres, z, width=0.8 * width, color="tab:red")
        res.axhline(0.0, color="k", lw=0.6)
        res.axhline(tol, color="grey", ls="--", lw=0.8, label=f"± {tol:.2f}: tolerance (+ Δt bias)")
        res.axhline(-tol, color="grey", ls="--", lw=0.8)
        top = 1.25 * max(tol, float(np.abs(z).max()))
        res.set_ylim(-top, top)
        res.set_ylabel("(MC − FE) / s.e.", fontsize=8)
        res.set_xlabel(h["quantity"])
        res.legend(fontsize=7, loc="lower right")
    for k in range(len(panels), rows * cols):
        axes[2 * (k // cols), k % cols].set_visible(False)
        axes[2 * (k // cols) + 1, k % cols].set_visible(False)
    fig.suptitle(f"{title}: Monte Carlo histograms against finite elements\n{caption}", fontsize=10)
    return save(fig, target)


def exit_histogram_figure(histograms: list[dict[str, Any]], target: Path, title: str) -> Path:
    """Monte Carlo exit times at each start point (± 1 s.e.), with the FE mean and sd of τ marked.

    The finite elements give E τ = T and sd(τ) (from E τ² = T₂), not the law of τ: the histogram is
    Monte Carlo alone, the lines compare its location and spread with the FE moments.
    """
    plt = plt_agg()
    n = len(histograms)
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.6), squeeze=False)
    for ax, h in zip(axes[0], histograms, strict=True):
        edges = np.asarray(h["edges"])
        width, centres = np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
        density = np.asarray(h["mc"]) / width
        ax.stairs(density, edges, fill=True, color="tab:red", alpha=0.3)
        ax.errorbar(
            centres,
            density,
            yerr=np.asarray(h["mc_se"]) / width,
            fmt="none",
            color="tab:red",
            capsize=2,
            label=f"MC, {h['n_paths']} paths ± 1 s.e.",
        )
        T, sd = h["fe_T"], h["fe_sd"]
        ax.axvline(T, color="k", lw=1.6, label=f"FE mean T = {T:.4g}")
        ax.axvspan(max(T - sd, 0.0), T + sd, color="k", alpha=0.08, label=f"FE T ± sd(τ), sd = {sd:.4g}")
        ax.axvline(h["mc_T"], color="tab:red", ls=":", lw=1.6, label=f"MC mean {h['mc_T']:.4g}")
        point = ", ".join(f"{c:g}" for c in h["start_point"])
        ax.set_title(f"x0 = ({point}); {100 * h['beyond']:.2g} % of paths beyond the last bin", fontsize=10)
        ax.set_xlabel("exit time τ")
        ax.set_ylabel("probability / bin width")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"{title}: exit times, Monte Carlo histogram against the FE moments\n"
        "FE gives the mean T and sd(τ) (second moment T₂), not the distribution: "
        "the histogram is Monte Carlo only",
        fontsize=10,
    )
    return save(fig, target)
