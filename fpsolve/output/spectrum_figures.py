"""Figures of the spectrum analysis (rank 0): eigenvalues, eigenfunctions, a sweep of the spectrum.

* ``spectrum_eigenvalues``: the computed eigenvalues in the complex plane over the exact OU set (where
  there is a reference), Re λᵢ against i (logarithmic where they span more than a decade), and the
  relative errors against the tolerances.
* ``spectrum_modes``: ρ∞ = φ₀ and the forward modes φ_i (real parts, colour scale symmetric about 0),
  and the generator eigenfunctions ψ_i where ρ∞ ≥ :data:`SHOWN` · max ρ∞ (they grow without bound in
  the tails, where they mean nothing), with the metastable sets where there are some. 1-D: profiles;
  2-D: maps on the mesh's triangles; 3-D: ρ∞ and φ₁ on the three planes through the peak of ρ∞
  (:mod:`fpsolve.output.slices`).
* ``sweep_spectrum``: Re λ_i, the gap's relative error and the eigenvalues of the stationary covariance
  against the noise floor λ_min(Q) of the runs of a ``[sweep]``.

Axes carry the case's coordinate names (``summary["coordinates"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.fields import read_series
from fpsolve.output.slices import draw_planes, planes
from fpsolve.output.style import TO_SCALE, plain_log_ticks, plt_agg, save, to_scale

__all__ = ["SHOWN", "eigenvalue_figure", "mode_figure", "spectrum_sweep_figure"]

#: ψ_i is drawn where ρ∞ ≥ SHOWN · max ρ∞.
SHOWN = 1e-3
#: At most this many modes after ρ∞ are drawn.
DRAWN = 4


def eigenvalue_figure(
    target: Path, arrays: Mapping[str, np.ndarray], obs: Mapping[str, Any], title: str
) -> Path:
    """The eigenvalues in the complex plane (exact set as circles), Re λ_i and relative errors."""
    plt = plt_agg()
    from matplotlib.ticker import MaxNLocator

    lam = np.asarray(arrays["eigenvalues"], dtype=complex)
    exact = obs.get("exact")
    fig, axes = plt.subplots(1, 3 if exact else 2, figsize=(17 if exact else 12, 4.8))
    ax = axes[0]
    if exact:
        full = np.asarray(arrays["exact"], dtype=complex)
        ax.plot(full.real, full.imag, "o", mfc="none", mec="black", ms=11, label="exact OU set {Σ nᵢλᵢ(A)}")
    ax.plot(lam.real, lam.imag, "x", color="tab:red", ms=8, mew=2, label="finite elements")
    ax.axvline(obs["gap"], color="tab:blue", lw=0.8, ls=":", label=f"gap Re λ₁ = {obs['gap']:.10g}")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title("eigenvalues of the Fokker–Planck operator (decay rates)")
    ax.legend(fontsize=8)
    index = np.arange(len(lam))
    ax = axes[1]
    ax.plot(index[1:], lam.real[1:], "x", color="tab:red", ms=8, mew=2, label="finite elements")
    if exact:
        ax.plot(
            index[1:],
            np.asarray(exact["eigenvalues_real"])[1:],
            "o",
            mfc="none",
            mec="black",
            ms=11,
            label="matched exact",
        )
    sets = obs.get("metastable")
    if sets:
        ax.axvspan(
            sets["sets"] - 1,
            sets["sets"],
            color="tab:green",
            alpha=0.15,
            label=f"gap ratio {sets['gap_ratio']:.2g}: {sets['sets']} metastable sets",
        )
    ax.set_xlabel("mode i")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _rate_axis(ax, lam.real[1:])
    ax.set_ylabel("Re λᵢ")
    ax.set_title(f"decay rates Re λᵢ (relaxation time 1/Re λ₁ = {obs['relaxation_time']:.6g})", fontsize=10)
    ax.legend(fontsize=8)
    if exact:
        ax = axes[2]
        errors = np.asarray(exact["relative_errors"])
        floor = np.finfo(float).eps
        ax.semilogy(
            index[1:],
            np.maximum(errors[1:], floor),
            "s-",
            color="tab:red",
            label="|λᵢ(FE) − λᵢ| / max(|λᵢ|, g), g = min Re λ(A)",
        )
        tolerance, gap_tolerance = (float(t) for t in arrays["tolerances"])
        ax.axhline(tolerance, color="black", ls="--", lw=0.8, label=f"tolerance {tolerance:.0e}")
        ax.plot(
            [1],
            [max(exact["gap_relative_error"], floor)],
            "*",
            color="tab:blue",
            ms=14,
            label=f"gap error {exact['gap_relative_error']:.2e}",
        )
        ax.axhline(
            gap_tolerance, color="tab:blue", ls=":", lw=0.8, label=f"gap tolerance {gap_tolerance:.0e}"
        )
        ax.set_xlabel("mode i")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("relative error")
        kind = "controllable" if exact["controllable"] else "NOT controllable: not checked"
        ax.set_title(f"against the exact OU set (Kalman rank {exact['kalman_rank']}, {kind})", fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}: spectrum")
    return save(fig, target)


def _rate_axis(ax: Any, rates: np.ndarray) -> None:
    """A logarithmic y axis where the rates span more than a decade (plain numbers), else linear from 0."""
    positive = rates[rates > 0]
    if len(positive) and positive.max() > 10 * positive.min():
        ax.set_yscale("log")
        plain_log_ticks(ax)
    else:
        ax.set_ylim(0.0, 1.1 * float(rates.max()) if len(rates) else 1.0)


def mode_figure(
    target: Path, series: Path, obs: Mapping[str, Any], summary: Mapping[str, Any], title: str
) -> Path:
    """Maps (2-D), profiles (1-D) or slices (3-D) of ρ∞, the first modes φ_i and eigenfunctions ψ_i."""
    grid = read_series(series)[0][1]
    lam = np.asarray(obs["eigenvalues_real"]) + 1j * np.asarray(obs["eigenvalues_imag"])
    names = list(summary.get("coordinates", [])) or ["x", "y", "z"]
    shown = list(range(1, min(len(lam), DRAWN + 1)))
    if len(names) == 3:
        return _slices(grid, names, lam, target, title)
    plt = plt_agg()
    fig = (_profiles if len(names) == 1 else _maps)(plt, grid, names, lam, shown)
    fig.suptitle(f"{title}: eigenfunctions (φ: forward modes, ψ: generator eigenfunctions, real parts)")
    return save(fig, target)


def _sub(i: int) -> str:
    """``i`` in subscript digits (φ₁ like φ₀, not φ1)."""
    return str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _label(lam: complex) -> str:
    return f"λ = {lam.real:.6g}" + (f" ± {abs(lam.imag):.4g}i" if abs(lam.imag) > 1e-12 * abs(lam) else "")


def _profiles(plt: Any, grid: Any, names: list[str], lam: np.ndarray, shown: list[int]) -> Any:
    """φ_i and ψ_i against the coordinate, on the bulk of ρ∞; the first metastable set shaded."""
    order = np.argsort(np.asarray(grid.points)[:, 0])
    x = np.asarray(grid.points)[order, 0]
    rho = np.asarray(grid.point_data["phi_0"])[order]
    bulk = rho >= SHOWN * rho.max()
    lo, hi = x[bulk].min(), x[bulk].max()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    axes[0].plot(x, rho, "k-", lw=2, label="φ₀ = ρ∞")
    for i in shown:
        phi, psi = (np.asarray(grid.point_data[f"{f}_{i}"])[order] for f in ("phi", "psi"))
        axes[0].plot(x, phi, label=f"φ{_sub(i)}, {_label(lam[i])}")
        axes[1].plot(x[bulk], psi[bulk], label=f"ψ{_sub(i)}, {_label(lam[i])}")
    if "metastable_set" in grid.point_data:
        first = (np.asarray(grid.point_data["metastable_set"])[order] == 0) & bulk
        top = axes[1].get_xaxis_transform()
        axes[1].fill_between(
            x, 0, 1, where=first, color="tab:green", alpha=0.15, transform=top, label="metastable set 0"
        )
    axes[0].set_title("forward modes φᵢ (φ₀ = ρ∞)")
    axes[1].set_title(f"generator eigenfunctions ψᵢ where ρ∞ ≥ {SHOWN:g} max ρ∞")
    for ax in axes:
        ax.set_xlim(lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo))
        ax.set_xlabel(names[0])
        ax.legend(fontsize=8)
    return fig


def _maps(plt: Any, grid: Any, names: list[str], lam: np.ndarray, shown: list[int]) -> Any:
    """Top row: ρ∞ and φ_i; bottom row: the metastable sets (if any) and ψ_i; zoomed on the bulk of ρ∞."""
    from matplotlib.tri import Triangulation

    points = np.asarray(grid.points)
    tri = Triangulation(points[:, 0], points[:, 1], _triangles(grid))
    rho = np.asarray(grid.point_data["phi_0"])
    inside = (rho[tri.triangles] >= SHOWN * rho.max()).any(axis=1)
    bulk = Triangulation(tri.x, tri.y, tri.triangles[inside])
    seen = np.unique(bulk.triangles)
    lo, hi = points[seen, :2].min(axis=0), points[seen, :2].max(axis=0)
    lo, hi = lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo)
    n = len(shown) + 1
    equal = to_scale(hi[0] - lo[0], hi[1] - lo[1])
    # a strip just past 3:1 is stretched to 1:3, not to a square: the runs of a sweep, whose windows
    # cross the threshold, keep about one height
    aspect = float(np.clip((hi[1] - lo[1]) / (hi[0] - lo[0]), 1 / TO_SCALE, 2.0))
    size = (5.2 * n, 2 * 4.4 * aspect + 1.8)
    fig, axes = plt.subplots(2, n, figsize=size, squeeze=False, layout="constrained")
    _panel(fig, axes[0, 0], tri, rho, "φ₀ = ρ∞", False)
    if "metastable_set" in grid.point_data:
        labels = np.asarray(grid.point_data["metastable_set"])
        _panel(fig, axes[1, 0], tri, labels, f"{int(labels.max()) + 1} metastable sets", False, "Set2")
    else:
        axes[1, 0].axis("off")
        axes[1, 0].text(0.5, 0.5, "no clear spectral gap:\nno metastable sets", ha="center", va="center")
    for col, i in enumerate(shown, start=1):
        phi, psi = (np.asarray(grid.point_data[f"{f}_{i}"]) for f in ("phi", "psi"))
        _panel(fig, axes[0, col], tri, phi, f"φ{_sub(i)}: {_label(lam[i])}", True)
        _psi_panel(fig, axes[1, col], tri, psi, rho, f"ψ{_sub(i)} where ρ∞ ≥ {SHOWN:g} max ρ∞")
    for ax in axes.ravel():
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.set_aspect("equal" if equal else "auto")
    if not equal:
        fig.supxlabel(f"axes not to scale (window {hi[0] - lo[0]:.3g} × {hi[1] - lo[1]:.3g})", fontsize=8)
    return fig


def _panel(
    fig: Any, ax: Any, tri: Any, values: np.ndarray, label: str, symmetric: bool, cmap: str = ""
) -> None:
    """A filled contour map with its colour bar: diverging and symmetric about 0, or from min(0, min)."""
    from matplotlib.ticker import MaxNLocator

    used = values[np.unique(tri.triangles)]
    top = float(np.abs(used).max()) or 1.0
    if symmetric:
        levels, cmap = np.linspace(-top, top, 41), cmap or "RdBu_r"
    elif cmap:  # labels 0 … m−1
        levels = np.arange(-0.5, used.max() + 1.0)
    else:
        levels, cmap = np.linspace(min(float(used.min()), 0.0), float(used.max()), 41), "viridis"
    image = ax.tricontourf(tri, values, levels=levels, cmap=cmap)
    fig.colorbar(image, ax=ax, shrink=0.8, ticks=MaxNLocator(7, symmetric=symmetric), format="%.2g")
    ax.set_title(label, fontsize=10)


def _psi_panel(fig: Any, ax: Any, tri: Any, psi: np.ndarray, rho: np.ndarray, label: str) -> None:
    """ψ on its range where ρ∞ ≥ SHOWN · max ρ∞, blanked beyond that contour of ρ∞ (not along cell edges)."""
    from matplotlib.ticker import MaxNLocator

    cut = SHOWN * float(rho.max())
    top = float(np.abs(psi[rho >= cut]).max()) or 1.0
    image = ax.tricontourf(tri, np.clip(psi, -top, top), levels=np.linspace(-top, top, 41), cmap="RdBu_r")
    ax.tricontourf(tri, rho, levels=[float(rho.min()) - 1.0, cut], colors="white")
    fig.colorbar(image, ax=ax, shrink=0.8, ticks=MaxNLocator(7, symmetric=True), format="%.2g")
    ax.set_title(label, fontsize=10)


def _triangles(grid: Any) -> np.ndarray:
    """The mesh's cells as vertex triangles (quadrilaterals split by pyvista)."""
    import pyvista

    cells = grid.triangulate().cells_dict
    return np.vstack(
        [
            cells[t][:, :3]
            for t in (pyvista.CellType.TRIANGLE, pyvista.CellType.QUADRATIC_TRIANGLE)
            if t in cells
        ]
    )


