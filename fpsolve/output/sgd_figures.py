"""Figure of the SGD-vs-SDE η sweep of ``fpsolve validate`` (``[model]`` cases), from its record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["sweep_figure"]


def sweep_figure(sweep: dict[str, Any], title: str, target: Path) -> Path:
    """Observables against time (SDE lines, SGD markers, FE at f = 1) and the mismatch against η."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target.parent.mkdir(exist_ok=True)
    runs = sweep["runs"]
    labels = sweep["observables"]
    hist = sweep.get("histogram")
    n_hist = len(hist["centres"]) if hist is not None else 0
    scalar = [i for i, lab in enumerate(labels) if not lab.startswith("hist(")]
    panels = ["variance", *[labels[i] for i in scalar]] + (["histogram"] if hist else []) + ["mismatch"]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 4))
    axes = np.atleast_1d(axes)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, run in enumerate(runs):
        col = colours[k % len(colours)]
        ser = run["series"]
        t = np.array([r["t_sgd"] for r in ser])
        ax = axes[0]
        for i in range(len(ser[0]["sde_mean"])):
            ax.plot(t, [r["sde_cov"][i][i] for r in ser], "-x", color=col, lw=1)
            ax.errorbar(
                t,
                [r["sgd_cov"][i][i] for r in ser],
                yerr=[2 * r["sgd_cov_se"][i][i] for r in ser],
                fmt="os"[i % 2],
                mfc="none",
                color=col,
                label=f"η×{run['eta_factor']:g}" if i == 0 else None,
            )
        for p, i in enumerate(scalar, start=1):
            axes[p].plot(t, [r["sde_observables"][i] for r in ser], "-x", color=col, lw=1)
            axes[p].errorbar(
                t,
                [r["sgd_observables"][i] for r in ser],
                yerr=[2 * r["sgd_observables_se"][i] for r in ser],
                fmt="o",
                mfc="none",
                color=col,
            )
            fe = [(r["t"], r["fe_observables"][i]) for r in ser if len(r.get("fe_observables", [])) > i]
            if fe:
                axes[p].plot(*zip(*fe, strict=True), "k--", lw=1, label="FE" if k == 0 else None)
        if hist is not None:
            ax = axes[len(scalar) + 1]
            centres = np.asarray(hist["centres"])
            first = [i for i, lab in enumerate(labels) if lab.startswith("hist(")][0]
            sl = slice(first, first + n_hist)
            for j, r in enumerate(ser):
                shade = 0.35 + 0.65 * (j + 1) / len(ser)
                ax.plot(centres, r["sgd_observables"][sl], "o", mfc="none", color=col, alpha=shade)
                ax.plot(centres, r["sde_observables"][sl], "-", color=col, alpha=shade, lw=1)
                if "fe_observables" in r:
                    ax.plot(centres, r["fe_observables"][sl], "k--", lw=1, alpha=shade)
    eta = [r["eta"] for r in runs]
    axes[-1].semilogy(
        eta, [max(r["variance_rel_mismatch"], 1e-6) for r in runs], "o-", label="max |var_SGD/var_SDE − 1|"
    )
    axes[-1].semilogy(eta, [max(r["max_abs_z"], 1e-6) / 100 for r in runs], "s--", label="max |z| / 100")
    axes[-1].set_xlabel("η")
    axes[-1].legend(fontsize=7)
    axes[-1].set_title("SGD vs SDE mismatch")
    axes[0].set_title("variances: SDE (x, lines), SGD (o, □ ± 2 s.e.)")
    axes[0].set_xlabel("t")
    axes[0].legend(fontsize=7)
    for p, i in enumerate(scalar, start=1):
        axes[p].set_title(labels[i][:40], fontsize=8)
        axes[p].set_xlabel("t")
        axes[p].legend(fontsize=7)
    if hist is not None:
        axes[len(scalar) + 1].set_title(
            f"density of {hist['expression']} (SDE lines, SGD o, FE --)", fontsize=8
        )
    fig.suptitle(f"{title}: SGD vs its SDE for η × {[r['eta_factor'] for r in runs]}")
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target
