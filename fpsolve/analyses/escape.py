r"""The ``escape`` analysis: escape rate λ₁, quasi-stationary distribution, committor, exit locations.

The basin is the domain; the process leaves it through the ``[boundary]`` absorbing parts and, with
``region`` = g, wherever g ≥ 0: those mesh nodes become absorbing rows
(:meth:`~fpsolve.discretisation.operators.Discretisation.restricted`), so the level set g = 0 is
resolved to O(h) only (docs/cases.md: first order measured). From
:mod:`fpsolve.solvers.quasi_stationary` and :mod:`fpsolve.solvers.exit_time` (docs/theory.md §10):

* λ₁ and the QSD ν (principal eigenpair of the absorbing operator, SLEPc);
* the mean exit time T (anchored solve, accurate at small noise), :math:`E_\nu\tau = \sum m_i\nu_iT_i`
  and the exact discrete identity :math:`\lambda_1 E_\nu\tau = 1` as a check of the eigensolver;
* where ``target`` names absorbing parts: the committor :math:`u(x) = P_x(X_\tau\in\text{target})`;
  for every absorbing part Γ the exit fraction :math:`P_\nu(X_\tau\in\Gamma) = \sum m_i\nu_iu_{\Gamma,i}`
  (committors: accurate at any noise level), which must sum to 1;
* the exit-location distribution on the boundary nodes, :math:`-(F\nu)_i/\lambda_1` (the QSD's normal
  flux), where the eigenvalue is resolved in double precision;
* T, sd(τ) and the committor at ``start_points``; with ``eyring_kramers_minimum``/``_saddle`` the
  Eyring–Kramers rate beside λ₁ (reversible problems, :mod:`fpsolve.problem.asymptotics`).

``fpsolve validate`` compares T at the start points with Monte Carlo exit times and, with ``qsd_paths``
(default), :math:`E_\nu\tau` (and 1/λ₁ where resolved) with the mean exit time of paths whose start
points are drawn exactly from the FE QSD (:mod:`fpsolve.discretisation.sampling`), each by
:func:`fpsolve.analyses.exit_time.exit_time_check`.

Where λ₁ is beyond double precision (:attr:`~fpsolve.solvers.quasi_stationary.QuasiStationary.resolved`
is False: :math:`u\max F_{ii}/m_i \gtrsim 10^{-3}\lambda_1`, about ΔL/ε² > 25) the rate reported is
:math:`1/E_\nu\tau` from the anchored T, the identity check is replaced by a note, and no exit-location
flux is written: never a number the arithmetic cannot carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.analyses.base import (
    POSITIVITY_TOL,
    Analysis,
    Context,
    FieldSeries,
    Result,
    Validation,
    check,
    mc_check,
    register,
    slope,
)
from fpsolve.analyses.exit_time import exit_time_check, eyring_kramers_points
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.points import point_values
from fpsolve.discretisation.sampling import p1_sampler
from fpsolve.errors import CaseError
from fpsolve.log import report
from fpsolve.output.escape_figures import escape_figure, escape_sweep_figure
from fpsolve.output.exit_time_figures import exit_validation_figure
from fpsolve.problem.asymptotics import eyring_kramers
from fpsolve.problem.expressions import ExpressionError, parse_expression
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.solvers.exit_time import ExitTimeSolver
from fpsolve.solvers.quasi_stationary import QuasiStationarySolver, qsd_mean_exit_time
from fpsolve.tables import boolean, number, points

__all__ = ["EscapeAnalysis"]

#: Committor values may leave [0, 1] by this much (round-off of the anchored solve).
COMMITTOR_TOL = 1e-8


@register
@dataclass(frozen=True)
class EscapeAnalysis(Analysis):
    """Escape from the domain through its absorbing parts (module docstring).

    ``tolerance`` bounds |λ₁E_ν τ − 1| and |Σ exit fractions − 1| (solver accuracy, default 1e-6; for
    λ₁ at least its round-off indicator). ``predicted_slope``/``slope_tolerance``: the expected slope of
    log E_QSD[τ] against 1/ε² in a ``[sweep]`` over ε² and its relative tolerance (default: the
    Eyring–Kramers barrier where those keys are given, 5 %); ``predicted_exponent``/``exponent_tolerance``
    the same for a power law E τ ∝ (ε²)^p; ``positivity_tolerance`` how far below 0 the QSD may dip
    (relative to its maximum; default round-off: raise it only with a measured reason, e.g. EAFE with a
    rank-1 Q that is not an M-matrix on the mesh). ``eyring_kramers_tolerance``: in a ``[sweep]``, check
    λ₁ over the Eyring–Kramers (Bouchet–Reygner) rate at the smallest ε against 1 (relative; the law's
    O(ε²) correction and the mesh error must fit in it). ``qsd_paths`` (default true): ``fpsolve validate``
    also starts paths from the QSD (module docstring). ``region``: an expression g of the coordinates
    and the loss ``L``; the basin is {g < 0} (module docstring).
    """

    kind = "escape"
    keys = frozenset(
        {
            "type",
            "start_points",
            "target",
            "tolerance",
            "eyring_kramers_minimum",
            "eyring_kramers_saddle",
            "eyring_kramers_tolerance",
            "predicted_slope",
            "slope_tolerance",
            "predicted_exponent",
            "exponent_tolerance",
            "positivity_tolerance",
            "qsd_paths",
            "region",
        }
    )

    start_points: tuple[tuple[float, ...], ...] = ()
    target: tuple[str, ...] = ()
    tolerance: float = 1e-6
    eyring_kramers: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    eyring_kramers_tolerance: float | None = None
    predicted_slope: float | None = None
    slope_tolerance: float = 0.05
    predicted_exponent: float | None = None
    exponent_tolerance: float = 0.02
    positivity_tolerance: float = POSITIVITY_TOL
    qsd_paths: bool = True
    region: sp.Expr | None = None

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate an ``escape`` table."""
        if not problem.absorbing:
            raise CaseError(f"{where}: an escape analysis needs [boundary] absorbing parts")
        starts = (
            points(table["start_points"], f"{where}.start_points", problem.dim)
            if "start_points" in table
            else ()
        )
        target = table.get("target", [])
        if isinstance(target, str):
            target = [target]
        if not isinstance(target, list) or not all(isinstance(t, str) for t in target):
            raise CaseError(f"{where}.target must be a list of absorbing part names")
        unknown = [t for t in target if t not in problem.absorbing]
        if unknown:
            raise CaseError(
                f"{where}.target: {unknown[0]!r} is not an absorbing part "
                f"(absorbing: {list(problem.absorbing)})"
            )
        options: dict[str, Any] = {}
        for key in (
            "tolerance",
            "eyring_kramers_tolerance",
            "predicted_slope",
            "slope_tolerance",
            "exponent_tolerance",
            "positivity_tolerance",
        ):
            if key in table:
                options[key] = number(table[key], f"{where}.{key}", positive=True)
        if "predicted_exponent" in table:
            options["predicted_exponent"] = number(table["predicted_exponent"], f"{where}.predicted_exponent")
        if "qsd_paths" in table:
            options["qsd_paths"] = boolean(table["qsd_paths"], f"{where}.qsd_paths")
        if "region" in table:
            options["region"] = region = _region(table["region"], f"{where}.region", problem)
            g = problem.numpy_function(region)
            for i, p in enumerate(starts):
                if not np.all(g(np.asarray([p])) < 0):
                    raise CaseError(f"{where}.start_points[{i}] = {list(p)} is outside the region")
        reference = eyring_kramers_points(table, where, problem)
        if reference is not None:
            options["eyring_kramers"] = reference
        elif "eyring_kramers_tolerance" in table:
            raise CaseError(f"{where}.eyring_kramers_tolerance needs eyring_kramers_minimum and _saddle")
        return cls(starts, tuple(target), **options)

    def run(self, ctx: Context) -> Result:
        """λ₁, ν, T, committors and exit fractions; the identities as checks (module docstring)."""
        disc, problem = self.basin(ctx), ctx.problem
        qsd = QuasiStationarySolver(disc, petsc_options=ctx.petsc).solve()
        solver = ExitTimeSolver(disc, petsc_options=ctx.petsc)
        T = solver.solve()
        T.name = "T_escape"
        sd = solver.standard_deviation(T)
        mean_tau = qsd_mean_exit_time(disc, qsd.qsd, T)
        rate = qsd.rate if qsd.resolved else 1.0 / mean_tau
        nu_max = disc.maximum(qsd.qsd)
        fractions = self._exit_fractions(solver, qsd)
        fields = [qsd.qsd, T]
        committor = None
        if self.target:
            committor = solver.committor(list(self.target))
            committor.name = "committor"
            fields.append(committor)
        if qsd.resolved:
            fields.append(qsd.exit_flux)
        observables: dict[str, Any] = {
            "rate": rate,
            "rate_source": "eigenvalue"
            if qsd.resolved
            else "1/E_qsd[tau] (eigenvalue beyond double precision)",
            "eigenvalue": qsd.rate,
            "eigenvalue_backward_error": qsd.error,
            "eigenvalue_precision_indicator": qsd.indicator if np.isfinite(qsd.indicator) else None,
            "mean_exit_time_from_qsd": mean_tau,
            "rate_times_mean_exit_time": qsd.rate * mean_tau,
            "max_T": disc.maximum(T),
            "qsd_min_over_max": disc.minimum(qsd.qsd) / nu_max,
            "exit_fractions": fractions,
        }
        if self.region is not None:
            observables["region"] = str(self.region)
            observables["region_absorbing_nodes"] = disc.comm.allreduce(
                len(disc.bc_rows) - len(ctx.disc.bc_rows), op=MPI.SUM
            )
        if self.start_points:
            starts = np.asarray(self.start_points)
            observables["start_points"] = {
                "points": starts.tolist(),
                "T": point_values(T, starts).tolist(),
                "sd_tau": point_values(sd, starts).tolist(),
                **({"committor": point_values(committor, starts).tolist()} if committor is not None else {}),
            }
        report(
            f"escape rate λ₁ = {rate:.6g} ({observables['rate_source']}), E_QSD[τ] = {mean_tau:.6g}"
            + (f", λ₁·E_QSD[τ] = {qsd.rate * mean_tau:.12g}" if qsd.resolved else "")
        )
        if self.eyring_kramers is not None:
            observables["eyring_kramers"] = self._eyring_kramers(problem, rate)
        if self.predicted_slope is not None:
            observables["predicted_slope"] = {
                "value": self.predicted_slope,
                "tolerance": self.slope_tolerance,
            }
        if self.predicted_exponent is not None:
            observables["predicted_exponent"] = {
                "value": self.predicted_exponent,
                "tolerance": self.exponent_tolerance,
            }
        checks = self._checks(disc, qsd, mean_tau, fractions, committor, T)
        return Result(
            {"escape": observables},
            checks,
            [FieldSeries(f.name, [(0.0, f)]) for f in fields],
        )

    def basin(self, ctx: Context) -> Discretisation:
        """The context's discretisation, absorbing outside ``region`` where one is given."""
        return ctx.disc if self.region is None else ctx.disc.restricted(self.region)

    def _exit_fractions(self, solver: ExitTimeSolver, qsd: Any) -> dict[str, float]:
        r""":math:`P_\nu(X_\tau\in\Gamma)` for every absorbing part Γ (a node shared by parts: the first).

        With a ``region``, its nodes outside that are on no absorbing part are one more exit, "region".
        Resolved: the QSD's flux through Γ's nodes; otherwise :math:`\sum_i m_i\nu_iu_{\Gamma,i}` with
        the committors (module docstring: both equal in exact arithmetic, the second at any noise).
        """
        disc = solver.disc
        exits = [(part, disc.dirichlet_rows((part,))) for part in disc.problem.absorbing]
        if self.region is not None:
            exits.append(("region", disc.bc_rows))
        taken = np.zeros(0, dtype=disc.bc_rows.dtype)
        lo = disc.lumped.getOwnershipRange()[0]
        out = {}
        for part, part_rows in exits:
            rows = np.setdiff1d(np.intersect1d(part_rows, disc.bc_rows), taken)
            taken = np.union1d(taken, rows)
            if len(exits) == 1:
                local = 1.0 if disc.comm.rank == 0 else 0.0
            elif qsd.resolved:
                local = float(qsd.exit_flux.x.petsc_vec.array[rows - lo].sum())
            else:
                u = solver.committor_on_rows(rows)
                local = float(np.dot(disc.lumped.array, qsd.qsd.x.petsc_vec.array * u.x.petsc_vec.array))
            out[part] = disc.comm.allreduce(local, op=MPI.SUM)
        return out

    def _eyring_kramers(self, problem: FokkerPlanckProblem, rate: float) -> dict[str, Any]:
        assert self.eyring_kramers is not None
        m, s = self.eyring_kramers
        ek = eyring_kramers(problem, m, s)
        report(
            f"Eyring–Kramers rate {1 / ek.time:.6g} (prefactor {ek.prefactor:.4g}, barrier/ε² "
            f"{ek.barrier / problem.eps2:.4g}): λ₁ / rate_EK = {rate * ek.time:.4f} "
            "(1 + O(ε²) absorbing past the saddle, about 2 on the separatrix)"
        )
        return {
            "minimum": list(m),
            "saddle": list(s),
            "rate": 1 / ek.time,
            "prefactor": ek.prefactor,
            "barrier": ek.barrier,
            "rate_over_eyring_kramers": rate * ek.time,
            "tolerance": self.eyring_kramers_tolerance,
        }

    def _checks(
        self, disc: Any, qsd: Any, mean_tau: float, fractions: dict, committor: Any, T: Any
    ) -> list[dict[str, Any]]:
        checks = []
        if qsd.resolved:
            # the eigenvalue carries a relative round-off error of about the indicator (module docstring)
            tol = max(self.tolerance, qsd.indicator)
            checks.append(check("escape: λ₁ · E_QSD[τ]", qsd.rate * mean_tau, 1.0, tol))
            flux = disc.comm.allreduce(
                float(qsd.exit_flux.x.array[: disc.V.dofmap.index_map.size_local].sum()), op=MPI.SUM
            )
            checks.append(check("escape: exit-location distribution sums to 1", flux, 1.0, tol))
        else:
            report(
                f"escape: the eigenvalue {qsd.rate:.3g} is beyond double precision (indicator "
                f"{qsd.indicator:.2g}): λ₁ = 1/E_QSD[τ] from the anchored exit time, no exit-location flux"
            )
        checks.append(check("escape: exit fractions sum to 1", sum(fractions.values()), 1.0, self.tolerance))
        if disc.positive:
            top = disc.maximum(qsd.qsd)
            checks.append(
                check(
                    "escape: min QSD / max QSD",
                    min(disc.minimum(qsd.qsd), 0.0) / top,
                    0.0,
                    self.positivity_tolerance,
                )
            )
            checks.append(
                check(
                    "escape: min T / max T", min(disc.minimum(T), 0.0) / disc.maximum(T), 0.0, POSITIVITY_TOL
                )
            )
        if committor is not None:
            low, high = disc.minimum(committor), disc.maximum(committor)
            excess = max(-low, high - 1.0, 0.0)
            checks.append(check("escape: committor outside [0, 1] by", excess, 0.0, COMMITTOR_TOL))
        return checks

    def validate(self, ctx: Context, truth: FokkerPlanckProblem) -> Validation | None:
        """Monte Carlo exit times against T at the start points and, with ``qsd_paths``, against E_QSD[τ].

        Each comparison is :func:`~fpsolve.analyses.exit_time.exit_time_check` (Δt and Δt/2); None when
        there is nothing to compare (no start points, ``qsd_paths = false``).
        """
        if not self.start_points and not self.qsd_paths:
            return None
        disc, settings = self.basin(ctx), ctx.settings
        T = ExitTimeSolver(disc, petsc_options=ctx.petsc).solve()
        starts = np.asarray(self.start_points).reshape(-1, disc.problem.dim)
        fe = point_values(T, starts) if len(starts) else np.zeros(0)
        rows = []
        for i, (p, t_fe) in enumerate(zip(starts, fe, strict=True)):
            name = f"escape: T({', '.join(f'{c:g}' for c in p)})"
            seed = settings.seed + 2 * i
            rows.append(exit_time_check(ctx, truth, name, float(t_fe), p, seed, region=self.region)[0])
        record: dict[str, Any] = {
            "analysis": "escape",
            "start_points": starts.tolist(),
            "fe_T": fe.tolist(),
            "mc_T": [r["reference"] for r in rows],
            "mc_T_se": [r["mc_standard_error"] for r in rows],
        }
        if self.qsd_paths:
            seed = settings.seed + 2 * len(starts)
            qsd_rows, record["qsd_paths"] = _qsd_paths(ctx, disc, truth, T, seed, self.region)
            rows += qsd_rows
        return Validation(rows, record)

    @classmethod
    def validation_figures(
        cls, out: Path, record: Mapping[str, Any], title: str, sigmas: float
    ) -> list[Path]:
        """FE T(x₀) against the Monte Carlo means (none without start points)."""
        if not record["start_points"]:
            return []
        return [
            exit_validation_figure(out / "figures" / "validation_escape.png", dict(record), title, sigmas)
        ]

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/escape.png``: QSD, committor or T, and the exit fractions/locations."""
        return escape_figure(out, summary, f"{title}: escape")

    @classmethod
    def sweep_fit(cls, summaries: list[Mapping[str, Any]]) -> dict[str, Any] | None:
        r"""Arrhenius fit of :math:`\log E_{QSD}\tau = -\log\lambda_1` against :math:`1/\varepsilon^2`.

        ``slope`` (least squares), ``slope_smallest_eps`` (the two smallest ε) and, with four runs or
        more, ``slope_corrected`` from :math:`\log\tau = a/\varepsilon^2 + b + c\,\varepsilon^2` (the
        O(ε²) correction of the prefactor). The reference slope is the case's ``predicted_slope`` or the
        Eyring–Kramers barrier ΔV; the check compares the best available fitted slope with it. For escape
        that is not activated (a degenerate saddle: a power law :math:`E\tau \propto (\varepsilon^2)^p`)
        ``exponent`` is the slope of log E_QSD[τ] against log ε², checked at the two smallest ε against
        ``predicted_exponent`` (absolute ``exponent_tolerance``).
        """
        runs = sorted((s for s in summaries if "escape" in s["observables"]), key=lambda s: -float(s["eps2"]))
        if len(runs) < 2:
            return None
        eps2 = np.array([float(s["eps2"]) for s in runs])
        obs = [s["observables"]["escape"] for s in runs]
        log_tau = np.log([o["mean_exit_time_from_qsd"] for o in obs])
        fit: dict[str, Any] = {
            "eps2": eps2.tolist(),
            "inverse_eps2": (1 / eps2).tolist(),
            "log_tau": log_tau.tolist(),
            "slope": slope(1 / eps2, log_tau)[0],
            "slope_smallest_eps": slope(1 / eps2[-2:], log_tau[-2:])[0],
        }
        if len(runs) >= 4:
            design = np.column_stack([1 / eps2, np.ones_like(eps2), eps2])
            fit["slope_corrected"], fit["intercept_corrected"], fit["correction"] = (
                float(c) for c in np.linalg.lstsq(design, log_tau, rcond=None)[0]
            )
        fit["exponent"] = slope(np.log(eps2), log_tau)[0]
        fit["exponent_smallest_eps"] = slope(np.log(eps2[-2:]), log_tau[-2:])[0]
        fit["checks"] = []
        power = obs[-1].get("predicted_exponent")
        if power is not None:
            fit["predicted_exponent"] = power["value"]
            fit["checks"].append(
                check(
                    "escape sweep: exponent p of E_QSD[τ] ∝ (ε²)^p at the two smallest ε",
                    fit["exponent_smallest_eps"],
                    power["value"],
                    power["tolerance"],
                )
            )
        reference = obs[-1].get("predicted_slope")
        ek = obs[-1].get("eyring_kramers")
        if ek is not None:
            fit["eyring_kramers_log_prefactor"] = float(np.log(ek["prefactor"]))
            fit["rate_over_eyring_kramers"] = [o["eyring_kramers"]["rate_over_eyring_kramers"] for o in obs]
            reference = reference or {"value": ek["barrier"], "tolerance": 0.05}
            if ek.get("tolerance") is not None:
                fit["checks"].append(
                    check(
                        "escape sweep: rate / Eyring–Kramers (Bouchet–Reygner) rate at the smallest ε",
                        fit["rate_over_eyring_kramers"][-1],
                        1.0,
                        ek["tolerance"],
                    )
                )
        if reference is not None:
            best = fit.get("slope_corrected", fit["slope_smallest_eps"])
            fit["predicted_slope"] = reference["value"]
            fit["checks"].append(
                check(
                    "escape sweep: fitted slope of log E_QSD[τ] against 1/ε² / predicted slope",
                    best / reference["value"],
                    1.0,
                    reference["tolerance"],
                )
            )
        return fit

    @classmethod
    def sweep_figures(cls, out: Path, fit: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/sweep_escape.png``: log E_QSD[τ] against 1/ε² with the fits and the prediction."""
        return [escape_sweep_figure(out / "figures" / "sweep_escape.png", fit, title)]


