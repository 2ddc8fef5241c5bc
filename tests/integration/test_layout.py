"""The package layout: layer contracts (import-linter), no import cycles, no hidden local imports."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "fpsolve"


def _cycles(adjacency: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in adjacency[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for m in adjacency:
        if m not in index:
            visit(m)
    return found


@pytest.mark.serial
def test_no_import_cycles() -> None:
    graph = grimp.build_graph("fpsolve")
    adjacency = {
        m: {i for i in graph.find_modules_directly_imported_by(m) if i.startswith("fpsolve")}
        for m in graph.modules
    }
    assert len(adjacency) > 50
    assert _cycles(adjacency) == []
    # the detector finds a planted cycle
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["c", "b", "a"]]


@pytest.mark.serial
def test_no_function_local_imports_of_fpsolve_modules() -> None:
    """Only the CLI imports inside functions (PETSc options must reach petsc4py.init first)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("fpsolve"):
                        offenders.append(f"{path.relative_to(PACKAGE.parent)}:{inner.lineno}")
    assert offenders == []


@pytest.mark.serial
def test_layer_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe is not None, "import-linter is a test dependency (pyproject.toml [test])"
    proc = subprocess.run([exe], capture_output=True, text=True, cwd=PACKAGE.parent, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "0 broken" in proc.stdout
