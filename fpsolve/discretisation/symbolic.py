"""Translate sympy expressions of the coordinates into UFL expressions on a mesh.

Only the constructs that :mod:`fpsolve.problem.fokker_planck` can produce are supported: numbers, the
coordinate
symbols, ``+``, ``*``, ``**``, ``exp``, ``log``, ``sqrt``, trigonometric and hyperbolic functions,
``Abs``, ``sign``, ``Piecewise``-free ``Max``/``Min``, ``erf``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp

import ufl

from fpsolve.errors import ProblemError

_FUNCTIONS: dict[type, Callable[[Any], Any]] = {
    sp.exp: ufl.exp,
    sp.log: ufl.ln,
    sp.sin: ufl.sin,
    sp.cos: ufl.cos,
    sp.tan: ufl.tan,
    sp.asin: ufl.asin,
    sp.acos: ufl.acos,
    sp.atan: ufl.atan,
    sp.sinh: ufl.sinh,
    sp.cosh: ufl.cosh,
    sp.tanh: ufl.tanh,
    sp.Abs: abs,
    sp.sign: ufl.sign,
    sp.erf: ufl.erf,
}


def to_ufl(expr: sp.Basic, x: ufl.SpatialCoordinate, coords: Sequence[sp.Symbol]) -> Any:
    """Return the UFL expression of the sympy ``expr`` with ``coords[i] ↦ x[i]``.

    Matrices become ``ufl.as_matrix`` / ``ufl.as_vector`` (for a single column).
    """
    if isinstance(expr, sp.MatrixBase):
        rows = [[to_ufl(expr[i, j], x, coords) for j in range(expr.shape[1])] for i in range(expr.shape[0])]
        if expr.shape[1] == 1:
            return ufl.as_vector([r[0] for r in rows])
        return ufl.as_matrix(rows)
    index = {c: i for i, c in enumerate(coords)}
    return _convert(sp.sympify(expr), x, index)


def _balanced(args: list[Any], op: Callable[[Any, Any], Any]) -> Any:
    """``args[0] op args[1] op …`` as a balanced tree of depth log₂ n.

    A chain of depth n (a sum over hundreds of data samples) exceeds the recursion limit of UFL's traversals.
    """
    while len(args) > 1:
        args = [op(args[i], args[i + 1]) if i + 1 < len(args) else args[i] for i in range(0, len(args), 2)]
    return args[0]


def _convert(e: sp.Basic, x: Any, index: dict[sp.Symbol, int]) -> Any:
    if e.is_Number or e in (sp.pi, sp.E):
        return float(e)
    if e.is_Symbol:
        if e not in index:
            raise ProblemError(f"symbol {e} is not a coordinate")
        return x[index[e]]
    args = [_convert(a, x, index) for a in e.args]
    if isinstance(e, sp.Add):
        return _balanced(args, operator.add)
    if isinstance(e, sp.Mul):
        return _balanced(args, operator.mul)
    if isinstance(e, sp.Pow):
        base, power = e.args
        if power == sp.Rational(1, 2):
            return ufl.sqrt(args[0])
        if power.is_Integer and int(power) < 0:
            return 1.0 / (args[0] ** (-int(power))) if int(power) != -1 else 1.0 / args[0]
        return args[0] ** args[1]
    if isinstance(e, sp.Max):
        out = args[0]
        for a in args[1:]:
            out = ufl.max_value(out, a)
        return out
    if isinstance(e, sp.Min):
        out = args[0]
        for a in args[1:]:
            out = ufl.min_value(out, a)
        return out
    for kind, fn in _FUNCTIONS.items():
        if isinstance(e, kind):
            return fn(*args)
    raise ProblemError(f"cannot translate {type(e).__name__} ({e}) to UFL")
