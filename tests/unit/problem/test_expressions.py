"""Whitelisted expression parser: valid input becomes sympy, everything else a located error."""

from __future__ import annotations

import pytest
import sympy as sp

from fpsolve.problem.expressions import ExpressionError, parse_expression
from fpsolve.problem.fokker_planck import COORDS

x, y, z = COORDS


def test_valid_expressions() -> None:
    e = parse_expression("a*x**2 - exp(-y/2) + sqrt(abs(z)) + pi", {"a": 3.0})
    assert sp.simplify(e - (3.0 * x**2 - sp.exp(-y / 2) + sp.sqrt(sp.Abs(z)) + sp.pi)) == 0
    assert parse_expression(2.5) == sp.Float(2.5)
    assert parse_expression("max(x, 0)") == sp.Max(x, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x**2 +", "invalid syntax"),
        ('__import__("os").system("true")', "unknown function '__import__"),
        ("x.real", "'Attribute' is not allowed"),
        ("[x, y][0]", "'Subscript' is not allowed"),
        ("lambda: 1", "'Lambda' is not allowed"),
        ("x if y else 1", "'IfExp' is not allowed"),
        ("x < y", "'Compare' is not allowed"),
        ("'text'", "unsupported constant"),
        ("w * x", "undefined symbol 'w'"),
        ("exp(x=1)", "positional arguments only"),
        ("2**100000", "exponent too large"),
        ("1/0", "division by zero"),
    ],
)
def test_rejected_expressions_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message) as info:
        parse_expression(text, where="problem.loss")
    assert str(info.value).startswith("problem.loss: ")
    assert "\n" not in str(info.value)


def test_coordinates_beyond_the_dimension_are_undefined() -> None:
    with pytest.raises(ExpressionError, match="undefined symbol 'z'"):
        parse_expression("x + z", coordinates=("x", "y"))
