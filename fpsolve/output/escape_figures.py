"""Figures of the escape analysis (rank 0, from ``escape.xdmf`` and ``summary.json``).

``escape.png`` (2-D): the QSD on a log scale (log10 ν/max ν down to :data:`FLOOR`, so its O(ε) core
and its tails both show; nodes with ν < 10^FLOOR · max ν, which the log scale would show as 0, marked)
with the exit flux on the absorbing boundary; the committor, or log10 T; and the exit-location
distribution as a profile along the absorbing boundary (:func:`exit_runs`) with λ₁, E_QSD[τ], the
Eyring–Kramers ratio and the exit fractions per absorbing part. Where the eigenvalue is beyond double
precision the exit flux is not resolved and the third panel says so (the layout is the same at every
ε). 1-D problems get profiles, 3-D ones the numbers only.

``sweep_escape.png``: the Arrhenius plot log E_QSD[τ] against 1/ε² with its fits, and the prefactor
log E τ − s/ε² against ε² (s the predicted slope) with the fitted a/ε² + b + cε² and the
Eyring–Kramers value, or without one the fit's intercept b; for a power law (``predicted_exponent``)
log E τ against log ε² and the prefactor log E τ − p log ε².
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.density_figures import mesh_triangulation
from fpsolve.output.fields import read_series
from fpsolve.output.style import plt_agg, save, to_scale

__all__ = ["FLOOR", "escape_figure", "escape_sweep_figure", "exit_runs", "eyring_kramers_prefactor"]

#: Lowest decade of the QSD's and T's log colour scales.
FLOOR = -8.0
#: Mean exit time from the QSD, in the figures' text (mathtext).
E_QSD = r"$E_{\mathrm{QSD}}[\tau]$"
#: The power-law prefactor panel spans at least this much (log units: ±5 % of the prefactor).
FLAT = 0.1
#: Boundary nodes whose exit flux is below this fraction of the largest are left out of the profile.
FLUX_SEEN = 1e-6


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
    if dim == 2:
        fig = _maps(plt, grid, obs, names)
    elif dim == 1:
        fig = _profiles(plt, grid, obs, names[0])
    else:
        fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
        _numbers(ax, obs, with_fractions=True)
        ax.axis("off")
    fig.suptitle(title)
    return [save(fig, out / "figures" / "escape.png")]


def _second_field(grid: Any) -> tuple[np.ndarray, str, str]:
    """The committor where there is a target, else log10 T: (values, colour-bar label, colour map)."""
    if "committor" in grid.point_data:
        return (
            np.asarray(grid.point_data["committor"]),
            "committor u(x) = P_x(exit through the target)",
            "coolwarm",
        )
    return _log_floor(np.asarray(grid.point_data["T_escape"])), r"log10 T(x) = log10 $E_x[\tau]$", "magma"


def _maps(plt: Any, grid: Any, obs: Mapping[str, Any], names: list[str]) -> Any:
    """QSD and committor / log T maps (to scale unless a strip) and the exit-location profile."""
    tri = mesh_triangulation(grid)
    width, height = np.ptp(tri.x), np.ptp(tri.y)
    equal = to_scale(width, height)
    panel = float(np.clip(4.4 * height / width, 2.6, 5.0)) if equal else 4.0
    fig, axes = plt.subplots(1, 3, figsize=(17.5, panel + 1.3), layout="constrained")
    nu = np.asarray(grid.point_data["qsd"])
    image = axes[0].tricontourf(tri, _log_floor(nu) - np.log10(nu.max()), levels=np.linspace(FLOOR, 0, 33))
    fig.colorbar(image, ax=axes[0], label="log10 ν / max ν", shrink=0.9)
    flux = np.asarray(grid.point_data["exit_flux"]) if "exit_flux" in grid.point_data else None
    if flux is not None and flux.max() > 0:
        on = flux > FLUX_SEEN * flux.max()
        axes[0].scatter(tri.x[on], tri.y[on], c=flux[on], cmap="autumn_r", s=30, clip_on=False, zorder=3)
    _mark_negative(axes[0], tri, nu)
    axes[0].set_title("QSD ν" + (" and where it exits (boundary dots)" if flux is not None else ""))
    second, label, cmap = _second_field(grid)
    image = axes[1].tricontourf(tri, second, levels=33, cmap=cmap)
    fig.colorbar(image, ax=axes[1], label=label, shrink=0.9)
    axes[1].set_title("committor" if "committor" in label else "mean exit time T")
    for ax in axes[:2]:
        ax.set_aspect("equal" if equal else "auto")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    centre = np.array([tri.x[np.argmax(nu)], tri.y[np.argmax(nu)]])
    _exit_profile(axes[2], np.column_stack([tri.x, tri.y]), flux, centre, names)
    _numbers(axes[2], obs, with_fractions=True)
    if not equal:
        fig.supxlabel(f"maps not to scale (domain {width:.3g} × {height:.3g})", fontsize=8)
    return fig


def _profiles(plt: Any, grid: Any, obs: Mapping[str, Any], name: str) -> Any:
    """1-D: log10 ν/max ν, the committor or log10 T, and the exit fractions."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), layout="constrained")
    x = np.asarray(grid.points)[:, 0]
    order = np.argsort(x)
    nu = np.asarray(grid.point_data["qsd"])
    axes[0].plot(x[order], (_log_floor(nu) - np.log10(nu.max()))[order], "k-")
    axes[0].set_ylabel("log10 ν / max ν")
    axes[0].set_title("quasi-stationary distribution")
    second, label, _ = _second_field(grid)
    axes[1].plot(x[order], second[order], "b-")
    axes[1].set_ylabel(label)
    axes[1].set_title("committor" if "committor" in label else "mean exit time T")
    for ax in axes[:2]:
        ax.set_xlabel(name)
    parts = list(obs["exit_fractions"])
    if len(parts) > 1:  # one part: a single bar says nothing the numbers do not
        axes[2].bar(parts, [obs["exit_fractions"][p] for p in parts], color="tab:blue")
        axes[2].set_ylim(0, 1.6)
        axes[2].set_ylabel(r"$P_{\mathrm{QSD}}$(exit through the part)")
    else:
        axes[2].axis("off")
    axes[2].set_title("escape rate and where it exits")
    _numbers(axes[2], obs, with_fractions=len(parts) == 1)
    return fig


