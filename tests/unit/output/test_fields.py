"""XDMF/HDF5 time series: every time and field read back by pyvista, each node once, any rank count."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dolfinx
from dolfinx import fem, mesh
from mpi4py import MPI

from fpsolve.output.fields import read_series, write_series


def _mesh(dim: int) -> dolfinx.mesh.Mesh:
    comm = MPI.COMM_WORLD
    if dim == 1:
        return mesh.create_interval(comm, 40, [0.0, 1.0])
    if dim == 2:
        return mesh.create_unit_square(comm, 12, 12)
    return mesh.create_unit_cube(comm, 5, 5, 5)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("degree", [1, 2])
def test_every_time_and_field_reads_back(tmp_out: Path, dim: int, degree: int) -> None:
    """ρ(t) = 1 + t·x² at t = 0, ½, 1 and J (from t = ½ only): vertex values exact, mass 1 + t/3 + O(h²)."""
    msh = _mesh(dim)
    V = fem.functionspace(msh, ("Lagrange", degree))
    W = fem.functionspace(msh, ("Lagrange", 1, (dim,)))
    rho, J = [], []
    for t in (0.0, 0.5, 1.0):
        r = fem.Function(V)
        r.interpolate(lambda x, t=t: 1 + t * x[0] ** 2)
        rho.append((t, r))
        j = fem.Function(W)
        j.interpolate(lambda x, t=t: np.vstack([t * x[0]] * dim))
        J.append((t, j))
    name = write_series(tmp_out / "toy.xdmf", [("rho", rho), ("J", J[1:])], MPI.COMM_WORLD)
    assert name == "toy.xdmf"
    if MPI.COMM_WORLD.rank != 0:
        return
    assert sorted(p.name for p in tmp_out.iterdir()) == ["toy.h5", "toy.xdmf"]
    frames = read_series(tmp_out / "toy.xdmf")
    assert [t for t, _ in frames] == [0.0, 0.5, 1.0]
    vertices = msh.topology.index_map(0).size_global
    for t, grid in frames:
        assert grid.n_points == vertices  # each node once, whatever the rank count
        x = np.asarray(grid.points)[:, 0]
        assert np.abs(grid.point_data["rho"] - (1 + t * x**2)).max() < 1e-13
        assert ("J" in grid.point_data) == (t > 0)
        # P1 interpolant of 1 + t x² on the mesh: mass 1 + t/3 + t h²/6 (h = 1/40, 1/12, 1/5)
        h = {1: 1 / 40, 2: 1 / 12, 3: 1 / 5}[dim]
        mass = float(np.ravel(grid.integrate_data().point_data["rho"])[0])
        assert abs(mass - (1 + t / 3)) <= t * h**2 / 6 + 1e-12