def _region(value: Any, where: str, problem: FokkerPlanckProblem) -> sp.Expr:
    """The ``region`` expression g (basin {g < 0}) in the coordinates x, y, z and the loss L."""
    names = ("x", "y", "z")[: problem.dim]
    loss = {"L": sp.Symbol("L")} if problem.loss is not None else {}
    try:
        g = parse_expression(value, None, names, where, loss)
    except ExpressionError as exc:
        raise CaseError(str(exc)) from None
    return sp.sympify(g.subs(loss["L"], problem.loss) if loss else g)


def _qsd_paths(
    ctx: Context,
    disc: Discretisation,
    truth: FokkerPlanckProblem,
    T: Any,
    seed: int,
    region: sp.Expr | None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    r"""E_QSD[τ] (and 1/λ₁ where resolved) against the mean exit time of paths started from the FE QSD.

    Start points are drawn exactly from the P1 QSD (:mod:`fpsolve.discretisation.sampling`; negative
    nodal values clipped, the clipped mass recorded). Under ν, τ is exponential: the MC sd(τ)/E τ is
    recorded (1 in the limit), not checked. Returns the check records and the ``qsd_paths`` record.
    """
    settings = ctx.settings
    qsd = QuasiStationarySolver(disc, petsc_options=ctx.petsc).solve()
    mean_tau = qsd_mean_exit_time(disc, qsd.qsd, T)
    sample = p1_sampler(qsd.qsd)
    name = "escape: E_QSD[τ], paths from the QSD"
    row, _ = exit_time_check(ctx, truth, name, mean_tau, sample, seed, region=region)
    row["qsd_clipped_mass"] = sample.clipped
    rows = [row]
    mc, se, n = row["reference"], row["mc_standard_error"], settings.particles
    if qsd.resolved:  # the same paths; mc_check needs only |MC(Δt) − MC(Δt/2)|, the recorded bias
        coarse = mc + row["dt_bias_estimate"]
        name = "escape: 1/λ₁, paths from the QSD"
        rows.append(mc_check(name, 1 / qsd.rate, mc, se, coarse, n, row["dt"], settings.sigmas))
    record = {
        "fe_mean_exit_time": mean_tau,
        "fe_inverse_rate": 1 / qsd.rate if qsd.resolved else None,
        "mc_mean_exit_time": mc,
        "mc_se": se,
        "mc_sd_over_mean": float(se * np.sqrt(n) / mc),
        "exited_fraction": row["exited_fraction"],
        "clipped_mass": sample.clipped,
    }
    report(
        f"escape: paths from the QSD: mean exit time {mc:.6g} ± {se:.2g} (FE E_QSD[τ] {mean_tau:.6g}), "
        f"sd/mean {record['mc_sd_over_mean']:.4f} (1 for the exponential law), clipped QSD mass "
        f"{sample.clipped:.2g}"
    )
    return rows, record