def _log_floor(values: np.ndarray) -> np.ndarray:
    """log10 of ``values`` clipped to [max + FLOOR, max] (zeros on absorbing nodes, round-off below 0)."""
    top = float(values.max())
    with np.errstate(divide="ignore"):
        return np.clip(np.log10(np.clip(values, 0, None)), np.log10(top) + FLOOR, np.log10(top))


def _mark_negative(ax: Any, tri: Any, nu: np.ndarray) -> None:
    """Red dots where ν < −10^FLOOR · max ν: the log scale shows them as its lowest colour, like 0."""
    negative = nu < -(10.0**FLOOR) * nu.max()
    if negative.any():
        label = f"ν < 0 (min {nu.min() / nu.max():.2g} max ν)"
        ax.plot(tri.x[negative], tri.y[negative], "r.", ms=2, label=label)
        ax.legend(fontsize=8, loc="upper right")


def exit_runs(points: np.ndarray, mass: np.ndarray, centre: np.ndarray) -> list[dict[str, np.ndarray]]:
    """The boundary nodes carrying exit mass, ordered around ``centre`` and split where they jump.

    Parameters
    ----------
    points
        (n, 2) positions of the nodes with exit flux.
    mass
        The exit probability of each node (sums to at most 1).
    centre
        A point inside the basin that sees the boundary nodes in order of angle (the QSD's peak).

    Returns
    -------
    One dict per stretch of consecutive nodes (neighbours at most 3 typical spacings apart; the
    stretches through the angle ±π joined): ``points`` in order, ``s`` the arc length from the first,
    ``density`` the exit probability per unit length (node mass over half its two edges), which
    integrates to the stretch's exit probability ``mass``.
    """
    angle = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    order = np.argsort(angle)
    p, m = points[order], mass[order]
    if len(p) == 1:
        return [{"points": p, "s": np.zeros(1), "density": m, "mass": float(m.sum())}]
    step = np.linalg.norm(np.diff(p, axis=0), axis=1)
    typical = float(np.median(step))
    pieces = np.split(np.arange(len(p)), np.flatnonzero(step > 3 * typical) + 1)
    if len(pieces) > 1 and np.linalg.norm(p[-1] - p[0]) <= 3 * typical:
        pieces = [np.concatenate([pieces[-1], pieces[0]]), *pieces[1:-1]]
    runs = []
    for piece in pieces:
        q = p[piece]
        edges = np.linalg.norm(np.diff(q, axis=0), axis=1)
        half = np.concatenate([[0.0], edges]) / 2 + np.concatenate([edges, [0.0]]) / 2
        half = np.where(half > 0, half, typical)
        s = np.concatenate([[0.0], np.cumsum(edges)])
        runs.append({"points": q, "s": s, "density": m[piece] / half, "mass": float(m[piece].sum())})
    return runs


