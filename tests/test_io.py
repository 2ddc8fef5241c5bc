"""Output directory safety and VTK files readable by PyVista."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from mpi4py import MPI

from fpsolve.domain import Cuboid
from fpsolve.io import OutputError, prepare_output_dir, write_fields
from fpsolve.mesh import build_mesh
from fpsolve.operators import Discretisation
from fpsolve.problem import FokkerPlanckProblem, coordinates


def test_existing_user_directory_is_never_overwritten(tmp_out: Path) -> None:
    target = tmp_out / "mine"
    if MPI.COMM_WORLD.rank == 0:
        target.mkdir()
        (target / "notes.txt").write_text("precious")
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(OutputError, match="not empty"):
        prepare_output_dir(target, overwrite=False)
    with pytest.raises(OutputError, match="does not hold an fpsolve result"):
        prepare_output_dir(target, overwrite=True)
    assert (target / "notes.txt").read_text() == "precious"


def test_fields_are_written_collectively_and_readable(tmp_out: Path) -> None:
    x, y = coordinates(2)
    p = FokkerPlanckProblem(2, sp.eye(2), 0.1, Cuboid((0.0, 0.0), (1.0, 1.0), (6, 6)), loss=x**2 + y)
    disc = Discretisation(p, build_mesh(p.domain))
    rho = disc.interpolate(1 + x * y)
    out = prepare_output_dir(tmp_out / "res", overwrite=False)
    paths = write_fields(out, [rho, disc.current(rho)])
    assert [q.name for q in paths] == ["rho.pvd", "J.pvd"]
    if MPI.COMM_WORLD.rank == 0:
        import pyvista

        grid = pyvista.read(out / "rho000000.pvtu")
        assert grid.n_points >= 49 and "rho" in grid.point_data
        vals = grid.point_data["rho"]
        pts = grid.points
        assert abs(vals - (1 + pts[:, 0] * pts[:, 1])).max() < 1e-12
        J = pyvista.read(out / "J000000.pvtu")
        assert J.point_data["J"].shape[0] == J.n_points
