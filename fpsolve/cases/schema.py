"""Case files: TOML → a validated :class:`Case` (problem, discretisation, analyses, solver, output).

Every key is checked against the schema below before anything is built; an unknown key, a wrong type
or a bad expression raises :class:`CaseError` naming the key (and listing the valid ones). Expressions
go through :func:`fpsolve.problem.expressions.parse_expression` (whitelisted ``ast``, never ``eval``). The
keys are documented in docs/cases.md.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from fpsolve.analyses import ANALYSES
from fpsolve.analyses.base import Analysis, ValidateSettings
from fpsolve.analyses.collapse import RADIUS, parse_collapse
from fpsolve.analyses.expectations import TIME, parse_expectations
from fpsolve.cases.claims import Claim, parse_claims
from fpsolve.discretisation.adapt import INDICATORS, AdaptSettings
from fpsolve.discretisation.operators import CHECK_POINTS
from fpsolve.discretisation.schemes import SCHEMES
from fpsolve.errors import CaseError, MeshError, ProblemError
from fpsolve.problem.domain import Cuboid, Domain, MeshFile, Sphere
from fpsolve.problem.expressions import REFERENCE_FUNCTIONS, ExpressionError, parse_expression
from fpsolve.problem.fokker_planck import (
    FokkerPlanckProblem,
    check_finite_on,
    eps2_from_sgd,
    gaussian_density,
    point_mass_density,
)
from fpsolve.problem.model import SGDModel, model_from_tables
from fpsolve.solvers.options import flatten
from fpsolve.tables import check_keys, integer, number, string, table, vector

MAX_CELLS = 5_000_000
#: Limits checked before the TOML parser runs: file size, and nesting of arrays/inline tables (brackets
#: inside strings count too, so this is an upper bound on the real depth).
MAX_FILE_BYTES = 1_000_000
MAX_ANALYSES = 20
MAX_TOML_NESTING = 64


def sphere_cells(dim: int, radius: float, h: float) -> float:
    """Cells of a disk/ball of ``radius`` meshed with size ``h``: its volume over that of a regular simplex.

    Disk: πr² / (√3h²/4) ≈ 7.26 (r/h)²; ball: (4πr³/3) / (h³/(6√2)) ≈ 35.5 (r/h)³. Measured against
    gmsh: 1.02× the estimate for a disk (r/h = 20), 0.61× for a ball (r/h = 5): an upper estimate.
    """
    if dim == 2:
        return math.pi * radius**2 / (math.sqrt(3) / 4 * h**2)
    return 4 / 3 * math.pi * radius**3 / (h**3 / (6 * math.sqrt(2)))


#: A case name is used as a directory name: no separators, no leading dot.
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}")

SECTIONS: dict[str, set[str] | None] = {
    "problem": {"name", "loss", "drift", "Q", "noise_factor", "eps2", "eta", "batch"},
    "parameters": None,  # free names → numbers
    "domain": {"type", "lo", "hi", "cells", "diagonal", "center", "radius", "h", "file", "dim"},
    "boundary": {"absorbing"},
    "initial": {"type", "mean", "cov", "expression", "point", "width"},
    "discretisation": {"scheme", "degree", "check_points"},
    "mesh": {"adapt"},
    "analysis": None,  # array of tables, checked per type
    "solver": {"petsc"},
    "output": {"directory", "figures"},
    "validate": {
        "particles",
        "dt",
        "seed",
        "t_stationary",
        "t_average",
        "sigmas",
        "sgd_eta_factors",
        "observables",
        "collapse_radius",
        "histogram",
    },
    "model": None,  # checked by fpsolve.problem.model.model_from_tables
    "data": None,  # checked by fpsolve.problem.data.load_data
    "sweep": None,  # dotted case keys or parameter names → lists of values (fpsolve.cases.sweep)
    "claims": None,  # array of tables, checked by fpsolve.cases.claims.parse_claims
}


@dataclass(frozen=True)
class Case:
    """A parsed, validated case."""

    path: Path
    name: str
    problem: FokkerPlanckProblem
    scheme: str
    degree: int
    analyses: tuple[Analysis, ...]
    petsc: dict[str, Any] = field(default_factory=dict)
    output_dir: Path = Path("out")
    figures: bool = True
    validate: ValidateSettings = field(default_factory=ValidateSettings)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    sweep: tuple[dict[str, float], ...] = ()
    model: SGDModel | None = None
    check_points: str = "quadrature"
    adapt: AdaptSettings | None = None
    claims: tuple[Claim, ...] = ()


def load_case(path: str | Path) -> Case:
    """Read and validate a case file."""
    p = Path(path)
    if not p.is_file():
        raise CaseError(f"case file not found: {p}")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise CaseError(f"{p}: a case file of {p.stat().st_size} bytes is larger than {MAX_FILE_BYTES}")
    try:
        text = p.read_text()
    except UnicodeDecodeError as exc:
        raise CaseError(f"{p}: not valid TOML: {exc}") from None
    depth = deepest = 0
    for ch in text:  # tomllib recurses into nested arrays and inline tables: bound the depth first
        depth += (ch in "[{") - (ch in "]}")
        deepest = max(deepest, depth)
    if deepest > MAX_TOML_NESTING:
        raise CaseError(f"{p}: arrays or inline tables nested more than {MAX_TOML_NESTING} levels deep")
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise CaseError(f"{p}: not valid TOML: {exc}") from None
    return parse_case(data, p)


def parse_case(data: Mapping[str, Any], path: Path = Path("case.toml")) -> Case:
    """Validate the TOML ``data`` of a case; ``path`` anchors relative mesh files and names errors."""
    try:
        return _parse(data, path)
    except (ExpressionError, ProblemError, MeshError) as exc:
        raise CaseError(str(exc)) from None


def _parse(data: Mapping[str, Any], path: Path) -> Case:
    check_keys(data, set(SECTIONS), "top level")
    for section, keys in SECTIONS.items():
        if section in data and keys is not None:
            check_keys(table(data, section), keys, f"[{section}]")
    params = _parameters(data.get("parameters", {}))
    prob = table(data, "problem")
    name = string(prob.get("name", path.stem), "problem.name")
    if not SAFE_NAME.fullmatch(name):
        raise CaseError(f"problem.name must be letters, digits, '_', '-' or '.' (a file name), got {name!r}")
    domain = _domain(table(data, "domain"), path)
    dim = domain.dim
    names = ("x", "y", "z")[:dim]
    model = _model(data, prob, params, path, dim)
    if model is not None:
        names = model.parameters

    def expr(value: Any, where: str) -> sp.Expr:
        return parse_expression(value, params, names, where)

    def observable_expr(value: Any, where: str) -> sp.Expr:  # expectations.of: eps2 known too
        return parse_expression(value, {**params, "eps2": eps2}, names, where)

    def time_expr(value: Any, where: str) -> sp.Expr:  # expectations.exact: t, parameters, eps2
        return parse_expression(value, {**params, "eps2": eps2}, (), where, {"t": TIME}, REFERENCE_FUNCTIONS)

    def collapse_expr(value: Any, where: str) -> sp.Expr:  # collapse.limit, .lower: t, r, parameters, eps2
        symbols = {"t": TIME, "r": RADIUS}
        return parse_expression(value, {**params, "eps2": eps2}, (), where, symbols, REFERENCE_FUNCTIONS)

    if model is not None:
        G, Q, loss = model.noise_factor, model.Q, model.mean_loss
    else:
        G = _factor(prob["noise_factor"], dim, expr) if "noise_factor" in prob else None
        Q = _matrix(prob.get("Q"), dim, "problem.Q", expr) if "Q" in prob or G is None else G * G.T
        loss = expr(prob["loss"], "problem.loss") if "loss" in prob else None
    drift = None
    if "drift" in prob:
        raw = prob["drift"]
        if not isinstance(raw, list) or len(raw) != dim:
            raise CaseError(f"problem.drift must be a list of {dim} expressions")
        drift = sp.Matrix([expr(e, f"problem.drift[{i}]") for i, e in enumerate(raw)])
    eps2 = model.eps2 if model is not None else _temperature(prob)
    boundary = table(data, "boundary") if "boundary" in data else {}
    absorbing = boundary.get("absorbing", [])
    if not isinstance(absorbing, list) or not all(isinstance(a, str) for a in absorbing):
        raise CaseError("boundary.absorbing must be a list of boundary part names")
    initial = _initial(table(data, "initial"), dim, expr) if "initial" in data else None
    problem = FokkerPlanckProblem(
        dim,
        Q,
        eps2,
        domain,
        loss=loss,
        drift=drift,
        absorbing=tuple(absorbing),
        initial=initial,
        name=name,
        noise_factor=G,
    )
    disc = table(data, "discretisation") if "discretisation" in data else {}
    scheme = string(disc.get("scheme", _default_scheme(data.get("analysis"))), "discretisation.scheme")
    if scheme not in SCHEMES:
        msg = f"discretisation.scheme must be one of {', '.join(sorted(SCHEMES))}, got {scheme!r}"
        raise CaseError(msg)
    degree = integer(disc.get("degree", 1), "discretisation.degree", 1, 3)
    check_points = disc.get("check_points", "quadrature")
    if check_points not in CHECK_POINTS:
        raise CaseError(
            f"discretisation.check_points must be one of {', '.join(CHECK_POINTS)}, got {check_points!r}"
        )
    adapt = _adapt(table(data, "mesh").get("adapt")) if "mesh" in data else None
    analyses = parse_analyses(
        _analysis_expressions(data.get("analysis"), expr, observable_expr, time_expr, collapse_expr, dim),
        problem,
    )
    solver = table(data, "solver") if "solver" in data else {}
    petsc = solver.get("petsc", {})
    if not isinstance(petsc, dict):
        raise CaseError("solver.petsc must be a table of PETSc options")
    _check_petsc_values(petsc)
    out = table(data, "output") if "output" in data else {}
    directory = Path(string(out.get("directory", f"out/{name}"), "output.directory"))
    if "\0" in str(directory) or any(len(part) > 255 for part in directory.parts):
        raise CaseError(
            "output.directory must be a path without NUL bytes and with names of at most 255 characters"
        )
    if directory.is_absolute() or ".." in directory.parts:
        raise CaseError(
            "output.directory must be a relative path without '..' (use -o for other places), "
            f"got {directory}"
        )
    figures = out.get("figures", True)
    if not isinstance(figures, bool):
        raise CaseError("output.figures must be true or false")
    validate = _validate(data["validate"], expr, dim, domain) if "validate" in data else ValidateSettings()
    if model is None and (validate.sgd_eta_factors or validate.collapse_radius or validate.histogram):
        raise CaseError("validate.sgd_eta_factors/collapse_radius/histogram need a [model] (SGD runs)")
    sweep = parse_sweep(data, path) if "sweep" in data else ()
    claims = parse_claims(data["claims"]) if "claims" in data else ()
    return Case(
        path,
        name,
        problem,
        scheme,
        degree,
        analyses,
        petsc,
        directory,
        figures,
        validate,
        dict(data),
        sweep,
        model,
        check_points,
        adapt,
        claims,
    )


#: Analyses whose default scheme is ``eafe`` (backward problems at small noise, docs/numerics.md).
EAFE_DEFAULT = ("exit_time", "escape")


def _default_scheme(analyses: Any) -> str:
    """``eafe`` for a case with an exit-time or escape analysis, else ``afc``.

    Exit times and escape rates live at small noise, where AFC's fixed-point iteration stalls (1-D double
    well: no convergence in 5000 iterations from ΔL/ε² = 20) and EAFE is linear where it is an M-matrix
    (exit_time_degenerate: one solve in 0.23 s against 170 AFC iterations in 4.4 s, T within 3e-4).
    """
    kinds = {a.get("type") for a in analyses if isinstance(a, dict)} if isinstance(analyses, list) else set()
    return "eafe" if kinds & set(EAFE_DEFAULT) else "afc"


#: Keys of ``[mesh.adapt]`` (:class:`~fpsolve.discretisation.adapt.AdaptSettings`).
ADAPT_KEYS = {"indicator", "steps", "fraction", "tolerance", "max_dofs"}


def _adapt(t: Any) -> AdaptSettings:
    """The ``[mesh.adapt]`` table: which field drives the refinement, and when to stop."""
    if not isinstance(t, dict):
        raise CaseError("[mesh] holds one table, [mesh.adapt]")
    check_keys(t, ADAPT_KEYS, "[mesh.adapt]")
    indicator = t.get("indicator", "density")
    if indicator not in INDICATORS:
        raise CaseError(f"mesh.adapt.indicator must be one of {', '.join(INDICATORS)}, got {indicator!r}")
    fraction = number(t.get("fraction", 0.5), "mesh.adapt.fraction", positive=True)
    if fraction > 1:
        raise CaseError(f"mesh.adapt.fraction must be in (0, 1], got {fraction}")
    return AdaptSettings(
        indicator,
        integer(t.get("steps", 6), "mesh.adapt.steps", 0, 50),
        fraction,
        number(t.get("tolerance", 0.0), "mesh.adapt.tolerance"),
        integer(t.get("max_dofs", 1_000_000), "mesh.adapt.max_dofs", 1, 10**9),
    )


def _model(
    data: Mapping[str, Any], prob: dict[str, Any], params: dict[str, float], path: Path, dim: int
) -> SGDModel | None:
    """The SGD model of ``[model]``/``[data]`` (then ``[problem]`` holds only the name)."""
    if "model" not in data:
        if "data" in data:
            raise CaseError("[data] is only used with a [model]")
        return None
    extra = sorted(set(prob) - {"name"})
    if extra:
        raise CaseError(f"problem.{extra[0]} cannot be given with a [model] (L, Q and ε² are derived)")
    data_table = table(data, "data") if "data" in data else None
    model = model_from_tables(table(data, "model"), data_table, params, path.parent)
    if model.dim != dim:
        raise CaseError(f"the model has {model.dim} parameters but the domain is {dim}-D")
    return model


def _validate(table: Any, expr: Any, dim: int, domain: Domain) -> ValidateSettings:
    if not isinstance(table, dict):
        raise CaseError("[validate] must be a table")
    out: dict[str, Any] = {}
    if "sgd_eta_factors" in table:
        factors = vector(table["sgd_eta_factors"], "validate.sgd_eta_factors")
        if any(f <= 0 for f in factors):
            raise CaseError("validate.sgd_eta_factors must be positive")
        out["sgd_eta_factors"] = factors
    if "observables" in table:
        obs = table["observables"]
        if not isinstance(obs, list) or not obs:
            raise CaseError("validate.observables must be a list of expressions")
        out["observables"] = tuple(expr(e, f"validate.observables[{i}]") for i, e in enumerate(obs))
        for i, e in enumerate(out["observables"]):
            check_finite_on(e, domain, f"validate.observables[{i}]")
    if "collapse_radius" in table:
        out["collapse_radius"] = number(table["collapse_radius"], "validate.collapse_radius", positive=True)
    if "histogram" in table:
        h = table["histogram"]
        if not isinstance(h, list) or len(h) != 4:
            raise CaseError("validate.histogram must be [expression, lo, hi, bins]")
        lo, hi = number(h[1], "validate.histogram[1]"), number(h[2], "validate.histogram[2]")
        bins = integer(h[3], "validate.histogram[3]", 2, 200)
        if hi <= lo:
            raise CaseError("validate.histogram needs lo < hi")
        out["histogram"] = (expr(h[0], "validate.histogram[0]"), lo, hi, bins)
    if "particles" in table:
        out["particles"] = integer(table["particles"], "validate.particles", 100, 10**9)
    if "seed" in table:
        out["seed"] = integer(table["seed"], "validate.seed", 0, 2**63 - 1)
    for key in ("dt", "t_stationary", "t_average", "sigmas"):
        if key in table:
            out[key] = number(table[key], f"validate.{key}", positive=True)
    return ValidateSettings(**out)


# -- helpers ---------------------------------------------------------------------------------------


def _parameters(table: Any) -> dict[str, float]:
    if not isinstance(table, dict):
        raise CaseError("[parameters] must be a table of numbers")
    reserved = {"x", "y", "z", "pi", "e", "eps2"}  # eps2: the case's ε² in expectations
    out = {}
    for key, value in table.items():
        if key in reserved or not key.isidentifier():
            raise CaseError(f"parameter name '{key}' is reserved or not an identifier")
        out[key] = number(value, f"parameters.{key}")
    return out


def _domain(table: dict[str, Any], path: Path) -> Domain:
    kind = string(table.get("type", ""), "domain.type")
    allowed = {
        "interval": {"type", "lo", "hi", "cells"},
        "rectangle": {"type", "lo", "hi", "cells", "diagonal"},
        "box": {"type", "lo", "hi", "cells"},
        "disk": {"type", "center", "radius", "h"},
        "ball": {"type", "center", "radius", "h"},
        "mesh": {"type", "file", "dim"},
    }
    if kind not in allowed:
        raise CaseError(f"domain.type must be one of {', '.join(allowed)}, got {kind!r}")
    check_keys(table, allowed[kind], f"[domain] of type {kind}")
    if kind in ("interval", "rectangle", "box"):
        d = {"interval": 1, "rectangle": 2, "box": 3}[kind]
        cells = tuple(
            integer(c, f"domain.cells[{i}]", 1, MAX_CELLS)
            for i, c in enumerate(_cells(table.get("cells"), d))
        )
        if math.prod(cells) * math.factorial(d) > MAX_CELLS:
            raise CaseError(f"domain.cells {list(cells)} gives more than {MAX_CELLS} cells")
        diagonal = table.get("diagonal", "right")
        if diagonal not in ("left", "right", "crossed", "left_right", "right_left"):
            raise CaseError(
                f"domain.diagonal must be left, right, crossed, left_right or right_left, got {diagonal!r}"
            )
        return Cuboid(
            vector(table.get("lo"), "domain.lo", d),
            vector(table.get("hi"), "domain.hi", d),
            cells,
            diagonal,
        )
    if kind in ("disk", "ball"):
        d = 2 if kind == "disk" else 3
        radius = number(table.get("radius"), "domain.radius", positive=True)
        h = number(table.get("h"), "domain.h", positive=True)
        if not h >= 1e-6 * radius:
            raise CaseError(f"domain.h = {h} is too small for radius {radius} (more than {MAX_CELLS} cells)")
        cells = sphere_cells(d, radius, h)
        if cells > MAX_CELLS:
            raise CaseError(
                f"domain.h = {h} is too small for radius {radius}: "
                f"about {cells:.3g} cells, more than {MAX_CELLS}"
            )
        return Sphere(vector(table.get("center"), "domain.center", d), radius, h)
    file = Path(string(table.get("file"), "domain.file"))
    if not file.is_absolute():
        candidates = [path.parent / file, Path.cwd() / file]
        file = next((c for c in candidates if c.is_file()), candidates[0])
    return MeshFile(file, integer(table.get("dim", 2), "domain.dim", 1, 3))


def _cells(value: Any, n: int) -> list[Any]:
    """``domain.cells``: a list of ``n`` counts, or one integer for every direction (a ``[sweep]`` value)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [value] * n
    if not isinstance(value, list) or len(value) != n:
        raise CaseError(f"domain.cells must be a list of {n} integers or one integer, got {value!r}")
    return value


