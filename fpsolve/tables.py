"""Typed reading of case-file (TOML) tables: each reader names the key in its :class:`CaseError`.

Shared by the case schema (:mod:`fpsolve.cases.schema`) and by every analysis, which parses its own
``[[analysis]]`` table (:meth:`fpsolve.analyses.base.Analysis.parse`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fpsolve.errors import CaseError, FpsolveError

__all__ = ["check_keys", "table", "string", "number", "integer", "vector", "points", "boolean"]


def check_keys(
    data: Mapping[str, Any],
    valid: set[str] | frozenset[str],
    where: str,
    error: type[FpsolveError] = CaseError,
) -> None:
    """Raise ``error`` naming the first key of ``data`` not in ``valid`` (and listing the valid ones)."""
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise error(f"unknown key '{unknown[0]}' in {where}; valid keys: {', '.join(sorted(valid))}")


def table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The sub-table ``data[key]`` (required)."""
    if key not in data:
        raise CaseError(f"missing section [{key}]")
    value = data[key]
    if not isinstance(value, dict):
        raise CaseError(f"[{key}] must be a table")
    return value


def string(value: Any, where: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value:
        raise CaseError(f"{where} must be a non-empty string")
    return value


def boolean(value: Any, where: str) -> bool:
    """``true`` or ``false``."""
    if not isinstance(value, bool):
        raise CaseError(f"{where} must be true or false")
    return value


def number(value: Any, where: str, positive: bool = False) -> float:
    """A finite number (positive if asked)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CaseError(f"{where} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise CaseError(f"{where} must be positive, got {value}")
    return float(value)


def integer(value: Any, where: str, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CaseError(f"{where} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def vector(value: Any, where: str, n: int | None = None) -> tuple[float, ...]:
    """A non-empty list of numbers (of length ``n`` if given)."""
    if not isinstance(value, list) or (n is not None and len(value) != n) or not value:
        size = f"{n} " if n is not None else ""
        raise CaseError(f"{where} must be a list of {size}numbers, got {value!r}")
    return tuple(number(v, f"{where}[{i}]") for i, v in enumerate(value))


def points(value: Any, where: str, dim: int) -> tuple[tuple[float, ...], ...]:
    """A non-empty list of points, each a list of ``dim`` numbers."""
    if not isinstance(value, list) or not value:
        raise CaseError(f"{where} must be a non-empty list of points (lists of {dim} numbers)")
    return tuple(vector(p, f"{where}[{i}]", dim) for i, p in enumerate(value))
