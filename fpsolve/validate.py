r"""``fpsolve validate``: the case's finite-element answers against Monte Carlo paths, with a verdict.

For every analysis the FE moments (mean and covariance of ρ, at each output time of a transient
analysis or of the stationary density), the integrals of ρ against Gaussian test functions placed
where the mass is (:func:`test_functions`) and, for stationary analyses, the circulation of the
current :math:`\int J\cdot w` for rotations ``w`` about the mean (:func:`rotation_fields`; MC:
Stratonovich time average over ``validate.t_average`` after ``t_stationary``) are compared with
Euler–Maruyama ensembles of the same symbolic problem (:mod:`fpsolve.montecarlo`) run with Δt and
Δt/2. A comparison passes iff

.. math::  |\text{FE} - \text{MC}_{\Delta t/2}|
           \le k\,\mathrm{s.e.} + |\text{MC}_{\Delta t} - \text{MC}_{\Delta t/2}|,

``k = validate.sigmas`` (default 4): the statistical error plus an estimate of the remaining time-step
bias of the weak-order-1 scheme (the Δt/2 result still carries about that much). Stationary analyses
start the paths from ``[initial]`` and compare at ``validate.t_stationary`` (choose it several
relaxation times long). Results go to ``validation.json`` (same ``checks`` format as ``summary.json``
plus the MC mean, its standard error, the number of paths, Δt and the bias estimate) and
``figures/validation.png``.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

import ufl
from mpi4py import MPI

import fpsolve
from fpsolve.case import Case, StationaryAnalysis, TransientAnalysis
from fpsolve.case_extras import ExitTimeAnalysis, MassConcentrationAnalysis
from fpsolve.diagnostics import integral, moments
from fpsolve.errors import ProblemError
from fpsolve.eta_sweep import eta_sweep, log_sweep, sweep_figure, sweep_observables
from fpsolve.io import ResultDirectory, write_json
from fpsolve.log import get_logger
from fpsolve.mesh import build_mesh
from fpsolve.montecarlo import CHUNK, EulerMaruyama, Moments, current_circulation, simulate_moments
from fpsolve.operators import Discretisation
from fpsolve.problem import FokkerPlanckProblem
from fpsolve.runner import log_checks
from fpsolve.solvers.stationary import StationarySolver
from fpsolve.solvers.transient import TransientSolver
from fpsolve.symbolic import to_ufl


def initial_sampler(problem: FokkerPlanckProblem) -> Any:
    """``sample(rng, m)`` drawing from the problem's initial density when it is a Gaussian."""
    expr = problem.initial
    if expr is None:
        raise ProblemError("validate needs an [initial] density to start the Monte Carlo paths")
    mean, cov = _gaussian_parameters(expr, problem)
    return lambda rng, m: rng.multivariate_normal(mean, cov, m)


