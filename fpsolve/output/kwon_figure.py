r"""Figure in the layout of Kunin et al. Fig. 3: original loss vs modified loss, current, one SGD path.

Panels (2-D problems): (1) contours of the loss :math:`\Phi = L` (or of ρ_h for a drift without a loss)
with one Euler–Maruyama path of the SDE; (2) contours of the modified loss
:math:`\Psi_h = -\varepsilon^2\log(\rho_h/\max\rho_h)`, its fitted quadratic (dashed) and streamlines
of the transverse drift :math:`j = J_h/\rho_h`, with the same path; (3) Ψ_h against Φ (or against the
fitted quadratic) at the grid points where ρ_h > 1e-6 max ρ_h. Against Φ no line is drawn: the theory
(docs/theory.md §2.1, §3.1) gives Ψ = ½(x − μ)ᵀU(x − μ) with U ≠ A when the current is not zero, so
Ψ is not a function of Φ and the spread of the points is the broken detailed balance. Against the
fitted quadratic the line Ψ_h = fit is the Gaussian's identity (an OU density is exactly that
quadratic), a check of the fit. Panels (1) and (2) have equal axes where the domain is not a long
strip (:func:`fpsolve.output.style.to_scale`). The grid samples and
the path are computed by the analysis (:func:`fpsolve.analyses.kwon.figure_grid`) and stored in
``kwon_figure.npz``; this module only draws them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.style import plt_agg, save, to_scale

__all__ = ["SEEN", "kwon_figure"]

#: Ψ_h, J_h/ρ_h and the scatter are drawn where ρ_h > SEEN · max ρ_h (Ψ_h < −log(SEEN) ε²).
SEEN = 1e-6


def kwon_figure(
    data: dict[str, np.ndarray], title: str, target: Path, names: tuple[str, str] = ("x", "y")
) -> Path:
    """Write the three-panel figure of ``data`` (:func:`fpsolve.analyses.kwon.figure_grid`) to ``target``."""
    gx, gy, r, j = data["gx"], data["gy"], data["rho"], data["j"]
    lo, hi, path, eps2 = data["lo"], data["hi"], data["path"], float(data["eps2"])
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    plt = plt_agg()
    rmax = np.nanmax(r)
    seen = r > SEEN * rmax
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = -eps2 * np.log(np.clip(r, 0, None) / rmax)
        u = np.where(seen, j[:, 0].reshape(gx.shape) / r, np.nan)
        v = np.where(seen, j[:, 1].reshape(gx.shape) / r, np.nan)
    y = pts - data["mu"]
    quad = 0.5 * np.einsum("ni,ij,nj->n", y, data["U"], y).reshape(gx.shape)
    levels = eps2 * np.array([0.125, 0.5, 1.125, 2, 3.125, 4.5, 6.125, 8])  # ½·(k/2)² in std units
    equal = to_scale(*(hi - lo))
    fig, axes = plt.subplots(1, 3, figsize=(16.5, 5.2), layout="constrained")
    ax = axes[0]
    if "loss" in data:
        phi = data["loss"] - data["loss"].min()
        filled = ax.contourf(gx, gy, phi, levels=20, cmap="viridis")
        fig.colorbar(filled, ax=ax, shrink=0.85, label=r"$\Phi - \min\Phi$")
        ax.set_title(r"original loss $\Phi = L$" "\n" r"and an SGD (Euler–Maruyama) path")
        other, other_name = phi, r"$\Phi - \min\Phi$"
    else:
        filled = ax.contourf(gx, gy, np.clip(r, 0, None), levels=20, cmap="viridis")
        fig.colorbar(filled, ax=ax, shrink=0.85, label=r"$\rho_h$")
        ax.set_title(r"stationary density $\rho_h$" "\n" r"and an Euler–Maruyama path")
        other, other_name = quad, r"fitted quadratic $(x-\mu)^T U (x-\mu)/2$"
    ax = axes[1]
    filled = ax.contourf(gx, gy, np.where(seen, psi, np.nan), levels=20, cmap="magma_r")
    fig.colorbar(filled, ax=ax, shrink=0.85, label=rf"$\Psi_h$ (white: $\rho_h \leq {SEEN:g}\,\max\rho_h$)")
    ax.contour(gx, gy, quad, levels=levels, colors="k", linestyles="dashed", linewidths=0.6)
    ax.streamplot(gx, gy, u, v, color="tab:blue", density=1.1, linewidth=0.7, arrowsize=0.9)
    ax.set_title(
        r"modified loss $\Psi_h=-\varepsilon^2\log\rho_h$ (dashed: fit)" "\n" r"streamlines of $J_h/\rho_h$"
    )
    for ax, colour in zip(axes[:2], ("white", "tab:cyan"), strict=True):
        ax.plot(path[:, 0], path[:, 1], color=colour, lw=0.4, alpha=0.8)
        ax.plot(
            *path[0], "o", color="tab:red", ms=5, label=f"path start ({path[0][0]:.3g}, {path[0][1]:.3g})"
        )
        ax.legend(fontsize=7, loc="upper right")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_aspect("equal" if equal else "auto")
    _scatter(fig, axes[2], other[seen], psi[seen], _edge_distance(gx[seen], gy[seen], lo, hi), "loss" in data)
    axes[2].set_xlabel(other_name)
    axes[2].set_ylabel(
        rf"$\Psi_h$ (where $\rho_h > {SEEN:g}$ max: $\Psi_h < {-np.log(SEEN):.3g}\,\varepsilon^2$)"
    )
    if not equal:
        fig.supxlabel(
            f"axes of the maps not to scale (domain {hi[0] - lo[0]:.3g} × {hi[1] - lo[1]:.3g})", fontsize=8
        )
    fig.suptitle(f"{title}: broken detailed balance (Kwon decomposition from the FE solution)")
    return save(fig, target)


def _edge_distance(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance of each point to the nearest side of the box [lo, hi], over the box's shorter side."""
    gap = np.minimum.reduce([x - lo[0], hi[0] - x, y - lo[1], hi[1] - y])
    return gap / float(np.min(hi - lo))


def _scatter(
    fig: Any, ax: Any, other: np.ndarray, psi: np.ndarray, edge: np.ndarray, against_loss: bool
) -> None:
    """Ψ_h against Φ or the fit, coloured by the distance to the domain's edge (where truncation shows)."""
    dots = ax.scatter(other, psi, c=edge, s=1, cmap="viridis_r", vmin=0.0, vmax=0.5, rasterized=True)
    fig.colorbar(dots, ax=ax, shrink=0.85, label="distance to the domain's edge / its shorter side")
    if against_loss:
        ax.set_title(r"$\Psi_h$ against $\Phi$" "\n" r"a band, not a curve: $\Psi$ is no function of $\Phi$")
        return
    top = float(np.nanmax(psi))
    ax.plot([0, top], [0, top], "k--", lw=0.8, label=r"$\Psi_h$ = fit (exact for a Gaussian $\rho_h$)")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(
        r"$\Psi_h$ against the fitted quadratic" "\n" "(departures near the edge: the truncated domain)"
    )