def _exit_profile(
    ax: Any, xy: np.ndarray, flux: np.ndarray | None, centre: np.ndarray, names: Sequence[str]
) -> None:
    """The exit-location distribution along the absorbing boundary (or why it is not resolved)."""
    ax.set_title("exit-location distribution")
    if flux is None or flux.max() <= 0:
        ax.text(
            0.5,
            0.35,
            "exit flux not resolved: λ₁ beyond double precision\n(exit fractions from the committors)",
            ha="center",
            transform=ax.transAxes,
        )
        ax.set_xticks([])
        ax.set_yticks([])
        return
    on = flux > FLUX_SEEN * flux.max()
    runs = exit_runs(xy[on], flux[on], centre)
    straight = _common_axis(runs)
    for run in runs:
        a, b = run["points"][0], run["points"][-1]
        if straight is not None:
            x, where = run["points"][:, straight], f"{names[1 - straight]} = {a[1 - straight]:.3g}"
        else:
            x, where = run["s"], f"({a[0]:.3g}, {a[1]:.3g}) to ({b[0]:.3g}, {b[1]:.3g})"
        ax.plot(x, run["density"], "-", label=f"{where}: exit probability {run['mass']:.3g}")
    ax.set_xlabel(
        names[straight] if straight is not None else "arc length along the boundary from the first point"
    )
    ax.set_ylabel("exit probability per unit length")
    ax.set_ylim(0, 1.7 * max(float(r["density"].max()) for r in runs))
    ax.legend(fontsize=7, loc="upper right")


def _common_axis(runs: list[dict[str, np.ndarray]]) -> int | None:
    """The coordinate along which every stretch runs straight (the other constant), or None."""
    for k in (0, 1):
        if all(np.ptp(r["points"][:, 1 - k]) <= 1e-9 * (1 + np.ptp(r["points"])) for r in runs):
            return k
    return None


def _numbers(ax: Any, obs: Mapping[str, Any], with_fractions: bool) -> None:
    """λ₁, E_QSD[τ], their product or where λ₁ came from, the Eyring–Kramers ratio, the exit fractions."""
    lines = [f"λ₁ = {obs['rate']:.4g}", f"{E_QSD} = {obs['mean_exit_time_from_qsd']:.4g}"]
    if obs["rate_source"] == "eigenvalue":
        lines.append(f"λ₁·{E_QSD} = {obs['rate_times_mean_exit_time']:.10g}")
    else:
        lines.append(f"λ₁ = 1/{E_QSD} (eigenvalue beyond double precision)")
    ek = obs.get("eyring_kramers")
    if ek:
        lines.append(f"λ₁ / Eyring–Kramers rate = {ek['rate_over_eyring_kramers']:.4f}")
    if with_fractions:
        parts = sorted(obs["exit_fractions"].items(), key=lambda kv: -kv[1])
        text = "exit fractions: " + ", ".join(f"{p} {v:.2g}" for p, v in parts)
        lines.append(textwrap.fill(text, 44, subsequent_indent="    "))
    ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=9)


def escape_sweep_figure(target: Path, fit: Mapping[str, Any], title: str) -> Path:
    """The sweep's escape times against the noise (module docstring): Arrhenius or power law."""
    if "predicted_exponent" in fit:
        return _power_law_figure(target, fit, title)
    plt = plt_agg()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    x, y = np.asarray(fit["inverse_eps2"]), np.asarray(fit["log_tau"])
    ax.plot(x, y, "ko", label=f"FE: log {E_QSD} = −log λ₁")
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
    slope = fit.get("predicted_slope", fit.get("slope_corrected", fit["slope"]))
    if "predicted_slope" in fit:
        ax.plot(
            grid,
            y[-1] + slope * (grid - x[-1]),
            "r:",
            label=f"predicted slope {slope:.4g} (through the last point)",
        )
    ax.set_xlabel("1/ε²")
    ax.set_ylabel(f"log {E_QSD}")
    ax.legend(
        fontsize=8, title="the lines differ by less than the dots: see the right panel", title_fontsize=7
    )
    ax.set_title("Arrhenius plot")
    _prefactor_panel(ax2, fit, x, y, slope)
    fig.suptitle(f"{title}: escape time against the noise")
    return save(fig, target)


