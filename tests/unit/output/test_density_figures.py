"""Density figures: the mesh's own cells, the mass near a point, the observables over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sympy as sp

from mpi4py import MPI

from fpsolve.analyses.base import FieldSeries, Result
from fpsolve.analyses.current_fields import current_scales
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.output.density_figures import (
    density_figure,
    mass_within,
    mesh_triangulation,
    observables_figure,
    window,
)
from fpsolve.output.fields import read_series
from fpsolve.output.files import write_result
from fpsolve.output.scales import vertex_weights
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


def test_mass_within_a_radius() -> None:
    """Uniform ρ = 1/4 on [−1, 1]²: P(|x| ≤ r) = πr²/4 while the disc fits, 1 beyond the corners."""
    n = 201
    x, y = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
    corner = (np.arange(n - 1)[:, None] * n + np.arange(n - 1)[None, :]).ravel()
    cells = np.vstack(
        [
            np.column_stack([corner, corner + 1, corner + n + 1]),
            np.column_stack([corner, corner + n + 1, corner + n]),
        ]
    )
    w = vertex_weights(cells, x.ravel(), y.ravel())
    distance = np.hypot(x.ravel(), y.ravel())
    inside = mass_within(np.full(n * n, 0.25), w, distance, np.array([0.25, 0.5, 1.0, 1.5]))
    assert inside[:3] == pytest.approx(np.pi * np.array([0.25, 0.5, 1.0]) ** 2 / 4, rel=0.03)
    assert inside[3] == pytest.approx(1.0)


def test_observables_figure_names_the_coordinates_and_the_exact_mean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = np.array([0.0, 1.0, 2.0])
    rows = ["t,mass,min,max,mean_x,mean_y,cov_xx,cov_xy,cov_yy,collapse_fraction"]
    rows += [f"{s},1,0,1,{np.exp(-s)},0,1,0,1,{s / 2}" for s in t]
    (tmp_path / "observables.csv").write_text("\n".join(rows) + "\n")
    np.savez(tmp_path / "transient_figure.npz", exact_mean=np.column_stack([np.exp(-t), 0 * t]))
    seen: list[list[str]] = []

    def keep(fig: Any, target: Path) -> Path:
        seen.extend(
            [text.get_text() for text in ax.get_legend().get_texts()] for ax in fig.axes if ax.get_legend()
        )
        return target

    monkeypatch.setattr("fpsolve.output.density_figures.save", keep)
    (path,) = observables_figure(tmp_path, "toy", ["u", "v"])
    assert path.name == "observables.png"
    assert seen == [["E u (FE)", "E u (exact)", "E v (FE)", "E v (exact)"], ["collapse_fraction"]]


def test_window_zooms_on_a_small_bulk_only() -> None:
    from matplotlib.tri import Triangulation

    x, y = np.meshgrid(np.linspace(-2, 2, 41), np.linspace(-1, 1, 21))
    tri = Triangulation(x.ravel(), y.ravel())
    small = np.hypot(tri.x - 1, tri.y) <= 0.35  # vertices in [0.7, 1.3] × [−0.3, 0.3]
    lo, hi, zoomed = window(tri, small, [(0.5, 0.5)])
    assert zoomed and lo == pytest.approx([0.5 - 0.15 * 0.8, -0.3 - 0.15 * 0.8])
    assert hi == pytest.approx([1.3 + 0.15 * 0.8, 0.5 + 0.15 * 0.8])
    lo, hi, zoomed = window(tri, np.abs(tri.x) <= 1.5, [])
    assert not zoomed and list(lo) == [-2, -1] and list(hi) == [2, 1]
