"""The public API of ``import fpsolve as fp``: names, lazy imports, the install hint, the version."""

from __future__ import annotations

import importlib

import pytest
import sympy as sp

import fpsolve as fp


def test_every_public_name_resolves() -> None:
    for name in fp.__all__:
        assert getattr(fp, name) is not None, name
    with pytest.raises(AttributeError):
        fp.no_such_name  # noqa: B018


def test_a_five_line_stationary_solve() -> None:
    x, y = fp.coordinates(2)
    problem = fp.Problem(2, sp.eye(2), 0.1, fp.Cuboid((-1, -1), (1, 1), (16, 16)), loss=(x**2 + y**2) / 2)
    rho = fp.StationarySolver(fp.discretise(problem)).solve().rho
    assert abs(fp.discretise(problem).mass(rho) - 1) < 1e-12


def test_missing_stack_gets_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise ModuleNotFoundError("No module named 'dolfinx'", name="dolfinx")

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ModuleNotFoundError, match="fpsolve needs DOLFINx 0.11"):
        fp._import("fpsolve.solvers.exit_time")


def test_version_comes_from_the_installed_metadata() -> None:
    assert fp.__version__ == importlib.metadata.version("fpsolve")
