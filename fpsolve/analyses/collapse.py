r"""``collapse``: the mass of a transient density near an invariant set, and the stochastic-collapse checks.

The ``collapse`` table of a ``transient`` analysis names an affine set A (``at``, a point of it;
``along``, vectors spanning it, none for a point: :class:`~fpsolve.problem.affine_set.AffineSet`) and a
radius r. At t = 0 and at every output time the analysis records (columns of observables.csv)

* ``collapse_fraction``: :math:`P(t) = \int\rho(t)\,1\{\operatorname{dist}(x, A) < r\}`, by cutting
  the cells at the distance r (:mod:`fpsolve.discretisation.collapse`: exact up to round-off for a set
  of codimension 1, an inward shift of the edge ≤ 1e-4 r otherwise);
* ``median_distance``: :math:`r_{1/2}(t)`, the radius holding half the mass (NaN below the mesh).

Checks, each passed iff :math:`|\text{value} - \text{reference}| \le` its tolerance:

* ``limit`` (an expression of r, the ``[parameters]`` and ``eps2``; also ``gammainc``): P at the
  last output time against it, within ``limit_tolerance``: the mass near A of a known stationary
  density, or 1 where A attracts everything;
* ``lower`` (an expression of t, r, the parameters and eps2): a lower bound of P(t); the value is
  :math:`\min(0, \min_t (P(t) - \text{lower}(t)))` over the output times, against 0 within
  ``lower_tolerance``;
* ``rate_tolerance``: the least-squares slope of :math:`\log r_{1/2}(t)` over the output times in
  [t_end/2, t_end] against :math:`\min(\lambda, 0)`, λ the Lyapunov exponent of the linearised motion
  normal to A (:mod:`fpsolve.problem.collapse_criterion`; a point in 1-D or a line in 2-D, which must
  be invariant): near an attracting A (λ < 0) :math:`\log\operatorname{dist}` falls like λt, near a
  repelling one the density settles at a distance and the slope tends to 0.

``fpsolve validate`` compares P(t) at every output time with the fraction of Monte Carlo paths within
r of A (standard error floored at 1/n).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from mpi4py import MPI

from fpsolve.analyses.base import check, slope
from fpsolve.analyses.expectations import TIME
from fpsolve.discretisation.collapse import SetDistance
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import CaseError, ProblemError
from fpsolve.problem.affine_set import AffineSet
from fpsolve.problem.collapse_criterion import NormalExponent, normal_exponent
from fpsolve.tables import check_keys, number, string, vector

__all__ = ["KEYS", "RADIUS", "Collapse", "CollapseRecorder", "parse_collapse"]

#: The collapse radius r in the ``limit`` and ``lower`` expressions.
RADIUS = sp.Symbol("r")
#: Keys of the ``collapse`` table (``at`` and ``radius`` required).
KEYS = frozenset(
    {"at", "along", "radius", "limit", "limit_tolerance", "lower", "lower_tolerance", "rate_tolerance"}
)


@dataclass(frozen=True)
class Reference:
    """A ``limit`` or ``lower`` entry: its case-file text, the parsed expression and its tolerance."""

    text: str
    expr: sp.Expr
    tolerance: float

    def value(self, t: float, r: float) -> float:
        """The expression at (t, r); NaN (a failed check) where it is not a finite real number."""
        v = self.expr.subs({TIME: t, RADIUS: r})
        return float(v) if v.is_real and v.is_finite else float("nan")


@dataclass(frozen=True)
class Collapse:
    """The parsed ``collapse`` table (module docstring)."""

    aset: AffineSet
    radius: float
    limit: Reference | None = None
    lower: Reference | None = None
    rate_tolerance: float | None = None

    @property
    def label(self) -> str:
        """``P(dist < r)`` with the radius, as the checks name it."""
        return f"P(dist < {self.radius:g})"


def parse_collapse(
    value: Any, where: str, dim: int, reference_expression: Callable[[str, str], sp.Expr]
) -> Collapse:
    """The ``collapse`` table; ``reference_expression(text, where)`` parses ``limit`` and ``lower``.

    Called by the case schema, which knows the parameter names. Raises
    :class:`~fpsolve.errors.CaseError` naming the key.
    """
    if not isinstance(value, Mapping):
        raise CaseError(f"{where} must be a table {{ at = [...], radius = r, ... }}")
    check_keys(value, KEYS, where)
    at = vector(value.get("at"), f"{where}.at", dim)
    along = value.get("along", [])
    if not isinstance(along, list):
        raise CaseError(f"{where}.along must be a list of vectors of length {dim}")
    vectors = tuple(vector(e, f"{where}.along[{i}]", dim) for i, e in enumerate(along))
    try:
        aset = AffineSet(at, vectors)
    except ProblemError as exc:
        raise CaseError(f"{where}: {exc}") from None
    radius = number(value.get("radius"), f"{where}.radius", positive=True)
    references = {}
    for key in ("limit", "lower"):
        tol = f"{key}_tolerance"
        if (key in value) != (tol in value):
            raise CaseError(f"{where}: '{key}' and '{tol}' go together (the check needs both)")
        if key in value:
            text = string(value[key], f"{where}.{key}")
            expr = reference_expression(text, f"{where}.{key}")
            references[key] = Reference(text, expr, number(value[tol], f"{where}.{tol}", positive=True))
    rate = value.get("rate_tolerance")
    if rate is not None:
        rate = number(rate, f"{where}.rate_tolerance", positive=True)
        if aset.codimension != 1 or dim > 2:
            raise CaseError(
                f"{where}.rate_tolerance: the collapse criterion is computed for a point in 1-D or a line "
                f"in 2-D (along = one vector), got {len(vectors)} 'along' vector(s) in {dim}-D"
            )
    return Collapse(aset, radius, references.get("limit"), references.get("lower"), rate)


@dataclass
class CollapseRecorder:
    """P(t) and r_{1/2}(t) of one run at the times shown (:meth:`record`), then its checks."""

    collapse: Collapse
    disc: Discretisation
    times: list[float] = field(default_factory=list)
    fractions: list[float] = field(default_factory=list)
    medians: list[float] = field(default_factory=list)
    radius_shift: float = 0.0
    criterion: NormalExponent | None = None

    def __post_init__(self) -> None:
        """The criterion first (it needs no solve): a set that is not invariant fails at once."""
        if self.collapse.rate_tolerance is not None:
            self.criterion = normal_exponent(self.disc.problem, self.collapse.aset, _box(self.disc))

    def record(self, t: float, rho: Any) -> dict[str, float]:
        """Measure ρ at time t; returns the observables.csv columns."""
        measure = SetDistance(rho, self.collapse.aset)
        self.times.append(t)
        self.fractions.append(float(measure.fraction(self.collapse.radius)[0]))
        self.medians.append(measure.median())
        self.radius_shift = max(self.radius_shift, measure.radius_shift(self.collapse.radius))
        return {"collapse_fraction": self.fractions[-1], "median_distance": self.medians[-1]}

    def checks(self) -> list[dict[str, Any]]:
        """The ``limit`` (at the last recorded time), ``lower`` and ``rate_tolerance`` checks."""
        c, r, out = self.collapse, self.collapse.radius, []
        if c.limit is not None:
            last = self.times[-1]
            name = f"transient: collapse {c.label} at t={last:g} against {c.limit.text}"
            out.append(check(name, self.fractions[-1], c.limit.value(last, r), c.limit.tolerance))
        if c.lower is not None:
            gaps = [p - c.lower.value(t, r) for t, p in zip(self.times, self.fractions, strict=True) if t > 0]
            name = f"transient: collapse min over t > 0 of {c.label} - ({c.lower.text})"
            out.append(check(name, min(0.0, min(gaps)), 0.0, c.lower.tolerance))
        if self.criterion is not None:
            fitted, window = self.rate()
            name = (
                f"transient: collapse slope of log median distance over t in [{window[0]:g}, {window[1]:g}] "
                "against min(lambda, 0)"
            )
            out.append(check(name, fitted, min(self.criterion.exponent, 0.0), c.rate_tolerance))
        return out

    def rate(self) -> tuple[float, tuple[float, float]]:
        """Least-squares slope of log r_{1/2} over the recorded times in [t_end/2, t_end], and that window."""
        t = np.array(self.times)
        late = t >= 0.5 * t[-1]
        fitted, _ = slope(t[late], np.log(np.array(self.medians)[late]))
        return fitted, (float(t[late][0]), float(t[-1]))

    def observables(self) -> dict[str, Any]:
        """``observables.transient.collapse`` of summary.json."""
        c = self.collapse
        out: dict[str, Any] = {
            "set": c.aset.describe(),
            "point": list(c.aset.point),
            "along": [list(e) for e in c.aset.along],
            "radius": c.radius,
            "t": self.times,
            "fraction": self.fractions,
            "median_distance": self.medians,
            "radius_shift_bound": self.radius_shift,
        }
        if self.criterion is not None:
            fitted, window = self.rate()
            out |= self.criterion.record() | {"median_log_slope": fitted, "slope_window": list(window)}
        return out

    def indicator(self) -> Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]:
        """``f(x) = 1{dist(x, A) < r}`` for Monte Carlo particles ``x`` of shape (n, d)."""
        aset, r = self.collapse.aset, self.collapse.radius
        return lambda x: (aset.distance(x) < r).astype(float)


def _box(disc: Discretisation) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The mesh's bounding box (lo, hi), the same on every rank."""
    x = disc.msh.geometry.x[:, : disc.problem.dim]
    lo, hi = np.empty(disc.problem.dim), np.empty(disc.problem.dim)
    disc.comm.Allreduce(x.min(axis=0, initial=math.inf), lo, op=MPI.MIN)
    disc.comm.Allreduce(x.max(axis=0, initial=-math.inf), hi, op=MPI.MAX)
    return lo, hi
