r"""The analysis interface, its registry, and the check records every analysis returns.

An analysis is one thing a case asks of a problem (the stationary density, a transient run, the mean
exit time, …). Each is a class with

* ``kind`` and ``keys``: its ``[[analysis]] type`` and the keys its table may hold;
* :meth:`Analysis.parse`: the validated table → an instance (raises :class:`~fpsolve.errors.CaseError`);
* :meth:`Analysis.run`: solve on a :class:`Context` and return a :class:`Result` (fields, observables,
  checks, figure data) without touching the file system;
* :meth:`Analysis.validate` (optional): the same answers against Monte Carlo paths;
* :meth:`Analysis.figures`: figures drawn on rank 0 from the files a run wrote (``fpsolve plot``);
* :meth:`Analysis.sweep_fit` / :meth:`Analysis.sweep_figures` (optional): a fit across the runs of a
  ``[sweep]`` (e.g. the Arrhenius slope of exit times).

:func:`register` adds a class to :data:`ANALYSES`, which the case schema, the runner, ``fpsolve
validate``, ``[sweep]`` and ``fpsolve plot`` loop over (as ``scipy.integrate``'s ``METHODS``). A new
analysis is one module and one section in docs/cases.md ("Adding an analysis").

A check record is ``{name, value, reference, tolerance, passed}`` with ``passed`` iff
:math:`|\text{value} - \text{reference}| \le \text{tolerance}`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import sympy as sp

import dolfinx

from fpsolve.discretisation.mesh import TaggedMesh, exterior_facets
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import CaseError
from fpsolve.log import report
from fpsolve.problem.domain import MeshFile
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.sde.walls import MeshWalls
from fpsolve.solvers.stationary import StationarySolver

__all__ = [
    "ANALYSES",
    "MASS_TOL",
    "POSITIVITY_TOL",
    "REFERENCES",
    "Analysis",
    "Context",
    "FieldSeries",
    "Result",
    "ValidateSettings",
    "Validation",
    "check",
    "log_checks",
    "mc_check",
    "mesh_walls",
    "register",
]

#: Mass is conserved to round-off of the LU solves (1e-14 per step measured); 1e-10 leaves room for
#: 1e4 steps.
MASS_TOL = 1e-10
#: AFC/upwind ρ ≥ 0 (and T ≥ 0) up to the fixed-point tolerance 1e-10 (relative).
POSITIVITY_TOL = 1e-9
#: Closed-form references an analysis may compare with (``reference = "ou"``: linear drift, constant Q).
REFERENCES = ("ou",)


@dataclass(frozen=True)
class ValidateSettings:
    """Monte Carlo settings of ``fpsolve validate`` (the ``[validate]`` table)."""

    particles: int = 100_000
    dt: float | None = None
    seed: int = 1
    t_stationary: float | None = None
    t_average: float = 2.0
    sigmas: float = 4.0
    sgd_eta_factors: tuple[float, ...] = ()
    observables: tuple[sp.Expr, ...] = ()
    collapse_radius: float | None = None
    histogram: tuple[sp.Expr, float, float, int] | None = None


@dataclass
class Context:
    """What an analysis runs on: the discretised problem, PETSc options, Monte Carlo settings.

    The stationary density is solved once per context and shared (:attr:`stationary_density`).
    """

    disc: Discretisation
    petsc: Mapping[str, Any] = field(default_factory=dict)
    name: str = "case"
    settings: ValidateSettings = field(default_factory=ValidateSettings)
    progress: bool = True
    figures: bool = True

    @property
    def problem(self) -> FokkerPlanckProblem:
        """The symbolic problem."""
        return self.disc.problem

    @cached_property
    def walls(self) -> MeshWalls | None:
        """Monte Carlo walls of a mesh-file domain (None for built-in shapes; collective)."""
        return mesh_walls(self.problem, self.disc.tagged)

    @cached_property
    def stationary(self) -> Any:
        """The :class:`~fpsolve.solvers.stationary.StationaryResult` (solved on first use)."""
        return StationarySolver(self.disc, petsc_options=self.petsc).solve()


@dataclass
class FieldSeries:
    """A finite-element field at one or more times (written into ``<kind>.xdmf`` under ``name``)."""

    name: str
    frames: list[tuple[float, dolfinx.fem.Function]]


@dataclass
class Result:
    """What :meth:`Analysis.run` returns; the runner writes it.

    ``observables`` are merged into ``summary.json``'s ``observables``, ``checks`` appended to its
    ``checks``; ``fields`` the time series ``<kind>.xdmf``, ``table`` rows ``observables.csv``, and
    ``figure_data`` (arrays, on rank 0) ``<kind>_figure.npz`` for :meth:`Analysis.figures`.
    """

    observables: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    fields: list[FieldSeries] = field(default_factory=list)
    table: list[dict[str, float]] = field(default_factory=list)
    figure_data: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Validation:
    """What :meth:`Analysis.validate` returns: FE-vs-MC checks and one record for validation.json.

    ``fe_extra``: FE integrals of the SGD-sweep kernels per time (``{t: array}``), with ``dt``, for the
    η sweep of ``[model]`` cases (empty where the analysis has no densities over time).
    """

    checks: list[dict[str, Any]]
    record: dict[str, Any]
    fe_extra: dict[float, np.ndarray] = field(default_factory=dict)
    dt: float | None = None


class Analysis(ABC):
    """One ``[[analysis]]`` type (see the module docstring)."""

    kind: ClassVar[str]
    keys: ClassVar[frozenset[str]]

    @classmethod
    @abstractmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate ``table`` (its keys are already checked against :attr:`keys`)."""

    @abstractmethod
    def run(self, ctx: Context) -> Result:
        """Solve and check; no file I/O (collective)."""

    def validate(self, ctx: Context, truth: FokkerPlanckProblem) -> Validation | None:
        """FE answers against Monte Carlo paths of ``truth`` (collective); None: nothing to compare."""
        return None

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """Figures under ``out/figures`` from the files of a run (rank 0); returns their paths."""
        return []

    @classmethod
    def sweep_fit(cls, summaries: list[Mapping[str, Any]]) -> dict[str, Any] | None:
        """A fit across the runs of a ``[sweep]`` (their summaries, in run order); None: no fit."""
        return None

    @classmethod
    def sweep_figures(cls, out: Path, fit: Mapping[str, Any], title: str) -> list[Path]:
        """Figures of :meth:`sweep_fit`'s result (rank 0)."""
        return []

    @classmethod
    def validation_figures(
        cls, out: Path, record: Mapping[str, Any], title: str, sigmas: float
    ) -> list[Path]:
        """Figures of :meth:`validate`'s record (rank 0)."""
        return []


