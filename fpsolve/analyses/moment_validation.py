r"""Finite-element moments of ρ against Monte Carlo paths: the ``validate`` of stationary and transient runs.

At each time the FE mean and covariance of ρ, and the integrals of ρ against Gaussian test functions
placed where the mass is (:func:`test_functions`) and against ``validate.observables``, are compared
with Euler–Maruyama ensembles of the same symbolic problem (:mod:`fpsolve.sde.montecarlo`) run with Δt
and Δt/2 (:func:`fpsolve.analyses.base.mc_check`). For stationary analyses the circulation of the
current :math:`\int J\cdot w` for rotations ``w`` about the mean (:func:`rotation_fields`) is compared
with the Stratonovich time average of the paths over ``validate.t_average`` after ``t_stationary``.
At the ``histogram_times`` of :class:`FrameRecorder` the marginal histogram of each coordinate is
compared bin by bin (:mod:`fpsolve.analyses.histograms`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np
import sympy as sp

import ufl

from fpsolve.analyses.base import Context, ValidateSettings, Validation, mc_check
from fpsolve.analyses.histograms import Histogram, compare_all, marginals, mesh_box
from fpsolve.discretisation.functionals import integral, moments
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.sde.montecarlo import (
    CHUNK,
    EulerMaruyama,
    Moments,
    current_circulation,
    initial_sampler,
    simulate_moments,
)

__all__ = ["FrameRecorder", "compare_with_paths", "rotation_fields", "sgd_kernels", "test_functions"]


def sgd_kernels(settings: ValidateSettings) -> list[tuple[str, sp.Expr]]:
    """(label, expression) of the observables and histogram kernels compared by FE, SDE and SGD."""
    out = [(str(e), e) for e in settings.observables]
    if settings.histogram is not None:
        q, lo, hi, bins = settings.histogram
        h = (hi - lo) / bins
        for c in histogram_centres(lo, hi, bins):
            out.append(
                (f"hist({q})@{c:.4g}", sp.exp(-((q - c) ** 2) / (2 * h**2)) / (sp.sqrt(2 * sp.pi) * h))
            )
    return out


def histogram_centres(lo: float, hi: float, bins: int) -> np.ndarray:
    """Bin centres of ``[lo, hi]`` cut into ``bins`` equal bins."""
    return lo + (np.arange(bins) + 0.5) * (hi - lo) / bins


class FrameRecorder:
    """FE moments and test-function integrals of ρ at the times it is shown (:meth:`record`).

    At ``histogram_times`` also the FE marginal histograms (:attr:`histograms`).
    """

    def __init__(
        self, disc: Discretisation, settings: ValidateSettings, histogram_times: Collection[float] = ()
    ) -> None:
        self.disc = disc
        self.observables = list(settings.observables)
        self.extra = [e for _, e in sgd_kernels(settings)]
        self.frames: dict[float, tuple[np.ndarray, np.ndarray, list[sp.Expr], np.ndarray, np.ndarray]] = {}
        self.histogram_times = set(histogram_times)
        self.histograms: list[Histogram] = []
        self._box = mesh_box(disc.msh) if self.histogram_times else None

    def record(self, t: float, rho: Any) -> None:
        """Store FE moments and integrals of ρ against test functions + observables and SGD kernels.

        The first two are checked against Monte Carlo; the kernels are only recorded (η sweep).
        """
        disc = self.disc
        problem = disc.problem
        mean, cov = moments(rho, disc.msh, problem.dim)
        bumps = test_functions(mean, cov, problem) + self.observables
        x = ufl.SpatialCoordinate(disc.msh)

        def ints(exprs: list[sp.Expr]) -> np.ndarray:
            return np.array([integral(rho * to_ufl(b, x, problem.coords), disc.msh) for b in exprs])

        self.frames[t] = (mean, cov, bumps, ints(bumps), ints(self.extra))
        if t in self.histogram_times:
            self.histograms += marginals(t, rho, mean, cov, self._box)


def compare_with_paths(
    ctx: Context,
    truth: FokkerPlanckProblem,
    label: str,
    fe: FrameRecorder,
    dt: float,
    extra_checks: list,
    fractions: Sequence[tuple[str, Callable[[np.ndarray], np.ndarray], Sequence[float]]] = (),
) -> Validation:
    """Monte Carlo of ``truth`` with Δt and Δt/2 from its initial density, against the recorded frames.

    The record's ``frames`` are one entry per time, then one of the marginal histograms (without
    ``fe_mean``: ``fpsolve validate`` draws it with the analysis' ``validation_figures``).
    Each of ``fractions`` is ``(name, indicator, FE values at the recorded times)``: the FE probability
    of a set against the fraction of paths in it (standard error floored at 1/n, the resolution of n
    paths), checks ``"<label> t=<t>: <name>"``, recorded under ``fractions`` in each frame.
    """
    settings, comm = ctx.settings, ctx.disc.comm
    sample = initial_sampler(truth)
    frames = fe.frames
    times = list(frames)
    funcs = [truth.numpy_function(b) for t in times for b in frames[t][2]]
    first_bin = len(funcs)
    for h in fe.histograms:
        funcs += h.indicators()
    first_fraction = len(funcs)
    funcs += [f for _, f, _ in fractions]
    args = (settings.particles, times)
    coarse = simulate_moments(
        EulerMaruyama(truth, dt, walls=ctx.walls), sample, *args, settings.seed, comm, funcs
    )
    fine = simulate_moments(
        EulerMaruyama(truth, dt / 2, walls=ctx.walls), sample, *args, settings.seed + 1, comm, funcs
    )
    checks = list(extra_checks)
    records = []
    offset = 0
    for i, (t, mc, mc2) in enumerate(zip(times, fine, coarse, strict=True)):
        mean, cov, bumps, ints, _ = frames[t]
        sl = slice(offset, offset + len(bumps))
        offset += len(bumps)
        checks += _compare(label, t, (mean, cov), mc, mc2, settings.particles, dt / 2, settings.sigmas)
        checks += _compare_integrals(
            label, t, ints, mc.f_mean[sl], mc.f_se[sl], mc2.f_mean[sl], settings, dt / 2
        )
        records.append(
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
                "fractions": [],
            }
        )
        for j, (name, _, values) in enumerate(fractions, start=first_fraction):
            se = max(float(mc.f_se[j]), 1.0 / settings.particles)
            n, k = settings.particles, settings.sigmas
            checks.append(
                mc_check(f"{label} t={t:g}: {name}", values[i], mc.f_mean[j], se, mc2.f_mean[j], n, dt / 2, k)
            )
            records[-1]["fractions"].append(
                {"name": name, "fe": float(values[i]), "mc": float(mc.f_mean[j]), "mc_se": se}
            )
    histograms, rows = compare_all(
        fe.histograms,
        times,
        fine,
        coarse,
        first_bin,
        lambda t: f"{label} t={t:g}",
        settings.particles,
        dt / 2,
        settings.sigmas,
    )
    checks += rows
    if histograms:
        records.append({"analysis": label, "histograms": histograms})
    fe_extra = {t: v[4] for t, v in frames.items()}
    return Validation(checks, {"analysis": label, "frames": records}, fe_extra, dt)


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


def circulation_checks(
    ctx: Context, rho: Any, truth: FokkerPlanckProblem, sample: Any, centre: np.ndarray, dt: float
) -> list[dict[str, Any]]:
    r"""Stationary current: :math:`\int J_h\cdot w` (FE) against the Stratonovich time average (MC)."""
    disc, settings, comm = ctx.disc, ctx.settings, ctx.disc.comm
    fields = rotation_fields(centre)
    if not fields:
        return []
    J = disc.current(rho)
    x = ufl.SpatialCoordinate(disc.msh)
    n = max(settings.particles // 4, 2 * CHUNK)
    args = (sample, n, settings.t_stationary, settings.t_average, [w for _, w in fields])
    fine, se = current_circulation(
        EulerMaruyama(truth, dt / 2, walls=ctx.walls), *args, settings.seed + 2, comm
    )
    coarse, _ = current_circulation(EulerMaruyama(truth, dt, walls=ctx.walls), *args, settings.seed + 3, comm)
    rows = []
    for k, (plane, _) in enumerate(fields):
        i, j = "xyz".index(plane[0]), "xyz".index(plane[1])
        fe = integral(J[j] * (x[i] - centre[i]) - J[i] * (x[j] - centre[j]), disc.msh)
        name = f"stationary: circulation of J in the {plane} plane"
        rows.append(mc_check(name, fe, fine[k], se[k], coarse[k], n, dt / 2, settings.sigmas))
    return rows


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
