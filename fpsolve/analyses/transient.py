r"""The ``transient`` analysis: ρ(t) from the initial density, recorded at ``output_times``.

Backward Euler with flux-corrected transport (``method = "beuler"``) or PETSc TS (``method = "ts"``),
:class:`~fpsolve.solvers.transient.TransientSolver`. Checks: mass conservation over all steps
(reflecting boundaries), positivity (positive schemes) and, with ``reference = "ou"``, the mean and
covariance at each output time against the exact OU moments from the FE initial moments, and each of
``expectations`` (:mod:`fpsolve.analyses.expectations`): :math:`E f(X_t) = \int f\rho(t) / \int\rho(t)`
at each output time against a given exact function g(t), passed iff :math:`|E f - g(t)| \le` its
tolerance, and with ``exponent_tolerance`` the local exponent d log E f / d log t between consecutive
output times against that of g; with ``collapse`` (:mod:`fpsolve.analyses.collapse`) the mass within
a distance r of an invariant set and the stochastic-collapse checks.
``validate``: FE moments and test-function integrals (and the collapse fraction) at the output times
against Monte Carlo.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from mpi4py import MPI

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
from fpsolve.analyses.collapse import Collapse, CollapseRecorder
from fpsolve.analyses.current_fields import current_scales
from fpsolve.analyses.expectations import (
    Expectation,
    exact_value,
    expectation_checks,
    exponent_checks,
)
from fpsolve.analyses.figure_keys import FigureKeys
from fpsolve.analyses.histograms import pick_times
from fpsolve.analyses.moment_validation import FrameRecorder, compare_with_paths
from fpsolve.discretisation.functionals import moments
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import CaseError, ProblemError
from fpsolve.log import progress_bar
from fpsolve.output.density_figures import density_figure, observables_figure
from fpsolve.output.validation_figures import histogram_figure
from fpsolve.problem.exact import linear_drift, ou_covariance, ou_mean
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.sde.montecarlo import gaussian_parameters
from fpsolve.solvers.transient import TransientSolver
from fpsolve.tables import number, vector

__all__ = ["TransientAnalysis", "initial_density"]

METHODS = ("beuler", "ts")


def initial_density(disc: Discretisation, name: str = "rho_transient") -> Any:
    """The problem's initial density interpolated and normalised to mass 1.

    Raises :class:`~fpsolve.errors.ProblemError` if it is not finite, negative somewhere, or has no
    mass on the mesh (e.g. a Gaussian narrower than a cell, or centred outside the domain).
    """
    with np.errstate(all="ignore"):
        rho = disc.interpolate(disc.problem.initial, name=name)
    n = disc.V.dofmap.index_map.size_local
    check_initial_values(
        rho.x.array[:n], disc.V.tabulate_dof_coordinates()[:n, : disc.problem.dim], disc.comm
    )
    mass = disc.mass(rho)
    if not (np.isfinite(mass) and mass > 1e-300):
        raise ProblemError(
            f"the initial density has no mass on the mesh (∫ρ₀ = {mass:.3e}): it is narrower than a cell "
            "or lies outside the domain"
        )
    rho.x.array[:] /= mass
    rho.x.scatter_forward()
    return rho


def check_initial_values(values: np.ndarray, coords: np.ndarray, comm: MPI.Comm) -> float:
    """ρ₀ at this rank's nodes ``coords`` (n, d) must be finite and ≥ 0 everywhere (collective).

    Raises :class:`~fpsolve.errors.ProblemError` naming the first non-finite node; returns max ρ₀.
    """
    bad = np.flatnonzero(~np.isfinite(values))
    where = tuple(float(v) for v in coords[bad[0]]) if bad.size else None
    found = [w for w in comm.allgather(where) if w is not None]
    if found:
        raise ProblemError(f"the initial density is not finite at x = {found[0]} (check [initial])")
    lo = comm.allreduce(float(values.min(initial=np.inf)), op=MPI.MIN)
    hi = comm.allreduce(float(values.max(initial=-np.inf)), op=MPI.MAX)
    if lo < -1e-12 * max(hi, 0.0):
        raise ProblemError(f"the initial density is negative somewhere (min {lo:.3e}, max {hi:.3e})")
    return hi


def parse_time_stepping(table: Mapping[str, Any], where: str) -> tuple[float, float]:
    """``t_end`` and ``dt`` of a time-dependent analysis (at most 1e6 steps)."""
    t_end = number(table.get("t_end"), f"{where}.t_end", positive=True)
    dt = number(table.get("dt"), f"{where}.dt", positive=True)
    if t_end / dt > 1e6:
        raise CaseError(f"{where}: t_end/dt = {t_end / dt:.3g} steps is more than 1e6")
    if dt > t_end:
        raise CaseError(f"{where}: dt = {dt:g} is larger than t_end = {t_end:g}")
    return t_end, dt


@register
@dataclass(frozen=True)
class TransientAnalysis(Analysis):
    """Evolution from the initial density to ``t_end``, recorded at ``output_times``."""

    kind = "transient"
    keys = frozenset(
        {
            "type",
            "t_end",
            "dt",
            "method",
            "output_times",
            "reference",
            "moment_tolerance",
            "figure",
            "expectations",
            "collapse",
        }
    )

    t_end: float
    dt: float
    method: str = "beuler"
    output_times: tuple[float, ...] = ()
    reference: str | None = None
    moment_tolerance: float = 0.05
    figure: FigureKeys = FigureKeys()
    expectations: tuple[Expectation, ...] = ()
    collapse: Collapse | None = None

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate a ``transient`` table (``expectations`` already parsed by the case schema)."""
        if problem.initial is None:
            raise CaseError("a transient analysis needs an [initial] density")
        t_end, dt = parse_time_stepping(table, where)
        method = table.get("method", "beuler")
        if method not in METHODS:
            raise CaseError(f"{where}.method must be 'beuler' or 'ts', got {method!r}")
        times = vector(table.get("output_times", [t_end]), f"{where}.output_times")
        if any(b <= a for a, b in zip((0.0, *times), times, strict=False)) or times[-1] > t_end * (1 + 1e-12):
            raise CaseError(f"{where}.output_times must increase within (0, t_end]")
        tol = {}
        if "moment_tolerance" in table:
            tol["moment_tolerance"] = number(table["moment_tolerance"], f"{where}.moment_tolerance", True)
        figure = FigureKeys.parse(table.get("figure"), f"{where}.figure", problem)
        expectations = table.get("expectations", ())
        if not isinstance(expectations, tuple) or not all(isinstance(e, Expectation) for e in expectations):
            raise CaseError(f"{where}.expectations must be parsed by the case schema (parse_expectations)")
        collapse = table.get("collapse")
        if collapse is not None and not isinstance(collapse, Collapse):
            raise CaseError(f"{where}.collapse must be parsed by the case schema (parse_collapse)")
        return cls(
            t_end,
            dt,
            method,
            times,
            reference_key(table, where),
            **tol,
            figure=figure,
            expectations=expectations,
            collapse=collapse,
        )

    def run(self, ctx: Context) -> Result:
        """Step to each output time; rows of observables.csv, OU moment checks, mass and positivity."""
        disc, problem = ctx.disc, ctx.problem
        rho = initial_density(disc)
        solver = TransientSolver(disc, self.dt, method=self.method, petsc_options=ctx.petsc)
        dim = problem.dim
        frames = [(0.0, rho.copy())]
        rows = [_row(0.0, disc, rho, dim)]
        collapse = CollapseRecorder(self.collapse, disc) if self.collapse is not None else None
        if collapse is not None:
            rows[0] |= collapse.record(0.0, rho)
        reference = linear_drift(problem) if self.reference == "ou" else None
        m0, s0 = moments(rho, disc.msh, dim) if reference is not None else (None, None)
        checks, expected = [], []
        bar = progress_bar(disc.comm, ctx.progress, f"{ctx.name}: transient", self.t_end)
        with bar or nullcontext():
            if bar is not None:
                solver.on_step = lambda rec: bar.update(rec.t, dt=rec.dt, mass=rec.mass, min_rho=rec.min)
            for t in solver.run(rho, self.output_times):
                frames.append((t, rho.copy()))
                rows.append(_row(t, disc, rho, dim))
                if collapse is not None:
                    rows[-1] |= collapse.record(t, rho)
                if reference is not None:
                    checks += self._ou_checks(t, reference, rho, disc, m0, s0)
                expected.append((t, self._expectation_checks(t, rho, disc)))
                checks += expected[-1][1]
        checks += exponent_checks(self.expectations, expected)
        for _, f in frames:
            f.name = "rho_transient"
        currents = [(t, disc.current(f, name="J_transient")) for t, f in frames]
        scales = [current_scales(disc, f, J) for (_, f), (_, J) in zip(frames, currents, strict=True)]
        hist = solver.history
        masses = np.array([r.mass for r in hist])
        worst = min(r.min / r.max for r in hist)
        observables = {"steps": len(hist), "final_mass": float(masses[-1]), "min_over_run": worst}
        observables.update({k: max(s[k] for s in scales) for k in scales[0]})
        if collapse is not None:
            observables["collapse"] = collapse.observables()
            checks += collapse.checks()
        if not problem.absorbing:
            checks.append(
                check("transient: max |mass - 1| over all steps", np.abs(masses - 1).max(), 0.0, MASS_TOL)
            )
        if disc.positive and self.method == "beuler" or disc.scheme == "upwind":
            checks.append(
                check("transient: min over steps of min rho / max rho", min(worst, 0.0), 0.0, POSITIVITY_TOL)
            )
        fields = [FieldSeries("rho_transient", frames), FieldSeries("J_transient", currents)]
        drawn = _exact_gaussians(problem, reference, [t for t, _ in frames]) | self.figure.data(disc)
        drawn |= self._expectation_data(expected)
        return Result({"transient": observables}, checks, fields, rows, drawn)

    def _ou_checks(
        self, t: float, reference: tuple, rho: Any, disc: Discretisation, m0: Any, s0: Any
    ) -> list[dict[str, Any]]:
        A, mu, K = reference
        mean, cov = moments(rho, disc.msh, disc.problem.dim)
        ref_m, ref_c = ou_mean(A, mu, m0, t), ou_covariance(A, K, s0, t)
        scale = float(np.sqrt(np.abs(np.diag(ref_c)).max()))
        return [
            check(
                f"transient t={t:g}: max |mean error| / std",
                np.abs(mean - ref_m).max() / scale,
                0.0,
                self.moment_tolerance,
            ),
            check(
                f"transient t={t:g}: max |cov error| / max cov",
                np.abs(cov - ref_c).max() / np.abs(ref_c).max(),
                0.0,
                self.moment_tolerance,
            ),
        ]

    def _expectation_checks(self, t: float, rho: Any, disc: Discretisation) -> list[dict[str, Any]]:
        r"""Each of ``expectations`` at time t: :math:`\int f\rho / \int\rho` against g(t)."""
        return expectation_checks(f"transient t={t:g}", self.expectations, rho, disc, t)

    def _expectation_data(self, expected: list[tuple[float, list[dict[str, Any]]]]) -> dict[str, np.ndarray]:
        """Figure data of ``expectations``: FE and exact at the output times, exact g(t) on a fine grid."""
        if not self.expectations:
            return {}
        times = [t for t, _ in expected]  # a fine grid on a linear and a log scale, through the outputs
        fine = np.unique(
            np.concatenate(
                [np.linspace(0.0, self.t_end, 201), np.geomspace(1e-4, 1.0, 101) * self.t_end, times]
            )
        )
        return {
            "expectation_labels": np.array([f"E[{e.of}]" for e in self.expectations]),
            "expectation_t": np.array(times),
            "expectation_fe": np.array([[c["value"] for c in found] for _, found in expected]),
            "expectation_reference": np.array([[c["reference"] for c in found] for _, found in expected]),
            "expectation_exact_t": fine,
            "expectation_exact": np.array([[exact_value(e, s) for e in self.expectations] for s in fine]),
        }

    def validate(self, ctx: Context, truth: FokkerPlanckProblem) -> Validation:
        """Moments, test-function integrals (histograms at three times), collapse fraction vs Monte Carlo."""
        disc = ctx.disc
        rho = initial_density(disc)
        solver = TransientSolver(disc, self.dt, self.method, petsc_options=ctx.petsc)
        fe = FrameRecorder(disc, ctx.settings, histogram_times=pick_times(self.output_times))
        collapse = CollapseRecorder(self.collapse, disc) if self.collapse is not None else None
        for t in solver.run(rho, self.output_times):
            fe.record(t, rho)
            if collapse is not None:
                collapse.record(t, rho)
        fractions = []
        if collapse is not None:
            fractions.append((f"collapse {self.collapse.label}", collapse.indicator(), collapse.fractions))
        return compare_with_paths(ctx, truth, "transient", fe, ctx.settings.dt or self.dt, [], fractions)

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """Density snapshots (with the current where written) and the observables over time."""
        names = summary.get("coordinates", [])
        density = density_figure(out, "transient", f"{title}: transient", summary)
        return density + observables_figure(out, title, names)

    @classmethod
    def validation_figures(
        cls, out: Path, record: Mapping[str, Any], title: str, sigmas: float
    ) -> list[Path]:
        """``figures/validation_transient_histograms.png``: MC marginals against the FE bins."""
        target = out / "figures" / "validation_transient_histograms.png"
        caption = "marginal of each coordinate at up to three output times: FE probability of each bin"
        return [histogram_figure(record["histograms"], target, f"{title}: transient", caption)]


