"""Point values of finite-element functions (collective, same on every rank)."""

from __future__ import annotations

import math

import sympy as sp

from fpsolve.discretisation.functionals import point_value
from fpsolve.problem.domain import Cuboid
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates


def test_point_value_of_a_linear_function_is_exact() -> None:
    x, y = coordinates(2)
    p = FokkerPlanckProblem(2, sp.eye(2), 0.5, Cuboid((-1.0, -1.0), (1.0, 1.0), (7, 5)), loss=0 * x)
    disc = Discretisation(p, build_mesh(p.domain), scheme="galerkin")
    f = disc.interpolate(1 + 2 * x - 3 * y)
    assert abs(point_value(f, (0.31, -0.17)) - (1 + 0.62 + 0.51)) < 1e-13  # P1 reproduces linears
    assert math.isnan(point_value(f, (2.0, 0.0)))  # outside the domain