def _matrix(value: Any, dim: int, where: str, expr: Any) -> sp.Matrix:
    if value is None:
        raise CaseError(f"{where} is required (a {dim}×{dim} list of expressions)")
    if (
        not isinstance(value, list)
        or len(value) != dim
        or not all(isinstance(r, list) and len(r) == dim for r in value)
    ):
        raise CaseError(f"{where} must be a {dim}×{dim} list of lists of expressions")
    return sp.Matrix([[expr(value[i][j], f"{where}[{i}][{j}]") for j in range(dim)] for i in range(dim)])


def _factor(value: Any, dim: int, expr: Any) -> sp.Matrix:
    rows_ok = isinstance(value, list) and len(value) == dim and all(isinstance(r, list) and r for r in value)
    if not rows_ok or len({len(r) for r in value}) != 1:
        raise CaseError(f"problem.noise_factor must be a {dim}×m list of lists of expressions")
    return sp.Matrix(
        [[expr(e, f"problem.noise_factor[{i}][{j}]") for j, e in enumerate(r)] for i, r in enumerate(value)]
    )


def _temperature(prob: dict[str, Any]) -> float:
    has_eps = "eps2" in prob
    has_sgd = "eta" in prob or "batch" in prob
    if has_eps == has_sgd:
        raise CaseError("give either problem.eps2 or both problem.eta and problem.batch (ε² = η/(2b))")
    if has_eps:
        return number(prob["eps2"], "problem.eps2", positive=True)
    eta = number(prob.get("eta"), "problem.eta", positive=True)
    batch = integer(prob.get("batch"), "problem.batch", 1, 10**9)
    return eps2_from_sgd(eta, batch)


