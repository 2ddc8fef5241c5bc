"""Whitelisted expression parser: valid input becomes sympy, everything else a located error."""

from __future__ import annotations

import pytest
import sympy as sp

from fpsolve.problem.expressions import REFERENCE_FUNCTIONS, ExpressionError, parse_expression
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


def test_gammainc_is_the_regularised_lower_incomplete_gamma_of_reference_expressions() -> None:
    from scipy.special import gammainc

    r = sp.Symbol("r")
    limit = parse_expression("gammainc(k, r**2/2)", {"k": 0.25}, (), "limit", {"r": r}, REFERENCE_FUNCTIONS)
    assert float(limit.subs(r, 0.1)) == gammainc(0.25, 0.005)  # 0.29308…
    assert float(parse_expression("gammainc(0, 0.5)", functions=REFERENCE_FUNCTIONS)) == 1.0  # a -> 0
    with pytest.raises(ExpressionError, match="infinite or undefined"):
        parse_expression("gammainc(-1, 0.5)", functions=REFERENCE_FUNCTIONS)
    with pytest.raises(ExpressionError, match="unknown function 'gammainc'"):
        parse_expression("gammainc(1, x)")