def _slices(grid: Any, names: list[str], lam: np.ndarray, target: Path, title: str) -> Path:
    """ρ∞ and φ₁ on the three planes through the maximum of ρ∞, on the box where ρ∞ ≥ SHOWN · max ρ∞.

    One row per field (:mod:`fpsolve.output.slices`); maps to scale unless a plane's window is a long
    strip, then "axes not to scale" with the box's sides.
    """
    rho = np.asarray(grid.point_data["phi_0"])
    points = np.asarray(grid.points)
    bulk = points[rho >= SHOWN * rho.max()]
    lo, hi = bulk.min(axis=0), bulk.max(axis=0)
    lo, hi = lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo)
    cuts = planes(grid, points[np.argmax(rho)], ["phi_0", "phi_1"])
    plt = plt_agg()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.4), squeeze=False, layout="constrained")
    rows = (("phi_0", "φ₀ = ρ∞", False), ("phi_1", f"φ₁ ({_label(lam[1])})", True))
    scaled = [
        draw_planes(fig, row, cuts, field, names, (lo, hi), symmetric, label)
        for row, (field, label, symmetric) in zip(axes, rows, strict=True)
    ]
    if not all(scaled):
        sides = " × ".join(f"{v:.3g}" for v in hi - lo)
        fig.supxlabel(f"axes not to scale where a plane is a long strip (box {sides})", fontsize=8)
    fig.suptitle(f"{title}: stationary density φ₀ and slowest mode φ₁ on the planes through the peak of ρ∞")
    return save(fig, target)


