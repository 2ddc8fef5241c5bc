"""Fuzzing ``fpsolve info`` with mutated shipped cases: bad input is exit 2 with one line, never a traceback.

Hypothesis draws a shipped case, one key path in it and a mutation (delete the key, or replace its
value by a value of another type, a non-finite number, a hostile or degenerate expression, …), writes
the case file and runs ``fpsolve info`` on it in-process. Every outcome must be exit status 0 (the
mutation was harmless) or 2 (one ``fpsolve: error:`` line on stderr); 3 (an internal error) or an
escaping exception fails the test. ``bench/fuzz_cases.py`` runs a larger set, also through ``run``.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fpsolve.cli import main

CASES = Path(__file__).resolve().parents[2] / "cases"
#: the shipped cases whose meshes are small enough for many info calls
SMALL = [
    "ou_anisotropic_2d",
    "ou_transient_rank1",
    "kunin_fig3_ou",
    "momentum_phase_space",
    "exit_time_ball",
    "exit_time_degenerate",
    "modified_loss_isotropy",
]
HOSTILE = [
    "__import__('os').system('true')",
    "().__class__.__bases__",
    "lambda: 1",
    "x if x else y",
    "10**1000",
    "exp(1000)*x**2",
    "asin(2)",
    "sqrt(-1)",
    "log(x)",
    "1/x",
    "1/0",
    "(" * 500 + "x" + ")" * 500,
    "-" * 3000 + "x",
    "+".join(["x"] * 2000),
    "nan",
    "x**y**x**y**x",
    "",
    "  ",
    "sin(",
    "max()",
    "erf(x, y)",
]
VALUES = st.one_of(
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, -1, 1, 2, 10**9, 0.0, -0.5, 1e-300, 1e300, math.inf, -math.inf, math.nan]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.sampled_from(HOSTILE),
    st.text(max_size=20),
    st.lists(st.sampled_from([0.0, 1.0, "x", "1/x", True]), max_size=4),
    st.just({"nested": 1}),
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are TOML's
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"
    raise TypeError(type(value))


def dumps(data: dict[str, Any]) -> str:
    """A TOML writer for case data (inline tables inside sections)."""
    lines = []
    for section, body in data.items():
        if isinstance(body, list) and body and all(isinstance(b, dict) for b in body):
            for table in body:
                lines.append(f"[[{section}]]")
                lines += [f'"{k}" = {_toml(v)}' for k, v in table.items() if v is not None]
        elif isinstance(body, dict):
            lines.append(f"[{section}]")
            lines += [f'"{k}" = {_toml(v)}' for k, v in body.items() if v is not None]
        elif body is not None:
            lines.insert(0, f'"{section}" = {_toml(body)}')
    return "\n".join(lines) + "\n"


@pytest.mark.serial
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=st.sampled_from(SMALL), pick=st.integers(min_value=0), delete=st.booleans(), value=VALUES)
def test_info_on_mutated_cases_is_ok_or_a_one_line_error(
    case: str, pick: int, delete: bool, value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tomllib.loads((CASES / f"{case}.toml").read_text())
    paths = _paths(data)
    path = paths[pick % len(paths)]
    mutated = copy.deepcopy(data)
    node = mutated
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    target = tmp_path / f"{case}.toml"
    target.write_text(dumps(mutated))
    for mesh in (CASES / "data").glob("*"):  # relative data files of [model] cases
        (tmp_path / "data").mkdir(exist_ok=True)
        link = tmp_path / "data" / mesh.name
        if not link.exists():
            link.symlink_to(mesh)
    code = main(["info", str(target)])
    err = capsys.readouterr().err
    assert code in (0, 2), (path, value, err)
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("WARNING")]
        assert len(lines) == 1 and lines[0].startswith("fpsolve: error: "), (path, value, err)
    assert "Traceback" not in err
