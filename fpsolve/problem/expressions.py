r"""Parse case-file expressions into sympy, by a whitelist over Python's ``ast`` — never ``eval``.

Accepted: numbers, names (coordinates ``x, y, z``, case parameters, ``pi``, ``e``), ``+ - * / **``,
unary ``±``, parentheses and calls of the functions in :data:`FUNCTIONS`. Anything else (attributes,
subscripts, comparisons, lambdas, strings, keyword arguments, …) is an :class:`ExpressionError`
naming the offending construct and its column.

>>> import sympy as sp
>>> parse_expression("a*x**2 + exp(-y)", {"a": 2.0}, ("x", "y"))
2.0*x**2 + exp(-y)
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping

import sympy as sp

from fpsolve.errors import FpsolveError
from fpsolve.problem.fokker_planck import COORDS

FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "abs": sp.Abs,
    "sign": sp.sign,
    "erf": sp.erf,
    "max": sp.Max,
    "min": sp.Min,
}
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E}


class gammainc(sp.Function):  # noqa: N801  (the case-file name)
    r"""Regularised lower incomplete gamma function :math:`P(a, x) = \gamma(a, x)/\Gamma(a)`.

    Evaluated by :func:`scipy.special.gammainc` once both arguments are numbers (a ≥ 0, x ≥ 0, with
    P(0, x) = 1 for x > 0, its limit as a → 0; NaN elsewhere). It has no finite-element form: it is
    offered only in reference expressions (:data:`REFERENCE_FUNCTIONS`), never in the loss or Q.
    """

    nargs = 2

    @classmethod
    def eval(cls, a: sp.Expr, x: sp.Expr) -> sp.Expr | None:
        """A float for numeric arguments; otherwise left unevaluated."""
        if a.is_number and x.is_number:
            from scipy.special import gammainc as p  # noqa: PLC0415  (scipy.special only where used)

            return sp.Float(float(p(float(a), float(x))))
        return None


#: Functions allowed, besides :data:`FUNCTIONS`, in reference expressions that are evaluated as numbers
#: only (the ``exact``, ``limit`` and ``lower`` of a transient analysis): ``gammainc(a, x)`` = P(a, x).
REFERENCE_FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {"gammainc": gammainc}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class ExpressionError(FpsolveError):
    """A case-file expression is malformed or uses something outside the whitelist."""


def parse_expression(
    text: str | float | int,
    parameters: Mapping[str, float] | None = None,
    coordinates: Iterable[str] = ("x", "y", "z"),
    where: str = "expression",
    symbols: Mapping[str, sp.Symbol] | None = None,
    functions: Mapping[str, Callable[..., sp.Expr]] | None = None,
) -> sp.Expr:
    """Parse ``text`` into a sympy expression of the coordinate symbols.

    Parameters
    ----------
    text
        The expression (a number is accepted as is).
    parameters
        Named constants substituted by value.
    coordinates
        Coordinate names allowed as free symbols.
    where
        Label used in error messages (e.g. ``"problem.loss"``).
    symbols
        Further names allowed as free symbols (e.g. the data columns of an SGD model), mapped to the
        given sympy symbols; they must not clash with the coordinate or parameter names.
    functions
        Further functions allowed besides :data:`FUNCTIONS` (e.g. :data:`REFERENCE_FUNCTIONS`).
    """
    if isinstance(text, bool):
        raise ExpressionError(f"{where}: expected an expression, got a boolean")
    if isinstance(text, int | float):
        return sp.Float(text) if isinstance(text, float) else sp.Integer(text)
    if not isinstance(text, str):
        raise ExpressionError(f"{where}: expected an expression string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{where}: expression longer than {MAX_LENGTH} characters")
    _check_nesting(text, where)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1
        raise ExpressionError(f"{where}: invalid syntax at column {col + 1} of {_short(text)!r}") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(f"{where}: expression too deeply nested to parse") from None
    symbols = {name: COORDS[i] for i, name in enumerate(coordinates)} | dict(symbols or {})
    params = {k: sp.Float(v) for k, v in (parameters or {}).items()}
    try:
        expr = _Converter(text, where, symbols, params, FUNCTIONS | dict(functions or {})).visit(tree.body)
        _check_finite(expr, where)
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise ExpressionError(f"{where}: expression too large to evaluate ({type(exc).__name__})") from None
    return expr


#: Limits enforced before parsing: characters, bracket depth and unary signs in a row.
MAX_LENGTH = 10_000
MAX_NESTING = 100
#: Largest magnitude of a constant (sub)expression: beyond it float64 arithmetic overflows.
MAX_MAGNITUDE = 1e300


def _check_nesting(text: str, where: str) -> None:
    """Reject bracket nesting beyond :data:`MAX_NESTING` and long runs of unary signs before parsing."""
    depth = deepest = run = longest = 0
    for ch in text:
        if ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
        if ch in "+-":
            run += 1
            longest = max(longest, run)
        elif not ch.isspace():
            run = 0
    if deepest > MAX_NESTING or longest > MAX_NESTING:
        raise ExpressionError(f"{where}: expression nested more than {MAX_NESTING} levels deep")


def _check_finite(expr: sp.Expr, where: str) -> None:
    """Every constant subexpression must be a real number of magnitude ≤ :data:`MAX_MAGNITUDE`.

    Catches ``1/0``-like infinities (``zoo``), ``10**1000``, ``exp(1000)``, ``sqrt(-1)``, ``asin(2)``
    before they reach numpy (NaN, overflow) or the generated C of the finite-element forms.
    """
    if expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
        raise ExpressionError(f"{where}: the expression is infinite or undefined ({expr})")
    for sub in sp.preorder_traversal(expr):
        if sub.is_number:
            value = complex(sp.N(sub, 17))
            if not (math.isfinite(value.real) and math.isfinite(value.imag)) or abs(value) > MAX_MAGNITUDE:
                raise ExpressionError(f"{where}: the constant {_short(str(sub))} is too large or infinite")
            if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
                raise ExpressionError(f"{where}: the constant {_short(str(sub))} is not real")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Converter:
    def __init__(
        self,
        text: str,
        where: str,
        symbols: dict[str, sp.Symbol],
        params: dict[str, sp.Expr],
        functions: Mapping[str, Callable[..., sp.Expr]],
    ):
        self.text, self.where, self.symbols, self.params = text, where, symbols, params
        self.functions = functions
        self.depth = 0

    def fail(self, node: ast.AST, what: str) -> ExpressionError:
        col = getattr(node, "col_offset", 0)
        return ExpressionError(f"{self.where}: {what} at column {col + 1} of {self.text!r}")

    def visit(self, node: ast.AST) -> sp.Expr:
        self.depth += 1
        if self.depth > 200:
            raise self.fail(node, "expression nested too deeply")
        try:
            return self._visit(node)
        finally:
            self.depth -= 1

    def _visit(self, node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise self.fail(node, f"unsupported constant {node.value!r}")
            return sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.symbols:
                return self.symbols[node.id]
            if node.id in self.params:
                return self.params[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            known = sorted([*self.symbols, *self.params, *CONSTANTS])
            raise self.fail(node, f"undefined symbol '{node.id}' (known: {', '.join(known)})")
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self.visit(node.left), self.visit(node.right)
            if isinstance(node.op, ast.Pow) and right.is_Number and abs(float(right)) > 1000:
                raise self.fail(node, "exponent too large")
            if isinstance(node.op, ast.Div) and right == 0:
                raise self.fail(node, "division by zero")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            operand = self.visit(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in self.functions:
                name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
                allowed = ", ".join(sorted(self.functions))
                raise self.fail(node, f"unknown function '{name}' (allowed: {allowed})")
            if node.keywords or not node.args:
                raise self.fail(node, f"'{node.func.id}' takes positional arguments only")
            args = [self.visit(a) for a in node.args]
            try:
                return self.functions[node.func.id](*args)
            except (TypeError, ValueError) as exc:
                raise self.fail(node, f"bad call of '{node.func.id}': {exc}") from None
        raise self.fail(node, f"'{type(node).__name__}' is not allowed in expressions")
