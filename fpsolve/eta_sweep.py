r"""Where the SDE description of SGD breaks: real mini-batch SGD against the SDE over a range of η.

For each factor ``f`` of ``validate.sgd_eta_factors`` the learning rate is ``η_f = f·η`` (so
``ε_f² = η_f/(2b)``) and two ensembles start from the case's ``[initial]`` density:

* **SDE**: Euler–Maruyama paths of :math:`dX = -\nabla L\,dt + \sqrt{2\varepsilon_f^2}\,G\,dW`
  with the validation time step (≪ η_f: this is the diffusion itself);
* **SGD**: the discrete process :class:`~fpsolve.sgd.MiniBatchSGD`, one step = time η_f.

They are compared at the analysis' output times (rounded to whole SGD steps; the SGD time is
recorded): mean, covariance, ``validate.observables`` (expressions of θ, e.g. a smooth probe of the
mass near a point), a kernel-smoothed histogram of ``validate.histogram = [q(θ), lo, hi, bins]``
(:math:`\hat p(q_j) = E\,\phi_h(q(\theta)-q_j)`, φ_h the normal density with h = bin spacing) and,
with ``validate.collapse_radius`` r, the fraction :math:`P(|\theta_t| < r)`. For ``f = 1`` the FE
values (the same integrals of ρ) are recorded next to them. Per factor the *mismatch* is the largest
relative SGD−SDE difference of the variances (and its z-score) and the largest |z| over all
quantities: it should be statistically zero at small η and grow with η.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.case import Case
from fpsolve.log import get_logger
from fpsolve.montecarlo import EulerMaruyama, Moments, simulate_moments
from fpsolve.sgd import MiniBatchSGD


def sweep_observables(case: Case) -> list[tuple[str, sp.Expr]]:
    """(label, expression) of the observables and histogram kernels compared by FE, SDE and SGD."""
    s = case.validate
    out = [(str(e), e) for e in s.observables]
    if s.histogram is not None:
        q, lo, hi, bins = s.histogram
        h = (hi - lo) / bins
        for c in histogram_centres(lo, hi, bins):
            out.append(
                (f"hist({q})@{c:.4g}", sp.exp(-((q - c) ** 2) / (2 * h**2)) / (sp.sqrt(2 * sp.pi) * h))
            )
    return out


def histogram_centres(lo: float, hi: float, bins: int) -> np.ndarray:
    """Bin centres of ``[lo, hi]`` cut into ``bins`` equal bins."""
    return lo + (np.arange(bins) + 0.5) * (hi - lo) / bins


def eta_sweep(
    case: Case,
    times: list[float],
    fe_observables: dict[float, np.ndarray],
    sample: Any,
    dt: float,
    comm: MPI.Comm = MPI.COMM_WORLD,
) -> dict[str, Any]:
    """SDE and SGD ensembles for every η factor; returns the ``sgd`` record of ``validation.json``.

    ``fe_observables[t]`` holds the FE integrals of :func:`sweep_observables` at time ``t``.
    """
    s, model = case.validate, case.model
    assert model is not None
    labels = [lab for lab, _ in sweep_observables(case)]
    funcs = [case.problem.numpy_function(e) for _, e in sweep_observables(case)]
    if s.collapse_radius is not None:
        r2 = s.collapse_radius**2
        funcs.append(lambda x: (np.einsum("ni,ni->n", x, x) < r2).astype(float))
        labels.append(f"P(|theta| < {s.collapse_radius:g})")
    runs = []
    for k, f in enumerate(s.sgd_eta_factors):
        m = dataclasses.replace(model, eta=model.eta * f)
        problem = dataclasses.replace(case.problem, eps2=m.eps2)
        steps = [max(1, round(t / m.eta)) for t in times]
        sgd_times = [n * m.eta for n in steps]
        sde_dt = min(dt, m.eta)
        sde = simulate_moments(
            EulerMaruyama(problem, sde_dt), sample, s.particles, sgd_times, s.seed + 100 + k, comm, funcs
        )
        sgd = simulate_moments(
            MiniBatchSGD(problem, m, m.eta), sample, s.particles, sgd_times, s.seed + 200 + k, comm, funcs
        )
        rows = []
        for t, ts, a, b in zip(times, sgd_times, sde, sgd, strict=True):
            row = _row(a, b, labels)
            row |= {"t": t, "t_sgd": ts, "steps": round(ts / m.eta)}
            if f == 1.0 and t in fe_observables:
                row["fe_observables"] = fe_observables[t].tolist()
            rows.append(row)
        runs.append(
            {
                "eta_factor": f,
                "eta": m.eta,
                "eps2": m.eps2,
                "sde_dt": sde_dt,
                "series": rows,
                "variance_rel_mismatch": max(r["variance_rel_mismatch"] for r in rows),
                "variance_max_abs_z": max(r["variance_max_abs_z"] for r in rows),
                "max_abs_z": max(r["max_abs_z"] for r in rows),
            }
        )
    return {
        "particles": s.particles,
        "observables": labels,
        "batch": model.batch,
        "replacement": model.replacement,
        "label_noise": model.label_noise,
        "runs": runs,
    }


def log_sweep(sweep: dict[str, Any]) -> None:
    """One log line per η factor: variance mismatch, its z-score and the largest |z| (rank 0)."""
    log = get_logger()
    for run in sweep["runs"]:
        log.info(
            f"  SGD vs SDE at η = {run['eta']:.4g} (×{run['eta_factor']:g}): max |var_SGD/var_SDE − 1| = "
            f"{run['variance_rel_mismatch']:.3g} (|z| ≤ {run['variance_max_abs_z']:.2f}), "
            f"max |z| over all quantities {run['max_abs_z']:.2f}"
        )


def _row(sde: Moments, sgd: Moments, labels: list[str]) -> dict[str, Any]:
    d = len(sde.mean)
    var_sde, var_sgd = np.diag(sde.cov), np.diag(sgd.cov)
    var_se = np.hypot(np.diag(sde.cov_se), np.diag(sgd.cov_se))
    z_var = np.abs(var_sgd - var_sde) / np.maximum(var_se, 1e-300)
    z_mean = np.abs(sgd.mean - sde.mean) / np.maximum(np.hypot(sde.mean_se, sgd.mean_se), 1e-300)
    z_obs = np.abs(sgd.f_mean - sde.f_mean) / np.maximum(np.hypot(sde.f_se, sgd.f_se), 1e-300)
    return {
        "sde_alive": sde.alive,
        "sgd_alive": sgd.alive,
        "sde_mean": sde.mean.tolist(),
        "sde_mean_se": sde.mean_se.tolist(),
        "sgd_mean": sgd.mean.tolist(),
        "sgd_mean_se": sgd.mean_se.tolist(),
        "sde_cov": sde.cov.tolist(),
        "sde_cov_se": sde.cov_se.tolist(),
        "sgd_cov": sgd.cov.tolist(),
        "sgd_cov_se": sgd.cov_se.tolist(),
        "sde_cov_eigenvalues": np.linalg.eigvalsh(sde.cov).tolist() if d > 1 else var_sde.tolist(),
        "sgd_cov_eigenvalues": np.linalg.eigvalsh(sgd.cov).tolist() if d > 1 else var_sgd.tolist(),
        "sde_observables": sde.f_mean.tolist(),
        "sde_observables_se": sde.f_se.tolist(),
        "sgd_observables": sgd.f_mean.tolist(),
        "sgd_observables_se": sgd.f_se.tolist(),
        "variance_rel_mismatch": float(np.max(np.abs(var_sgd / var_sde - 1))),
        "variance_max_abs_z": float(z_var.max()),
        "max_abs_z": float(max(z_var.max(), z_mean.max(), z_obs.max(initial=0.0))),
    }


def sweep_figure(sweep: dict[str, Any], case: Case, target: Path) -> Path:
    """Observables against time (SDE lines, SGD markers, FE at f = 1) and the mismatch against η."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target.parent.mkdir(exist_ok=True)
    runs = sweep["runs"]
    labels = sweep["observables"]
    hist = case.validate.histogram
    n_hist = hist[3] if hist is not None else 0
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
            centres = histogram_centres(hist[1], hist[2], hist[3])
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
        axes[len(scalar) + 1].set_title(f"density of {hist[0]} (SDE lines, SGD o, FE --)", fontsize=8)
    fig.suptitle(f"{case.name}: SGD vs its SDE for η × {[r['eta_factor'] for r in runs]}")
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)
    return target