def _initial(table: dict[str, Any], dim: int, expr: Any) -> sp.Expr:
    kind = table.get("type", "")
    allowed = {
        "gaussian": {"type", "mean", "cov"},
        "point": {"type", "point", "width"},
        "expression": {"type", "expression"},
    }
    if not isinstance(kind, str) or kind not in allowed:
        raise CaseError(f"initial.type must be one of {', '.join(allowed)}, got {kind!r}")
    check_keys(table, allowed[kind], f"[initial] of type {kind}")
    if kind == "gaussian":
        mean = vector(table.get("mean"), "initial.mean", dim)
        cov = table.get("cov")
        if not isinstance(cov, list) or len(cov) != dim:
            raise CaseError(f"initial.cov must be a {dim}×{dim} list of lists")
        c = np.array([vector(r, f"initial.cov[{i}]", dim) for i, r in enumerate(cov)])
        if not np.allclose(c, c.T) or np.linalg.eigvalsh(c).min() <= 0:
            raise CaseError("initial.cov must be symmetric positive definite")
        return gaussian_density(mean, c)
    if kind == "point":
        return point_mass_density(
            vector(table.get("point"), "initial.point", dim),
            number(table.get("width"), "initial.width", True),
        )
    return expr(table.get("expression"), "initial.expression")


