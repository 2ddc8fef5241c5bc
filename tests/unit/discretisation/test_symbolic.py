"""sympy → UFL conversion (fpsolve/discretisation/symbolic.py)."""

from __future__ import annotations

import pytest
import sympy as sp

import dolfinx
import ufl
from mpi4py import MPI

from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.problem.fokker_planck import coordinates


def test_a_sum_of_thousands_of_terms_converts_and_integrates() -> None:
    # a chain of 3000 UFL sums overflowed the recursion limit of UFL's traversals; a balanced tree
    # has depth 12. ∫ Σ_k (k/3000)·x·y over the unit square = Σ_k k/3000/4 = 3001/8
    x, y = coordinates(2)
    expr = sp.Add(*[sp.Float(k / 3000) * x * y for k in range(1, 3001)], evaluate=False)
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 2, 2)
    form = dolfinx.fem.form(to_ufl(expr, ufl.SpatialCoordinate(mesh), (x, y)) * ufl.dx)
    value = mesh.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)
    assert value == pytest.approx(3001 / 8, rel=1e-12)
