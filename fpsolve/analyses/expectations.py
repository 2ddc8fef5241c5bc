r"""``expectations``: E f(X) of an analysis' density against an exact value, and local power-law exponents.

An entry ``{ of, exact, tolerance }`` (and, in a ``transient`` analysis, optionally ``exponent_tolerance``)
of a ``transient`` or ``stationary`` analysis gives a test function f (``of``) and its exact expectation
g (``exact``). Checks, each passed iff ``|value - reference| <= tolerance``:

* the expectation :math:`E f(X) = \int f\rho / \int\rho` against g: at each output time t against g(t)
  (``transient``), for the stationary density against the constant g (``stationary``);
* with ``exponent_tolerance``, the local exponent of :math:`E f(X_t)\propto t^c` between consecutive output
  times :math:`t_a < t_b`, the secant slope

  .. math:: c = \frac{\log E f(X_{t_b}) - \log E f(X_{t_a})}{\log t_b - \log t_a},

  against the same slope of g (e.g. the anomalous-diffusion exponent of a mean squared displacement,
  docs/theory.md §3.4); NaN, a failed check, where a value is not positive.

``of`` is an expression of the coordinates, the ``[parameters]`` and ``eps2`` (the case's ε²); ``exact`` of
``t`` (:data:`TIME`), the parameters and ``eps2``. The case schema, which alone knows these names, parses
both (:func:`parse_expectations`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

import ufl

from fpsolve.analyses.base import check
from fpsolve.discretisation.functionals import integral
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.errors import CaseError
from fpsolve.tables import check_keys, number, string

__all__ = [
    "EXPECTATION_KEYS",
    "TIME",
    "Expectation",
    "exact_value",
    "expectation_checks",
    "exponent_checks",
    "parse_expectations",
]

#: The time in the ``exact`` expression of an ``expectations`` entry.
TIME = sp.Symbol("t")
#: The keys of an ``expectations`` entry: ``of``, ``exact`` and ``tolerance`` are required.
EXPECTATION_KEYS = frozenset({"of", "exact", "tolerance", "exponent_tolerance"})


@dataclass(frozen=True)
class Expectation:
    """One ``expectations`` entry: E f(X_t) against the exact g(t), with absolute tolerances.

    ``of`` and ``exact`` are the case-file texts (they name the checks); ``f`` and ``g`` the parsed
    expressions. ``exponent_tolerance`` (None: no exponent checks) bounds the local exponent's error.
    """

    of: str
    f: sp.Expr
    exact: str
    g: sp.Expr
    tolerance: float
    exponent_tolerance: float | None = None


def parse_expectations(
    value: Any,
    where: str,
    coordinate_expression: Callable[[str, str], sp.Expr],
    time_expression: Callable[[str, str], sp.Expr],
) -> tuple[Expectation, ...]:
    """The ``expectations`` list: tables ``{of, exact, tolerance[, exponent_tolerance]}``, one each.

    Called by the case schema: ``coordinate_expression(text, where)`` parses ``of``,
    ``time_expression(text, where)`` parses ``exact`` (a function of ``t`` only). Raises
    :class:`~fpsolve.errors.CaseError` naming the key.
    """
    if not isinstance(value, list) or not value or not all(isinstance(e, Mapping) for e in value):
        raise CaseError(f"{where} must be a non-empty list of tables {{ of, exact, tolerance }}")
    out = []
    for i, entry in enumerate(value):
        at = f"{where}[{i}]"
        check_keys(entry, EXPECTATION_KEYS, at)
        of, exact = string(entry.get("of"), f"{at}.of"), string(entry.get("exact"), f"{at}.exact")
        tolerance = number(entry.get("tolerance"), f"{at}.tolerance", positive=True)
        exponent = entry.get("exponent_tolerance")
        if exponent is not None:
            exponent = number(exponent, f"{at}.exponent_tolerance", positive=True)
        f, g = coordinate_expression(of, f"{at}.of"), time_expression(exact, f"{at}.exact")
        out.append(Expectation(of, f, exact, g, tolerance, exponent))
    return tuple(out)


def exact_value(e: Expectation, t: float) -> float:
    """g(t) as a float; NaN (a failed check) where it is not a finite real number (e.g. 1/0)."""
    value = e.g.subs(TIME, t)
    return float(value) if value.is_real and value.is_finite else float("nan")


def expectation_checks(
    label: str, expectations: Sequence[Expectation], rho: Any, disc: Discretisation, t: float = 0.0
) -> list[dict[str, Any]]:
    r"""``"<label>: E[<of>] against <exact>"``: :math:`\int f\rho / \int\rho` against g(t), per entry."""
    if not expectations:
        return []
    x = ufl.SpatialCoordinate(disc.msh)
    mass = integral(rho, disc.msh)
    return [
        check(
            f"{label}: E[{e.of}] against {e.exact}",
            integral(to_ufl(e.f, x, disc.problem.coords) * rho, disc.msh) / mass,
            exact_value(e, t),
            e.tolerance,
        )
        for e in expectations
    ]


def exponent_checks(
    expectations: Sequence[Expectation], found: Sequence[tuple[float, Sequence[Mapping[str, Any]]]]
) -> list[dict[str, Any]]:
    r"""Local exponents of the entries with ``exponent_tolerance`` between consecutive output times.

    ``found`` holds, per output time t, the records of :func:`expectation_checks` (same order as
    ``expectations``): the FE slope comes from their values, the exact slope from their references.
    Names: ``"transient t=<a>..<b>: local exponent d log E[<of>] / d log t against <exact>"``.
    """
    out = []
    for k, e in enumerate(expectations):
        if e.exponent_tolerance is None:
            continue
        for (a, at_a), (b, at_b) in zip(found, found[1:], strict=False):
            fe = _slope(at_a[k]["value"], at_b[k]["value"], a, b)
            exact = _slope(at_a[k]["reference"], at_b[k]["reference"], a, b)
            name = f"transient t={a:g}..{b:g}: local exponent d log E[{e.of}] / d log t against {e.exact}"
            out.append(check(name, fe, exact, e.exponent_tolerance))
    return out


def _slope(va: float, vb: float, a: float, b: float) -> float:
    r""":math:`\log(v_b/v_a)/\log(b/a)`; NaN unless both values and both times are positive."""
    if not (va > 0 and vb > 0 and 0 < a < b):
        return float("nan")
    return float(np.log(vb / va) / np.log(b / a))
