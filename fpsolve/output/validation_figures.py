"""Figures of ``fpsolve validate``: FE moments against Monte Carlo over time (rank 0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["moments_figure"]


def moments_figure(series: list[dict[str, Any]], target: Path, title: str) -> Path:
    """FE mean and variance of every coordinate against Monte Carlo ± 4 s.e., over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target.parent.mkdir(exist_ok=True)
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
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
