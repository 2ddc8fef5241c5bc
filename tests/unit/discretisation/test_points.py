"""Point values of finite-element functions: one rule, the same array on every rank."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from mpi4py import MPI

from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.points import point_values
from fpsolve.errors import FpsolveError
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates


@pytest.fixture(scope="module")
def disc() -> Discretisation:
    x, y = coordinates(2)
    p = FokkerPlanckProblem(2, sp.eye(2), 0.5, Cuboid((-1.0, -1.0), (1.0, 1.0), (7, 5)), loss=0 * x)
    return Discretisation(p, build_mesh(p.domain), scheme="galerkin")


def test_linear_functions_are_reproduced_on_cells_faces_and_boundary(disc: Discretisation) -> None:
    x, y = coordinates(2)
    f = disc.interpolate(1 + 2 * x - 3 * y)
    # inside a cell, on a vertex, on an interior edge (x = -1 + 2k/7), on the boundary
    pts = np.array([[0.31, -0.17], [0.0, 0.2], [-1 + 2 / 7, 0.33], [1.0, -1.0], [-1.0, 0.5]])
    vals = point_values(f, pts)
    assert np.abs(vals - (1 + 2 * pts[:, 0] - 3 * pts[:, 1])).max() < 1e-13  # P1 reproduces linears
    for other in MPI.COMM_WORLD.allgather(vals):
        assert np.array_equal(other, vals)


def test_outside_points_are_an_error_or_the_given_value(disc: Discretisation) -> None:
    x, _ = coordinates(2)
    f = disc.interpolate(1 + x)
    vals = point_values(f, [[0.5, 0.0], [2.0, 0.0]], np.nan)
    assert vals[0] == pytest.approx(1.5, abs=1e-13) and np.isnan(vals[1])
    with pytest.raises(FpsolveError, match=r"point \[2.0, 0.0\] is outside the mesh"):
        point_values(f, [[0.5, 0.0], [2.0, 0.0]])


def test_vector_functions_give_one_row_per_point(disc: Discretisation) -> None:
    x, y = coordinates(2)
    rho = disc.interpolate(1 + 0 * x)
    J = disc.current(rho)  # β ρ − K∇ρ with β = 0 (L = 0, constant Q) and ρ constant: J = 0
    vals = point_values(J, [[0.1, 0.1], [-0.3, 0.7], [0.9, -0.9]])
    assert vals.shape == (3, 2) and np.abs(vals).max() < 1e-12
