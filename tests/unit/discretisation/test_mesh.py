"""Meshes: built-in boxes, gmsh disks/balls and .msh files, with named boundary parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dolfinx
import ufl
from mpi4py import MPI

from fpsolve.discretisation.mesh import build_mesh
from fpsolve.errors import MeshError
from fpsolve.problem.domain import Cuboid, MeshFile, Sphere

MESHES = Path(__file__).resolve().parents[3] / "meshes"


def _measure(tm, part: str | None = None) -> float:
    msh = tm.mesh
    if part is None:
        form = dolfinx.fem.form(1.0 * ufl.dx(domain=msh))
    else:
        ds = ufl.Measure("ds", domain=msh, subdomain_data=tm.facet_tags)
        form = dolfinx.fem.form(1.0 * ds(tm.parts[part]))
    return msh.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_box_parts_cover_each_face(dim: int) -> None:
    tm = build_mesh(Cuboid((0.0,) * dim, (2.0,) * dim, (3,) * dim))
    assert list(tm.parts) == ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"][: 2 * dim]
    face = 2.0 ** (dim - 1)
    for part in tm.parts:
        assert abs(_measure(tm, part) - face) < 1e-12


def test_disk_and_ball() -> None:
    disk = build_mesh(Sphere((0.0, 0.0), 1.0, 0.1))
    assert abs(_measure(disk) - np.pi) < 0.02  # polygonal disk: area deficit O(h²)
    assert abs(_measure(disk, "boundary") - 2 * np.pi) < 0.01
    ball = build_mesh(Sphere((0.0, 0.0, 0.0), 1.0, 0.25))
    assert abs(_measure(ball) - 4 * np.pi / 3) < 0.2


def test_msh_file_with_named_parts() -> None:
    tm = build_mesh(MeshFile(MESHES / "annulus.msh", 2))
    assert set(tm.parts) == {"inner", "outer"}
    assert abs(_measure(tm, "outer") - 2 * np.pi) < 0.02
    assert abs(_measure(tm, "inner") - 0.6 * np.pi) < 0.01


def test_missing_mesh_file_is_a_clear_error() -> None:
    with pytest.raises(MeshError, match="mesh file not found: .*nowhere.msh"):
        MeshFile(MESHES / "nowhere.msh", 2)


def test_bad_boxes_are_rejected() -> None:
    with pytest.raises(MeshError, match="lo < hi"):
        Cuboid((0.0, 1.0), (1.0, 0.0), (2, 2))
    with pytest.raises(MeshError, match="positive"):
        Cuboid((0.0,), (1.0,), (0,))
