"""Figures (rank 0, matplotlib) of the exit-time and mass-concentration analyses, validation, sweeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    _plt().close(fig)
    return target


def exit_time_figure(
    target: Path,
    nodal: tuple[np.ndarray, list[np.ndarray]],
    profile: dict,
    start_points: np.ndarray,
    title: str,
    eps2: float,
) -> Path:
    """2-D: maps of T, lower/T and T/upper with the start points; every dimension: the chord profile."""
    plt = _plt()
    coords, (T, lower, upper) = nodal
    two_d = coords.shape[1] == 2
    fig, axes = plt.subplots(1, 4 if two_d else 1, figsize=(22 if two_d else 7, 5), squeeze=False)
    axes = axes[0]
    if two_d:
        starts = np.asarray(start_points)
        keep = T > 1e-6 * T.max()
        for ax, values, label, mask in (
            (axes[0], T, "T(x) (FE)", np.ones_like(keep)),
            (axes[1], np.where(keep, lower / np.where(keep, T, 1), np.nan), "lower bound / T", keep),
            (axes[2], np.where(keep, T / np.where(keep, upper, 1), np.nan), "T / upper bound", keep),
        ):
            v = values[mask]
            if label == "T / upper bound":
                v = np.log10(np.clip(v, 1e-300, None))
                label = "log10(T / upper bound)"
            tri = ax.tricontourf(coords[mask, 0], coords[mask, 1], v, levels=30, cmap="viridis")
            fig.colorbar(tri, ax=ax, shrink=0.85)
            ax.plot(starts[:, 0], starts[:, 1], "r*", ms=10, label="start points")
            ax.set_aspect("equal")
            ax.set_title(label)
        axes[0].legend(fontsize=8, loc="lower right")
    ax = axes[-1]
    s = profile["s"]
    ax.semilogy(s, profile["T"], "k-", lw=2, label="FE T")
    ax.semilogy(s, profile["lower"], "b--", label="lower bound (R0² − r²)/(2ε²σd)")
    finite = np.isfinite(profile["upper"])
    if finite.any():
        ax.semilogy(s[finite], profile["upper"][finite], "r--", label="upper bound (Λ, G, R_v)")
    d = ", ".join(f"{c:.2f}" for c in profile["direction"])
    ax.set_xlabel(f"s along x0 + s·({d})")
    ax.set_ylim(bottom=max(1e-3 * np.nanmax(profile["T"]), 1e-12))
    ax.set_title("chord through x0")
    ax.legend(fontsize=8)
    fig.suptitle(f"{title}: mean exit time and bounds (ε² = {eps2:g})")
    return _save(fig, target)


def exit_validation_figure(target: Path, series: dict, title: str, sigmas: float) -> Path:
    """FE T at the start points against the Monte Carlo means ± k s.e."""
    plt = _plt()
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
    return _save(fig, target)


def concentration_figure(
    target: Path, record: dict, snapshots: list[tuple[float, np.ndarray, np.ndarray]], title: str
) -> Path:
    """Density snapshots with the shrinking ball, and m(t), β(t) (FE, exact when given)."""
    plt = _plt()
    n = len(snapshots)
    fig, axes = plt.subplots(1, n + 1, figsize=(4.6 * (n + 1), 4.4), squeeze=False)
    axes = axes[0]
    centre = np.asarray(record["center"])
    for ax, (t, coords, rho) in zip(axes[:n], snapshots, strict=True):
        r = record["R0"] * np.exp(-record["lambda"] * max(t - record["t0"], 0.0) / 2)
        if coords.shape[1] == 2:
            top = max(float(rho.max()), 1e-300)  # levels from 0: round-off below 0 would leave holes
            levels = np.linspace(0.0, top, 31)
            ax.tricontourf(coords[:, 0], coords[:, 1], np.clip(rho, 0.0, top), levels=levels, cmap="viridis")
            th = np.linspace(0, 2 * np.pi, 200)
            ax.plot(centre[0] + r * np.cos(th), centre[1] + r * np.sin(th), "w-", lw=1.5)
            ax.set_aspect("equal")
        else:
            order = np.argsort(coords[:, 0])
            ax.plot(coords[order, 0], rho[order])
            ax.axvspan(centre[0] - r, centre[0] + r, alpha=0.2)
        ax.set_title(f"ρ(t = {t:.3g}), ball radius {r:.3g}")
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
    return _save(fig, target)


def concentration_validation_figure(target: Path, series: dict, title: str, sigmas: float) -> Path:
    """m(t): FE against the Monte Carlo fraction in the ball ± k s.e."""
    plt = _plt()
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
    return _save(fig, target)


def exit_time_sweep_figure(target: Path, f: dict[str, Any], title: str) -> Path:
    """Log E τ against 1/ε² at the start points, with the bounds and the slope ΔL."""
    plt = _plt()
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
    ax2.plot(x, f["log_upper_bound"], "r--", label="log upper bound (optimised β)")
    ax2.set_xlabel("1/ε²")
    ax2.legend(fontsize=8)
    ax2.set_title("both bounds at the first start point")
    fig.suptitle(f"{title}: exit time vs 1/ε²")
    return _save(fig, target)


def concentration_sweep_figure(target: Path, f: dict[str, Any], title: str) -> Path:
    """β(t) of every run, and the breakdown time against log(1/ε) with the predicted slope 2/λ."""
    plt = _plt()
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
    axes[1].plot(x, f["breakdown_fe"], "ko", label=f"FE: slope {f['slope_fe']:.3f}")
    if f.get("slope_chebyshev") is not None:
        axes[1].plot(
            x,
            [np.nan if v is None else v for v in f["breakdown_chebyshev"]],
            "b^",
            mfc="none",
            label=f"Chebyshev guarantee: slope {f['slope_chebyshev']:.3f}",
        )
    if f.get("slope_exact") is not None:
        axes[1].plot(x, f["breakdown_exact"], "r+", ms=10, label=f"exact OU: slope {f['slope_exact']:.3f}")
    y_fe = np.array([np.nan if v is None else v for v in f["breakdown_fe"]], dtype=float)
    ok = np.isfinite(y_fe)
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
    return _save(fig, target)