def _analysis_expressions(
    value: Any, expr: Any, observable_expr: Any, time_expr: Any, collapse_expr: Any, dim: int
) -> Any:
    """``value`` (the ``[[analysis]]`` array) with the expressions of the case's names parsed.

    Each ``figure.curves[i].zero`` is parsed by ``expr``; each entry of an ``expectations`` list becomes
    an :class:`~fpsolve.analyses.expectations.Expectation` (``of`` by ``observable_expr``, ``exact`` by
    ``time_expr``, a function of t; both may name ``eps2``, the case's ε²), a ``collapse`` table a
    :class:`~fpsolve.analyses.collapse.Collapse` (``limit``, ``lower`` by ``collapse_expr``, functions
    of t and the radius r): they are written in the case's coordinate and parameter names, which only
    the schema knows; everything else is left to the analysis to check.
    """
    if not isinstance(value, list):
        return value
    out = []
    for k, a in enumerate(value):
        if isinstance(a, dict) and "expectations" in a:
            where = f"analysis[{k}].expectations"
            a = {
                **a,
                "expectations": parse_expectations(a["expectations"], where, observable_expr, time_expr),
            }
        if isinstance(a, dict) and "collapse" in a:
            a = {
                **a,
                "collapse": parse_collapse(a["collapse"], f"analysis[{k}].collapse", dim, collapse_expr),
            }
        figure = a.get("figure") if isinstance(a, dict) else None
        curves = figure.get("curves") if isinstance(figure, dict) else None
        if isinstance(curves, list):
            where = f"analysis[{k}].figure.curves"
            parsed = [
                {**c, "zero": expr(c["zero"], f"{where}[{i}].zero")}
                if isinstance(c, dict) and "zero" in c
                else c
                for i, c in enumerate(curves)
            ]
            a = {**a, "figure": {**figure, "curves": parsed}}
        out.append(a)
    return out