def _gaussian_parameters(expr: sp.Expr, problem: FokkerPlanckProblem) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``expr`` if it is ``c·exp(quadratic)`` (the Gaussian/point initial types)."""
    xs = problem.coords
    log_rho = sp.expand(sp.expand_log(sp.log(expr), force=True))
    hess = sp.hessian(log_rho, xs)
    if any(e.free_symbols for e in hess) or log_rho.has(sp.log(xs[0])):
        raise ProblemError("validate samples Gaussian or point initial densities only")
    precision = -np.array(hess, dtype=float)
    grad0 = np.array([sp.diff(log_rho, c).subs(dict.fromkeys(xs, 0)) for c in xs], dtype=float)
    cov = np.linalg.inv(precision)
    return cov @ grad0, cov


def validate_case(
    case: Case,
    out: Path | None = None,
    overwrite: bool = False,
    mc_problem: FokkerPlanckProblem | None = None,
) -> dict[str, Any]:
    """Run FE and MC for every analysis of ``case``; write ``validation.json`` and the figure.

    ``mc_problem`` replaces the problem the paths follow (tests use it to show that a wrong FE
    problem is rejected).
    """
    comm = MPI.COMM_WORLD
    log = get_logger()
    truth = mc_problem or case.problem
    sample = initial_sampler(truth) if truth.initial is not None else None
    disc = Discretisation(case.problem, build_mesh(case.problem.domain, comm), case.degree, case.scheme)
    target = Path(out or Path(str(case.output_dir) + "_validation"))
    with ResultDirectory(target, overwrite, comm) as staged:
        result = _validate_into(case, disc, truth, sample, staged.path)
    log.info(f"validation {'PASSED' if result['passed'] else 'FAILED'}; results in {target.resolve()}")
    return result


def _validate_into(
    case: Case,
    disc: Discretisation,
    truth: FokkerPlanckProblem,
    sample: Any,
    out: Path,
) -> dict[str, Any]:
    comm = disc.comm
    settings = case.validate
    t0 = time.perf_counter()
    checks: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    extra = [e for _, e in sweep_observables(case)]  # FE values for the SGD sweep (not checked)
    for analysis in case.analyses:
        fe: dict[float, tuple[np.ndarray, np.ndarray, list[sp.Expr], np.ndarray]] = {}
        obs = list(settings.observables)
        record = functools.partial(_record, fe, disc, observables=obs, extra=extra)

        if isinstance(analysis, ExitTimeAnalysis | MassConcentrationAnalysis):
            from fpsolve.extra_validation import validate_extra

            checks += validate_extra(case, disc, analysis, truth, out, series)
            continue
        if isinstance(analysis, StationaryAnalysis):
            if settings.t_stationary is None:
                raise ProblemError("validate: set validate.t_stationary for a stationary analysis")
            rho_inf = StationarySolver(disc, petsc_options=case.petsc).solve().rho
            record(settings.t_stationary, rho_inf)
            label, dt = "stationary", settings.dt or 1e-3
            checks += _circulation_checks(
                disc, rho_inf, truth, sample, fe[settings.t_stationary][0], settings, dt, comm
            )
        else:
            assert isinstance(analysis, TransientAnalysis)
            rho = disc.interpolate(case.problem.initial)
            rho.x.array[:] /= disc.mass(rho)
            solver = TransientSolver(disc, analysis.dt, analysis.method, petsc_options=case.petsc)
            for t in solver.run(rho, analysis.output_times):
                record(t, rho)
            label, dt = "transient", settings.dt or analysis.dt
        times = list(fe)
        funcs = [truth.numpy_function(b) for t in times for b in fe[t][2]]
        args = (settings.particles, times)
        coarse = simulate_moments(EulerMaruyama(truth, dt), sample, *args, settings.seed, comm, funcs)
        fine = simulate_moments(EulerMaruyama(truth, dt / 2), sample, *args, settings.seed + 1, comm, funcs)
        offset = 0
        for t, mc, mc2 in zip(times, fine, coarse, strict=True):
            mean, cov, bumps, ints, _ = fe[t]
            sl = slice(offset, offset + len(bumps))
            offset += len(bumps)
            checks += _compare(label, t, (mean, cov), mc, mc2, settings.particles, dt / 2, settings.sigmas)
            checks += _compare_integrals(
                label, t, ints, mc.f_mean[sl], mc.f_se[sl], mc2.f_mean[sl], settings, dt / 2
            )
            series.append(
                {
                    "analysis": label,
                    "t": t,
                    "fe_mean": mean.tolist(),
                    "mc_mean": mc.mean.tolist(),
                    "mc_mean_se": mc.mean_se.tolist(),
                    "fe_cov": cov.tolist(),
                    "mc_cov": mc.cov.tolist(),
                    "mc_cov_se": mc.cov_se.tolist(),
                    "test_functions": [str(b) for b in bumps],
                    "fe_integrals": ints.tolist(),
                    "mc_integrals": mc.f_mean[sl].tolist(),
                    "mc_integrals_se": mc.f_se[sl].tolist(),
                }
            )
    result = {
        "case": case.name,
        "version": fpsolve.__version__,
        "ranks": comm.size,
        "particles": settings.particles,
        "seed": settings.seed,
        "sigmas": settings.sigmas,
        "wall_time_s": time.perf_counter() - t0,
        "series": series,
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }
    if case.model is not None and settings.sgd_eta_factors:
        fe_obs = {t: v[4] for t, v in fe.items()}
        result["sgd"] = eta_sweep(case, times, fe_obs, sample, dt, comm)
        log_sweep(result["sgd"])
    write_json(out / "validation.json", result, comm)
    if comm.rank == 0 and case.figures and any("fe_mean" in s for s in series):
        path = _figure(series, out / "figures" / "validation.png", case.name)
        result["figure"] = str(path.relative_to(out))
        if "sgd" in result:
            target = out / "figures" / "sgd_eta_sweep.png"
            result["sgd_figure"] = str(sweep_figure(result["sgd"], case, target).relative_to(out))
    log_checks(checks)
    return result


def rotation_fields(centre: np.ndarray) -> list[tuple[str, Any]]:
    r"""Rotations about ``centre`` in each coordinate plane: :math:`w = (x_i - c_i)e_j - (x_j - c_j)e_i`."""
    d = len(centre)
    out = []
    for i in range(d):
        for j in range(i + 1, d):

            def w(x: np.ndarray, i: int = i, j: int = j) -> np.ndarray:
                v = np.zeros_like(x)
                v[:, j] = x[:, i] - centre[i]
                v[:, i] = -(x[:, j] - centre[j])
                return v

            out.append(("xyz"[i] + "xyz"[j], w))
    return out


def _circulation_checks(
    disc: Discretisation,
    rho: Any,
    truth: FokkerPlanckProblem,
    sample: Any,
    centre: np.ndarray,
    settings: Any,
    dt: float,
    comm: MPI.Comm,
) -> list[dict[str, Any]]:
    r"""Stationary current: :math:`\int J_h\cdot w` (FE) against the Stratonovich time average (MC)."""
    fields = rotation_fields(centre)
    if not fields:
        return []
    J = disc.current(rho)
    x = ufl.SpatialCoordinate(disc.msh)
    n = max(settings.particles // 4, 2 * CHUNK)
    args = (sample, n, settings.t_stationary, settings.t_average, [w for _, w in fields])
    fine, se = current_circulation(EulerMaruyama(truth, dt / 2), *args, settings.seed + 2, comm)
    coarse, _ = current_circulation(EulerMaruyama(truth, dt), *args, settings.seed + 3, comm)
    rows = []
    for k, (plane, _) in enumerate(fields):
        i, j = "xyz".index(plane[0]), "xyz".index(plane[1])
        fe = integral(J[j] * (x[i] - centre[i]) - J[i] * (x[j] - centre[j]), disc.msh)
        name = f"stationary: circulation of J in the {plane} plane"
        rows.append(mc_check(name, fe, fine[k], se[k], coarse[k], n, dt / 2, settings.sigmas))
    return rows


def _record(
    fe: dict[float, Any],
    disc: Discretisation,
    t: float,
    rho: Any,
    observables: list[sp.Expr],
    extra: list[sp.Expr],
) -> None:
    """Store FE moments and integrals of ρ against test functions + ``observables`` and ``extra``.

    The first two are checked against Monte Carlo; ``extra`` (histogram kernels) is only recorded.
    """
    problem = disc.problem
    mean, cov = moments(rho, disc.msh, problem.dim)
    bumps = test_functions(mean, cov, problem) + observables
    x = ufl.SpatialCoordinate(disc.msh)

    def ints(exprs: list[sp.Expr]) -> np.ndarray:
        return np.array([integral(rho * to_ufl(b, x, problem.coords), disc.msh) for b in exprs])

    fe[t] = (mean, cov, bumps, ints(bumps), ints(extra))


def test_functions(mean: np.ndarray, cov: np.ndarray, problem: FokkerPlanckProblem) -> list[sp.Expr]:
    r"""Gaussian bumps :math:`\exp(-|x-c|^2/(2w^2))` at the mean and at mean ± one std along each axis.

    :math:`w` is half the smallest standard deviation: the bumps probe the density's shape (not only
    its moments) where the mass is.
    """
    xs = sp.Matrix(problem.coords)
    std = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
    w = 0.5 * float(std.min())
    centres = [mean] + [
        mean + s * std[i] * np.eye(len(mean))[i] for i in range(len(mean)) for s in (-1.0, 1.0)
    ]
    return [sp.exp(-((xs - sp.Matrix(c)).dot(xs - sp.Matrix(c))) / (2 * w**2)) for c in centres]


def mc_check(
    name: str, fe: float, mc: float, se: float, mc_coarse: float, n: int, dt: float, k: float
) -> dict[str, Any]:
    r"""One FE-vs-MC check: passes iff |FE − MC| ≤ k·s.e. + |MC(Δt) − MC(Δt/2)| (the Δt-bias estimate)."""
    bias = abs(mc_coarse - mc)
    tol = k * se + bias
    return {
        "name": name,
        "value": float(fe),
        "reference": float(mc),
        "mc_standard_error": float(se),
        "dt_bias_estimate": float(bias),
        "n_paths": int(n),
        "dt": float(dt),
        "tolerance": float(tol),
        "passed": bool(abs(fe - mc) <= tol),
    }


def _compare_integrals(
    label: str,
    t: float,
    fe: np.ndarray,
    mc: np.ndarray,
    se: np.ndarray,
    coarse: np.ndarray,
    settings: Any,
    dt: float,
) -> list[dict[str, Any]]:
    return [
        mc_check(
            f"{label} t={t:g}: integral of rho * bump {k}", *vals, settings.particles, dt, settings.sigmas
        )
        for k, vals in enumerate(zip(fe, mc, se, coarse, strict=True))
    ]


def _compare(
    label: str,
    t: float,
    fe: tuple[np.ndarray, np.ndarray],
    mc: Moments,
    coarse: Moments,
    n: int,
    dt: float,
    k: float,
) -> list[dict[str, Any]]:
    fe_mean, fe_cov = fe
    d = len(fe_mean)
    rows = [
        mc_check(
            f"{label} t={t:g}: mean_{'xyz'[i]}",
            fe_mean[i],
            mc.mean[i],
            mc.mean_se[i],
            coarse.mean[i],
            n,
            dt,
            k,
        )
        for i in range(d)
    ]
    rows += [
        mc_check(
            f"{label} t={t:g}: cov_{'xyz'[i]}{'xyz'[j]}",
            fe_cov[i, j],
            mc.cov[i, j],
            mc.cov_se[i, j],
            coarse.cov[i, j],
            n,
            dt,
            k,
        )
        for i in range(d)
        for j in range(i, d)
    ]
    return rows


def _figure(series: list[dict[str, Any]], target: Path, title: str) -> Path:
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
