r"""Where the SDE description of SGD breaks: real mini-batch SGD against the SDE over a range of η.

For each factor ``f`` of ``validate.sgd_eta_factors`` the learning rate is ``η_f = f·η`` (so
``ε_f² = η_f/(2b)``) and two ensembles start from the case's ``[initial]`` density:

* **SDE**: Euler–Maruyama paths of :math:`dX = -\nabla L\,dt + \sqrt{2\varepsilon_f^2}\,G\,dW`
  with the validation time step (≪ η_f: this is the diffusion itself);
* **SGD**: the discrete process :class:`~fpsolve.sde.sgd.MiniBatchSGD`, one step = time η_f.

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
from typing import Any

import numpy as np

from mpi4py import MPI

from fpsolve.analyses.moment_validation import histogram_centres, sgd_kernels
from fpsolve.cases.schema import Case
from fpsolve.log import get_logger
from fpsolve.sde.montecarlo import EulerMaruyama, Moments, simulate_moments
from fpsolve.sde.sgd import MiniBatchSGD
from fpsolve.sde.walls import MeshWalls


def eta_sweep(
    case: Case,
    times: list[float],
    fe_observables: dict[float, np.ndarray],
    sample: Any,
    dt: float,
    comm: MPI.Comm = MPI.COMM_WORLD,
    walls: MeshWalls | None = None,
) -> dict[str, Any]:
    """SDE and SGD ensembles for every η factor; returns the ``sgd`` record of ``validation.json``.

    ``walls``: the Monte Carlo walls of a mesh-file domain (:func:`fpsolve.analyses.base.mesh_walls`).

    ``fe_observables[t]`` holds the FE integrals of the SGD kernels at time ``t``
    (:func:`fpsolve.analyses.moment_validation.sgd_kernels`).
    """
    s, model = case.validate, case.model
    assert model is not None
    labels = [lab for lab, _ in sgd_kernels(case.validate)]
    funcs = [case.problem.numpy_function(e) for _, e in sgd_kernels(case.validate)]
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
            EulerMaruyama(problem, sde_dt, walls=walls),
            sample,
            s.particles,
            sgd_times,
            s.seed + 100 + k,
            comm,
            funcs,
        )
        sgd = simulate_moments(
            MiniBatchSGD(problem, m, m.eta, walls),
            sample,
            s.particles,
            sgd_times,
            s.seed + 200 + k,
            comm,
            funcs,
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
        "histogram": None
        if s.histogram is None
        else {"expression": str(s.histogram[0]), "centres": histogram_centres(*s.histogram[1:]).tolist()},
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
