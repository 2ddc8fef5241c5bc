r"""Figure of the relaxation analysis (rank 0, matplotlib): H, L¹, χ² against t, with fits and the gap.

Left: the three series on a log scale, each with its least-squares line over the fit window (dashed)
and the gap prediction :math:`v \propto e^{-p\,r\,t}` (dotted, through the fitted line at the window's
centre), and the exact OU relative entropy where there is one. Right: the local decay rate
:math:`-\Delta\log v/(p\,\Delta t)` of each series between recorded times, which tends to the gap r.
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


def relaxation_figure(target: Path, record: Mapping[str, Any], title: str) -> Path:
    """Semilog-y of the distances with fitted lines, gap predictions and the exact OU entropy."""
    plt = plt_agg()
    fig, (ax, ax_rate) = plt.subplots(1, 2, figsize=(13, 4.8))
    t = np.asarray(record["t"])
    gap = record["step_rate"]
    for key, label, colour in STYLE:
        v = np.asarray(record[key])
        fit = record["rates"][key]
        ax.semilogy(t, v, "o-", ms=3, color=colour, label=label)
        if fit["points"] >= 3:
            w = np.linspace(*fit["window"], 20)
            ax.semilogy(
                w,
                np.exp(fit["intercept"] - fit["rate"] * w),
                "--",
                color="k",
                lw=1.2,
                label=f"fit t ∈ [{fit['window'][0]:.3g}, {fit['window'][1]:.3g}]: rate {fit['rate']:.4g} "
                f"= {fit['ratio']:.5f} × {fit['power']}λ₁",
            )
            mid = np.mean(fit["window"])
            anchor = fit["intercept"] - fit["rate"] * mid
            ax.semilogy(t, np.exp(anchor - fit["predicted"] * (t - mid)), ":", color=colour, lw=1.2)
        with np.errstate(divide="ignore", invalid="ignore"):
            local = -np.diff(np.log(v)) / np.diff(t) / fit["power"]
        ax_rate.plot(
            0.5 * (t[1:] + t[:-1]), local, "o-", ms=3, color=colour, label=f"{label} / {fit['power']}"
        )
    if "relative_entropy_exact" in record:
        ax.semilogy(t, record["relative_entropy_exact"], "k-", lw=0.8, label="H exact (OU Gaussians)")
    ax.plot([], [], ":", color="0.3", label=f"gap prediction ∝ e^(−p·{gap:.4g}·t), p = 2, 1, 2")
    ax.set_xlabel("t")
    ax.set_ylabel("distance to ρ∞")
    ax.set_title("relative entropy, L¹ and χ² distances")
    ax.legend(fontsize=7)
    ax_rate.axhline(
        record["gap"], color="0.5", ls="-", lw=0.8, label=f"gap λ₁ = {record['gap']:.5g} ({record['scheme']})"
    )
    ax_rate.axhline(gap, color="k", ls=":", label=f"λ₁ as time-stepped: {gap:.5g}")
    if "gap_exact" in record:
        ax_rate.axhline(
            record["gap_exact"], color="r", ls="--", lw=0.8, label=f"exact γ = {record['gap_exact']:.5g}"
        )
    ax_rate.set_ylim(0.0, 3.0 * gap)
    ax_rate.set_xlabel("t")
    ax_rate.set_ylabel("local rate −Δ log v / (p Δt)")
    ax_rate.set_title("local decay rate per power p of ρ − ρ∞")
    ax_rate.legend(fontsize=7)
    fig.suptitle(f"{title}: relaxation to ρ∞ ({record['method']}, Δt = {record['dt']:g})")
    return save(fig, target)
