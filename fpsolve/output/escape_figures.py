"""Figure of the escape analysis (rank 0, from ``escape.xdmf`` and ``summary.json``).

Panels: the QSD on a log scale (log10 ν/max ν down to 1e-8, so its O(ε) core and its tails both show)
with the exit-location distribution on the boundary nodes where it is resolved; the committor (or
log10 T without a target); the exit fractions per absorbing part with λ₁, E_QSD[τ] and the
Eyring–Kramers ratio. 1-D problems get profiles, 3-D ones the fractions panel only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.density_figures import mesh_triangulation
from fpsolve.output.fields import read_series
from fpsolve.output.style import plt_agg, save

__all__ = ["escape_figure", "escape_sweep_figure"]

#: Lowest decade of the QSD's log colour scale.
FLOOR = -8.0


def escape_figure(out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
    """``out/figures/escape.png`` (module docstring); nothing if the fields are missing."""
    path = out / "escape.xdmf"
    obs = summary.get("observables", {}).get("escape")
    if not path.is_file() or obs is None:
        return []
    ((_, grid),) = read_series(path)[-1:]
    names = list(summary.get("coordinates", [])) or ["x", "y", "z"]
    dim = len(summary.get("coordinates", [])) or 2
    plt = plt_agg()
    fields = 2 if dim <= 2 else 0
    fig, axes = plt.subplots(
        1, fields + 1, figsize=(6.2 * fields + 5, 5), squeeze=False, layout="constrained"
    )
    axes = axes[0]
    nu = np.asarray(grid.point_data["qsd"])
    log_nu = _log_floor(nu) - np.log10(nu.max())
    second, label = (
        (np.asarray(grid.point_data["committor"]), "committor u(x) = P_x(exit through the target)")
        if "committor" in grid.point_data
        else (
            _log_floor(np.asarray(grid.point_data["T_escape"])),
            "log10 T(x) = log10 E_x τ",
        )
    )
    flux = np.asarray(grid.point_data["exit_flux"]) if "exit_flux" in grid.point_data else None
    if dim == 1:
        x = np.asarray(grid.points)[:, 0]
        order = np.argsort(x)
        axes[0].plot(x[order], log_nu[order], "k-")
        axes[0].set_ylabel("log10 ν / max ν")
        axes[0].set_title("quasi-stationary distribution")
        axes[1].plot(x[order], second[order], "b-")
        axes[1].set_title(label)
        for ax in axes[:2]:
            ax.set_xlabel(names[0])
    elif dim == 2:
        tri = mesh_triangulation(grid)
        image = axes[0].tricontourf(tri, log_nu, levels=np.linspace(FLOOR, 0, 33), cmap="viridis")
        fig.colorbar(image, ax=axes[0], label="log10 ν / max ν", shrink=0.85)
        if flux is not None and flux.max() > 0:
            on = flux > 1e-6 * flux.max()
            marks = axes[0].scatter(
                tri.x[on], tri.y[on], c=flux[on], cmap="autumn_r", s=45, edgecolors="k", linewidths=0.5
            )
            fig.colorbar(
                marks, ax=axes[0], label="exit-location distribution (per boundary node)", shrink=0.85
            )
        negative = nu < -1e-12 * nu.max()  # the log scale would show them as 0: mark them
        if negative.any():
            axes[0].plot(
                tri.x[negative],
                tri.y[negative],
                "r.",
                ms=2,
                label=f"ν < 0 (min {nu.min() / nu.max():.2g} max ν)",
            )
            axes[0].legend(fontsize=8, loc="upper right")
        axes[0].set_title(
            "QSD" + (" and where it exits" if flux is not None else " (exit flux not resolved)")
        )
        cmap = "coolwarm" if "committor" in label else "magma"  # committor: two-sided; log T: one-signed
        image = axes[1].tricontourf(tri, second, levels=33, cmap=cmap)
        fig.colorbar(image, ax=axes[1], label=label, shrink=0.85)
        axes[1].set_title(label.split(" = ")[0] if "committor" in label else "mean exit time")
        for ax in axes[:2]:
            ax.set_aspect("equal")
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
    _fractions(axes[-1], obs)
    fig.suptitle(title)
    return [save(fig, out / "figures" / "escape.png")]


def _log_floor(values: np.ndarray) -> np.ndarray:
    """log10 of ``values`` clipped to [max + FLOOR, max] (zeros on absorbing nodes, round-off below 0)."""
    top = float(values.max())
    with np.errstate(divide="ignore"):
        return np.clip(np.log10(np.clip(values, 0, None)), np.log10(top) + FLOOR, np.log10(top))


def _fractions(ax: Any, obs: Mapping[str, Any]) -> None:
    """Bar chart of the exit fractions, with the rate and its references as text."""
    parts = list(obs["exit_fractions"])
    if len(parts) > 1:
        ax.bar(parts, [obs["exit_fractions"][p] for p in parts], color="tab:blue")
    else:
        ax.set_xticks([])
    ax.set_ylim(0, 1.45)
    ax.set_ylabel("P_QSD(exit through the part)")
    lines = [
        f"λ₁ = {obs['rate']:.4g}",
        f"E_QSD[τ] = {obs['mean_exit_time_from_qsd']:.4g}",
        f"λ₁·E_QSD[τ] = {obs['rate_times_mean_exit_time']:.10g}"
        if obs["rate_source"] == "eigenvalue"
        else "λ₁ = 1/E_QSD[τ] (eigenvalue beyond double precision)",
    ]
    ek = obs.get("eyring_kramers")
    if ek:
        lines.append(f"λ₁ / Eyring–Kramers = {ek['rate_over_eyring_kramers']:.4f}")
    ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=9)
    ax.set_title("exit fractions from the QSD")


def escape_sweep_figure(target: Path, fit: Mapping[str, Any], title: str) -> Path:
    """The FE log E_QSD[τ] against 1/ε² with the fits; the prefactor log E τ − slope/ε² against ε²."""
    if "predicted_exponent" in fit:
        return _power_law_figure(target, fit, title)
    plt = plt_agg()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    x, y = np.asarray(fit["inverse_eps2"]), np.asarray(fit["log_tau"])
    ax.plot(x, y, "ko", label="FE: log E_QSD[τ] = −log λ₁")
    grid = np.linspace(x.min(), x.max(), 100)
    ax.plot(
        grid,
        y[-1] + fit["slope"] * (grid - x[-1]),
        "b-",
        lw=0.8,
        label=f"least squares: slope {fit['slope']:.4g}",
    )
    if "slope_corrected" in fit:
        curve = fit["slope_corrected"] * grid + fit["intercept_corrected"] + fit["correction"] / grid
        ax.plot(grid, curve, "g--", lw=0.8, label=f"a/ε² + b + cε²: slope a = {fit['slope_corrected']:.4g}")
    slope_ref = fit.get("predicted_slope", fit.get("slope_corrected", fit["slope"]))
    if "predicted_slope" in fit:
        ax.plot(
            grid,
            y[-1] + slope_ref * (grid - x[-1]),
            "r:",
            label=f"predicted slope {slope_ref:.4g} (through the last point)",
        )
    ax.set_xlabel("1/ε²")
    ax.set_ylabel("log E_QSD[τ]")
    ax.legend(fontsize=8)
    ax.set_title("Arrhenius plot")
    eps2 = 1 / x
    ax2.plot(eps2, y - slope_ref * x, "ko-", label=f"FE: log E τ − {slope_ref:.4g}/ε²")
    if "eyring_kramers_log_prefactor" in fit:
        ax2.axhline(
            fit["eyring_kramers_log_prefactor"],
            color="r",
            ls=":",
            label="Eyring–Kramers (Bouchet–Reygner) log prefactor",
        )
    ax2.set_xlabel("ε²")
    ax2.set_xlim(left=0)
    ax2.set_ylabel("log prefactor")
    ax2.legend(fontsize=8)
    ax2.set_title("prefactor (→ its ε → 0 limit as O(ε²))")
    fig.suptitle(f"{title}: escape time against the noise")
    return save(fig, target)


def _power_law_figure(target: Path, fit: Mapping[str, Any], title: str) -> Path:
    """The FE log E_QSD[τ] against log ε², fitted and predicted exponents (escape that is not activated)."""
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(7, 4.8))
    x, y = np.log(np.asarray(fit["eps2"])), np.asarray(fit["log_tau"])
    ax.plot(x, y, "ko", label="FE: log E_QSD[τ]")
    p = fit["predicted_exponent"]
    ax.plot(x, y[-1] + p * (x - x[-1]), "r:", label=f"predicted exponent {p:.4g} (through the last point)")
    ax.plot(
        x, y[-1] + fit["exponent"] * (x - x[-1]), "b-", lw=0.8, label=f"least squares: {fit['exponent']:.4f}"
    )
    ax.set_xlabel("log ε²")
    ax.set_ylabel("log E_QSD[τ]")
    ax.legend(fontsize=8, title=f"exponent at the two smallest ε: {fit['exponent_smallest_eps']:.4f}")
    ax.set_title(f"{title}: power law E τ ∝ (ε²)^p")
    return save(fig, target)
