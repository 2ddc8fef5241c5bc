r"""The ``mass_concentration`` analysis (drift regime, docs/theory.md §1.4; a surrogate for Thm 1.2).

Mass in the shrinking ball and its deficit

.. math::  m(t) = \int_{|x-x^*|\le r(t)} \rho(t,x)\,dx,\qquad r(t) = R_0 e^{-\lambda(t-t_0)/2},\qquad
           \beta(t) = m(t_0) - m(t),

with ρ from the transient solver (backward Euler + FCT). The breakdown time is the first recorded time
with β > ``threshold`` (linear interpolation between recording times). The paper's constants a, α of
:math:`T_\varepsilon = (2/\lambda)\log(R_0/(a\varepsilon^\alpha))` are not available (docs/theory.md
§1.1); two
computable references are reported instead:

* ``reference = "ou"`` (linear drift, constant Q): ρ stays Gaussian, :math:`N(\mu_t, \Sigma_t)` from
  the FE initial moments (:mod:`fpsolve.problem.exact`), and m(t) is its ball probability
  (:func:`gaussian_ball_probability`) — an exact reference for FE and Monte Carlo;
* Chebyshev (§1.4, valid under (H5) :math:`\nabla L\cdot(x-x^*)\ge\lambda|x-x^*|^2` and
  :math:`\operatorname{tr}Q\le\sigma d`): :math:`E|X_t-x^*|^2 \le V(t) = e^{-2\lambda t}V_0 +
  (\varepsilon^2\sigma d/\lambda)(1-e^{-2\lambda t})` so :math:`\beta(t)\le m(t_0) - 1 + V(t)/r(t)^2`
  (checked against the FE β). The end of the last stretch where this bound is ≤ threshold is the
  time up to which concentration is guaranteed; for small ε it is
  :math:`(2/\lambda)\log(R_0\sqrt{\text{threshold}\cdot\lambda/(\sigma d)}/\varepsilon)`: the form above
  with α = 1 (the bound is loose when :math:`V_0` is not small against :math:`R_0^2`).

The FE integral over the ball uses the indicator :math:`1_{|x-x^*|\le r}` at high-order quadrature
points (``QUADRATURE_DEGREE``), which resolves the circle to a fraction of a cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.integrate as si
from scipy.special import chdtr, chndtr, ndtr  # not scipy.stats: 0.6 s of every command's import

import ufl
from mpi4py import MPI

from fpsolve.analyses.base import (
    MASS_TOL,
    Analysis,
    Context,
    FieldSeries,
    Result,
    Validation,
    check,
    mc_check,
    reference_key,
    register,
    slope,
)
from fpsolve.analyses.exit_time import ball
from fpsolve.analyses.histograms import Histogram, compare_all, pick_times, radial
from fpsolve.analyses.transient import initial_density, parse_time_stepping
from fpsolve.discretisation.functionals import integral, moments
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import CaseError, ProblemError
from fpsolve.log import progress_bar
from fpsolve.output.concentration_figures import (
    concentration_figure,
    concentration_sweep_figure,
    concentration_validation_figure,
)
from fpsolve.output.density_figures import mesh_triangulation
from fpsolve.output.fields import read_series
from fpsolve.output.validation_figures import histogram_figure
from fpsolve.problem.exact import linear_drift, ou_covariance, ou_mean
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.sde.montecarlo import EulerMaruyama, initial_sampler, simulate_moments
from fpsolve.solvers.transient import TransientSolver
from fpsolve.tables import integer, number

QUADRATURE_DEGREE = 12
#: (H5) is checked on the nodes up to round-off.
H5_TOL = 1e-10


def gaussian_ball_probability(mean: np.ndarray, cov: np.ndarray, centre: np.ndarray, r: float) -> float:
    r""":math:`P(|X - c| \le r)` for :math:`X\sim N(\mu,\Sigma)`.

    Isotropic Σ = s²I: non-central χ² with d degrees of freedom, :math:`\text{ncx2.cdf}(r^2/s^2, d,
    |\mu-c|^2/s^2)`; d = 1: normal cdfs; anisotropic 2-D: adaptive quadrature of the density over the
    disk in polar coordinates (absolute error ≤ 1e-10).
    """
    mean, cov, centre = (np.asarray(v, float) for v in (mean, cov, centre))
    d = len(mean)
    if d == 1:
        s = math.sqrt(cov[0, 0])
        return float(ndtr((centre[0] + r - mean[0]) / s) - ndtr((centre[0] - r - mean[0]) / s))
    s2 = cov[0, 0]
    if np.allclose(cov, s2 * np.eye(d), rtol=1e-13, atol=0):
        nc = float((mean - centre) @ (mean - centre)) / s2
        x = r**2 / s2
        return float(chdtr(d, x) if nc == 0 else chndtr(x, d, nc))
    if d != 2:
        raise ProblemError("the Gaussian ball probability is implemented for isotropic covariances or d ≤ 2")
    inverse, norm = np.linalg.inv(cov), 1.0 / (2 * math.pi * math.sqrt(np.linalg.det(cov)))

    def integrand(rho: float, th: float) -> float:
        u = centre + rho * np.array([math.cos(th), math.sin(th)]) - mean
        return norm * math.exp(-0.5 * float(u @ inverse @ u)) * rho

    value, _ = si.dblquad(integrand, 0.0, 2 * math.pi, 0.0, r, epsabs=1e-10, epsrel=1e-10)
    return float(value)


def ball_mass(rho: Any, centre: np.ndarray, r: float) -> float:
    r""":math:`\int_{|x-c|\le r}\rho` (indicator at degree-``QUADRATURE_DEGREE`` quadrature points)."""
    msh = rho.function_space.mesh
    x = ufl.SpatialCoordinate(msh)
    dist2 = sum((x[i] - float(centre[i])) ** 2 for i in range(len(centre)))
    return integral(ufl.conditional(ufl.le(dist2, r**2), rho, 0.0), msh, QUADRATURE_DEGREE)


def breakdown_time(t: np.ndarray, beta: np.ndarray, threshold: float, last: bool = False) -> float | None:
    """First time β crosses ``threshold`` (linear interpolation); None if it never does.

    ``last``: the end of the last stretch with β ≤ threshold instead (None if there is none).
    """
    beta = np.asarray(beta)
    above = np.flatnonzero(beta > threshold)
    if last:
        below = np.flatnonzero(beta <= threshold)
        if not len(below):
            return None
        above = above[above > below[-1]]
    if not len(above):
        return None
    k = int(above[0])
    if k == 0:
        return float(t[0])
    return float(t[k - 1] + (threshold - beta[k - 1]) * (t[k] - t[k - 1]) / (beta[k] - beta[k - 1]))


def fe_ball_masses(
    ctx: Context, a: MassConcentrationAnalysis, on_time: Any = None
) -> tuple[np.ndarray, np.ndarray, Any, TransientSolver, tuple[np.ndarray, np.ndarray]]:
    """FE m(t) at ``a.times()``, calling ``on_time(t, rho)`` at each: (t, m, ρ, solver, (m0, Σ0))."""
    disc = ctx.disc
    rho = initial_density(disc, "rho_concentration")
    centre = np.asarray(a.center)
    initial_moments = moments(rho, disc.msh, ctx.problem.dim)
    times = np.array(a.times())
    masses = []
    solver = TransientSolver(disc, a.dt, petsc_options=ctx.petsc)
    if times[0] == 0.0:
        masses.append(ball_mass(rho, centre, a.radius(0.0)))
        if on_time is not None:
            on_time(0.0, rho)
    bar = progress_bar(disc.comm, ctx.progress, f"{ctx.name}: mass concentration", a.t_end)
    with bar or nullcontext():
        if bar is not None:
            solver.on_step = lambda rec: bar.update(rec.t, mass=rec.mass, min_rho=rec.min)
        for t in solver.run(rho, [t for t in times if t > 0]):
            masses.append(ball_mass(rho, centre, a.radius(t)))
            if on_time is not None:
                on_time(t, rho)
    return times, np.array(masses), rho, solver, initial_moments


def exact_ball_masses(
    problem: FokkerPlanckProblem, a: MassConcentrationAnalysis, t: np.ndarray, m0: np.ndarray, s0: np.ndarray
) -> np.ndarray:
    """m(t) of the exact OU Gaussian started from N(m0, s0)."""
    A, mu, K = linear_drift(problem)
    c = np.asarray(a.center)
    return np.array(
        [
            gaussian_ball_probability(ou_mean(A, mu, m0, s), ou_covariance(A, K, s0, s), c, a.radius(s))
            for s in t
        ]
    )


def chebyshev_deficit(
    problem: FokkerPlanckProblem,
    a: MassConcentrationAnalysis,
    t: np.ndarray,
    v0: float,
    sigma: float,
    m_t0: float,
) -> np.ndarray:
    r"""Upper bound :math:`m(t_0) - 1 + V(t)/r(t)^2` on β(t) (§1.4), clipped to [0, 1]."""
    lam, d, eps2 = a.lam, problem.dim, problem.eps2
    v = np.exp(-2 * lam * t) * v0 + eps2 * sigma * d / lam * (1 - np.exp(-2 * lam * t))
    r2 = np.array([a.radius(s) ** 2 for s in t])
    return np.clip(m_t0 - 1 + v / r2, 0.0, 1.0)


def _hypotheses(
    problem: FokkerPlanckProblem, disc: Discretisation, a: MassConcentrationAnalysis
) -> tuple[float, float]:
    """(min over nodes of ∇L·(x−x*) − λ|x−x*|², σ = max tr Q / d), reduced over ranks."""
    n = disc.V.dofmap.index_map.size_local
    nodes = disc.V.tabulate_dof_coordinates()[:n, : problem.dim]
    rel = nodes - np.asarray(a.center)
    grad = -problem.numpy("drift")(nodes.T)[:, 0, :].T
    h5 = np.einsum("ni,ni->n", grad, rel) - a.lam * np.einsum("ni,ni->n", rel, rel)
    trace = np.einsum("iin->n", problem.numpy("Q")(nodes.T))
    return (
        float(disc.comm.allreduce(float(h5.min(initial=np.inf)), op=MPI.MIN)),
        float(disc.comm.allreduce(float(trace.max(initial=0.0)), op=MPI.MAX)) / problem.dim,
    )


@register
@dataclass(frozen=True)
class MassConcentrationAnalysis(Analysis):
    r"""Mass in the shrinking ball :math:`B_{r(t)}(x^*)`, :math:`r(t) = R_0 e^{-\lambda(t-t_0)/2}` (§1.4).

    The transient problem is solved from the initial density to ``t_end`` with step ``dt``;
    :math:`m(t) = \int_{B_{r(t)}}\rho(t)` is recorded at ``n_times`` equally spaced times in
    :math:`[t_0, t_\text{end}]` and the deficit :math:`\beta(t) = m(t_0) - m(t)`; the breakdown time is
    the first time :math:`\beta > ` ``threshold``. ``reference = "ou"`` compares m(t) with the exact
    Gaussian ball probability (linear drift, constant Q) within ``tolerance`` (absolute).
    """

    kind = "mass_concentration"
    keys = frozenset(
        {
            "type",
            "center",
            "R0",
            "lambda",
            "t0",
            "t_end",
            "dt",
            "n_times",
            "snapshots",
            "threshold",
            "reference",
            "tolerance",
            "slope_tolerance",
        }
    )

    center: tuple[float, ...]
    R0: float
    lam: float
    t_end: float
    dt: float
    t0: float = 0.0
    n_times: int = 40
    snapshots: int = 4
    threshold: float = 0.1
    reference: str | None = None
    tolerance: float = 0.02
    slope_tolerance: float | None = None

    def radius(self, t: float) -> float:
        """Ball radius at time ``t`` (R0 before t0)."""
        return self.R0 * math.exp(-self.lam * max(t - self.t0, 0.0) / 2)

    def times(self) -> tuple[float, ...]:
        """Recording times: ``n_times`` equally spaced in [t0, t_end] (t0 = 0 is the initial density)."""
        return tuple(float(t) for t in np.linspace(self.t0, self.t_end, self.n_times))

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate a ``mass_concentration`` table."""
        if problem.initial is None:
            raise CaseError(f"{where}: a mass_concentration analysis needs an [initial] density")
        center, R0 = ball(table, where, problem, "R0")
        lam = number(table.get("lambda"), f"{where}.lambda", positive=True)
        t_end, dt = parse_time_stepping(table, where)
        opt: dict[str, Any] = {}
        if "t0" in table:
            opt["t0"] = number(table["t0"], f"{where}.t0")
            if not 0 <= opt["t0"] < t_end:
                raise CaseError(f"{where}.t0 must lie in [0, t_end)")
        for key, lo, hi in (("n_times", 3, 10_000), ("snapshots", 1, 12)):
            if key in table:
                opt[key] = integer(table[key], f"{where}.{key}", lo, hi)
        for key in ("threshold", "tolerance", "slope_tolerance"):
            if key in table:
                opt[key] = number(table[key], f"{where}.{key}", positive=True)
        if opt.get("threshold", 0.1) >= 1:
            raise CaseError(f"{where}.threshold must lie in (0, 1)")
        reference = reference_key(table, where)
        if reference is not None:
            opt["reference"] = reference
        return cls(tuple(center), R0, lam, t_end, dt, **opt)

    def run(self, ctx: Context) -> Result:
        """FE m(t), β(t), breakdown times, references and checks; snapshots of ρ as a field."""
        a = self
        disc, problem = ctx.disc, ctx.problem
        times = np.array(a.times())
        picks = {float(times[i]) for i in np.linspace(0, len(times) - 1, a.snapshots).round().astype(int)}
        frames: list[tuple[float, Any]] = []

        def on_time(t: float, rho: Any) -> None:
            if float(t) in picks:
                frames.append((t, rho.copy()))

        t, m, _, solver, (mean0, cov0) = fe_ball_masses(ctx, a, on_time)
        for _, f in frames:
            f.name = "rho_concentration"
        m_t0 = float(m[0])
        beta = m_t0 - m
        h5, sigma = _hypotheses(problem, disc, a)
        c = np.asarray(a.center)
        v0 = float(np.trace(cov0) + (mean0 - c) @ (mean0 - c))
        cheb = chebyshev_deficit(problem, a, t, v0, sigma, m_t0)
        record: dict[str, Any] = {
            "eps2": problem.eps2,
            "center": list(a.center),
            "R0": a.R0,
            "lambda": a.lam,
            "t0": a.t0,
            "threshold": a.threshold,
            "slope_tolerance": a.slope_tolerance,
            "t": t.tolist(),
            "radius": [a.radius(s) for s in t],
            "m_fe": m.tolist(),
            "beta_fe": beta.tolist(),
            "beta_chebyshev_bound": cheb.tolist(),
            "breakdown_fe": breakdown_time(t, beta, a.threshold),
            "breakdown_chebyshev": breakdown_time(t, cheb, a.threshold, last=True),
            "h5_minimum": h5,
            "sigma": sigma,
            "beta_exact": None,
            "breakdown_exact": None,
        }
        checks = []
        if a.reference == "ou":
            exact = exact_ball_masses(problem, a, t, mean0, cov0)
            record["m_exact"] = exact.tolist()
            record["beta_exact"] = (exact[0] - exact).tolist()
            record["breakdown_exact"] = breakdown_time(t, exact[0] - exact, a.threshold)
            checks.append(
                check(
                    "mass concentration: max over t of |m_FE(t) - m_exact(t)|",
                    np.abs(m - exact).max(),
                    0.0,
                    a.tolerance,
                )
            )
        checks.append(
            check(
                "mass concentration: hypothesis H5, min over nodes of grad L.(x-x*) - lambda|x-x*|^2",
                min(h5, 0.0),
                0.0,
                H5_TOL,
            )
        )
        checks.append(
            check(
                "mass concentration: max over t of (beta_FE - Chebyshev bound on beta)",
                max(float((beta - cheb).max()), 0.0),
                0.0,
                a.tolerance,
            )
        )
        masses = np.array([r.mass for r in solver.history])
        if not problem.absorbing:
            checks.append(
                check(
                    "mass concentration: max |mass - 1| over all steps",
                    np.abs(masses - 1).max(),
                    0.0,
                    MASS_TOL,
                )
            )
        fields = [FieldSeries("rho_concentration", frames)] if frames else []
        return Result({"mass_concentration": record}, checks, fields)

    def validate(self, ctx: Context, truth: FokkerPlanckProblem) -> Validation:
        """FE m(t) vs the Monte Carlo fraction of paths in the ball, with Δt and Δt/2.

        The standard error of a fraction is floored at 1/n: with all paths inside (or outside) the
        sample variance is 0, while the resolution of n paths is 1/n. At up to three times after t0
        the histogram of |X − x*| is compared with the FE probabilities of the same radial bins.
        """
        a, settings, disc = self, ctx.settings, ctx.disc
        c = np.asarray(a.center)
        picks = set(pick_times(a.times()[1:]))
        hists: list[Histogram] = []

        def on_time(s: float, rho: Any) -> None:
            if s in picks:
                hists.append(radial(s, rho, c, "|X - x*|"))

        t, m, _, _, _ = fe_ball_masses(ctx, a, on_time)
        funcs = [_indicator(c, a.radius(s)) for s in t]
        for h in hists:
            funcs += h.indicators()
        dt = settings.dt or a.dt
        sample = initial_sampler(truth)
        args = (sample, settings.particles, list(t))
        fine = simulate_moments(
            EulerMaruyama(truth, dt / 2, walls=ctx.walls), *args, settings.seed, disc.comm, funcs
        )
        coarse = simulate_moments(
            EulerMaruyama(truth, dt, walls=ctx.walls), *args, settings.seed + 1, disc.comm, funcs
        )
        rows, mc, se = [], [], []
        for i, s in enumerate(t):
            f, g = fine[i], coarse[i]
            # a fraction of 0 or 1 has no sample variance: floor the standard error at 1/n
            f_se = max(float(f.f_se[i]), 1.0 / settings.particles)
            rows.append(
                mc_check(
                    f"mass concentration t={s:.4g}: m(t)",
                    m[i],
                    f.f_mean[i],
                    f_se,
                    g.f_mean[i],
                    settings.particles,
                    dt / 2,
                    settings.sigmas,
                )
            )
            mc.append(float(f.f_mean[i]))
            se.append(f_se)
        histograms, checks = compare_all(
            hists,
            list(t),
            fine,
            coarse,
            len(t),
            lambda s: f"mass concentration t={s:.4g}",
            settings.particles,
            dt / 2,
            settings.sigmas,
        )
        rows += checks
        record = {
            "analysis": "mass_concentration",
            "t": t.tolist(),
            "fe_m": m.tolist(),
            "mc_m": mc,
            "mc_m_se": se,
            "histograms": histograms,
        }
        return Validation(rows, record)

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/mass_concentration.png``: snapshots (``mass_concentration.xdmf``), the ball, β(t)."""
        data = out / "mass_concentration.xdmf"
        record = summary["observables"].get("mass_concentration")
        if not data.is_file() or record is None:
            return []
        frames = [(t, g) for t, g in read_series(data) if "rho_concentration" in g.point_data]
        snapshots = [
            (t, np.asarray(g.points), np.asarray(g.point_data["rho_concentration"])) for t, g in frames
        ]
        tri = mesh_triangulation(frames[0][1]) if len(summary.get("coordinates", [])) == 2 else None
        names = list(summary.get("coordinates", [])) or ["x", "y"]
        target = out / "figures" / "mass_concentration.png"
        return [concentration_figure(target, record, snapshots, tri, title, names)]

    @classmethod
    def sweep_fit(cls, summaries: list[Mapping[str, Any]]) -> dict[str, Any] | None:
        """Breakdown time against log(1/ε) (FE, exact OU when given, Chebyshev) and the slope 2/λ.

        With ``slope_tolerance`` the check: the least-squares slope of the FE breakdown time against
        log(1/ε) over 2/λ against 1 (relative tolerance; NaN, a failed check, where fewer than two
        runs break down before t_end).
        """
        conc = [s for s in summaries if "mass_concentration" in s["observables"]]
        if len(conc) < 2:
            return None
        recs = [s["observables"]["mass_concentration"] for s in conc]
        x = np.array([-0.5 * np.log(r["eps2"]) for r in recs])
        entry: dict[str, Any] = {"log_inverse_eps": x.tolist(), "threshold": recs[0]["threshold"]}
        for kind in ("fe", "exact", "chebyshev"):
            y = np.array([np.nan if r[f"breakdown_{kind}"] is None else r[f"breakdown_{kind}"] for r in recs])
            fitted, intercept = slope(x, y)
            entry[f"breakdown_{kind}"] = [None if np.isnan(v) else float(v) for v in y]
            entry[f"slope_{kind}"] = None if np.isnan(fitted) else fitted
            entry[f"intercept_{kind}"] = None if np.isnan(intercept) else intercept
        entry["predicted_slope"] = 2.0 / recs[0]["lambda"]
        entry["checks"] = []
        tolerance = recs[-1].get("slope_tolerance")
        if tolerance is not None:
            fe = entry["slope_fe"]
            entry["checks"].append(
                check(
                    "mass_concentration sweep: slope of the FE breakdown time against log(1/ε) / (2/λ)",
                    float("nan") if fe is None else fe / entry["predicted_slope"],
                    1.0,
                    tolerance,
                )
            )
        entry["curves"] = [
            {"eps2": r["eps2"], "t": r["t"], "beta_fe": r["beta_fe"], "beta_exact": r["beta_exact"]}
            for r in recs
        ]
        return entry

    @classmethod
    def sweep_figures(cls, out: Path, fit: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/sweep_mass_concentration.png``."""
        target = out / "figures" / "sweep_mass_concentration.png"
        return [concentration_sweep_figure(target, dict(fit), title)]

    @classmethod
    def validation_figures(
        cls, out: Path, record: Mapping[str, Any], title: str, sigmas: float
    ) -> list[Path]:
        """FE m(t) against the Monte Carlo fraction in the ball; radial histograms against the FE bins."""
        target = out / "figures" / "validation_mass_concentration.png"
        made = [concentration_validation_figure(target, dict(record), title, sigmas)]
        if record.get("histograms"):
            target = out / "figures" / "validation_mass_concentration_histograms.png"
            caption = "distance |X − x*| from the ball's centre: FE probability of each radial bin"
            made.append(
                histogram_figure(record["histograms"], target, f"{title}: mass concentration", caption)
            )
        return made


def _indicator(c: np.ndarray, r: float) -> Any:
    """``f(x) = 1{|x − c| ≤ r}`` for particles ``x`` of shape ``(n, d)``."""
    return lambda x: (np.einsum("ni,ni->n", x - c, x - c) <= r**2).astype(float)
