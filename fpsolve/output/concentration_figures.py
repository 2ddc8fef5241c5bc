"""Figures of the mass-concentration analysis (rank 0, matplotlib): snapshots and β(t), validation, sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.style import plt_agg, save

__all__ = ["concentration_figure", "concentration_sweep_figure", "concentration_validation_figure"]


def concentration_figure(
    target: Path,
    record: dict,
    snapshots: list[tuple[float, np.ndarray, np.ndarray]],
    tri: Any | None,
    title: str,
    names: list[str],
) -> Path:
    """Density snapshots (one colour scale) with the shrinking ball, and m(t), β(t) (FE, exact if given).

    ``snapshots`` are (t, vertex coordinates, ρ at the vertices); 2-D maps are drawn on ``tri``, the
    mesh's own triangles (:func:`fpsolve.output.density_figures.mesh_triangulation`), 1-D as profiles.
    """
    plt = plt_agg()
    n = len(snapshots)
    fig, axes = plt.subplots(1, n + 1, figsize=(4.6 * (n + 1) + 1, 4.4), squeeze=False, layout="constrained")
    axes = axes[0]
    centre = np.asarray(record["center"])
    top = max(max(float(rho.max()) for _, _, rho in snapshots), 1e-300)
    levels = np.linspace(0.0, top, 31)  # from 0: round-off below 0 would leave holes
    filled = None
    for ax, (t, coords, rho) in zip(axes[:n], snapshots, strict=True):
        r = record["R0"] * np.exp(-record["lambda"] * max(t - record["t0"], 0.0) / 2)
        if tri is not None:
            filled = ax.tricontourf(tri, np.clip(rho, 0.0, top), levels=levels, cmap="viridis")
            th = np.linspace(0, 2 * np.pi, 200)
            ax.plot(centre[0] + r * np.cos(th), centre[1] + r * np.sin(th), "w-", lw=1.5)
            ax.set_aspect("equal")
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
        else:
            order = np.argsort(coords[:, 0])
            ax.plot(coords[order, 0], rho[order])
            ax.axvspan(centre[0] - r, centre[0] + r, alpha=0.2)
            ax.set_ylim(0.0, 1.05 * top)
        ax.set_title(f"ρ(t = {t:.3g}), ball radius {r:.3g}")
    if filled is not None:
        ticks = np.linspace(0.0, top, 6)
        fig.colorbar(
            filled, ax=list(axes[:n]), shrink=0.85, ticks=ticks, format="%.3g", label="ρ(t, x), all snapshots"
        )
    ax = axes[-1]
    t = np.asarray(record["t"])
    ax.plot(t, record["beta_fe"], "k-", label="β(t) FE")
    if record.get("beta_exact") is not None:
        ax.plot(t, record["beta_exact"], "r--", label="β(t) exact (OU)")
    ax.plot(t, record["beta_chebyshev_bound"], "b:", label="Chebyshev bound on β (§1.4)")
    ax.axhline(record["threshold"], color="grey", ls=":", label="threshold")
    ax.set_xlabel("t")
    ax.set_ylabel("β(t) = m(t0) − m(t)")
    ax.legend(fontsize=8)
    ax.set_title("mass deficit in the shrinking ball")
    fig.suptitle(f"{title}: mass concentration (ε² = {record['eps2']:g})")
    return save(fig, target)


def concentration_validation_figure(target: Path, series: dict, title: str, sigmas: float) -> Path:
    """m(t): FE against the Monte Carlo fraction in the ball ± k s.e."""
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(series["t"], series["fe_m"], "k-o", ms=3, label="FE m(t)")
    ax.errorbar(
        series["t"],
        series["mc_m"],
        yerr=sigmas * np.asarray(series["mc_m_se"]),
        fmt="rs",
        mfc="none",
        ms=4,
        capsize=3,
        label=f"MC (Δt/2) ± {sigmas:g} s.e.",
    )
    ax.set_xlabel("t")
    ax.set_ylabel("m(t) = mass in the shrinking ball")
    ax.legend()
    ax.set_title(f"{title}: finite elements vs Monte Carlo")
    return save(fig, target)


def concentration_sweep_figure(target: Path, f: dict[str, Any], title: str) -> Path:
    """β(t) of every run, and the breakdown time against log(1/ε) with the predicted slope 2/λ."""
    plt = plt_agg()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for run in f["curves"]:
        axes[0].plot(run["t"], run["beta_fe"], "-", label=f"ε² = {run['eps2']:g} FE")
        if run.get("beta_exact") is not None:
            axes[0].plot(run["t"], run["beta_exact"], "k:", lw=0.8)
    axes[0].axhline(f["threshold"], color="grey", ls=":")
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("β(t) (dotted: exact)")
    axes[0].legend(fontsize=8)
    x = np.asarray(f["log_inverse_eps"])
    y_fe = np.array([np.nan if v is None else v for v in f["breakdown_fe"]], dtype=float)
    fitted = "no breakdown in ≥ 2 runs" if f["slope_fe"] is None else f"slope {f['slope_fe']:.3f}"
    axes[1].plot(x, y_fe, "ko", label=f"FE: {fitted}")
    if f.get("slope_chebyshev") is not None:
        axes[1].plot(
            x,
            [np.nan if v is None else v for v in f["breakdown_chebyshev"]],
            "b^",
            mfc="none",
            label=f"Chebyshev guarantee: slope {f['slope_chebyshev']:.3f}",
        )
    if f.get("slope_exact") is not None:
        exact = [np.nan if v is None else v for v in f["breakdown_exact"]]
        axes[1].plot(x, exact, "r+", ms=10, label=f"exact OU: slope {f['slope_exact']:.3f}")
    ok = np.isfinite(y_fe)
    if ok.any():
        through = np.mean(y_fe[ok]) - f["predicted_slope"] * np.mean(x[ok])  # through the FE centroid
        axes[1].plot(
            x,
            through + f["predicted_slope"] * x,
            "b--",
            label=f"slope 2/λ = {f['predicted_slope']:.3f} (α = 1)",
        )
    axes[1].set_xlabel("log(1/ε)")
    axes[1].set_ylabel("breakdown time (β > threshold)")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"{title}: breakdown of mass concentration")
    return save(fig, target)
