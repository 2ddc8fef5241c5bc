r"""The ``relaxation`` analysis: entropy and distance decay to ρ∞, against the spectral gap.

From the case's initial density the transient solver (:class:`~fpsolve.solvers.transient.TransientSolver`)
steps to ``t_end``; at each recorded time it evaluates, against the stationary density ρ∞ of the same
discretisation (:attr:`Context.stationary`), the relative entropy :math:`H(\rho(t)|\rho_\infty)`, the
L¹ distance and the χ² distance (:mod:`fpsolve.discretisation.divergences`: vertex quadrature, ρ∞
floored at 1e-12·max ρ∞).

**Rates.** Each series v(t) is fitted by least squares, :math:`\log v \approx c - rt`, over a late
window: the recorded times with :math:`v > 10^{-10}v(0)` (above round-off), and of those the ones in
the second half, :math:`t \ge t_\text{last}/2` (after the faster modes have died out). With ρ(t) − ρ∞
dominated by the slowest mode, :math:`e^{-\lambda_1t}\phi_1`, L¹ decays at rate λ₁ and χ², quadratic,
at 2λ₁; so does :math:`H\approx\chi^2/2` (for OU the Arnold–Erb rate 2γ, γ = min Re λ(A),
docs/theory.md §1.5; the OU gap is γ, §7). λ₁ is the spectral gap Re λ₁ of the discrete operator
(:class:`~fpsolve.solvers.spectral.SpectralSolver`, SLEPc); the time-stepped mode decays by
:math:`|1 + \Delta t\lambda_1|^{-1}` per backward Euler step, so the predicted rate of a series of
power p is :math:`p\,r` with

.. math::  r = \frac{\log|1 + \Delta t\,\lambda_1|}{\Delta t}\quad(\texttt{beuler}),\qquad
           r = \operatorname{Re}\lambda_1\quad(\texttt{ts}) .

Linear schemes only (``galerkin``, ``upwind``, ``eafe`` where it is an M-matrix): the ``afc`` scheme
(and a limited ``eafe``) steps with the nonlinear FCT limiter, which has no spectrum and relaxes to its
own fixed point, not to the limited stationary density (on ``cases/relaxation_ou_2d.toml`` with
``afc``: H levels off at 2e-6·H(0) and L¹ at 1.9e-3, the fitted rates are 0.69–0.84 of the Galerkin
gap); the analysis refuses them with a :class:`~fpsolve.errors.ProblemError`.

**Checks.** Fitted rate / predicted rate = 1 within ``rate_tolerance`` for each series; mass 1 over
all steps; for positive schemes with backward Euler H ≥ 0 and H, L¹, χ² non-increasing (exact for the
M-matrix schemes, :mod:`fpsolve.discretisation.divergences`; up to :data:`MONOTONE_TOL`·v(0));
with ``reference = "ou"`` (linear drift, constant Q, Gaussian initial density) the closed form
:math:`H(N(m(t), S(t))|N(\mu, \Sigma_\infty))` (:mod:`fpsolve.problem.gaussian_divergences`) from the
FE initial moments, :math:`\max_t|H_h - H|/H(0)` ≤ ``entropy_tolerance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import sympy as sp

from fpsolve.analyses.base import (
    MASS_TOL,
    Analysis,
    Context,
    Result,
    check,
    reference_key,
    register,
    slope,
)
from fpsolve.analyses.transient import initial_density, parse_time_stepping
from fpsolve.discretisation.divergences import FLOOR, chi_squared, l1_distance, relative_entropy
from fpsolve.discretisation.functionals import moments
from fpsolve.errors import CaseError, ProblemError
from fpsolve.log import progress_bar, report
from fpsolve.output.relaxation_figures import relaxation_figure
from fpsolve.problem.exact import linear_drift
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.problem.gaussian_divergences import ou_relative_entropy
from fpsolve.solvers.spectral import SpectralSolver
from fpsolve.solvers.transient import METHODS, TransientSolver
from fpsolve.tables import integer, number, vector

__all__ = ["FIT_FLOOR", "MONOTONE_TOL", "SERIES", "RelaxationAnalysis", "fit_decay", "step_rate"]

#: The series and their power in ρ − ρ∞ (the multiple of the gap they decay at).
SERIES = {"relative_entropy": 2, "l1_distance": 1, "chi_squared": 2}
#: Values at or below FIT_FLOOR·v(0) are round-off and left out of the fit.
FIT_FLOOR = 1e-10
#: Largest increase of a series between recorded times, relative to v(0), for the positive schemes: the
#: M-matrix schemes are non-increasing exactly; 1e-12 covers round-off and the floor.
MONOTONE_TOL = 1e-12
#: Most recorded times.
MAX_TIMES = 10_000


def fit_decay(t: np.ndarray, v: np.ndarray) -> dict[str, Any]:
    r"""Least-squares :math:`\log v \approx c - rt` over the late window (module docstring).

    Returns ``rate`` r, ``intercept`` c, the ``window`` [t₀, t₁] and its number of ``points``; rate and
    intercept are NaN with fewer than three points.
    """
    t, v = np.asarray(t, float), np.asarray(v, float)
    above = np.flatnonzero(v > FIT_FLOOR * v[0])
    if not len(above):
        return {"rate": float("nan"), "intercept": float("nan"), "window": [float("nan")] * 2, "points": 0}
    keep = above[t[above] >= t[above[-1]] / 2]
    fitted, intercept = slope(t[keep], np.log(v[keep])) if len(keep) >= 3 else (float("nan"),) * 2
    return {
        "rate": -fitted,
        "intercept": intercept,
        "window": [float(t[keep[0]]), float(t[keep[-1]])],
        "points": len(keep),
    }


def step_rate(gap: complex, dt: float, method: str) -> float:
    r"""Decay rate of the slowest mode as stepped: :math:`\log|1+\Delta t\lambda_1|/\Delta t` or Re λ₁."""
    return float(np.log(abs(1 + dt * gap)) / dt) if method == "beuler" else float(gap.real)


def _is_gaussian(expr: sp.Expr, coords: tuple[sp.Symbol, ...]) -> bool:
    """Whether ``expr`` is c·exp(quadratic): the Hessian of its logarithm is constant."""
    hess = sp.hessian(sp.expand(sp.expand_log(sp.log(expr), force=True)), coords)
    return not any(e.free_symbols for e in hess)


@register
@dataclass(frozen=True)
class RelaxationAnalysis(Analysis):
    """H(ρ(t)|ρ∞), L¹ and χ² from the initial density to ``t_end``; fitted rates against the spectral gap."""

    kind = "relaxation"
    keys = frozenset(
        {
            "type",
            "t_end",
            "dt",
            "method",
            "n_times",
            "output_times",
            "reference",
            "rate_tolerance",
            "entropy_tolerance",
        }
    )

    t_end: float
    dt: float
    times: tuple[float, ...]
    method: str = "beuler"
    reference: str | None = None
    rate_tolerance: float = 0.01
    entropy_tolerance: float = 0.02

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate a ``relaxation`` table."""
        if problem.initial is None:
            raise CaseError(f"{where}: a relaxation analysis needs an [initial] density")
        if problem.absorbing:
            raise CaseError(f"{where}: relaxation to ρ∞ needs reflecting boundaries (no absorbing parts)")
        t_end, dt = parse_time_stepping(table, where)
        method = table.get("method", "beuler")
        if method not in METHODS:
            raise CaseError(f"{where}.method must be one of {', '.join(METHODS)}, got {method!r}")
        if "n_times" in table and "output_times" in table:
            raise CaseError(f"{where}: give n_times or output_times, not both")
        if "output_times" in table:
            times = vector(table["output_times"], f"{where}.output_times")
            if any(b <= a for a, b in zip((0.0, *times), times, strict=False)) or times[-1] > t_end * (
                1 + 1e-12
            ):
                raise CaseError(f"{where}.output_times must increase within (0, t_end]")
            times = (0.0, *times)
        else:
            n = integer(table.get("n_times", 41), f"{where}.n_times", 4, MAX_TIMES)
            times = tuple(float(t) for t in np.linspace(0.0, t_end, n))
        values: dict[str, Any] = {}
        for key in ("rate_tolerance", "entropy_tolerance"):
            if key in table:
                values[key] = number(table[key], f"{where}.{key}", positive=True)
        reference = reference_key(table, where)
        if reference == "ou":
            linear_drift(problem)  # ProblemError (→ CaseError) unless linear drift and constant Q
            if not _is_gaussian(problem.initial, problem.coords):
                raise CaseError(
                    f"{where}.reference = 'ou' needs a Gaussian [initial] (type gaussian or point)"
                )
        return cls(t_end, dt, times, method, reference, **values)

    def run(self, ctx: Context) -> Result:
        """Spectral gap, the transient with H, L¹, χ² at each recorded time, fitted rates and checks."""
        disc, problem = ctx.disc, ctx.problem
        if disc.limited:
            raise ProblemError(
                "relaxation needs a linear scheme ('galerkin', 'upwind', or 'eafe' where it is an "
                f"M-matrix): scheme {disc.scheme!r} is limited here, its FCT steps relax to their own fixed "
                "point, not to the stationary density, and have no spectral gap to compare with"
            )
        rho_inf = ctx.stationary.rho
        eigenvalues = SpectralSolver(disc, nev=3, petsc_options=ctx.petsc).solve().eigenvalues
        gap, rate = complex(eigenvalues[1]), step_rate(complex(eigenvalues[1]), self.dt, self.method)
        rho = initial_density(disc, "rho_relaxation")
        initial_moments = moments(rho, disc.msh, problem.dim) if self.reference == "ou" else None
        series: dict[str, list[float]] = {"t": [], "mass": [], **{k: [] for k in SERIES}}

        def record(t: float) -> None:
            series["t"].append(float(t))
            series["mass"].append(disc.mass(rho))
            for name, measure in zip(SERIES, (relative_entropy, l1_distance, chi_squared), strict=True):
                series[name].append(measure(disc, rho, rho_inf))

        solver = TransientSolver(disc, self.dt, method=self.method, petsc_options=ctx.petsc)
        record(0.0)
        bar = progress_bar(disc.comm, ctx.progress, f"{ctx.name}: relaxation", self.t_end)
        with bar or nullcontext():
            if bar is not None:
                solver.on_step = lambda rec: bar.update(rec.t, dt=rec.dt, mass=rec.mass, min_rho=rec.min)
            for t in solver.run(rho, self.times[1:]):
                record(t)
        obs: dict[str, Any] = {
            **series,
            "eigenvalues_real": eigenvalues.real.tolist(),
            "eigenvalues_imag": eigenvalues.imag.tolist(),
            "gap": gap.real,
            "scheme": disc.scheme,
            "step_rate": rate,
            "method": self.method,
            "dt": self.dt,
            "floor": FLOOR,
            "fit_floor": FIT_FLOOR,
            "steps": len(solver.history),
            "rates": {},
        }
        checks = []
        for name, power in SERIES.items():
            fit = fit_decay(np.array(series["t"]), np.array(series[name]))
            fit.update(power=power, predicted=power * rate, ratio=fit["rate"] / (power * rate))
            obs["rates"][name] = fit
            checks.append(
                check(
                    f"relaxation: {name} fitted rate / ({power} x gap)",
                    fit["ratio"],
                    1.0,
                    self.rate_tolerance,
                )
            )
        masses = np.array([r.mass for r in solver.history])
        checks.append(
            check("relaxation: max |mass - 1| over all steps", np.abs(masses - 1).max(), 0.0, MASS_TOL)
        )
        if disc.positive and self.method == "beuler":
            checks += _positivity_checks(series)
        if initial_moments is not None:
            extra, more = self._ou(problem, series, *initial_moments)
            obs.update(extra)
            checks += more
        _report(obs)
        return Result({"relaxation": obs}, checks)

    def _ou(
        self, problem: FokkerPlanckProblem, series: dict[str, list[float]], m0: np.ndarray, s0: np.ndarray
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Exact H(t) of the Gaussian relaxation from the FE initial moments; the exact gap γ."""
        A, mu, K = linear_drift(problem)
        exact = np.array([ou_relative_entropy(A, mu, K, m0, s0, t) for t in series["t"]])
        error = np.abs(np.array(series["relative_entropy"]) - exact) / exact[0]
        gamma = float(np.linalg.eigvals(A).real.min())
        obs = {
            "relative_entropy_exact": exact.tolist(),
            "relative_entropy_error": float(error.max()),
            "gap_exact": gamma,
            "arnold_erb_rate": 2 * gamma,
            "exact_entropy_rate": fit_decay(np.array(series["t"]), exact)["rate"],
        }
        name = "relaxation: max over t of |H_FE - H_exact| / H_exact(0) (OU)"
        return obs, [check(name, error.max(), 0.0, self.entropy_tolerance)]

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/relaxation.png``: H, L¹, χ² on a log scale with the fits and the gap predictions."""
        record = summary["observables"]["relaxation"]
        return [relaxation_figure(out / "figures" / "relaxation.png", record, title)]


def _positivity_checks(series: dict[str, list[float]]) -> list[dict[str, Any]]:
    """H ≥ 0 and every series non-increasing, relative to its initial value."""
    h = np.array(series["relative_entropy"])
    checks = [check("relaxation: min over t of H / H(0)", min(h.min() / h[0], 0.0), 0.0, MONOTONE_TOL)]
    for name in SERIES:
        v = np.array(series[name])
        rise = max(float(np.diff(v).max()) / v[0], 0.0)
        checks.append(
            check(f"relaxation: largest increase of {name} / initial value", rise, 0.0, MONOTONE_TOL)
        )
    return checks


def _report(obs: Mapping[str, Any]) -> None:
    """One line per fitted rate against its prediction (rank 0)."""
    report(
        f"  relaxation: gap {obs['gap']:.6g} ({obs['scheme']}), per step {obs['step_rate']:.6g}"
        + (f", exact {obs['gap_exact']:.6g}" if "gap_exact" in obs else "")
    )
    for name, fit in obs["rates"].items():
        report(
            f"  relaxation: {name} rate {fit['rate']:.6g} vs {fit['power']} x gap {fit['predicted']:.6g} "
            f"(ratio {fit['ratio']:.5f}, window t = {fit['window'][0]:.3g}..{fit['window'][1]:.3g})"
        )