def parse_analyses(value: Any, problem: FokkerPlanckProblem) -> tuple[Analysis, ...]:
    """The ``[[analysis]]`` array: each table parsed by the registered class of its ``type``."""
    kinds = ", ".join(ANALYSES)
    if value is None:
        raise CaseError(f"no [[analysis]] given ({kinds})")
    if not isinstance(value, list) or not value or not all(isinstance(a, dict) for a in value):
        raise CaseError("[[analysis]] must be a non-empty array of tables")
    if len(value) > MAX_ANALYSES:
        raise CaseError(f"{len(value)} analyses: at most {MAX_ANALYSES} per case")
    out = []
    for k, a in enumerate(value):
        kind = a.get("type")
        if not isinstance(kind, str) or kind not in ANALYSES:
            raise CaseError(f"analysis[{k}].type must be one of {kinds}, got {kind!r}")
        cls = ANALYSES[kind]
        check_keys(a, cls.keys, f"[[analysis]] {k} of type {kind}")
        out.append(cls.parse(a, f"analysis[{k}]", problem))
    return tuple(out)


# -- sweep -----------------------------------------------------------------------------------------


MAX_SWEEP_RUNS = 50


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
    """A copy of the case ``data`` without ``[sweep]``, with each dotted key (or parameter name) set.

    The ``[[claims]]`` of a case with a ``[sweep]`` are left out too: they are decided on the checks
    collected over the runs (a fit's check exists only there), not in one run.
    """
    new = copy.deepcopy(dict(data))
    if new.pop("sweep", None) is not None:
        new.pop("claims", None)
    for name, value in values.items():
        path = name.split(".") if "." in name else ["parameters", name]
        node = new
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return new


