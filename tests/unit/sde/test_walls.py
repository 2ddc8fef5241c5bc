"""Facet walls of a mesh: crossings, specular reflections and exact nearest-facet distances.

Checked on the unit square (a crossing and a corner double reflection computed by hand), against brute
force distances on the annulus mesh, and for partition independence of the gathered facets.
"""

from __future__ import annotations

import numpy as np
import pytest

from mpi4py import MPI

from fpsolve import testing
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.problem.domain import Cuboid, MeshFile
from fpsolve.sde.walls import MeshWalls

ANNULUS = MeshFile("meshes/annulus.msh", 2)


def _square(absorbing: tuple[str, ...] = ()) -> MeshWalls:
    return testing.walls(build_mesh(Cuboid((0.0, 0.0), (1.0, 1.0), (4, 4)), MPI.COMM_SELF), absorbing)


def test_square_walls_have_outward_normals() -> None:
    walls = _square()
    assert len(walls.vertices) == 16
    mid = walls.vertices.mean(axis=1)
    # the outward normal points from the centre of the square through the facet midpoint
    assert np.all(np.einsum("fi,fi->f", walls.normals, mid - 0.5) > 0)


def test_corner_step_is_reflected_twice() -> None:
    walls = _square()
    old = np.array([[0.9, 0.8], [0.5, 0.5]])
    # the first step meets x = 1 at (1, 0.875), then its mirror image meets y = 1 at (0.83, 1)
    new = np.array([[1.3, 1.1], [0.6, 0.55]])
    killed = walls.move(old, new)
    assert not killed.any()
    np.testing.assert_allclose(new, [[0.7, 0.9], [0.6, 0.55]], atol=1e-14)


def test_absorbing_side_kills_only_the_paths_that_cross_it() -> None:
    walls = _square(("xmax",))
    old = np.array([[0.9, 0.5], [0.5, 0.9], [0.5, 0.5]])
    new = np.array([[1.05, 0.5], [0.5, 1.05], [0.55, 0.5]])
    assert walls.move(old, new).tolist() == [True, False, False]
    np.testing.assert_allclose(new[1], [0.5, 0.95])


def test_first_crossing_fraction() -> None:
    walls = _square()
    s, f = walls.first_crossing(np.array([[0.5, 0.5]]), np.array([[0.5, 1.5]]), np.array([-1]))
    assert f[0] >= 0 and s[0] == pytest.approx(0.5)
    np.testing.assert_allclose(walls.normals[f[0]], [0.0, 1.0])


def test_nearest_absorbing_facet_is_exact() -> None:
    walls = testing.walls(build_mesh(ANNULUS, MPI.COMM_SELF), ("inner", "outer"))
    rng = np.random.default_rng(0)
    r, phi = rng.uniform(0.3, 1.0, 2000), rng.uniform(0, 2 * np.pi, 2000)
    x = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    dist, facet = walls.nearest_absorbing(x)
    every = np.broadcast_to(np.arange(len(walls.vertices)), (len(x), len(walls.vertices)))
    brute = walls.distances(x, every)
    np.testing.assert_allclose(dist, brute.min(axis=1), rtol=0, atol=1e-15)
    np.testing.assert_allclose(brute[np.arange(len(x)), facet], dist, atol=1e-15)
    # the clearance grid is a lower bound of the distance to the boundary
    assert np.all(walls.clearance[walls.cell_of(x)] <= brute.min(axis=1))


def test_gathered_facets_do_not_depend_on_the_partition() -> None:
    serial = testing.walls(build_mesh(ANNULUS, MPI.COMM_SELF), ("inner",))
    distributed = testing.walls(build_mesh(ANNULUS, MPI.COMM_WORLD), ("inner",))
    assert np.array_equal(serial.vertices, distributed.vertices)
    assert np.array_equal(serial.normals, distributed.normals)
    assert np.array_equal(serial.absorbing, distributed.absorbing)
    assert 0 < serial.absorbing.sum() < len(serial.absorbing)


def test_box_walls_in_3d_reflect_absorb_and_measure_distances() -> None:
    box = build_mesh(Cuboid((0.0,) * 3, (1.0,) * 3, (3, 3, 3)), MPI.COMM_SELF)
    walls = testing.walls(box, ("xmin", "zmax"))
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (2000, 3))
    dist, _ = walls.nearest_absorbing(x)  # triangles: plane or edge distances
    np.testing.assert_allclose(dist, np.minimum(x[:, 0], 1 - x[:, 2]), atol=1e-12)
    alive = np.ones(len(x), dtype=bool)
    for _ in range(50):
        new = x + 0.15 * rng.standard_normal(x.shape)
        alive &= ~walls.move(x, new)
        x = new
        assert x[alive].min() >= -1e-12 and x[alive].max() <= 1 + 1e-12
    assert 0 < alive.sum() < len(x)
