r"""Figure of the relaxation analysis (rank 0, matplotlib): H, L¹, χ² against t, with fits and the gap.

Left: the three series on a log scale, each with its least-squares line over the fit window (dashed)
and the gap prediction :math:`v \propto e^{-p\,r\,t}` (dotted, through the fitted line at the window's
centre), and the exact OU relative entropy where there is one. Right: the local decay rate
:math:`-\Delta\log v/(p\,\Delta t)` of each series between recorded times, which tends to the
time-stepped gap r, beside the FE gap λ₁ʰ and the exact gap γ.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.style import plt_agg, save

__all__ = ["relaxation_figure"]

#: Series drawn: key in the record, label, colour.
STYLE = (
    ("relative_entropy", "H(ρ|ρ∞)", "C0"),
    ("l1_distance", "‖ρ − ρ∞‖₁", "C1"),
    ("chi_squared", "χ²(ρ|ρ∞)", "C2"),
)
#: Names of the time integrators in titles.
METHODS = {"beuler": "backward Euler", "ts": "PETSc TS"}


def relaxation_figure(target: Path, record: Mapping[str, Any], title: str) -> Path:
    """Semilog-y of the distances with fitted lines, gap predictions and the exact OU entropy.

    Three rates are named apart: λ₁ʰ the gap of the FE operator, r the rate at which the time-stepped
    slowest mode decays (``step_rate``, what the fits are compared with) and γ the exact gap; the
    right panel's y range is set around them so that their differences show.
    """
    plt = plt_agg()
    fig, (ax, ax_rate) = plt.subplots(1, 2, figsize=(13, 5), layout="constrained")
    t = np.asarray(record["t"])
    rate = record["step_rate"]
    for key, label, colour in STYLE:
        _series(ax, ax_rate, t, np.asarray(record[key]), record["rates"][key], label, colour)
    if "relative_entropy_exact" in record:
        exact = f", decays at 2γ = {2 * record['gap_exact']:.4g}" if "gap_exact" in record else ""
        ax.semilogy(t, record["relative_entropy_exact"], "k-", lw=0.8, label=f"H exact (OU Gaussians{exact})")
    ax.plot([], [], ":", color="0.3", label=f"gap prediction ∝ e^(−p·r·t), r = {rate:.4g}, p = 2, 1, 2")
    ax.set_xlabel("t")
    ax.set_ylabel("distance to ρ∞")
    ax.set_title("relative entropy, L¹ and χ² distances")
    ax.legend(fontsize=7)
    references = [
        (record["gap"], "0.5", "-", f"λ₁ʰ = {record['gap']:.5g}: gap of the FE operator ({record['scheme']})")
    ]
    references.append((rate, "k", ":", f"r = {rate:.5g}: λ₁ʰ as time-stepped (Δt = {record['dt']:g})"))
    if "gap_exact" in record:
        references.append((record["gap_exact"], "r", "--", f"γ = {record['gap_exact']:.5g}: exact gap"))
    for value, colour, style, label in references:
        ax_rate.axhline(value, color=colour, ls=style, lw=1.0, label=label)
    values = [v for v, *_ in references]
    ax_rate.set_ylim(min(values) - 0.15 * max(values), max(values) + 0.15 * max(values))
    ax_rate.set_xlabel("t")
    ax_rate.set_ylabel("local rate −Δ log v / (p Δt)")
    ax_rate.set_title("local decay rate per power p (early values off the axis)")
    ax_rate.legend(fontsize=7)
    method = METHODS.get(record["method"], record["method"])
    fig.suptitle(f"{title}: relaxation to ρ∞ ({method}, Δt = {record['dt']:g})")
    return save(fig, target)


def _series(
    ax: Any, ax_rate: Any, t: np.ndarray, v: np.ndarray, fit: Mapping[str, Any], label: str, colour: str
) -> None:
    """One distance: its values, fitted line and gap prediction (left), its local rate (right)."""
    ax.semilogy(t, v, "o-", ms=3, color=colour, label=label)
    p = fit["power"]
    if fit["points"] >= 3:
        w = np.linspace(*fit["window"], 20)
        ax.semilogy(
            w,
            np.exp(fit["intercept"] - fit["rate"] * w),
            "--",
            color="k",
            lw=1.2,
            label=f"fit t ∈ [{fit['window'][0]:.3g}, {fit['window'][1]:.3g}]: rate {fit['rate']:.4g} "
            f"= {fit['ratio']:.5f} × {p}r",
        )
        mid = np.mean(fit["window"])
        anchor = fit["intercept"] - fit["rate"] * mid
        ax.semilogy(t, np.exp(anchor - fit["predicted"] * (t - mid)), ":", color=colour, lw=1.2)
    with np.errstate(divide="ignore", invalid="ignore"):
        local = -np.diff(np.log(v)) / np.diff(t) / p
    ax_rate.plot(
        0.5 * (t[1:] + t[:-1]), local, "o-", ms=3, color=colour, label=label if p == 1 else f"{label} / {p}"
    )