#: ``[[analysis]] type`` → class; filled by :func:`register` when :mod:`fpsolve.analyses` is imported.
ANALYSES: dict[str, type[Analysis]] = {}


def register(cls: type[Analysis]) -> type[Analysis]:
    """Class decorator: make ``cls`` available as ``[[analysis]] type = cls.kind``."""
    if cls.kind in ANALYSES and ANALYSES[cls.kind] is not cls:
        raise CaseError(f"an analysis of type {cls.kind!r} is already registered")
    ANALYSES[cls.kind] = cls
    return cls


def mesh_walls(problem: FokkerPlanckProblem, tagged: TaggedMesh) -> MeshWalls | None:
    """The walls of ``problem``'s mesh-file domain from its (distributed) mesh; None for built-in shapes.

    Collective; the facets are gathered in a partition-independent order
    (:func:`fpsolve.discretisation.mesh.exterior_facets`), so every path is the same on any rank count.
    """
    if not isinstance(problem.domain, MeshFile):
        return None
    verts, tags, inside = exterior_facets(tagged)
    return MeshWalls.from_facets(verts, tags, inside, [tagged.parts[name] for name in problem.absorbing])


def check(name: str, value: float, reference: float, tolerance: float) -> dict[str, Any]:
    """One comparison record: passed iff ``|value − reference| ≤ tolerance``."""
    value, reference, tolerance = float(value), float(reference), float(tolerance)
    return {
        "name": name,
        "value": value,
        "reference": reference,
        "tolerance": tolerance,
        "passed": bool(abs(value - reference) <= tolerance),
    }


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


def log_checks(checks: list[dict[str, Any]]) -> None:
    """Log one line per check (rank 0)."""
    for c in checks:
        mark = "ok  " if c["passed"] else "FAIL"
        against = f" vs {c['reference']:.4e}" if c["reference"] != 0 else ""
        report(f"  [{mark}] {c['name']}: {c['value']:.4e}{against} (tolerance {c['tolerance']:.1e})")


def reference_key(table: Mapping[str, Any], where: str) -> str | None:
    """The optional ``reference`` key, one of :data:`REFERENCES`."""
    reference = table.get("reference")
    if reference is not None and reference not in REFERENCES:
        raise CaseError(f"{where}.reference must be one of {', '.join(REFERENCES)}, got {reference!r}")
    return reference


def slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept over the finite points (NaN with fewer than two)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan"), float("nan")
    fitted, intercept = np.polyfit(x[ok], y[ok], 1)
    return float(fitted), float(intercept)