def parse_sweep(data: Mapping[str, Any], path: Path) -> tuple[dict[str, float], ...]:
    """Validate ``[sweep]``: names → equally long lists of numbers; every point must parse as a case.

    A name is a dotted case key (``problem.eps2``, ``domain.h``) or a name of ``[parameters]``.
    Run k uses the k-th value of every list.
    """
    table = data["sweep"]
    if not isinstance(table, dict) or not table:
        raise CaseError("[sweep] must be a table of names → lists of numbers")
    flat = _flatten(table)
    lengths = set()
    for name, values in flat.items():
        if not isinstance(values, list) or not values:
            raise CaseError(f"sweep.{name} must be a non-empty list of numbers")
        for i, v in enumerate(values):
            number(v, f"sweep.{name}[{i}]")
        lengths.add(len(values))
        head = name.split(".")[0]
        if "." in name and head not in SECTIONS:
            raise CaseError(f"sweep.{name}: unknown section '{head}'")
        if "." not in name and name not in data.get("parameters", {}):
            raise CaseError(f"sweep.{name} is neither a dotted case key nor a name in [parameters]")
    if len(lengths) != 1:
        raise CaseError("all lists in [sweep] must have the same length (run k uses the k-th value of each)")
    n = lengths.pop()
    if n > MAX_SWEEP_RUNS:
        raise CaseError(f"[sweep] asks for {n} runs, more than {MAX_SWEEP_RUNS}")
    points = tuple({name: values[k] for name, values in flat.items()} for k in range(n))
    for k, point in enumerate(points):
        try:
            parse_case(sweep_override(data, point), path)
        except CaseError as exc:
            raise CaseError(f"sweep point {k} ({point}): {exc}") from None
    return points


#: PETSc options whose value must be a number (PETSc itself ignores a bad one where it is unused, e.g.
#: the tolerances of ``preonly``): suffix → (lowest value, whether it must be an integer).
NUMERIC_OPTIONS = {"rtol": (0.0, False), "atol": (0.0, False), "divtol": (0.0, False), "max_it": (1, True)}


def _check_petsc_values(options: Mapping[str, Any]) -> None:
    """Tolerances and iteration limits in ``[solver.petsc]`` must be numbers in range."""
    for key, value in flatten(options).items():
        for suffix, (lowest, whole) in NUMERIC_OPTIONS.items():
            if key == suffix or key.endswith(f"_{suffix}"):
                where = f"solver.petsc.{key}"
                number_ = integer(value, where, int(lowest), 10**9) if whole else number(value, where)
                if number_ < lowest:
                    raise CaseError(f"{where} must be at least {lowest}, got {value!r}")