def _prefactor_panel(ax: Any, fit: Mapping[str, Any], x: np.ndarray, y: np.ndarray, slope: float) -> None:
    """The prefactor log E τ − slope/ε² against ε², with the fit a/ε² + b + cε² and its limit."""
    eps2 = 1 / x
    ax.plot(eps2, y - slope * x, "ko-", label=f"FE: log {E_QSD} − {slope:.4g}/ε²")
    if "slope_corrected" in fit:
        fine = np.linspace(eps2.min(), eps2.max(), 100)
        a, b, c = fit["slope_corrected"], fit["intercept_corrected"], fit["correction"]
        label = f"fit a/ε² + b + cε² (a = {a:.4g})"
        ax.plot(fine, (a - slope) / fine + b + c * fine, "g--", lw=0.8, label=label)
        if "rate_over_eyring_kramers" not in fit:  # no theory for the limit: the fit's
            ax.plot(
                [0.0], [b], "gD", clip_on=False, label=f"b = {b:.4g}: the fit's intercept (ε → 0, slope a)"
            )
    if "rate_over_eyring_kramers" in fit:
        ratios = np.asarray(fit["rate_over_eyring_kramers"], float)
        ax.plot(
            eps2,
            eyring_kramers_prefactor(y, ratios) - slope * x,
            "r:",
            marker="x",
            label=f"Eyring–Kramers (Bouchet–Reygner) law: log(1/κ) − {slope:.4g}/ε²\n"
            f"λ₁/κ at the smallest ε: {ratios[-1]:.4g}",
        )
    ax.set_xlabel("ε²")
    ax.set_xlim(left=0)
    ax.set_ylabel("log prefactor")
    ax.legend(fontsize=8)
    ax.set_title("prefactor: what the Arrhenius slope leaves")


def eyring_kramers_prefactor(log_tau: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """log(1/κ) at each run, κ the Eyring–Kramers (Bouchet–Reygner) rate, from λ₁/κ and log E_QSD[τ].

    λ₁ = 1/E_QSD[τ], so 1/κ = (λ₁/κ)·E_QSD[τ]. Taken run by run, not as one constant: the law's
    prefactor may depend on ε (loss-proportional noise: Mori's c^(−1/2) and 1 + 1/φ), where the
    constant ``eyring_kramers_log_prefactor`` is off by those factors.
    """
    return np.asarray(log_tau, float) + np.log(np.asarray(ratios, float))


def _power_law_figure(target: Path, fit: Mapping[str, Any], title: str) -> Path:
    """Log E_QSD[τ] against log ε² with the exponents, and log E τ − p log ε² against ε² (not activated)."""
    plt = plt_agg()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    eps2 = np.asarray(fit["eps2"])
    x, y = np.log(eps2), np.asarray(fit["log_tau"])
    p = fit["predicted_exponent"]
    ax.plot(x, y, "ko", label=f"FE: log {E_QSD}")
    ax.plot(x, y[-1] + p * (x - x[-1]), "r:", label=f"predicted exponent {p:.4g} (through the last point)")
    ax.plot(
        x, y[-1] + fit["exponent"] * (x - x[-1]), "b-", lw=0.8, label=f"least squares: {fit['exponent']:.4f}"
    )
    ax.set_xlabel("log ε²")
    ax.set_ylabel(f"log {E_QSD}")
    ax.legend(fontsize=8, title=f"exponent at the two smallest ε: {fit['exponent_smallest_eps']:.4f}")
    ax.set_title(r"power law $E\tau \propto (\varepsilon^2)^p$")
    ax2.semilogx(eps2, y - p * x, "ko-", label=f"FE: log {E_QSD} − p log ε², p = {p:.4g}")
    lo, hi = ax2.get_ylim()
    half = max((hi - lo) / 2, FLAT / 2)  # a flat line looks flat: not magnified beyond ±FLAT/2
    ax2.set_ylim((lo + hi) / 2 - half, (lo + hi) / 2 + half)
    ax2.set_xlabel("ε²")
    ax2.set_ylabel("log prefactor")
    ax2.legend(fontsize=8)
    ax2.set_title("prefactor: what the predicted power leaves (flat if the law holds)")
    fig.suptitle(f"{title}: escape time against the noise")
    return save(fig, target)
