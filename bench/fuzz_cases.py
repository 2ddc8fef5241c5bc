"""Fuzz benchmark of bad input: malformed case files through ``fpsolve info`` (and a sample through ``run``).

Generates ``N`` malformed case files, deterministically from ``--seed``, by mutating the shipped cases
``cases/*.toml`` of the repository under test (``--repo``; ``--cases-from`` takes them from another
one), runs each through ``fpsolve info <file>`` in-process and tabulates the outcomes per mutation
category. It measures the reliability of the command line on bad input: a user error should be one
line on stderr and exit status 2, never a Python traceback, a hang or an accepted invalid problem.

Mutation categories (each generated file records its category, mutation name and a description):

``unknown_key``
    unknown keys at the top level and in every section (typos, unicode, 1000 extra keys, …).
``wrong_type``
    a string for a number, a list for a table, a boolean or a date for an integer, …
``missing_key``
    required sections and keys removed.
``bad_expression``
    syntax errors, undefined symbols and functions, injection attempts (``__import__('os')``,
    ``().__class__``, lambda; a canary file records whether any code ran), 3000 nested parentheses,
    5000 unary minus signs, 3000-term sums, ``10**1000``, ``exp(1000)*x**2``, ``asin(2)``,
    ``sqrt(-1)``, ``log(x)`` on a domain containing x ≤ 0, ``1/x`` in Q, …
``invalid_physics``
    non-symmetric, negative-definite or indefinite Q, ``Q = 1/x`` on a domain containing 0, NaN/inf
    numbers, ε² ≤ 0, negative or singular initial covariance, η ≤ 0, negative label noise, …
``bad_domain``
    lo ≥ hi, zero width (1e-300), huge cell counts, non-finite bounds, nonexistent mesh files, ``.msh``
    files that are no mesh (text, binary, empty, truncated, a directory, ``/dev/zero``), a valid 2-D mesh
    (written here, 16×16 squares) read as 1-D or 3-D, absorbing boundary parts that do not exist, …
``bad_analysis``
    unknown analysis types, output_times not increasing, huge t_end/dt, dt ≤ 0, bad tolerances, …
``bad_petsc``
    bad ``[solver.petsc]`` values (``ksp_rtol = "abc"``, ``pc_type = "nonexistent"``, …).
``bad_output``
    bad output names (``problem.name = "../../x"``, NUL bytes, 5000 characters) and output
    directories outside the working directory, ``/dev/null``, ``/proc``, …
``garbage_toml``
    truncated, byte-flipped or binary files, invalid UTF-8, UTF-16, duplicate keys, 5000 nested arrays,
    JSON, a directory or a missing path instead of a file, …

Running: each case is run by ``fpsolve.cli.main(["info", file])``, imported from ``--repo`` (placed first
on ``sys.path``), with stdout/stderr captured (``contextlib.redirect_stdout``/``redirect_stderr`` on
``io.StringIO`` and the file descriptors 1 and 2 for output of C libraries) and a wall-clock limit per
case (``signal.alarm``, ``--limit``, default 60 s). The cases run in one worker process (no re-import per
case) that this script supervises: if the worker dies (a segmentation fault, say) or is stuck in C code
past the limit plus 30 s, the case is recorded as ``crash`` or ``timeout`` and a new worker continues with
the next case. The worker's address space is limited (``--memory-limit-gb``, default 6) so that a huge
allocation is a ``MemoryError``, not the machine's out-of-memory killer; it runs in a scratch working
directory under ``--out-dir``. The unmutated shipped cases run first as controls (also a warm-up) and
their outcomes are printed: a shipped case that fails in the version under test confounds every mutation
made from it.

Outcomes per case: the exit status (0, 1, 2, 3 or other; a ``SystemExit`` gives its code), ``uncaught``
(an exception escaped ``main``: a console script would print its traceback and exit 1), ``timeout``,
``crash``; and the flags ``traceback`` (an exception escaped, or ``Traceback (most recent call last)``
appeared in the captured output), ``accepted`` (exit status 0 on malformed input; in the
``invalid_physics`` category this is "invalid physics accepted") and ``code executed`` (an injection
expression created its canary file). The table of categories × outcomes, the totals and the most common
traceback exception types (with an example mutation each) are printed; ``--json FILE`` writes every case.

``--run-sample [K]`` (K = 12 without a value) also runs K cases, a deterministic sample spread over the
categories (solver options, physics and output names first: what ``info`` cannot see), by
``mpiexec -n 2 python -m fpsolve -q run <file> -o <fresh dir>/out`` in a subprocess (``PYTHONPATH`` = the
repository root, so that ``--repo`` decides the package; ``mpiexec`` and ``python`` from the repository's
``.venv``, else from the running interpreter's), with a timeout (``--run-timeout``, default 120 s),
recording the exit status, the number of stderr lines starting with ``Traceback``, a hang (the timeout:
a slow solve counts too; the number of output files written tells them apart) and whether the output
directory exists after a refused run (exit status 2).

Examples
--------
From the repository root (a few minutes on one core; at most one fuzz run at a time)::

    OMP_NUM_THREADS=1 .venv/bin/python bench/fuzz_cases.py --json /tmp/fuzz/after.json
    OMP_NUM_THREADS=1 .venv/bin/python bench/fuzz_cases.py --repo /tmp/baseline --json /tmp/fuzz/before.json
    OMP_NUM_THREADS=1 .venv/bin/python bench/fuzz_cases.py -n 40 --seed 3 --run-sample 6

The same ``--seed`` and ``-n`` give the same mutations (per case, independently of the others), so two
versions of the code are compared on the same inputs when their shipped cases agree. Generated files,
auxiliary files and scratch directories go under ``--out-dir`` (default ``/tmp/fuzz/<repo name>``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import ctypes
import datetime as dt
import gc
import io
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CATEGORIES = (
    "unknown_key",
    "wrong_type",
    "missing_key",
    "bad_expression",
    "invalid_physics",
    "bad_domain",
    "bad_analysis",
    "bad_petsc",
    "bad_output",
    "garbage_toml",
)
#: Mutually exclusive outcomes of one case, in table order.
OUTCOMES = ("0", "1", "2", "3", "other", "uncaught", "timeout", "crash")
#: Seconds past ``--limit`` before the supervisor kills a worker stuck where ``signal.alarm`` cannot act.
GRACE_S = 30.0
MARKER = ".fuzz_cases"
DEFAULT_N = 376

Key = str | int
KeyPath = tuple[Key, ...]

# -- TOML writer -------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text`` (control characters escaped)."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_key(key: str) -> str:
    """A TOML key: bare when possible, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: Any) -> str:
    """An inline TOML value: booleans, numbers (with nan/inf), strings, dates, arrays, inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _is_array_of_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _emit(lines: list[str], prefix: tuple[str, ...], table: dict[str, Any]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict) and not _is_array_of_tables(value):
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            name = ".".join(toml_key(k) for k in (*prefix, key))
            lines.extend(["", f"[{name}]"])
            _emit(lines, (*prefix, key), value)
    for key, value in table.items():
        if _is_array_of_tables(value):
            name = ".".join(toml_key(k) for k in (*prefix, key))
            for item in value:
                lines.extend(["", f"[[{name}]]"])
                _emit(lines, (*prefix, key), item)


def dump_toml(data: dict[str, Any]) -> str:
    """Serialise ``data`` (as read by ``tomllib``) to TOML text; ``tomllib.loads`` gives ``data`` back."""
    lines: list[str] = []
    _emit(lines, (), data)
    return "\n".join(lines).lstrip("\n") + "\n"


def same_data(a: Any, b: Any) -> bool:
    """Structural equality with NaN equal to NaN (checks the writer's round trip)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_data(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# -- nested data helpers ---------------------------------------------------------------------------


def walk(obj: Any, prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every (path, value) below ``obj``, containers included, depth first."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*prefix, key), value
            yield from walk(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield (*prefix, i), value
            yield from walk(value, (*prefix, i))


def get_at(obj: Any, path: KeyPath) -> Any:
    """The value at ``path``."""
    for key in path:
        obj = obj[key]
    return obj


def set_at(obj: Any, path: KeyPath, value: Any) -> None:
    """Set the value at ``path`` (its parent must exist)."""
    get_at(obj, path[:-1])[path[-1]] = value


def has_at(obj: Any, path: KeyPath) -> bool:
    """Whether ``path`` exists in ``obj``."""
    try:
        get_at(obj, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def dotted(path: KeyPath) -> str:
    """``("analysis", 0, "dt")`` → ``analysis[0].dt``."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{toml_key(key)}" if out else toml_key(key))
    return out


# -- mutations -----------------------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a mutator sees: a deep copy of one base case and the helpers of this generation."""

    rng: random.Random
    base: str
    data: dict[str, Any]
    text: str
    aux: Path
    path: Path

    @property
    def coords(self) -> list[str]:
        """Coordinate names of the base case: the model parameters or x, y."""
        model = self.data.get("model")
        if isinstance(model, dict) and isinstance(model.get("parameters"), list):
            return [str(p) for p in model["parameters"]]
        return ["x", "y"]

    def section(self, name: str) -> dict[str, Any] | None:
        """The table ``[name]`` when present."""
        value = self.data.get(name)
        return value if isinstance(value, dict) else None

    def analyses(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The ``[[analysis]]`` tables (of type ``kind``)."""
        value = self.data.get("analysis")
        if not isinstance(value, list):
            return []
        return [a for a in value if isinstance(a, dict) and (kind is None or a.get("type") == kind)]

    def problem_q(self) -> bool:
        """Whether the case gives Q in ``[problem]`` (not derived from a ``[model]``)."""
        prob = self.section("problem")
        return prob is not None and isinstance(prob.get("Q"), list)

    def choose(self, items: Sequence[Any]) -> Any:
        """A deterministic choice from ``items``."""
        return items[self.rng.randrange(len(items))]


@dataclass
class Mut:
    """One mutation: the mutated data, or raw bytes, or a special path (``directory``, ``missing``...)."""

    detail: str
    data: dict[str, Any] | None = None
    raw: bytes | None = None
    special: str | None = None


Mutator = Callable[[Ctx], Mut | None]
REGISTRY: dict[str, list[tuple[str, Mutator]]] = {c: [] for c in CATEGORIES}


def register(category: str, name: str, func: Mutator) -> None:
    """Add a mutator to a category."""
    REGISTRY[category].append((name, func))


def _setter(path: KeyPath, value: Any, create: bool = False) -> Mutator:
    """Mutator setting ``path`` to ``value`` (``create``: make missing parent tables)."""

    def mutate(ctx: Ctx) -> Mut | None:
        if create:
            obj: Any = ctx.data
            for key in path[:-1]:
                if not isinstance(obj, dict):
                    return None
                obj = obj.setdefault(key, {})
            if not isinstance(obj, dict):
                return None
            obj[path[-1]] = copy.deepcopy(value)
        else:
            if not has_at(ctx.data, path[:-1]) or not isinstance(get_at(ctx.data, path[:-1]), dict | list):
                return None
            if not has_at(ctx.data, path):
                return None
            set_at(ctx.data, path, copy.deepcopy(value))
        return Mut(f"{dotted(path)} = {_short(value)}", ctx.data)

    return mutate


def _short(value: Any, width: int = 70) -> str:
    text = toml_value(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= width else f"{text[: width - 20]}…({len(text)} chars)"


def _deleter(*paths: KeyPath) -> Mutator:
    """Mutator removing the first of ``paths`` that exists."""

    def mutate(ctx: Ctx) -> Mut | None:
        for path in paths:
            if has_at(ctx.data, path):
                del get_at(ctx.data, path[:-1])[path[-1]]
                return Mut(f"removed {dotted(path)}", ctx.data)
        return None

    return mutate


# unknown keys ------------------------------------------------------------------------------------------

_UNKNOWN_IN_SECTION = [
    ("problem", "epsilon2", 0.1),
    ("problem", "los", "x**2"),
    ("problem", "ε2", 0.1),
    ("problem", "__class__", 1),
    ("domain", "cell", [10, 10]),
    ("domain", "radius_", 1.0),
    ("initial", "sigma", 0.1),
    ("output", "dir", "out/x"),
    ("validate", "particle", 10),
    ("discretisation", "schem", "afc"),
    ("discretisation", "order", 2),
    ("boundary", "reflecting", ["boundary"]),
    ("solver", "ksp", {"type": "cg"}),
    ("model", "learning_rate", 0.1),
    ("data", "colums", {"a": [1.0, 2.0]}),
    ("sweep", "problem.epsilon2", [0.1, 0.2]),
    ("sweep", "domain.nope", [1.0, 2.0]),
    ("sweep", "not_a_parameter", [1.0, 2.0]),
]


def _unknown_in_section(section: str, key: str, value: Any) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        table = ctx.section(section)
        if table is None or key in table:
            return None
        table[key] = copy.deepcopy(value)
        return Mut(f"[{section}] {toml_key(key)} = {_short(value)}", ctx.data)

    return mutate


for _s, _k, _v in _UNKNOWN_IN_SECTION:
    register("unknown_key", f"{_s}.{_k}", _unknown_in_section(_s, _k, _v))
register("unknown_key", "top.solverr", _setter(("solverr",), {"petsc": {"ksp_type": "cg"}}, create=True))
register("unknown_key", "top.foo", _setter(("foo",), 1, create=True))
register("unknown_key", "top.empty_key", _setter(("",), 1, create=True))
register("unknown_key", "top.dotted_quoted", _setter(("problem.eps2",), 0.5, create=True))
register("unknown_key", "problem.subtable", _setter(("problem", "extra"), {"a": 1}, create=True))


def _typo_section(ctx: Ctx) -> Mut | None:
    names = [k for k in ("domain", "problem", "initial", "output", "validate") if k in ctx.data]
    if not names:
        return None
    name = ctx.choose(names)
    typo = {"domain": "domian", "problem": "problme", "initial": "inital", "output": "ouput"}.get(
        name, name + "s"
    )
    ctx.data[typo] = copy.deepcopy(ctx.data[name])
    return Mut(f"copy of [{name}] as [{typo}]", ctx.data)


def _unknown_in_analysis(ctx: Ctx) -> Mut | None:
    analyses = ctx.analyses()
    if not analyses:
        return None
    a = ctx.choose(analyses)
    key = ctx.choose(["t_ned", "tolerance_rho", "typ", "reference_"])
    a[key] = 1.0
    return Mut(f"[[analysis]] of type {a.get('type')!r}: {key} = 1.0", ctx.data)


def _renamed_key(ctx: Ctx) -> Mut | None:
    paths = [
        p for p, v in walk(ctx.data) if len(p) == 2 and isinstance(p[1], str) and not isinstance(v, dict)
    ]
    if not paths:
        return None
    path = ctx.choose(paths)
    table = get_at(ctx.data, path[:-1])
    new = str(path[-1]).capitalize() if str(path[-1]).islower() else str(path[-1]) + "_"
    table[new] = table.pop(path[-1])
    return Mut(f"{dotted(path)} renamed to {new}", ctx.data)


def _thousand_keys(ctx: Ctx) -> Mut | None:
    for k in range(1000):
        ctx.data[f"k{k}"] = k
    return Mut("1000 unknown top-level keys k0..k999", ctx.data)


register("unknown_key", "typo_section", _typo_section)
register("unknown_key", "analysis.unknown", _unknown_in_analysis)
register("unknown_key", "renamed_key", _renamed_key)
register("unknown_key", "1000_keys", _thousand_keys)

# wrong types ----------------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict):
        return "table"
    if _is_array_of_tables(value):
        return "tables"
    if isinstance(value, list):
        return "list"
    return "other"


_WRONG_TYPES: list[tuple[str, tuple[str, ...], Any]] = [
    ("number_as_word", ("int", "float"), "abc"),
    ("number_as_numeric_string", ("int", "float"), "0.5"),
    ("number_as_bool", ("int", "float"), True),
    ("number_as_list", ("int", "float"), [1.0]),
    ("number_as_table", ("int", "float"), {"value": 1.0}),
    ("number_as_date", ("int", "float"), dt.date(2024, 1, 1)),
    ("int_as_float", ("int",), 96.5),
    ("int_as_huge", ("int",), 10**30),
    ("string_as_number", ("str",), 3),
    ("string_as_bool", ("str",), True),
    ("string_as_list", ("str",), ["a"]),
    ("string_as_table", ("str",), {"a": "b"}),
    ("list_as_string", ("list",), "1, 2"),
    ("list_as_number", ("list",), 1.0),
    ("list_as_table", ("list",), {"a": 1}),
    ("list_as_empty", ("list",), []),
    ("bool_as_string", ("bool",), "true"),
    ("bool_as_int", ("bool",), 1),
    ("table_as_list", ("table",), [1, 2]),
    ("table_as_string", ("table",), "x"),
    ("table_as_number", ("table",), 0),
    ("tables_as_table", ("tables",), {"type": "stationary"}),
    ("tables_as_ints", ("tables",), [1, 2]),
]


#: Keys whose values must be integers (an integer elsewhere may stand for a float).
INT_KEYS = {"cells", "batch", "degree", "seed", "particles", "n_times", "snapshots", "dim"}


def _wrong_type(kinds: tuple[str, ...], value: Any) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        paths = [
            p
            for p, v in walk(ctx.data)
            if _kind(v) in kinds and (kinds != ("int",) or INT_KEYS & {k for k in p if isinstance(k, str)})
        ]
        if not paths:
            return None
        path = ctx.choose(paths)
        old = get_at(ctx.data, path)
        set_at(ctx.data, path, copy.deepcopy(value))
        return Mut(f"{dotted(path)}: {_short(old, 30)} → {_short(value)}", ctx.data)

    return mutate


for _name, _kinds, _value in _WRONG_TYPES:
    register("wrong_type", _name, _wrong_type(_kinds, _value))


def _element_wrong(ctx: Ctx) -> Mut | None:
    paths = [
        p for p, v in walk(ctx.data) if isinstance(v, list) and v and all(_kind(x) == "float" for x in v)
    ]
    if not paths:
        return None
    path = ctx.choose(paths)
    get_at(ctx.data, path)[-1] = "a"
    return Mut(f"{dotted(path)}: last element a string", ctx.data)


def _matrix_flat(ctx: Ctx) -> Mut | None:
    paths = [
        p for p, v in walk(ctx.data) if isinstance(v, list) and v and all(isinstance(r, list) for r in v)
    ]
    if not paths:
        return None
    path = ctx.choose(paths)
    value = get_at(ctx.data, path)
    set_at(ctx.data, path, [x for r in value for x in (r if isinstance(r, list) else [r])])
    return Mut(f"{dotted(path)}: matrix flattened to a list", ctx.data)


def _nested_cells(ctx: Ctx) -> Mut | None:
    dom = ctx.section("domain")
    if dom is None or "cells" not in dom:
        return None
    dom["cells"] = [[c] for c in dom["cells"]]
    return Mut(f"domain.cells = {_short(dom['cells'])}", ctx.data)


register("wrong_type", "list_element_string", _element_wrong)
register("wrong_type", "matrix_flattened", _matrix_flat)
register("wrong_type", "cells_nested", _nested_cells)
register("wrong_type", "Q_as_string", _setter(("problem", "Q"), "1"))
register("wrong_type", "eps2_as_expression", _setter(("problem", "eps2"), "1/2"))

# missing keys ------------------------------------------------------------------------------------------

_MISSING: list[tuple[str, tuple[KeyPath, ...]]] = [
    ("problem", (("problem",),)),
    ("problem.Q", (("problem", "Q"),)),
    ("problem.eps2", (("problem", "eps2"),)),
    ("domain", (("domain",),)),
    ("domain.type", (("domain", "type"),)),
    ("domain.cells", (("domain", "cells"), ("domain", "h"), ("domain", "file"))),
    ("domain.lo", (("domain", "lo"), ("domain", "center"))),
    ("domain.hi", (("domain", "hi"), ("domain", "radius"))),
    ("analysis", (("analysis",),)),
    ("analysis.type", (("analysis", 0, "type"),)),
    ("analysis.t_end", (("analysis", 0, "t_end"), ("analysis", 0, "start_points"))),
    ("analysis.dt", (("analysis", 0, "dt"), ("analysis", 0, "R0"))),
    ("initial.mean", (("initial", "mean"),)),
    ("initial.cov", (("initial", "cov"),)),
    ("initial.type", (("initial", "type"),)),
    ("model.parameters", (("model", "parameters"),)),
    ("model.loss", (("model", "loss"),)),
    ("model.eta", (("model", "eta"),)),
    ("model.batch", (("model", "batch"),)),
    ("model.label", (("model", "label"),)),
    ("data", (("data",),)),
    ("data.columns", (("data", "columns"), ("data", "file"))),
    ("boundary", (("boundary",),)),
    ("boundary.absorbing", (("boundary", "absorbing"),)),
]
for _name, _paths in _MISSING:
    register("missing_key", _name, _deleter(*_paths))


def _missing_loss_drift(ctx: Ctx) -> Mut | None:
    prob = ctx.section("problem")
    if prob is None or not ({"loss", "drift"} & set(prob)):
        return None
    prob.pop("loss", None)
    prob.pop("drift", None)
    return Mut("removed problem.loss and problem.drift", ctx.data)


def _missing_initial(ctx: Ctx) -> Mut | None:
    if "initial" not in ctx.data or not (ctx.analyses("transient") or ctx.analyses("mass_concentration")):
        return None
    del ctx.data["initial"]
    return Mut("removed [initial] (a transient/mass_concentration analysis needs it)", ctx.data)


def _only_problem(ctx: Ctx) -> Mut | None:
    return Mut("only [problem] kept", {"problem": ctx.data.get("problem", {})})


def _empty_problem(ctx: Ctx) -> Mut | None:
    prob = ctx.section("problem")
    if prob is None or not set(prob) - {"name"}:
        return None  # (with a [model], [problem] holds only the name)
    ctx.data["problem"] = {}
    return Mut("[problem] empty", ctx.data)


register("missing_key", "loss_and_drift", _missing_loss_drift)
register("missing_key", "initial", _missing_initial)
register("missing_key", "only_problem", _only_problem)
register("missing_key", "problem_empty", _empty_problem)

# bad expressions ------------------------------------------------------------------------------------
# {x}: first coordinate name; {canary}: a file whose creation shows that an expression ran code.

_BAD_EXPRESSIONS: list[tuple[str, str, str]] = [
    ("syntax_trailing_op", "{x}**", "any"),
    ("syntax_unclosed", "2*({x} + 1", "any"),
    ("syntax_juxtaposition", "{x} {x}", "any"),
    ("syntax_empty", "", "any"),
    ("syntax_blank", "   ", "any"),
    ("syntax_double_op", "{x} +* 2", "any"),
    ("syntax_newline", "{x}\n+ 1", "any"),
    ("undefined_symbol", "{x} + undefined_symbol", "any"),
    ("undefined_z", "z**2", "any"),
    ("unknown_function", "gamma({x})", "any"),
    ("inject_import", "__import__('os').system('touch {canary}')", "any"),
    ("inject_open", "open('{canary}', 'w')", "any"),
    ("inject_class", "().__class__.__bases__[0].__subclasses__()", "any"),
    ("inject_lambda_call", "(lambda: __import__('os').system('touch {canary}'))()", "any"),
    ("inject_lambda", "lambda {x}: {x}", "any"),
    ("inject_attribute", "{x}.__class__", "any"),
    ("inject_comprehension", "[{x} for {x} in (1, 2)]", "any"),
    ("inject_eval", "eval('1')", "any"),
    ("inject_walrus", "(q := 1)", "any"),
    ("nested_parens_3000", "(" * 3000 + "{x}" + ")" * 3000, "any"),
    ("unary_minus_5000", "-" * 5000 + "{x}", "any"),
    ("sum_3000_terms", "+".join(["{x}"] * 3000), "any"),
    ("sum_3000_distinct_terms", "+".join(f"{k}*{{x}}**2" for k in range(3000)), "any"),
    ("pow_10_1000", "10**1000", "any"),
    ("pow_x_10_1000", "{x}**(10**1000)", "any"),
    ("tower_pow", "9**9**9**9", "any"),
    ("exp_1000", "exp(1000)*{x}**2", "any"),
    ("exp_exp_exp", "exp(exp(exp({x})))", "any"),
    ("asin_2", "asin(2)", "any"),
    ("sqrt_minus_1", "sqrt(-1)", "any"),
    ("log_x", "log({x})", "any"),
    ("one_over_x_in_Q", "1/{x}", "Q"),
    ("div_zero", "{x}/0", "any"),
    ("float_overflow_literal", "1e400*{x}", "any"),
    ("big_int_literal", "9" * 5000, "any"),
    ("unicode_superscript", "{x}² + 1", "any"),
    ("nul_byte", "{x}\x00+1", "any"),
    ("keyword_call", "exp({x}=1)", "any"),
    ("wrong_arity", "exp({x}, 1)", "any"),
    ("no_args", "max()", "any"),
    ("conditional", "{x} if {x} else 1", "any"),
    ("comparison", "{x} > 0", "any"),
    ("string_literal", "'abc'", "any"),
]


def expression_paths(data: dict[str, Any]) -> list[KeyPath]:
    """Paths of the expression strings of a case (loss, drift, Q, model loss, observables, ...)."""
    out: list[KeyPath] = []
    prob = data.get("problem")
    if isinstance(prob, dict):
        if isinstance(prob.get("loss"), str):
            out.append(("problem", "loss"))
        for i, e in enumerate(prob.get("drift") or []):
            if isinstance(e, str):
                out.append(("problem", "drift", i))
        out.extend(q_paths(data))
    model = data.get("model")
    if isinstance(model, dict) and isinstance(model.get("loss"), str):
        out.append(("model", "loss"))
    val = data.get("validate")
    if isinstance(val, dict):
        observables = val.get("observables")
        if isinstance(observables, list):
            out.extend(("validate", "observables", i) for i in range(len(observables)))
    return out


def q_paths(data: dict[str, Any]) -> list[KeyPath]:
    """Paths of the entries of ``problem.Q``."""
    prob = data.get("problem")
    q = prob.get("Q") if isinstance(prob, dict) else None
    if not isinstance(q, list):
        return []
    return [
        ("problem", "Q", i, j) for i, row in enumerate(q) if isinstance(row, list) for j in range(len(row))
    ]


def _bad_expression(template: str, target: str) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        if target == "Q":
            paths = [p for p in q_paths(ctx.data) if p[2] == p[3]]
        else:
            paths = expression_paths(ctx.data)
        if not paths:
            return None
        path = ctx.choose(paths)
        x = ctx.coords[0]
        canary = str(ctx.aux / "canary" / f"pwned_{ctx.path.stem[:4]}")
        expr = template.replace("{x}", x).replace("{canary}", canary)
        set_at(ctx.data, path, expr)
        return Mut(f"{dotted(path)} = {_short(expr)}", ctx.data)

    return mutate


for _name, _template, _target in _BAD_EXPRESSIONS:
    register("bad_expression", _name, _bad_expression(_template, _target))

# invalid physics ------------------------------------------------------------------------------------

_NAN, _INF = float("nan"), float("inf")


def _set_q(q: list[list[Any]], what: str) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        if not ctx.problem_q():
            return None
        x = ctx.coords[0]
        value = [[e.replace("{x}", x) if isinstance(e, str) else e for e in row] for row in q]
        ctx.data["problem"]["Q"] = value
        return Mut(f"problem.Q = {toml_value(value)} ({what})", ctx.data)

    return mutate


_Q_MUTATIONS: list[tuple[str, list[list[Any]], str]] = [
    ("Q_nonsymmetric", [["1", "0.5"], ["0", "1"]], "not symmetric"),
    ("Q_negative_definite", [["-1", "0"], ["0", "-1"]], "negative definite"),
    ("Q_indefinite", [["1", "2"], ["2", "1"]], "indefinite"),
    ("Q_sign_changing", [["{x}", "0"], ["0", "1"]], "negative where x < 0"),
    ("Q_one_over_x", [["1/{x}", "0"], ["0", "1"]], "singular on a domain containing x = 0"),
    ("Q_small_negative_somewhere", [["{x}**2 - 0.01", "0"], ["0", "1"]], "negative near x = 0"),
    ("Q_imaginary", [["sqrt(-1)", "0"], ["0", "1"]], "imaginary"),
    ("Q_nan", [[_NAN, 0], [0, 1]], "NaN"),
    ("Q_inf", [[_INF, 0], [0, 1]], "inf"),
]
for _name, _q, _what in _Q_MUTATIONS:
    register("invalid_physics", _name, _set_q(_q, _what))

_PHYSICS_SETTERS: list[tuple[str, KeyPath, Any]] = [
    ("eps2_nan", ("problem", "eps2"), _NAN),
    ("eps2_inf", ("problem", "eps2"), _INF),
    ("eps2_zero", ("problem", "eps2"), 0.0),
    ("eps2_negative", ("problem", "eps2"), -0.5),
    ("initial_cov_negative", ("initial", "cov"), [[-0.01, 0.0], [0.0, -0.01]]),
    ("initial_cov_nonsymmetric", ("initial", "cov"), [[0.01, 0.02], [0.0, 0.01]]),
    ("initial_cov_singular", ("initial", "cov"), [[0.0, 0.0], [0.0, 0.0]]),
    ("initial_cov_nan", ("initial", "cov"), [[_NAN, 0.0], [0.0, 0.01]]),
    ("initial_mean_nan", ("initial", "mean"), [_NAN, 0.0]),
    ("initial_mean_outside", ("initial", "mean"), [100.0, 100.0]),
    ("model_eta_zero", ("model", "eta"), 0.0),
    ("model_eta_negative", ("model", "eta"), -0.02),
    ("model_eta_nan", ("model", "eta"), _NAN),
    ("model_label_noise_negative", ("model", "label_noise"), -1.0),
    ("model_label_noise_nan", ("model", "label_noise"), _NAN),
    ("model_label_noise_inf", ("model", "label_noise"), _INF),
    ("model_batch_zero", ("model", "batch"), 0),
]
for _name, _path, _value in _PHYSICS_SETTERS:
    register("invalid_physics", _name, _setter(_path, _value))


def _parameter_value(value: float) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        params = ctx.section("parameters")
        if not params:
            return None
        key = ctx.choose(sorted(params))
        params[key] = value
        return Mut(f"parameters.{key} = {toml_value(value)}", ctx.data)

    return mutate


def _data_nan(ctx: Ctx) -> Mut | None:
    data = ctx.section("data")
    cols = data.get("columns") if data else None
    if not isinstance(cols, dict) or not cols:
        return None
    key = ctx.choose(sorted(cols))
    cols[key][0] = _NAN
    return Mut(f"data.columns.{key}[0] = nan", ctx.data)


def _drift_value(value: Any, what: str) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        prob = ctx.section("problem")
        if prob is None or not isinstance(prob.get("drift"), list) or not prob["drift"]:
            return None
        prob["drift"][0] = value.replace("{x}", ctx.coords[0]) if isinstance(value, str) else value
        return Mut(f"problem.drift[0] = {toml_value(prob['drift'][0])} ({what})", ctx.data)

    return mutate


def _initial_replaced(initial: dict[str, Any], what: str) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        if "initial" not in ctx.data:
            return None
        ctx.data["initial"] = copy.deepcopy(initial)
        return Mut(f"[initial] = {toml_value(initial)} ({what})", ctx.data)

    return mutate


def _noise_factor_nan(ctx: Ctx) -> Mut | None:
    if not ctx.problem_q():
        return None
    del ctx.data["problem"]["Q"]
    ctx.data["problem"]["noise_factor"] = [[_NAN], [0.0]]
    return Mut("problem.Q replaced by noise_factor = [[nan], [0.0]]", ctx.data)


def _loss_singular(ctx: Ctx) -> Mut | None:
    prob = ctx.section("problem")
    if prob is None or "loss" not in prob:
        return None
    prob["loss"] = f"1/{ctx.coords[0]}"
    return Mut(f"problem.loss = 1/{ctx.coords[0]} (singular on a domain containing 0)", ctx.data)


register("invalid_physics", "parameter_nan", _parameter_value(_NAN))
register("invalid_physics", "parameter_inf", _parameter_value(_INF))
register("invalid_physics", "data_column_nan", _data_nan)
register("invalid_physics", "drift_nan", _drift_value(_NAN, "NaN"))
register("invalid_physics", "drift_singular", _drift_value("1/{x}", "singular on a domain containing 0"))
register("invalid_physics", "loss_singular", _loss_singular)
register("invalid_physics", "noise_factor_nan", _noise_factor_nan)
register(
    "invalid_physics",
    "initial_point_width_negative",
    _initial_replaced({"type": "point", "point": [0.0, 0.0], "width": -1.0}, "negative width"),
)
register(
    "invalid_physics",
    "initial_expression_negative",
    _initial_replaced({"type": "expression", "expression": "-1"}, "negative density"),
)

# bad domains ------------------------------------------------------------------------------------------


def _rect(change: Callable[[dict[str, Any]], str]) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        dom = ctx.section("domain")
        if dom is None or dom.get("type") != "rectangle":
            return None
        return Mut(change(dom), ctx.data)

    return mutate


def _disk(change: Callable[[dict[str, Any]], str]) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        dom = ctx.section("domain")
        if dom is None or dom.get("type") != "disk":
            return None
        return Mut(change(dom), ctx.data)

    return mutate


def _put(dom: dict[str, Any], key: str, value: Any) -> str:
    dom[key] = value
    return f"domain.{key} = {_short(value)}"


def _swap(dom: dict[str, Any]) -> str:
    dom["lo"], dom["hi"] = dom["hi"], dom["lo"]
    return f"domain.lo/hi swapped: lo = {dom['lo']}, hi = {dom['hi']}"


def _equal(dom: dict[str, Any]) -> str:
    dom["hi"][0] = dom["lo"][0]
    return f"domain.hi[0] = domain.lo[0] = {dom['lo'][0]}"


def _zero_width(dom: dict[str, Any]) -> str:
    dom["hi"][1] = dom["lo"][1] + 1e-300
    return "domain.hi[1] = domain.lo[1] + 1e-300 (zero width)"


_RECT_CHANGES: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("lo_hi_swapped", _swap),
    ("lo_equals_hi", _equal),
    ("zero_width", _zero_width),
    ("cells_1e9", lambda d: _put(d, "cells", [10**9, 10**9])),
    ("cells_2e40", lambda d: _put(d, "cells", [2**40, 1])),
    ("cells_10M", lambda d: _put(d, "cells", [2237, 2237])),
    ("cells_zero", lambda d: _put(d, "cells", [0, 96])),
    ("cells_negative", lambda d: _put(d, "cells", [-96, 96])),
    ("cells_one_entry", lambda d: _put(d, "cells", [96])),
    ("lo_three_entries", lambda d: _put(d, "lo", [-1.0, -1.0, -1.0])),
    ("lo_minus_inf", lambda d: _put(d, "lo", [-_INF, -1.0])),
    ("hi_nan", lambda d: _put(d, "hi", [_NAN, 1.0])),
    ("diagonal_unknown", lambda d: _put(d, "diagonal", "sideways")),
    ("type_box_2d", lambda d: _put(d, "type", "box")),
]
for _name, _change in _RECT_CHANGES:
    register("bad_domain", f"rect_{_name}", _rect(_change))

_DISK_CHANGES: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("radius_zero", lambda d: _put(d, "radius", 0.0)),
    ("radius_negative", lambda d: _put(d, "radius", -1.0)),
    ("radius_1e-300", lambda d: _put(d, "radius", 1e-300)),
    ("radius_inf", lambda d: _put(d, "radius", _INF)),
    ("h_1e-300", lambda d: _put(d, "h", 1e-300)),
    ("h_zero", lambda d: _put(d, "h", 0.0)),
    ("h_1e-4", lambda d: _put(d, "h", 1e-4)),
    ("center_nan", lambda d: _put(d, "center", [_NAN, 0.0])),
    ("type_unknown", lambda d: _put(d, "type", "sphere")),
]
for _name, _change in _DISK_CHANGES:
    register("bad_domain", f"disk_{_name}", _disk(_change))


def _mesh_file(name: str | None, what: str, dim: int = 2) -> Mutator:
    """The domain replaced by a mesh file: ``aux/<name>`` (None: a relative path that does not exist)."""

    def mutate(ctx: Ctx) -> Mut | None:
        if "domain" not in ctx.data or ctx.analyses("exit_time") or ctx.analyses("mass_concentration"):
            return None  # (these analyses need a disk: the mesh would not be read)
        file = "../meshes/does_not_exist.msh" if name is None else str(ctx.aux / name)
        ctx.data["domain"] = {"type": "mesh", "file": file, "dim": dim}
        return Mut(f"domain = mesh file {file} ({what}), dim = {dim}", ctx.data)

    return mutate


register("bad_domain", "mesh_nonexistent_abs", _mesh_file("does_not_exist.msh", "does not exist"))
register("bad_domain", "mesh_nonexistent_rel", _mesh_file(None, "relative, does not exist"))
register("bad_domain", "mesh_text", _mesh_file("not_a_mesh.msh", "a text file"))
register("bad_domain", "mesh_binary", _mesh_file("garbage.msh", "random bytes"))
register("bad_domain", "mesh_empty", _mesh_file("empty.msh", "empty"))
register("bad_domain", "mesh_truncated", _mesh_file("truncated.msh", "the first 40 % of a valid mesh"))
register("bad_domain", "mesh_directory", _mesh_file("dir.msh", "a directory"))
register("bad_domain", "mesh_dev_zero", _mesh_file("zero.msh", "a link to /dev/zero"))
register("bad_domain", "mesh_toml", _mesh_file("case.toml", "a TOML file"))
register("bad_domain", "mesh_dim_3", _mesh_file("square.msh", "a valid 2-D mesh", dim=3))
register("bad_domain", "mesh_dim_1", _mesh_file("square.msh", "a valid 2-D mesh", dim=1))


def _absorbing(parts: list[str]) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        ctx.data.setdefault("boundary", {})
        if not isinstance(ctx.data["boundary"], dict):
            return None
        ctx.data["boundary"]["absorbing"] = list(parts)
        return Mut(f"boundary.absorbing = {toml_value(parts)} (no such part)", ctx.data)

    return mutate


register("bad_domain", "absorbing_unknown", _absorbing(["nonexistent"]))
register("bad_domain", "absorbing_partly_unknown", _absorbing(["boundary", "left", "nowhere"]))
register("bad_domain", "absorbing_empty_name", _absorbing([""]))

# bad analyses ----------------------------------------------------------------------------------------


def _analysis(kind: str | None, change: Callable[[dict[str, Any]], str]) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        analyses = ctx.analyses(kind)
        if not analyses:
            return None
        a = ctx.choose(analyses)
        return Mut(f"[[analysis]] {a.get('type')!r}: {change(a)}", ctx.data)

    return mutate


def _aput(a: dict[str, Any], key: str, value: Any) -> str:
    a[key] = value
    return f"{key} = {_short(value)}"


def _times(a: dict[str, Any], how: str) -> str:
    t_end = float(a.get("t_end", 1.0))
    times = [float(t) for t in a.get("output_times", [t_end / 2, t_end])]
    if len(times) < 2:
        times = [t_end / 2, t_end]
    new = {
        "reversed": times[::-1],
        "duplicate": [times[0], times[0], *times[1:]],
        "beyond_t_end": [*times, 10 * t_end],
        "negative": [-1.0, *times],
        "empty": [],
        "nan": [_NAN, *times],
    }[how]
    return _aput(a, "output_times", new)


_TRANSIENT_CHANGES: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
    ("output_times_reversed", lambda a: _times(a, "reversed")),
    ("output_times_duplicate", lambda a: _times(a, "duplicate")),
    ("output_times_beyond_t_end", lambda a: _times(a, "beyond_t_end")),
    ("output_times_negative", lambda a: _times(a, "negative")),
    ("output_times_empty", lambda a: _times(a, "empty")),
    ("output_times_nan", lambda a: _times(a, "nan")),
    ("t_end_over_dt_1e24", lambda a: _aput(a, "t_end", 1e12) + ", " + _aput(a, "dt", 1e-12)),
    ("t_end_over_dt_inf", lambda a: _aput(a, "t_end", 1e300) + ", " + _aput(a, "dt", 1e-300)),
    ("dt_zero", lambda a: _aput(a, "dt", 0.0)),
    ("dt_negative", lambda a: _aput(a, "dt", -0.01)),
    ("dt_above_t_end", lambda a: _aput(a, "dt", 1e6)),
    ("t_end_nan", lambda a: _aput(a, "t_end", _NAN)),
    ("method_unknown", lambda a: _aput(a, "method", "rk4")),
    ("moment_tolerance_negative", lambda a: _aput(a, "moment_tolerance", -1.0)),
]
for _name, _change in _TRANSIENT_CHANGES:
    register("bad_analysis", f"transient_{_name}", _analysis("transient", _change))

_OTHER_ANALYSIS_CHANGES: list[tuple[str, str | None, Callable[[dict[str, Any]], str]]] = [
    ("type_unknown", None, lambda a: _aput(a, "type", "stationnary")),
    ("type_empty", None, lambda a: _aput(a, "type", "")),
    ("reference_unknown", None, lambda a: _aput(a, "reference", "exact")),
    ("stationary_rho_tolerance_negative", "stationary", lambda a: _aput(a, "rho_tolerance", -1.0)),
    ("stationary_circulation_levels_empty", "stationary", lambda a: _aput(a, "circulation_levels", [])),
    ("stationary_trajectory_time_zero", "stationary", lambda a: _aput(a, "trajectory_time", 0.0)),
    ("stationary_kwon_string", "stationary", lambda a: _aput(a, "kwon", "yes")),
    ("exit_start_outside", "exit_time", lambda a: _aput(a, "start_points", [[10.0, 10.0]])),
    ("exit_start_3d", "exit_time", lambda a: _aput(a, "start_points", [[0.0, 0.0, 0.0]])),
    ("exit_start_empty", "exit_time", lambda a: _aput(a, "start_points", [])),
    ("mass_n_times_zero", "mass_concentration", lambda a: _aput(a, "n_times", 0)),
    ("mass_n_times_1e9", "mass_concentration", lambda a: _aput(a, "n_times", 10**9)),
    ("mass_R0_negative", "mass_concentration", lambda a: _aput(a, "R0", -1.0)),
    ("mass_snapshots_negative", "mass_concentration", lambda a: _aput(a, "snapshots", -1)),
]
for _name, _kind_filter, _change in _OTHER_ANALYSIS_CHANGES:
    register("bad_analysis", _name, _analysis(_kind_filter, _change))


def _no_analyses(ctx: Ctx) -> Mut | None:
    ctx.data["analysis"] = []
    return Mut("analysis = [] (none)", ctx.data)


def _empty_analysis(ctx: Ctx) -> Mut | None:
    ctx.data["analysis"] = [{}]
    return Mut("[[analysis]] with no keys (written as analysis = [{}])", ctx.data)


def _transient_without_initial(ctx: Ctx) -> Mut | None:
    ctx.data.pop("initial", None)
    ctx.data["analysis"] = [{"type": "transient", "t_end": 1.0, "dt": 0.01}]
    return Mut("transient analysis and no [initial]", ctx.data)


def _exit_without_absorbing(ctx: Ctx) -> Mut | None:
    ctx.data.pop("boundary", None)
    ctx.data["analysis"] = [{"type": "exit_time", "start_points": [[0.0, 0.0]]}]
    return Mut("exit_time analysis and no [boundary] absorbing parts", ctx.data)


def _thousand_analyses(ctx: Ctx) -> Mut | None:
    ctx.data["analysis"] = [{"type": "stationary"} for _ in range(1000)]
    return Mut("1000 stationary analyses", ctx.data)


register("bad_analysis", "none", _no_analyses)
register("bad_analysis", "empty_table", _empty_analysis)
register("bad_analysis", "transient_without_initial", _transient_without_initial)
register("bad_analysis", "exit_time_without_absorbing", _exit_without_absorbing)
register("bad_analysis", "1000_analyses", _thousand_analyses)

# bad PETSc options ------------------------------------------------------------------------------------

_PETSC: list[tuple[str, str, Any]] = [
    ("ksp_rtol_word", "ksp_rtol", "abc"),
    ("ksp_rtol_negative", "ksp_rtol", -1.0),
    ("ksp_rtol_nan", "ksp_rtol", _NAN),
    ("ksp_rtol_injection", "ksp_rtol", "1e-8 -ksp_type cg"),
    ("pc_type_nonexistent", "pc_type", "nonexistent"),
    ("pc_type_newline", "pc_type", "lu\n-malloc_debug"),
    ("ksp_type_nonexistent", "ksp_type", "nonexistent"),
    ("ksp_type_empty", "ksp_type", ""),
    ("ksp_type_bool", "ksp_type", True),
    ("ksp_type_list", "ksp_type", ["gmres", "cg"]),
    ("ksp_type_table", "ksp_type", {"a": 1}),
    ("ksp_max_it_negative", "ksp_max_it", -5),
    ("ksp_max_it_float", "ksp_max_it", 1.5),
    ("ksp_max_it_huge", "ksp_max_it", 10**30),
    ("mat_solver_nonexistent", "pc_factor_mat_solver_type", "nonexistent_solver"),
    ("mumps_icntl_14_negative", "mat_mumps_icntl_14", -1000),
    ("key_leading_dash", "-ksp_type", "cg"),
    ("key_with_space", "ksp type", "cg"),
    ("key_empty", "", "x"),
    ("key_prefixed", "fpsolve_stationary_ksp_type", "nonexistent"),
    ("help", "help", True),
    ("options_file_missing", "options_file", "/nonexistent/petsc_options"),
    ("ts_type_nonexistent", "ts_type", "nonexistent"),
    ("ts_max_steps_negative", "ts_max_steps", -1),
    ("eps_type_nonexistent", "eps_type", "nonexistent"),
    ("unknown_option", "no_such_petsc_option", 1),
]


def _petsc(key: str, value: Any) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        solver = ctx.data.setdefault("solver", {})
        if not isinstance(solver, dict):
            return None
        petsc = solver.setdefault("petsc", {})
        if not isinstance(petsc, dict):
            return None
        petsc[key] = copy.deepcopy(value)
        return Mut(f"[solver.petsc] {toml_key(key)} = {_short(value)}", ctx.data)

    return mutate


for _name, _k, _v in _PETSC:
    register("bad_petsc", _name, _petsc(_k, _v))
register("bad_petsc", "petsc_as_string", _setter(("solver",), {"petsc": "-ksp_type cg"}, create=True))
register("bad_petsc", "solver_as_list", _setter(("solver",), [1, 2], create=True))

# bad output names -------------------------------------------------------------------------------------

_NAMES: list[tuple[str, Any]] = [
    ("dotdot_path", "../../x"),
    ("absolute", "/tmp/fuzz/absolute_name"),
    ("empty", ""),
    ("slash", "a/b"),
    ("dotdot", ".."),
    ("dot", "."),
    ("long_5000", "x" * 5000),
    ("newline", "bad\nname"),
    ("nul", "nul\x00name"),
    ("space_only", " "),
    ("tilde", "~/x"),
    ("option_like", "--overwrite"),
    ("number", 42),
]
for _name, _v in _NAMES:
    register("bad_output", f"name_{_name}", _setter(("problem", "name"), _v, create=True))


def _directory(value: str, what: str) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        out = ctx.data.setdefault("output", {})
        if not isinstance(out, dict):
            return None
        out["directory"] = value.replace("{aux}", str(ctx.aux))
        return Mut(f"output.directory = {_short(out['directory'])} ({what})", ctx.data)

    return mutate


_DIRECTORIES: list[tuple[str, str, str]] = [
    ("root", "/", "the root directory"),
    ("empty", "", "empty"),
    ("dev_null", "/dev/null", "a device file"),
    ("proc", "/proc/fpsolve_fuzz", "cannot be created"),
    ("relative_escape", "out/../../../../../../../../tmp/fuzz/escape_rel", "escapes the working directory"),
    ("absolute_outside", "{aux}/outside/../../escape_abs", "outside, with .."),
    ("existing_file", "{aux}/existing_file", "an existing regular file"),
    ("nul", "out/\x00x", "NUL byte"),
    ("long_5000", "out/" + "d" * 5000, "5000-character component"),
]
for _name, _v, _what in _DIRECTORIES:
    register("bad_output", f"directory_{_name}", _directory(_v, _what))
register("bad_output", "figures_string", _setter(("output", "figures"), "yes", create=True))
register("bad_output", "output_as_string", _setter(("output",), "out/dir", create=True))

# garbage TOML ------------------------------------------------------------------------------------------


def _raw(func: Callable[[Ctx], tuple[str, bytes] | None]) -> Mutator:
    def mutate(ctx: Ctx) -> Mut | None:
        result = func(ctx)
        return None if result is None else Mut(result[0], raw=result[1])

    return mutate


def _truncate(ctx: Ctx) -> tuple[str, bytes]:
    cut = ctx.rng.randrange(1, len(ctx.text))
    return f"truncated at character {cut} of {len(ctx.text)}", ctx.text[:cut].encode()


def _truncate_in_string(ctx: Ctx) -> tuple[str, bytes] | None:
    quotes = [m.start() for m in re.finditer('= "', ctx.text)]
    if not quotes:
        return None
    cut = ctx.choose(quotes) + 4
    return f"truncated inside a string at character {cut}", ctx.text[:cut].encode()


def _flip(ctx: Ctx) -> tuple[str, bytes]:
    data = bytearray(ctx.text.encode())
    where = sorted(ctx.rng.randrange(len(data)) for _ in range(10))
    for i in where:
        data[i] = ctx.rng.randrange(256)
    return f"10 random bytes replaced at {where}", bytes(data)


def _binary(ctx: Ctx) -> tuple[str, bytes]:
    return "512 random bytes", ctx.rng.randbytes(512)


def _nul(ctx: Ctx) -> tuple[str, bytes]:
    data = ctx.text.encode()
    i = ctx.rng.randrange(len(data))
    return f"NUL bytes inserted at byte {i}", data[:i] + b"\x00\x00\x00" + data[i:]


def _bad_utf8(ctx: Ctx) -> tuple[str, bytes]:
    return "invalid UTF-8 in problem.name", ctx.text.encode().replace(b'name = "', b'name = "\xff\xfe', 1)


def _latin1(ctx: Ctx) -> tuple[str, bytes]:
    return "latin-1 encoded comment (é, µ)", ("# caf\u00e9 \u00b5\n" + ctx.text).encode("latin-1", "replace")


def _duplicate_key(ctx: Ctx) -> tuple[str, bytes] | None:
    m = re.search(r"^\[(\w+)\]\n([^\n=]+=[^\n]*)\n", ctx.text, re.M)
    if m is None:
        return None
    text = ctx.text[: m.end()] + m.group(2) + "\n" + ctx.text[m.end() :]
    return f"duplicate key {m.group(2).split('=')[0].strip()!r} in [{m.group(1)}]", text.encode()


def _duplicate_table(ctx: Ctx) -> tuple[str, bytes] | None:
    m = re.search(r"^\[(\w+)\]$", ctx.text, re.M)
    if m is None:
        return None
    return f"table [{m.group(1)}] defined twice", (ctx.text + f"\n[{m.group(1)}]\nz = 1\n").encode()


def _unclosed_bracket(ctx: Ctx) -> tuple[str, bytes] | None:
    m = re.search(r"= \[[^\n]*\]$", ctx.text, re.M)
    if m is None:
        return None
    return "unclosed array bracket", (ctx.text[: m.end() - 1] + ctx.text[m.end() :]).encode()


def _unclosed_header(ctx: Ctx) -> tuple[str, bytes] | None:
    m = re.search(r"^\[(\w+)\]$", ctx.text, re.M)
    if m is None:
        return None
    return f"unclosed header [{m.group(1)}", (ctx.text[: m.end() - 1] + ctx.text[m.end() :]).encode()


def _array_of_tables_clash(ctx: Ctx) -> tuple[str, bytes]:
    return "[[problem]] after [problem]", (ctx.text + "\n[[problem]]\nname = 'x'\n").encode()


def _missing_value(ctx: Ctx) -> tuple[str, bytes]:
    return "key without value (eps2 =)", ctx.text.replace("[problem]\n", "[problem]\neps2 =\n", 1).encode()


def _delete_lines(ctx: Ctx) -> tuple[str, bytes]:
    lines = ctx.text.splitlines()
    drop = sorted(ctx.rng.sample(range(len(lines)), min(3, len(lines))))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return f"lines {drop} deleted", ("\n".join(kept) + "\n").encode()


def _shuffle_lines(ctx: Ctx) -> tuple[str, bytes]:
    lines = ctx.text.splitlines()
    ctx.rng.shuffle(lines)
    return "lines shuffled", ("\n".join(lines) + "\n").encode()


def _raw_text(text: str | bytes, what: str) -> Callable[[Ctx], tuple[str, bytes]]:
    return lambda ctx: (what, text if isinstance(text, bytes) else text.encode())


register("garbage_toml", "truncated", _raw(_truncate))
register("garbage_toml", "truncated_in_string", _raw(_truncate_in_string))
register("garbage_toml", "bytes_flipped", _raw(_flip))
register("garbage_toml", "binary", _raw(_binary))
register("garbage_toml", "nul_bytes", _raw(_nul))
register("garbage_toml", "invalid_utf8", _raw(_bad_utf8))
register("garbage_toml", "latin1", _raw(_latin1))
register("garbage_toml", "utf16", _raw(lambda ctx: ("UTF-16 encoded", ctx.text.encode("utf-16"))))
register(
    "garbage_toml", "bom", _raw(lambda ctx: ("UTF-8 byte-order mark", b"\xef\xbb\xbf" + ctx.text.encode()))
)
register(
    "garbage_toml",
    "cr_line_ends",
    _raw(lambda ctx: ("bare CR line ends", ctx.text.replace("\n", "\r").encode())),
)
register("garbage_toml", "duplicate_key", _raw(_duplicate_key))
register("garbage_toml", "duplicate_table", _raw(_duplicate_table))
register("garbage_toml", "unclosed_bracket", _raw(_unclosed_bracket))
register("garbage_toml", "unclosed_header", _raw(_unclosed_header))
register("garbage_toml", "array_of_tables_clash", _raw(_array_of_tables_clash))
register("garbage_toml", "missing_value", _raw(_missing_value))
register("garbage_toml", "lines_deleted", _raw(_delete_lines))
register("garbage_toml", "lines_shuffled", _raw(_shuffle_lines))
register(
    "garbage_toml",
    "nested_arrays_5000",
    _raw(_raw_text("a = " + "[" * 5000 + "]" * 5000 + "\n", "5000 nested arrays")),
)
register(
    "garbage_toml",
    "nested_tables_2000",
    _raw(_raw_text("a = " + "{b = " * 2000 + "1" + "}" * 2000 + "\n", "2000 nested inline tables")),
)
register("garbage_toml", "empty", _raw(_raw_text("", "empty file")))
register("garbage_toml", "comments_only", _raw(_raw_text("# nothing here\n# at all\n", "comments only")))
register("garbage_toml", "whitespace_only", _raw(_raw_text(" \n\t\n\n", "whitespace only")))
register(
    "garbage_toml", "json", _raw(lambda ctx: ("the case as JSON", json.dumps(ctx.data, default=str).encode()))
)
register("garbage_toml", "yaml", _raw(_raw_text("problem:\n  name: x\n  eps2: 0.1\n", "YAML")))
register(
    "garbage_toml",
    "control_char_in_string",
    _raw(_raw_text('[problem]\nname = "a\x01b"\n', "raw U+0001 in a string")),
)
register(
    "garbage_toml",
    "line_1MB",
    _raw(lambda ctx: ("1 MB line", (ctx.text + "z = '" + "x" * 2**20 + "'\n").encode())),
)
register("garbage_toml", "path_directory", lambda ctx: Mut("the path is a directory", special="directory"))
register("garbage_toml", "path_missing", lambda ctx: Mut("the path does not exist", special="missing"))
register(
    "garbage_toml", "path_dev_zero", lambda ctx: Mut("the path is a link to /dev/zero", special="devzero")
)

# -- generation --------------------------------------------------------------------------------------------


@dataclass
class Base:
    """A shipped case: its name, data (relative file paths made absolute) and our serialisation."""

    name: str
    data: dict[str, Any]
    text: str


@dataclass
class Spec:
    """One generated case file."""

    id: int
    file: str
    category: str
    mutation: str
    base: str
    detail: str


def load_bases(cases_dir: Path) -> list[Base]:
    """The shipped cases, sorted by name; ``domain.file`` and ``data.file`` made absolute."""
    bases = []
    for path in sorted(cases_dir.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        for section, key in (("domain", "file"), ("data", "file")):
            table = data.get(section)
            if (
                isinstance(table, dict)
                and isinstance(table.get(key), str)
                and not Path(table[key]).is_absolute()
            ):
                table[key] = str((path.parent / table[key]).resolve())
        bases.append(Base(path.stem, data, dump_toml(data)))
    if not bases:
        raise SystemExit(f"no cases/*.toml in {cases_dir}")
    return bases


def make_aux(aux: Path, seed: int) -> None:
    """Write the auxiliary files the mutations refer to (files that are no mesh, a canary directory)."""
    rng = random.Random(f"aux:{seed}")
    (aux / "canary").mkdir(parents=True)
    (aux / "not_a_mesh.msh").write_text("this is not a gmsh file\n$MeshFormat\nnonsense\n")
    (aux / "garbage.msh").write_bytes(rng.randbytes(4096))
    (aux / "empty.msh").write_bytes(b"")
    (aux / "dir.msh").mkdir()
    (aux / "existing_file").write_text("a file, not a directory\n")
    (aux / "case.toml").write_text('[problem]\nname = "x"\n')
    os.symlink("/dev/zero", aux / "zero.msh")
    mesh = square_mesh_msh()
    (aux / "square.msh").write_text(mesh)
    (aux / "truncated.msh").write_text(mesh[: int(0.4 * len(mesh))])


def square_mesh_msh(n: int = 16, half: float = 2.0) -> str:
    """A valid gmsh MSH 2.2 mesh of [-half, half]², n×n squares cut in two: groups "domain", "boundary"."""
    coords = [
        (-half + 2 * half * i / n, -half + 2 * half * j / n) for j in range(n + 1) for i in range(n + 1)
    ]
    node = [[1 + i + (n + 1) * j for j in range(n + 1)] for i in range(n + 1)]  # node[i][j], 1-based
    elements: list[str] = []
    ring = [(i, 0) for i in range(n)] + [(n, j) for j in range(n)]
    ring += [(n - i, n) for i in range(n)] + [(0, n - j) for j in range(n)]
    for k, (i, j) in enumerate(ring):
        i2, j2 = ring[(k + 1) % len(ring)]
        elements.append(f"1 2 1 1 {node[i][j]} {node[i2][j2]}")
    for i in range(n):
        for j in range(n):
            a, b, c, d = node[i][j], node[i + 1][j], node[i + 1][j + 1], node[i][j + 1]
            elements += [f"2 2 2 2 {a} {b} {c}", f"2 2 2 2 {a} {c} {d}"]
    lines = [
        "$MeshFormat",
        "2.2 0 8",
        "$EndMeshFormat",
        "$PhysicalNames",
        "2",
        '1 1 "boundary"',
        '2 2 "domain"',
    ]
    lines += ["$EndPhysicalNames", "$Nodes", str(len(coords))]
    lines += [f"{k + 1} {x!r} {y!r} 0" for k, (x, y) in enumerate(coords)]
    lines += ["$EndNodes", "$Elements", str(len(elements))]
    lines += [f"{k + 1} {e}" for k, e in enumerate(elements)]
    lines.append("$EndElements")
    return "\n".join(lines) + "\n"


def generate(n: int, seed: int, bases: list[Base], cases_dir: Path, aux: Path) -> list[Spec]:
    """Write ``n`` mutated case files into ``cases_dir``; case ``i`` depends on (seed, i) only.

    Case ``i`` has the category ``CATEGORIES[i % 10]``; within a category the mutators are taken in turn
    (from an offset given by the seed) and the base case is drawn; a mutator that does not apply to a
    base (no ``[parameters]``, no transient analysis, …) tries the next base, then the next mutator.
    """
    specs = []
    taken: Counter[str] = Counter()
    offsets = {c: random.Random(f"offset:{seed}:{c}").randrange(len(REGISTRY[c])) for c in CATEGORIES}
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        mutators = REGISTRY[category]
        k = taken[category]
        taken[category] += 1
        rng = random.Random(f"case:{seed}:{i}")
        order = rng.sample(range(len(bases)), len(bases))
        result = None
        for attempt in range(len(mutators)):
            name, func = mutators[(offsets[category] + k + attempt) % len(mutators)]
            for b in order:
                base = bases[b]
                path = cases_dir / f"{i:04d}_{category}_{name}.toml"
                ctx = Ctx(rng, base.name, copy.deepcopy(base.data), base.text, aux, path)
                mut = func(ctx)
                if mut is not None:
                    result = (name, base, path, mut)
                    break
            if result is not None:
                break
        if result is None:
            raise RuntimeError(f"no mutator of {category} applies to any case")
        name, base, path, mut = result
        _write(path, mut)
        specs.append(Spec(i, str(path), category, name, base.name, mut.detail))
    return specs


def _write(path: Path, mut: Mut) -> None:
    if mut.special == "directory":
        path.mkdir()
    elif mut.special == "devzero":
        os.symlink("/dev/zero", path)
    elif mut.special == "missing":
        pass
    elif mut.raw is not None:
        path.write_bytes(mut.raw)
    else:
        assert mut.data is not None
        text = dump_toml(mut.data)
        if not same_data(tomllib.loads(text), mut.data):
            raise AssertionError(f"TOML writer round trip failed for {path}")
        path.write_text(text)


# -- running fpsolve info in-process (worker) -------------------------------------------------------------


class CaseTimeout(BaseException):
    """Raised by SIGALRM when a case runs past its wall-clock limit."""


_TB_HEADER = "Traceback (most recent call last)"
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


def traceback_types(text: str) -> list[str]:
    """Exception types of the Python tracebacks printed in ``text`` (the line after each trace)."""
    types = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if _TB_HEADER not in line:
            continue
        for follow in lines[i + 1 :]:
            if follow.startswith((" ", "\t")) or not follow.strip():
                continue
            m = _EXC_LINE.match(follow)
            types.append(m.group(1) if m else "?")
            break
    return types


def _exception_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def run_info(
    main: Callable[[list[str]], Any], spec: Spec, limit: int, work: Path, canary: Path
) -> dict[str, Any]:
    """Run ``main(["info", file])`` with captured output and a wall-clock limit; the outcome record."""
    out, err = io.StringIO(), io.StringIO()
    fired = False

    def on_alarm(signum: int, frame: Any) -> None:
        nonlocal fired
        fired = True
        raise CaseTimeout(f"more than {limit} s")

    record: dict[str, Any] = {"id": spec.id, "code": None, "uncaught": None}
    capture = open(work / "capture.txt", "w+b")  # file descriptors 1 and 2 go here
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(capture.fileno(), 1)
    os.dup2(capture.fileno(), 2)
    previous = signal.signal(signal.SIGALRM, on_alarm)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            signal.alarm(limit)
            try:
                code = main(["info", spec.file])
                record["code"] = code if isinstance(code, int) else repr(code)
            except SystemExit as exc:
                record["code"] = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
            except CaseTimeout:
                pass
            except BaseException as exc:  # an escaped exception is the finding
                tb = traceback.extract_tb(exc.__traceback__)
                record["uncaught"] = {
                    "type": _exception_name(exc),
                    "message": (str(exc).strip().splitlines() or [""])[0][:300],
                    "where": f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?",
                }
            finally:
                signal.alarm(0)
    except CaseTimeout:
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        elapsed = time.perf_counter() - start
        libc.fflush(None)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    capture.seek(0)
    fd_text = capture.read().decode(errors="replace")
    capture.close()
    text = out.getvalue() + "\n" + err.getvalue() + "\n" + fd_text
    printed = traceback_types(text)
    record["elapsed_s"] = round(elapsed, 3)
    record["timeout"] = fired
    record["printed_tracebacks"] = printed
    record["stderr_tail"] = (err.getvalue().strip().splitlines() or [""])[-1][:300]
    record["code_executed"] = any(canary.iterdir())
    for path in canary.iterdir():
        path.unlink()
    record["outcome"] = outcome_of(record)
    return record


def outcome_of(record: dict[str, Any]) -> str:
    """The mutually exclusive outcome of a record (see :data:`OUTCOMES`)."""
    if record.get("crash"):
        return "crash"
    if record.get("timeout"):
        return "timeout"
    if record.get("uncaught"):
        return "uncaught"
    code = record.get("code")
    return str(code) if code in (0, 1, 2, 3) else "other"


def worker(args: argparse.Namespace) -> int:
    """Run the cases of the manifest from index ``args.worker`` on, appending records to results.jsonl."""
    out_dir = Path(args.out_dir)
    if args.memory_limit_gb > 0:
        limit = int(args.memory_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    repo = str(Path(args.repo).resolve())
    sys.path.insert(0, repo)
    work = out_dir / "work"
    os.chdir(work / "cwd")
    import fpsolve  # from --repo, now first on sys.path
    from fpsolve.cli import main as cli_main

    manifest = json.loads((out_dir / "manifest.json").read_text())
    specs = [Spec(**s) for s in manifest["cases"]]
    canary = Path(manifest["aux"]) / "canary"
    with open(work / "results.jsonl", "a") as results:
        if args.worker == 0:  # warm-up on the unmutated cases (imports, JIT caches): the controls
            controls = {}
            for base in manifest["bases"]:
                spec = Spec(-1, base["file"], "control", "none", base["name"], "unmutated")
                rec = run_info(cli_main, spec, args.limit, work, canary)
                controls[base["name"]] = rec["outcome"]
            header = {"controls": controls, "fpsolve_file": fpsolve.__file__}
            results.write(json.dumps({"header": header}) + "\n")
            results.flush()
        for spec in specs[args.worker :]:
            results.write(json.dumps({"start": spec.id, "t": time.time()}) + "\n")
            results.flush()
            rec = run_info(cli_main, spec, args.limit, work, canary)
            results.write(json.dumps({"result": rec}) + "\n")
            results.flush()
            gc.collect()
    return 0


# -- supervisor --------------------------------------------------------------------------------------------


def _read_results(path: Path) -> tuple[dict[str, Any], dict[int, dict[str, Any]], tuple[int, float] | None]:
    header: dict[str, Any] = {}
    results: dict[int, dict[str, Any]] = {}
    started: tuple[int, float] | None = None
    if not path.exists():
        return header, results, started
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        if "header" in item:
            header = item["header"]
        elif "start" in item:
            started = (item["start"], item["t"])
        elif "result" in item:
            results[item["result"]["id"]] = item["result"]
    if started is not None and started[0] in results:
        started = None
    return header, results, started


def supervise(args: argparse.Namespace, specs: list[Spec]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the worker until every case has a record; a dead or stuck worker is replaced."""
    out_dir = Path(args.out_dir)
    results_path = out_dir / "work" / "results.jsonl"
    extra: dict[int, dict[str, Any]] = {}
    start_index = 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t0 = time.time()
    last_report = 0
    while start_index < len(specs):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(start_index)]
        cmd += ["--repo", str(args.repo), "--out-dir", str(out_dir), "--limit", str(args.limit)]
        cmd += ["--memory-limit-gb", str(args.memory_limit_gb)]
        proc = subprocess.Popen(cmd, env=env)
        killed_for: int | None = None
        while proc.poll() is None:
            time.sleep(0.5)
            _, done, started = _read_results(results_path)
            if len(done) - last_report >= 25:
                last_report = len(done) - len(done) % 25
                print(
                    f"  {len(done)}/{len(specs)} cases, {time.time() - t0:.0f} s", file=sys.stderr, flush=True
                )
            if started is not None and time.time() - started[1] > args.limit + GRACE_S:
                killed_for = started[0]
                proc.kill()
                proc.wait()
        _, done, started = _read_results(results_path)
        if proc.returncode == 0 and started is None:
            break
        if started is None:  # died between cases
            missing = [s.id for s in specs if s.id not in done and s.id not in extra]
            if not missing:
                break
            started = (missing[0], time.time())
        i = started[0]
        hard_timeout = killed_for == i
        signame = signal.Signals(-proc.returncode).name if proc.returncode < 0 else str(proc.returncode)
        capture = (out_dir / "work" / "capture.txt").read_bytes()[-2000:].decode(errors="replace")
        rec = {
            "id": i,
            "code": None,
            "uncaught": None,
            "timeout": hard_timeout,
            "crash": None if hard_timeout else signame,
            "printed_tracebacks": traceback_types(capture),
            "stderr_tail": (capture.strip().splitlines() or [""])[-1][:300],
            "elapsed_s": None,
            "code_executed": False,
        }
        rec["outcome"] = outcome_of(rec)
        extra[i] = rec
        what = f"killed after {args.limit + GRACE_S:.0f} s" if hard_timeout else f"worker died ({signame})"
        print(f"  case {i}: {what}; restarting at {i + 1}", file=sys.stderr, flush=True)
        start_index = i + 1
        with open(results_path, "a") as f:
            f.write(json.dumps({"result": rec}) + "\n")
    header, done, _ = _read_results(results_path)
    done.update(extra)
    records = []
    for spec in specs:
        rec = done.get(spec.id) or {"id": spec.id, "outcome": "crash", "crash": "no record"}
        records.append({**asdict(spec), **rec})
    return header, records


# -- fpsolve run sample -------------------------------------------------------------------------------------


#: Category order of the ``run`` sample: first those whose errors ``info`` cannot see (solver options,
#: output names, physics found while solving), one case per category per round.
RUN_ORDER = (
    "bad_petsc",
    "invalid_physics",
    "bad_output",
    "bad_expression",
    "bad_domain",
    "bad_analysis",
    "garbage_toml",
    "wrong_type",
    "missing_key",
    "unknown_key",
)


def sample(specs: list[Spec], k: int, seed: int) -> list[Spec]:
    """``k`` cases, round robin over :data:`RUN_ORDER`, drawn deterministically from ``seed``.

    The draw depends on the generated cases only (not on outcomes), so two versions get the same sample.
    Output directories are overridden by ``-o``: of ``bad_output`` only the bad names are drawn.
    """
    rng = random.Random(f"sample:{seed}")
    pools = {c: [s for s in specs if s.category == c] for c in RUN_ORDER}
    names = [s for s in pools["bad_output"] if s.mutation.startswith("name_")]
    pools["bad_output"] = names or pools["bad_output"]
    for pool in pools.values():
        rng.shuffle(pool)
    chosen: list[Spec] = []
    while len(chosen) < k and any(pools.values()):
        for c in RUN_ORDER:
            if pools[c] and len(chosen) < k:
                chosen.append(pools[c].pop())
    return sorted(chosen, key=lambda s: s.id)


def _tool(repo: Path, name: str) -> str:
    local = repo / ".venv" / "bin" / name
    return str(local) if local.exists() else str(Path(sys.executable).parent / name)


def run_sample(args: argparse.Namespace, specs: list[Spec]) -> list[dict[str, Any]]:
    """``mpiexec -n 2 python -m fpsolve -q run <case> -o <fresh>/out`` for a sample of the cases."""
    repo = Path(args.repo).resolve()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = str(repo) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    runs_dir = Path(args.out_dir) / "runs"
    records = []
    for spec in sample(specs, args.run_sample, args.seed):
        fresh = runs_dir / f"{spec.id:04d}"
        fresh.mkdir(parents=True)
        output = fresh / "out"
        cmd = [_tool(repo, "mpiexec"), "-n", "2", _tool(repo, "python"), "-m", "fpsolve", "-q", "run"]
        cmd += [spec.file, "-o", str(output)]
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=fresh, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            stdout, stderr = proc.communicate(timeout=args.run_timeout)
            hang = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the process group of the mpiexec started here
            stdout, stderr = proc.communicate()
            hang = True
        err_text = stderr.decode(errors="replace")
        code = None if hang else proc.returncode
        rec = {
            **asdict(spec),
            "code": code,
            "hang": hang,
            "tracebacks": sum(line.startswith("Traceback") for line in err_text.splitlines()),
            "created_dir_on_refusal": bool(code == 2 and output.exists()),
            "output_files": sum(1 for p in output.rglob("*") if p.is_file()) if output.is_dir() else 0,
            "elapsed_s": round(time.perf_counter() - start, 1),
            "stderr_tail": (err_text.strip().splitlines() or [""])[-1][:300],
        }
        records.append(rec)
        print(
            f"  run {spec.id:4d} {spec.category:16s} {spec.mutation:34s} exit {code} hang {hang} "
            f"tracebacks {rec['tracebacks']} dir-on-refusal {rec['created_dir_on_refusal']} "
            f"output files {rec['output_files']} "
            f"({rec['elapsed_s']} s)",
            file=sys.stderr,
            flush=True,
        )
    return records


# -- report ----------------------------------------------------------------------------------------------


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per category × outcome, flags and totals."""
    table: dict[str, dict[str, int]] = {}
    for c in [*CATEGORIES, "total"]:
        table[c] = dict.fromkeys([*OUTCOMES, "traceback", "accepted", "code_executed", "n"], 0)
    for r in records:
        for row in (r["category"], "total"):
            t = table[row]
            t["n"] += 1
            t[r["outcome"]] += 1
            t["traceback"] += int(has_traceback(r))
            t["accepted"] += int(r["outcome"] == "0")
            t["code_executed"] += int(bool(r.get("code_executed")))
    types: Counter[str] = Counter()
    example: dict[str, dict[str, Any]] = {}
    for r in records:
        for name in traceback_names(r):
            types[name] += 1
            example.setdefault(name, r)
    return {
        "table": table,
        "tracebacks": table["total"]["traceback"],
        "timeouts": table["total"]["timeout"],
        "crashes": table["total"]["crash"],
        "invalid_physics_accepted": table["invalid_physics"]["accepted"],
        "code_executed": table["total"]["code_executed"],
        "traceback_types": [
            {"type": t, "count": n, "example": f"{example[t]['mutation']}: {example[t]['detail']}"}
            for t, n in types.most_common()
        ],
    }


def has_traceback(record: dict[str, Any]) -> bool:
    """Whether an exception escaped or a traceback was printed."""
    return bool(record.get("uncaught") or record.get("printed_tracebacks"))


def traceback_names(record: dict[str, Any]) -> list[str]:
    """The exception types of a record's tracebacks (escaped first, then printed; distinct)."""
    names = [record["uncaught"]["type"]] if record.get("uncaught") else []
    names += record.get("printed_tracebacks") or []
    return list(dict.fromkeys(names))


def print_report(summary: dict[str, Any], header: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """The table, the totals and the most common traceback types on stdout."""
    cols = [*OUTCOMES, "traceback", "accepted", "code_executed", "n"]
    heads = [
        "exit0",
        "exit1",
        "exit2",
        "exit3",
        "other",
        "uncaught",
        "timeout",
        "crash",
        "trace",
        "accept",
        "ran",
        "n",
    ]
    print(f"fpsolve: {header.get('fpsolve_file')}; unmutated cases: {header.get('controls')}")
    print(f"{'category':16s}" + "".join(f"{h:>9s}" for h in heads))
    for row, counts in summary["table"].items():
        if row == "total":
            print("-" * (16 + 9 * len(heads)))
        print(f"{row:16s}" + "".join(f"{counts[c]:9d}" for c in cols))
    print(
        f"tracebacks {summary['tracebacks']}, timeouts {summary['timeouts']}, crashes {summary['crashes']}, "
        f"invalid physics accepted (exit 0) {summary['invalid_physics_accepted']}, "
        f"injected code executed {summary['code_executed']}"
    )
    print(
        "uncaught = exception escaped main (exit 1 with a traceback as a console script); "
        "trace = uncaught or a printed traceback; accept = exit 0; ran = injection canary created"
    )
    if summary["traceback_types"]:
        print("most common traceback exception types (cases, example):")
        for item in summary["traceback_types"][:10]:
            print(f"  {item['count']:4d}  {item['type']:40s} {item['example'][:110]}")
    if runs:
        codes = dict(Counter(str(r["code"]) for r in runs))
        tracebacks, traced = sum(r["tracebacks"] for r in runs), sum(r["tracebacks"] > 0 for r in runs)
        print(
            f"fpsolve run sample (mpiexec -n 2): {len(runs)} cases; exit codes {codes}; "
            f"hangs {sum(r['hang'] for r in runs)}; tracebacks {tracebacks} (in {traced} runs); "
            f"output directory created on a refused run {sum(r['created_dir_on_refusal'] for r in runs)}"
        )


# -- command line --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of this script."""
    here = Path(__file__).resolve().parents[1]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument(
        "-n", "--cases", type=int, default=DEFAULT_N, help=f"number of cases (default {DEFAULT_N})"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the mutations (default 0)")
    p.add_argument(
        "--repo", type=Path, default=here, help="repository whose fpsolve runs (default: this one)"
    )
    p.add_argument("--cases-from", type=Path, default=None, help="repository whose cases/*.toml are mutated")
    p.add_argument("--out-dir", type=Path, default=None, help="scratch directory (default /tmp/fuzz/<repo>)")
    p.add_argument("--limit", type=int, default=60, help="wall-clock seconds per info case (default 60)")
    p.add_argument("--memory-limit-gb", type=float, default=6.0, help="address-space limit of the worker")
    p.add_argument("--json", type=Path, default=None, help="write every case and the table to this file")
    p.add_argument(
        "--run-sample", type=int, nargs="?", const=12, default=0, help="also `fpsolve run` K cases (K = 12)"
    )
    p.add_argument("--run-timeout", type=int, default=120, help="seconds per `fpsolve run` (default 120)")
    p.add_argument("--generate-only", action="store_true", help="write the case files and list them")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.repo = args.repo.resolve()
    if args.out_dir is None:
        args.out_dir = Path("/tmp/fuzz") / (args.repo.name or "repo")
    return args


def prepare(args: argparse.Namespace) -> list[Spec]:
    """Fresh scratch directories, the generated cases and the manifest."""
    out_dir = Path(args.out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise SystemExit(f"{out_dir} exists and was not made by this script; give another --out-dir")
    for sub in ("cases", "aux", "work", "runs"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    (out_dir / "work" / "cwd").mkdir(parents=True)
    (out_dir / "cases").mkdir()
    (out_dir / MARKER).write_text("scratch directory of bench/fuzz_cases.py\n")
    source = (args.cases_from or args.repo).resolve()
    bases = load_bases(source / "cases")
    make_aux(out_dir / "aux", args.seed)
    specs = generate(args.cases, args.seed, bases, out_dir / "cases", out_dir / "aux")
    manifest = {
        "aux": str(out_dir / "aux"),
        "bases": [{"name": b.name, "file": str(source / "cases" / f"{b.name}.toml")} for b in bases],
        "cases": [asdict(s) for s in specs],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return specs


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, run, tabulate (see the module docstring)."""
    args = parse_args(argv)
    if args.worker is not None:
        return worker(args)
    t0 = time.time()
    specs = prepare(args)
    counts = Counter(s.category for s in specs)
    print(f"{len(specs)} cases in {args.out_dir / 'cases'}: {dict(counts)}", file=sys.stderr)
    if args.generate_only:
        for s in specs:
            print(f"{s.id:4d} {s.category:16s} {s.mutation:36s} {s.base:28s} {s.detail[:80]}")
        return 0
    header, records = supervise(args, specs)
    summary = summarise(records)
    runs = run_sample(args, specs) if args.run_sample else []
    print_report(summary, header, runs)
    print(f"total {time.time() - t0:.0f} s", file=sys.stderr)
    if args.json:
        meta = {
            "repo": str(args.repo),
            "cases_from": str((args.cases_from or args.repo).resolve()),
            "seed": args.seed,
            "n": args.cases,
            "limit_s": args.limit,
            "elapsed_s": round(time.time() - t0, 1),
            **header,
        }
        payload = {"meta": meta, "summary": summary, "cases": records, "run_sample": runs}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
