"""Affine sets: orthonormal bases, distances for each codimension, refused inputs."""

from __future__ import annotations

import numpy as np
import pytest

from fpsolve.errors import ProblemError
from fpsolve.problem.affine_set import AffineSet


def test_distances_to_a_point_a_line_and_a_plane() -> None:
    x = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
    assert np.allclose(AffineSet((0.0, 0.0, 0.0)).distance(x), [3.0, 0.0])
    line = AffineSet((0.0, 0.0, 0.0), ((2.0, 0.0, 0.0),))  # the x axis
    assert np.allclose(line.distance(x), [np.sqrt(8.0), 0.0])
    plane = AffineSet((0.0, 0.0, 1.0), ((1.0, 1.0, 0.0), (1.0, -1.0, 0.0)))  # z = 1
    assert np.allclose(plane.distance(x), [1.0, 1.0])
    assert (line.codimension, plane.codimension) == (2, 1)
    tilted = AffineSet((0.0, 1.0), ((1.0, 1.0),))  # y = x + 1
    assert np.allclose(tilted.distance(np.array([[1.0, 0.0]])), [np.sqrt(2.0)])


def test_bases_are_orthonormal_and_complementary() -> None:
    s = AffineSet((0.5, 0.0, -1.0), ((1.0, 2.0, 0.0),))
    basis = np.hstack([s.tangents(), s.normals()])
    assert np.allclose(basis.T @ basis, np.eye(3), atol=1e-14)
    assert s.describe(["u", "v", "w"]) == "(u, v, w) = (0.5, 0, -1) + s1 (1, 2, 0)"
    assert AffineSet((2.0,)).describe() == "x = 2"


@pytest.mark.parametrize(
    ("point", "along", "message"),
    [
        ((0.0, 0.0), ((1.0, 0.0), (2.0, 0.0)), "linearly dependent"),
        ((0.0, 0.0), ((1.0, 0.0), (0.0, 1.0)), "nothing to collapse onto"),
        ((0.0, 0.0), ((1.0, 0.0, 0.0),), "dimension 2"),
        ((0.0, 0.0, 0.0, 0.0), (), "dimension 1–3"),
        ((float("nan"),), (), "finite point"),
    ],
)
def test_bad_sets_are_refused(point: tuple, along: tuple, message: str) -> None:
    with pytest.raises(ProblemError, match=message):
        AffineSet(point, along)
