"""Case-file schema of the exit-time and mass-concentration analyses and of the ``[sweep]`` table.

Kept apart from :mod:`fpsolve.case` (which imports it) so that the shared schema module only gains a
dispatch line; the keys are documented in docs/cases.md.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve import case as _c
from fpsolve.domain import Sphere
from fpsolve.problem import FokkerPlanckProblem

EXIT_TIME_KEYS = {
    "type",
    "start_points",
    "center",
    "radius",
    "bound_direction",
    "bound_tolerance",
}
MASS_CONCENTRATION_KEYS = {
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
}
MAX_SWEEP_RUNS = 50


@dataclass(frozen=True)
class ExitTimeAnalysis:
    r"""Mean exit time :math:`T(x) = E_x\tau` through the absorbing parts, with the §1.2/§1.3 bounds.

    ``center``/``radius``: the ball :math:`B_{R_0}(x_0)` of the lower bound (default: the disk/ball
    domain itself); ``bound_direction``: the direction v of the upper bound (default: the best of 36
    directions in 2-D, of the axes otherwise); ``bound_tolerance``: how far (relative to max T) the FE
    solution may cross a bound before the check fails (discretisation error).
    """

    start_points: tuple[tuple[float, ...], ...]
    center: tuple[float, ...]
    radius: float
    bound_direction: tuple[float, ...] | None = None
    bound_tolerance: float = 0.02


@dataclass(frozen=True)
class MassConcentrationAnalysis:
    r"""Mass in the shrinking ball :math:`B_{r(t)}(x^*)`, :math:`r(t) = R_0 e^{-\lambda(t-t_0)/2}` (§1.4).

    The transient problem is solved from the initial density to ``t_end`` with step ``dt``;
    :math:`m(t) = \int_{B_{r(t)}}\rho(t)` is recorded at ``n_times`` equally spaced times in
    :math:`[t_0, t_\text{end}]` and the deficit :math:`\beta(t) = m(t_0) - m(t)`; the breakdown time is
    the first time :math:`\beta > ` ``threshold``. ``reference = "ou"`` compares m(t) with the exact
    Gaussian ball probability (linear drift, constant Q) within ``tolerance`` (absolute).
    """

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

    def radius(self, t: float) -> float:
        """Ball radius at time ``t`` (R0 before t0)."""
        return self.R0 * math.exp(-self.lam * max(t - self.t0, 0.0) / 2)

    def times(self) -> tuple[float, ...]:
        """Recording times: ``n_times`` equally spaced in [t0, t_end] (t0 = 0 is the initial density)."""
        return tuple(float(t) for t in np.linspace(self.t0, self.t_end, self.n_times))


def _fail(message: str) -> Exception:
    return _c.CaseError(message)


def _points(value: Any, where: str, dim: int) -> tuple[tuple[float, ...], ...]:
    if not isinstance(value, list) or not value:
        raise _fail(f"{where} must be a non-empty list of points (lists of {dim} numbers)")
    return tuple(_c._vector(p, f"{where}[{i}]", dim) for i, p in enumerate(value))


def _ball(a: Mapping[str, Any], k: int, problem: FokkerPlanckProblem, radius_key: str) -> tuple[Any, float]:
    dom = problem.domain
    where = f"analysis[{k}]"
    if "center" in a:
        center = _c._vector(a["center"], f"{where}.center", problem.dim)
    elif isinstance(dom, Sphere):
        center = dom.center
    else:
        raise _fail(f"{where}.center is required unless the domain is a disk or ball")
    if radius_key in a:
        radius = _c._number(a[radius_key], f"{where}.{radius_key}", positive=True)
    elif isinstance(dom, Sphere):
        radius = dom.radius
    else:
        raise _fail(f"{where}.{radius_key} is required unless the domain is a disk or ball")
    return center, radius


def parse_exit_time(a: Mapping[str, Any], k: int, problem: FokkerPlanckProblem) -> ExitTimeAnalysis:
    """Validate an ``exit_time`` analysis table."""
    where = f"analysis[{k}]"
    if not problem.absorbing:
        raise _fail(f"{where}: an exit_time analysis needs [boundary] absorbing parts")
    center, radius = _ball(a, k, problem, "radius")
    starts = _points(a.get("start_points"), f"{where}.start_points", problem.dim)
    for i, p in enumerate(starts):
        if np.linalg.norm(np.subtract(p, center)) >= radius:
            raise _fail(f"{where}.start_points[{i}] = {list(p)} is not inside the ball of the lower bound")
    direction = None
    if "bound_direction" in a:
        direction = _c._vector(a["bound_direction"], f"{where}.bound_direction", problem.dim)
        if np.linalg.norm(direction) == 0:
            raise _fail(f"{where}.bound_direction must be a non-zero vector")
    tol = {}
    if "bound_tolerance" in a:
        tol["bound_tolerance"] = _c._number(a["bound_tolerance"], f"{where}.bound_tolerance", positive=True)
    return ExitTimeAnalysis(starts, tuple(center), radius, direction, **tol)


def parse_mass_concentration(
    a: Mapping[str, Any], k: int, problem: FokkerPlanckProblem
) -> MassConcentrationAnalysis:
    """Validate a ``mass_concentration`` analysis table."""
    where = f"analysis[{k}]"
    if problem.initial is None:
        raise _fail(f"{where}: a mass_concentration analysis needs an [initial] density")
    center, R0 = _ball(a, k, problem, "R0")
    lam = _c._number(a.get("lambda"), f"{where}.lambda", positive=True)
    t_end = _c._number(a.get("t_end"), f"{where}.t_end", positive=True)
    dt = _c._number(a.get("dt"), f"{where}.dt", positive=True)
    if t_end / dt > 1e6:
        raise _fail(f"{where}: t_end/dt = {t_end / dt:.3g} steps is more than 1e6")
    opt: dict[str, Any] = {}
    if "t0" in a:
        opt["t0"] = _c._number(a["t0"], f"{where}.t0")
        if not 0 <= opt["t0"] < t_end:
            raise _fail(f"{where}.t0 must lie in [0, t_end)")
    for key, lo, hi in (("n_times", 3, 10_000), ("snapshots", 1, 12)):
        if key in a:
            opt[key] = _c._int(a[key], f"{where}.{key}", lo, hi)
    for key in ("threshold", "tolerance"):
        if key in a:
            opt[key] = _c._number(a[key], f"{where}.{key}", positive=True)
    if opt.get("threshold", 0.1) >= 1:
        raise _fail(f"{where}.threshold must lie in (0, 1)")
    if "reference" in a:
        if a["reference"] not in _c.REFERENCES:
            raise _fail(
                f"{where}.reference must be one of {', '.join(_c.REFERENCES)}, got {a['reference']!r}"
            )
        opt["reference"] = a["reference"]
    return MassConcentrationAnalysis(tuple(center), R0, lam, t_end, dt, **opt)


# -- sweep -----------------------------------------------------------------------------------------


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def sweep_override(data: Mapping[str, Any], values: Mapping[str, float]) -> dict[str, Any]:
    """A copy of the case ``data`` without ``[sweep]``, with each dotted key (or parameter name) set."""
    new = copy.deepcopy(dict(data))
    new.pop("sweep", None)
    for name, value in values.items():
        path = name.split(".") if "." in name else ["parameters", name]
        node = new
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return new


def parse_sweep(
    data: Mapping[str, Any], path: Path, parse: Callable[[Mapping[str, Any], Path], Any]
) -> tuple[dict[str, float], ...]:
    """Validate ``[sweep]``: names → equally long lists of numbers; every point must parse as a case.

    A name is a dotted case key (``problem.eps2``, ``domain.h``) or a name of ``[parameters]``.
    Run k uses the k-th value of every list.
    """
    table = data["sweep"]
    if not isinstance(table, dict) or not table:
        raise _fail("[sweep] must be a table of names → lists of numbers")
    flat = _flatten(table)
    lengths = set()
    for name, values in flat.items():
        if not isinstance(values, list) or not values:
            raise _fail(f"sweep.{name} must be a non-empty list of numbers")
        for i, v in enumerate(values):
            _c._number(v, f"sweep.{name}[{i}]")
        lengths.add(len(values))
        head = name.split(".")[0]
        if "." in name and head not in _c.SECTIONS:
            raise _fail(f"sweep.{name}: unknown section '{head}'")
        if "." not in name and name not in data.get("parameters", {}):
            raise _fail(f"sweep.{name} is neither a dotted case key nor a name in [parameters]")
    if len(lengths) != 1:
        raise _fail("all lists in [sweep] must have the same length (run k uses the k-th value of each)")
    n = lengths.pop()
    if n > MAX_SWEEP_RUNS:
        raise _fail(f"[sweep] asks for {n} runs, more than {MAX_SWEEP_RUNS}")
    points = tuple({name: values[k] for name, values in flat.items()} for k in range(n))
    for k, point in enumerate(points):
        try:
            parse(sweep_override(data, point), path)
        except _c.CaseError as exc:
            raise _fail(f"sweep point {k} ({point}): {exc}") from None
    return points