def spectrum_sweep_figure(target: Path, fit: Mapping[str, Any], title: str) -> Path:
    """Re λᵢ, the gap's relative error and the eigenvalues of Σ∞ against the noise floor λ_min(Q).

    Finite elements as coloured crosses, the exact OU values as thin black dashes (they are
    constants or smooth in the floor, so they cannot pass for lines joining the crosses); the gap
    panel has the check's tolerance where the fit carries it (``gap_tolerance``).
    """
    plt = plt_agg()
    floor = np.asarray(fit["noise_floor"], float)
    positive = floor[floor > 0]
    linthresh = float(positive.min()) if positive.size else 1.0
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.0), layout="constrained")
    lam = np.asarray(fit["eigenvalues_real"], float)
    ref = np.asarray(fit["exact_eigenvalues_real"], float)
    for i in range(1, lam.shape[1]):
        axes[0].plot(floor, ref[:, i], "k--", lw=0.7, label="exact OU" if i == 1 else None)
        axes[0].plot(floor, lam[:, i], "x", ms=8, mew=1.5, label=f"λ{_sub(i)} (FE)" if i < 6 else None)
    axes[0].set_ylabel("Re λᵢ")
    axes[0].set_title("spectrum: independent of Q while (A, Q) is controllable", fontsize=10)
    axes[0].set_ylim(0.0, 1.3 * float(np.nanmax(ref[:, 1:])))
    axes[0].legend(fontsize=8, ncol=3, loc="upper center")
    errors = np.maximum(np.asarray(fit["gap_relative_error"], float), np.finfo(float).eps)
    axes[1].semilogy(floor, errors, "s-", color="tab:red", label="finite elements")
    if fit.get("gap_tolerance") is not None:
        tolerance = float(fit["gap_tolerance"])
        axes[1].axhline(tolerance, color="k", ls="--", lw=0.8, label=f"tolerance {tolerance:.0e}")
    axes[1].set_ylabel("|Re λ₁ − min Re λ(A)| / min Re λ(A)")
    axes[1].set_title("relative error of the gap", fontsize=10)
    axes[1].legend(fontsize=8)
    cov = np.asarray(fit["covariance_eigenvalues"], float)
    cov_ref = np.asarray(fit["exact_covariance_eigenvalues"], float)
    for k in range(cov.shape[1]):
        axes[2].semilogy(floor, cov_ref[:, k], "k--", lw=0.7, label="Lyapunov (exact)" if k == 0 else None)
        axes[2].semilogy(floor, cov[:, k], "x", ms=8, mew=1.5, label=f"eigenvalue {k + 1} of Σ∞ (FE)")
    plain_log_ticks(axes[2])
    axes[2].set_title("stationary covariance Σ∞ (FE: moments of φ₀)", fontsize=10)
    axes[2].legend(fontsize=8)
    lo = floor.min() / 1.5 if floor.min() > 0 else -0.3 * linthresh
    for ax in axes:
        ax.set_xscale("symlog", linthresh=linthresh)
        ax.set_xlim(lo, 1.5 * floor.max())
        ax.set_xlabel(r"noise floor $\lambda_{\min}(Q)$")
    fig.supxlabel(f"symmetric log axis: linear below {linthresh:g}, the smallest nonzero floor", fontsize=8)
    fig.suptitle(f"{title}: spectrum against the noise floor")
    return save(fig, target)
