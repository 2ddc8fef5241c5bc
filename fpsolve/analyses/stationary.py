r"""The ``stationary`` analysis: the normalised stationary density ρ∞ and its current J∞ = βρ∞ − K∇ρ∞.

Checks: mass = 1, positivity (positive schemes), with ``reference = "gibbs"`` (β = −Q∇L: the density
:math:`e^{-L/\varepsilon^2}/Z` is stationary, for any Q(x)) the relative L¹ error of ρ, and, with
``reference = "ou"`` (linear drift,
constant Q), the relative L² errors of ρ against the exact Gaussian N(μ, Σ) (Σ from the Lyapunov
equation) and of J against the exact current — or, where the exact current vanishes (detailed
balance, AK = KAᵀ), |J_h| relative to the drift flux |βρ|. With ``isotropy_tolerance``: the ratio
λ_max/λ_min of the eigenvalues of the FE covariance of ρ∞ against 1 (an isotropic density, e.g. in an
anisotropic loss, docs/theory.md §3.2). Each of ``expectations``
(:mod:`fpsolve.analyses.expectations`): :math:`E_{\rho_\infty} f = \int f\rho_\infty` against a
constant g. ``validate``: FE moments and test-function
integrals at ``validate.t_stationary`` and the circulation of J against Monte Carlo
(:mod:`fpsolve.analyses.moment_validation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

import ufl

from fpsolve.analyses.base import (
    MASS_TOL,
    POSITIVITY_TOL,
    Analysis,
    Context,
    FieldSeries,
    Result,
    Validation,
    check,
    reference_key,
    register,
)
from fpsolve.analyses.current_fields import current_scales
from fpsolve.analyses.expectations import TIME, Expectation, expectation_checks
from fpsolve.analyses.figure_keys import FigureKeys
from fpsolve.analyses.moment_validation import FrameRecorder, circulation_checks, compare_with_paths
from fpsolve.discretisation.functionals import error_L2, gibbs_l1_error, moments
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.errors import CaseError, ProblemError
from fpsolve.output.density_figures import density_figure
from fpsolve.output.validation_figures import histogram_figure
from fpsolve.problem.exact import (
    linear_drift,
    ou_stationary_covariance,
    ou_stationary_current,
    ou_stationary_density,
)
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, gibbs_reversible
from fpsolve.sde.montecarlo import initial_sampler
from fpsolve.tables import number

__all__ = ["StationaryAnalysis"]


@register
@dataclass(frozen=True)
class StationaryAnalysis(Analysis):
    """Stationary density and current; ``reference="ou"`` compares with the exact Gaussian.

    The tolerances bound the relative L2 errors of ρ and J against the reference; ``isotropy_tolerance``
    the distance of the covariance's eigenvalue ratio λ_max/λ_min from 1; ``expectations`` are
    E f against constants.
    """

    kind = "stationary"
    keys = frozenset(
        {
            "type",
            "reference",
            "rho_tolerance",
            "current_tolerance",
            "isotropy_tolerance",
            "figure",
            "expectations",
        }
    )

    reference: str | None = None
    rho_tolerance: float = 0.05
    current_tolerance: float = 0.3
    figure: FigureKeys = FigureKeys()
    isotropy_tolerance: float | None = None
    expectations: tuple[Expectation, ...] = ()

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate a ``stationary`` table."""
        tol = {
            key: number(table[key], f"{where}.{key}", positive=True)
            for key in ("rho_tolerance", "current_tolerance", "isotropy_tolerance")
            if key in table
        }
        figure = FigureKeys.parse(table.get("figure"), f"{where}.figure", problem)
        expected = _stationary_expectations(table.get("expectations", ()), where)
        if table.get("reference") == "gibbs":
            if not gibbs_reversible(problem):
                raise CaseError(
                    f"{where}.reference = 'gibbs' needs a loss L and a drift with beta = -Q grad L "
                    "(then rho = exp(-L/eps2)/Z is stationary); this problem has neither or another drift"
                )
            return cls("gibbs", **tol, figure=figure, expectations=expected)
        return cls(reference_key(table, where), **tol, figure=figure, expectations=expected)

    def run(self, ctx: Context) -> Result:
        """Solve for ρ∞, J∞; moments, extremes and the checks."""
        disc, problem = ctx.disc, ctx.problem
        res = ctx.stationary
        rho = res.rho
        rho.name = "rho_stationary"
        J = disc.current(rho, name="J_stationary")
        mean, cov = moments(rho, disc.msh, problem.dim)
        rmin, rmax = disc.minimum(rho), disc.maximum(rho)
        observables = {
            "mean": mean.tolist(),
            "covariance": cov.tolist(),
            "min": rmin,
            "max": rmax,
            "afc_iterations": res.iterations,
            "pinned_dof": res.pinned_dof,
            **current_scales(disc, rho, J),
        }
        checks = [check("stationary: mass", disc.mass(rho), 1.0, MASS_TOL)]
        exact = {}
        if disc.positive:
            checks.append(check("stationary: min rho / max rho", min(rmin, 0.0) / rmax, 0.0, POSITIVITY_TOL))
        if self.reference == "gibbs":
            checks.append(self._gibbs_check(ctx, rho))
        if self.isotropy_tolerance is not None:
            eigenvalues = np.linalg.eigvalsh(cov)
            name = "stationary: covariance eigenvalue ratio max/min (isotropy)"
            checks.append(check(name, eigenvalues[-1] / eigenvalues[0], 1.0, self.isotropy_tolerance))
        checks += expectation_checks("stationary", self.expectations, rho, disc)
        if self.reference == "ou":
            checks += self._ou_checks(ctx, rho, J)
            A, mu, K = linear_drift(problem)
            exact = {"exact_mean": mu[None], "exact_cov": ou_stationary_covariance(A, K)[None]}
        fields = [FieldSeries("rho_stationary", [(0.0, rho)]), FieldSeries("J_stationary", [(0.0, J)])]
        return Result({"stationary": observables}, checks, fields, figure_data=exact | self.figure.data(disc))

    def _gibbs_check(self, ctx: Context, rho: Any) -> dict[str, Any]:
        """Relative L¹ error against the Gibbs density (``functionals.gibbs_l1_error``)."""
        err = gibbs_l1_error(rho, ctx.problem)
        return check("stationary: rel. L1 error of rho vs Gibbs exp(-L/eps2)/Z", err, 0.0, self.rho_tolerance)

    def _ou_checks(self, ctx: Context, rho: Any, J: Any) -> list[dict[str, Any]]:
        disc, problem = ctx.disc, ctx.problem
        A, mu, K = linear_drift(problem)
        sigma = ou_stationary_covariance(A, K)
        x = ufl.SpatialCoordinate(disc.msh)
        rho_ex = to_ufl(ou_stationary_density(mu, sigma), x, problem.coords)
        J_ex = to_ufl(ou_stationary_current(A, K, mu), x, problem.coords)
        checks = [
            check(
                "stationary: rel. L2 error of rho vs N(mu, Sigma)",
                error_L2(rho, rho_ex, disc.msh, True),
                0.0,
                self.rho_tolerance,
            )
        ]
        # detailed balance (AK = KAᵀ) makes the exact current 0: measure J against the drift flux βρ
        flux = error_L2(disc.beta * rho_ex, 0 * rho_ex * disc.beta, disc.msh)
        if np.abs(A @ K - K @ A.T).max() <= 1e-12 * np.abs(A @ K).max():
            name, err = (
                "stationary: |J| / |beta rho| (detailed balance: exact J = 0)",
                error_L2(J, 0 * J, disc.msh) / flux,
            )
        else:
            name, err = "stationary: rel. L2 error of J vs exact current", error_L2(J, J_ex, disc.msh, True)
        checks.append(check(name, err, 0.0, self.current_tolerance))
        return checks

    def validate(self, ctx: Context, truth: FokkerPlanckProblem) -> Validation:
        """Moments and marginal histograms at ``validate.t_stationary``, circulation of J, vs Monte Carlo."""
        settings = ctx.settings
        if settings.t_stationary is None:
            raise ProblemError("validate: set validate.t_stationary for a stationary analysis")
        rho_inf = ctx.stationary.rho
        fe = FrameRecorder(ctx.disc, settings, histogram_times=(settings.t_stationary,))
        fe.record(settings.t_stationary, rho_inf)
        dt = settings.dt or 1e-3
        centre = fe.frames[settings.t_stationary][0]
        circulation = circulation_checks(ctx, rho_inf, truth, initial_sampler(truth), centre, dt)
        return compare_with_paths(ctx, truth, "stationary", fe, dt, circulation)

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/stationary_density.png``: ρ∞ with streamlines of J∞ (rank 0)."""
        return density_figure(out, "stationary", f"{title}: stationary", summary)

    @classmethod
    def validation_figures(
        cls, out: Path, record: Mapping[str, Any], title: str, sigmas: float
    ) -> list[Path]:
        """``figures/validation_stationary_histograms.png``: MC marginals against the FE bins."""
        target = out / "figures" / "validation_stationary_histograms.png"
        caption = "marginal of each coordinate at t_stationary: FE probability of each bin"
        return [histogram_figure(record["histograms"], target, f"{title}: stationary", caption)]


def _stationary_expectations(value: Any, where: str) -> tuple[Expectation, ...]:
    """``expectations`` of a stationary analysis: parsed by the schema, ``exact`` free of t, no exponents."""
    if not isinstance(value, tuple) or not all(isinstance(e, Expectation) for e in value):
        raise CaseError(f"{where}.expectations must be parsed by the case schema (parse_expectations)")
    for i, e in enumerate(value):
        if TIME in e.g.free_symbols:
            raise CaseError(f"{where}.expectations[{i}].exact must not depend on t (a stationary density)")
        if e.exponent_tolerance is not None:
            raise CaseError(f"{where}.expectations[{i}].exponent_tolerance needs a transient analysis")
    return value
