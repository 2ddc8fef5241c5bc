"""Collapse fraction and median distance: exact for codimension 1, the edge bound otherwise, any partition."""

from __future__ import annotations

import numpy as np
import pytest

import dolfinx
from mpi4py import MPI

from fpsolve.discretisation.collapse import RADIUS_SHIFT, SetDistance
from fpsolve.problem.affine_set import AffineSet


def _function(msh: dolfinx.mesh.Mesh, values, degree: int = 1) -> dolfinx.fem.Function:
    f = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, ("Lagrange", degree)))
    f.interpolate(values)
    return f


@pytest.mark.parametrize("degree", [1, 2])
def test_slab_around_a_line_is_exact(degree: int) -> None:
    # ρ = 1 + x + 2y on the unit square, A the line y = 0.4: P(r) = ∫ over |y − 0.4| < r, clipped to
    # [0, 1], of (3/2 + 2y) dy; the edges y = 0.4 ± r cut the cells anywhere
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 7, 5, diagonal=dolfinx.mesh.DiagonalType.crossed)
    rho = _function(msh, lambda x: 1 + x[0] + 2 * x[1], degree)
    measure = SetDistance(rho, AffineSet((0.3, 0.4), ((2.0, 0.0),)))
    for r in (0.013, 0.1, 0.25, 0.7):
        a, b = max(0.4 - r, 0.0), min(0.4 + r, 1.0)
        exact = 1.5 * (b - a) + (b * b - a * a)
        assert measure.fraction(r)[0] == pytest.approx(exact, abs=1e-14)
    assert measure.mass == pytest.approx(2.5, abs=1e-14)
    assert measure.radius_shift(0.1) == 0.0


def test_median_of_a_density_on_the_half_line() -> None:
    # ρ = 2(1 − x) on [0, 1] (P1 holds it), A = {0}: P(r) = 2r − r², half the mass at r = 1 − 1/√2
    msh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 9, [0.0, 1.0])
    measure = SetDistance(_function(msh, lambda x: 2 * (1 - x[0])), AffineSet((0.0,)))
    assert measure.median() == pytest.approx(1 - 1 / np.sqrt(2), rel=1e-12)
    assert measure.fraction(0.25)[0] == pytest.approx(0.4375, abs=1e-14)


def test_median_below_the_first_vertex_is_not_resolved() -> None:
    msh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 4, [0.0, 1.0])
    rho = _function(msh, lambda x: np.where(x[0] < 0.125, 8.0 * (1 - 4 * x[0]), 0.0))
    assert np.isnan(SetDistance(rho, AffineSet((0.0,))).median())


def test_disk_fraction_within_the_edge_bound_on_any_partition() -> None:
    # ρ = 1 on the unit square, A the point (0.5, 0.5): P(r) = πr², the edge moved inwards by at most
    # RADIUS_SHIFT·r, so P is low by at most 2·RADIUS_SHIFT·πr²
    found = []
    for comm in (MPI.COMM_SELF, MPI.COMM_WORLD):
        msh = dolfinx.mesh.create_unit_square(comm, 12, 12)
        measure = SetDistance(_function(msh, lambda x: np.ones(x.shape[1])), AffineSet((0.5, 0.5)))
        for r in (0.03, 0.3):
            p = measure.fraction(r)[0]
            assert 0 <= np.pi * r * r - p <= 2 * RADIUS_SHIFT * np.pi * r * r
            assert measure.radius_shift(r) <= RADIUS_SHIFT
        found.append(measure.median())
    assert found[0] == pytest.approx(found[1], rel=1e-13)  # sums in another order
    assert found[0] == pytest.approx(np.sqrt(0.5 / np.pi), rel=2 * RADIUS_SHIFT)