def _exact_gaussians(problem: FokkerPlanckProblem, reference: tuple | None, times: list[float]) -> dict:
    r"""Mean and covariance of the exact ρ(t) (figure overlay): OU from a Gaussian initial density.

    Then ρ(t) = N(m(t), S(t)) with :math:`m' = -A(m-\mu)`, :math:`S' = -AS - SA^T + 2K`; otherwise
    there is no closed form and nothing is returned.
    """
    if reference is None:
        return {}
    try:
        m0, s0 = gaussian_parameters(problem.initial, problem)
    except ProblemError:
        return {}
    A, mu, K = reference
    return {
        "exact_t": np.array(times, dtype=float),
        "exact_mean": np.array([ou_mean(A, mu, m0, t) for t in times]),
        "exact_cov": np.array([ou_covariance(A, K, s0, t) for t in times]),
    }


def _row(t: float, disc: Discretisation, rho: Any, dim: int) -> dict[str, float]:
    mean, cov = (
        moments(rho, disc.msh, dim) if disc.mass(rho) > 1e-300 else (np.zeros(dim), np.zeros((dim, dim)))
    )
    row = {"t": t, "mass": disc.mass(rho), "min": disc.minimum(rho), "max": disc.maximum(rho)}
    names = "xyz"[:dim]
    row.update({f"mean_{names[i]}": float(mean[i]) for i in range(dim)})
    row.update({f"cov_{names[i]}{names[j]}": float(cov[i, j]) for i in range(dim) for j in range(i, dim)})
    return row
