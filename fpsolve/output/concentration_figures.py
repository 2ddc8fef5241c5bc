"""Figures of the mass-concentration analysis (rank 0, matplotlib): snapshots and β(t), validation, sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.scales import ColourScale, choose_scale, vertex_weights
from fpsolve.output.style import plt_agg, save

__all__ = [
    "OWN_SCALE",
    "concentration_figure",
    "concentration_sweep_figure",
    "concentration_validation_figure",
]

#: Snapshots whose peaks differ by more than this factor get a linear colour scale each (what the
#: figure compares is the density's spread against the ball, not its level).
OWN_SCALE = 2.0


def concentration_figure(
    target: Path,
    record: dict,
    snapshots: list[tuple[float, np.ndarray, np.ndarray]],
    tri: Any | None,
    title: str,
    names: list[str],
) -> Path:
    """Density snapshots with the shrinking ball, and β(t) (FE, exact if given, the Chebyshev bound).

    ``snapshots`` are (t, vertex coordinates, ρ at the vertices); 2-D maps are drawn on ``tri``, the
    mesh's own triangles (:func:`fpsolve.output.density_figures.mesh_triangulation`), on the colour
    scale :func:`~fpsolve.output.scales.choose_scale` picks, one linear scale per panel where the peaks
    differ by more than :data:`OWN_SCALE` (a spreading or concentrating density would leave some
    snapshots one flat colour); 1-D as profiles.
    """
    plt = plt_agg()
    n = len(snapshots)
    fig, axes = plt.subplots(
        1, n + 1, figsize=(4.8 * (n + 1) + 1.5, 4.6), squeeze=False, layout="constrained"
    )
    axes = axes[0]
    centre = np.asarray(record["center"])
    if tri is not None:
        _maps(fig, axes[:n], record, snapshots, tri, names)
    else:
        top = max(max(float(rho.max()) for _, _, rho in snapshots), 1e-300)
        for ax, (t, coords, rho) in zip(axes[:n], snapshots, strict=True):
            r = _radius(record, t)
            order = np.argsort(coords[:, 0])
            ax.plot(coords[order, 0], rho[order])
            ax.axvspan(centre[0] - r, centre[0] + r, alpha=0.2)
            ax.set_ylim(0.0, 1.05 * top)
            ax.set_title(f"ρ(t = {t:.3g}), ball radius {r:.3g}")
    ax = axes[-1]
    t = np.asarray(record["t"])
    ax.plot(t, record["beta_fe"], "k-", label="β(t) FE")
    if record.get("beta_exact") is not None:
        ax.plot(t, record["beta_exact"], "r--", label="β(t) exact (OU)")
    ax.plot(t, record["beta_chebyshev_bound"], "b:", label="Chebyshev bound on β (§1.4)")
    ax.axhline(record["threshold"], color="grey", ls=":", label=f"threshold {record['threshold']:g}")
    ax.set_xlabel("t")
    ax.set_ylabel(f"β(t) = m(t₀) − m(t), t₀ = {record['t0']:g}")
    ax.legend(fontsize=8)
    ax.set_title("mass deficit in the shrinking ball")
    fig.suptitle(f"{title}: mass concentration (ε² = {record['eps2']:g})")
    return save(fig, target)


def _radius(record: dict, t: float) -> float:
    """The ball's radius at time ``t``: R0 e^{−λ(t − t0)/2}, R0 before t0."""
    return float(record["R0"] * np.exp(-record["lambda"] * max(t - record["t0"], 0.0) / 2))


def _maps(fig: Any, axes: Any, record: dict, snapshots: list, tri: Any, names: list[str]) -> None:
    """The snapshots on the mesh's triangles with the ball, one colour scale or one per panel."""
    values = [rho for _, _, rho in snapshots]
    scale = choose_scale(values, vertex_weights(tri.triangles, tri.x, tri.y))
    peaks = [float(rho.max()) for rho in values]
    if scale.kind == "linear" and min(peaks) > 0 and max(peaks) > OWN_SCALE * min(peaks):
        scale = ColourScale("linear", True, scale.lo, scale.hi)  # the shape in the ball, not the level
    centre = np.asarray(record["center"])
    th = np.linspace(0, 2 * np.pi, 200)
    image = None
    for k, (ax, (t, _, rho)) in enumerate(zip(axes, snapshots, strict=True)):
        shown = np.maximum(rho, scale.lo) if scale.kind == "log" else rho
        image = ax.tricontourf(tri, shown, levels=scale.levels(rho), cmap="viridis", norm=scale.norm(rho))
        if scale.per_panel:
            label = scale.label() if k == len(snapshots) - 1 else None
            fig.colorbar(image, ax=ax, shrink=0.8, ticks=scale.ticks(rho), label=label)
        r = _radius(record, t)
        ax.plot(centre[0] + r * np.cos(th), centre[1] + r * np.sin(th), "w-", lw=1.5)
        ax.set_aspect("equal")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_title(f"ρ(t = {t:.3g}), ball radius {r:.3g}")
    if not scale.per_panel:
        fig.colorbar(image, ax=list(axes), shrink=0.85, ticks=scale.ticks(), label=scale.label())


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
    axes[0].axhline(f["threshold"], color="grey", ls=":", label=f"threshold {f['threshold']:g}")
    axes[0].plot([], [], "k:", lw=0.8, label="exact (OU), on each FE curve")
    axes[0].set_xlabel("t")
    axes[0].set_ylabel("β(t)")
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
        axes[1].plot(x, exact, "r+", ms=12, mew=1.5, label=f"exact OU: slope {f['slope_exact']:.3f} (+ on ●)")
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
