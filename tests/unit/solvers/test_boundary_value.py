r"""Manufactured solutions: observed L2 orders of the steady forward problem in 1-D, 2-D and 3-D.

:math:`\nabla\cdot(\beta\rho - K\nabla\rho) = f` on the unit cube with ρ = 0 on ∂Ω, where f is
computed by sympy from a chosen positive ρ, an anisotropic state-dependent Q and a transport-dominated
drift (ε² = 10⁻³: cell Péclet numbers 2–60, so the AFC limiter is active on every mesh). The expected
orders are 2 for P1 (AFC and Galerkin) and 3 for P2 Galerkin; we assert ≥ 1.9 and ≥ 2.9 on the last
refinement (the observed values are listed in docs/numerics.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import ufl

from fpsolve.discretisation.functionals import error_L2, observed_orders
from fpsolve.problem.domain import Cuboid
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.solvers.boundary_value import SourceSolver
from fpsolve.discretisation.symbolic import to_ufl


def manufactured(dim: int) -> tuple[sp.Expr, sp.Expr, sp.Matrix]:
    """(ρ, L, Q) of the manufactured problem in ``dim`` dimensions."""
    X = coordinates(dim)
    if dim == 1:
        (x,) = X
        return sp.sin(sp.pi * x) * sp.exp(x), -x - 0.3 * x**2, sp.Matrix([[1 + x**2 / 2]])
    if dim == 2:
        x, y = X
        rho = sp.sin(sp.pi * x) * sp.sin(sp.pi * y) * sp.exp(x - y)
        Q = sp.Matrix([[1 + x**2, sp.Rational(3, 10)], [sp.Rational(3, 10), 1 + y**2]])
        return rho, -(x + y / 2) + x * y / 5, Q
    x, y, z = X
    rho = sp.sin(sp.pi * x) * sp.sin(sp.pi * y) * sp.sin(sp.pi * z) * sp.exp(x - z)
    Q = sp.Matrix([[1 + x**2, 0.3, 0], [0.3, 1 + y**2, 0.2], [0, 0.2, 1]])
    return rho, -(x + y / 2 - 0.7 * z) + x * y / 5, Q


def mms_errors(dim: int, cells: list[int], scheme: str, degree: int, eps2: float) -> list[float]:
    """L2 errors of the manufactured problem on ``cells``-per-side unit cubes."""
    rho, loss, Q = manufactured(dim)
    X = coordinates(dim)
    parts = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")[: 2 * dim]
    errors = []
    for n in cells:
        box = Cuboid((0.0,) * dim, (1.0,) * dim, (n,) * dim)
        p = FokkerPlanckProblem(dim, Q, eps2, box, loss=loss, absorbing=parts)
        J = [p.beta[i] * rho - sum(p.K[i, j] * sp.diff(rho, X[j]) for j in range(dim)) for i in range(dim)]
        source = sum(sp.diff(J[i], X[i]) for i in range(dim))
        disc = Discretisation(p, build_mesh(box), degree=degree, scheme=scheme)
        rho_h = SourceSolver(disc).solve(source)
        if scheme == "afc":
            assert disc.minimum(rho_h) >= 0.0
        errors.append(error_L2(rho_h, to_ufl(rho, ufl.SpatialCoordinate(disc.msh), X), disc.msh))
    return errors


@pytest.mark.parametrize(
    ("dim", "cells", "scheme", "degree", "eps2", "order"),
    [
        (1, [32, 64, 128, 256], "afc", 1, 1e-3, 1.9),
        (2, [8, 16, 32, 64], "afc", 1, 1e-3, 1.9),
        (3, [4, 8, 16], "afc", 1, 1e-3, 1.9),
        (1, [16, 32, 64], "galerkin", 1, 0.05, 1.9),
        (2, [8, 16, 32], "galerkin", 1, 0.05, 1.9),
        (3, [4, 8, 16], "galerkin", 1, 0.05, 1.9),
        (1, [8, 16, 32], "galerkin", 2, 0.05, 2.9),
        (2, [4, 8, 16], "galerkin", 2, 0.05, 2.9),
        (3, [3, 6, 9], "galerkin", 2, 0.05, 2.9),
    ],
)
def test_manufactured_solution_order(
    dim: int, cells: list[int], scheme: str, degree: int, eps2: float, order: float
) -> None:
    errors = mms_errors(dim, cells, scheme, degree, eps2)
    orders = observed_orders([1.0 / n for n in cells], errors)
    assert orders[-1] >= order, (errors, orders)
    assert np.all(np.diff(errors) < 0)
