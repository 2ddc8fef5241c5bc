"""Density figures drawn on the mesh's own cells: the hole of meshes/annulus.msh stays empty."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.analyses.base import FieldSeries, Result
from fpsolve.analyses.current_fields import current_scales
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.output.density_figures import density_figure, mesh_triangulation
from fpsolve.output.fields import read_series
from fpsolve.output.files import write_result
from fpsolve.problem.domain import MeshFile
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates

ANNULUS = Path(__file__).parents[3] / "meshes" / "annulus.msh"


def test_annulus_density_keeps_its_hole_and_has_current_scale(tmp_out: Path) -> None:
    x, y = coordinates(2)
    p = FokkerPlanckProblem(2, sp.eye(2), 0.1, MeshFile(str(ANNULUS), 2), loss=2 * ((x - 0.55) ** 2 + y**2))
    disc = Discretisation(p, build_mesh(p.domain))
    rho = disc.interpolate(sp.exp(-20 * ((x - 0.55) ** 2 + y**2)))
    J = disc.current(rho)
    scales = current_scales(disc, rho, J)
    assert 0 < scales["max_abs_J"] and 0 < scales["max_drift_flux"]
    fields = [FieldSeries("rho_stationary", [(0.0, rho)]), FieldSeries("J_stationary", [(0.0, J)])]
    write_result(tmp_out, "stationary", Result(fields=fields))
    cells = disc.msh.topology.index_map(2).size_global
    if MPI.COMM_WORLD.rank != 0:
        return
    ((_, grid),) = read_series(tmp_out / "stationary.xdmf")
    tri = mesh_triangulation(grid)
    assert len(tri.triangles) == cells  # the mesh's cells, not a Delaunay triangulation of the points
    centroids = np.column_stack([tri.x[tri.triangles].mean(1), tri.y[tri.triangles].mean(1)])
    assert np.hypot(*centroids.T).min() > 0.29  # nothing drawn inside the hole r < 0.3
    summary = {"observables": {"stationary": scales}, "coordinates": ["u", "v"]}
    (figure,) = density_figure(tmp_out, "stationary", "annulus", summary)
    assert figure == tmp_out / "figures" / "stationary_density.png" and figure.stat().st_size > 10_000
