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
    exact_at,
    mass_within,
    mesh_triangulation,
    observables_figure,
    panel_grid,
    window,
)
from fpsolve.output.fields import read_series
from fpsolve.output.files import write_result
from fpsolve.output.scales import vertex_weights
from fpsolve.problem.domain import Cuboid, MeshFile
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


def _legends(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Record (title, legend entries) of every panel of the next saved figure instead of saving it."""
    seen: list[tuple[str, list[str]]] = []

    def keep(fig: Any, target: Path) -> Path:
        for ax in fig.axes:
            legend = ax.get_legend()
            entries = [text.get_text() for text in legend.get_texts()] if legend else []
            seen.append((ax.get_title(), entries, *(t.get_text() for t in ax.texts)))
        return target

    monkeypatch.setattr("fpsolve.output.density_figures.save", keep)
    return seen


def test_observables_figure_names_the_coordinates_and_the_exact_moments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = np.array([0.0, 1.0, 2.0])
    rows = ["t,mass,min,max,mean_x,mean_y,cov_xx,cov_xy,cov_yy,collapse_fraction"]
    rows += [f"{s},1,0,1,{np.exp(-s)},0,1,0,{np.exp(-4 * s)},{s / 2}" for s in t]
    (tmp_path / "observables.csv").write_text("\n".join(rows) + "\n")
    cov = np.array([np.diag([1.0, np.exp(-4 * s)]) for s in t])
    np.savez(
        tmp_path / "transient_figure.npz",
        exact_t=t,
        exact_mean=np.column_stack([np.exp(-t), 0 * t]),
        exact_cov=cov,
    )
    seen = _legends(monkeypatch)
    (path,) = observables_figure(tmp_path, "toy", ["u", "v"])
    assert path.name == "observables.png"
    panels = {title: entries for title, entries, *_ in seen}
    assert panels["mean"] == ["E u (FE)", "exact", "E v (FE)"]
    assert panels["variance"] == ["var u (FE)", "exact", "var v (FE)"]
    assert panels["other observables"] == ["collapse_fraction"]


def test_observables_figure_says_round_off_and_draws_the_expectations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mass changes of 1e-15 are a sentence, not a curve; E f(X_t) is drawn against its exact g(t)."""
    rows = ["t,mass,min,max,mean_x,mean_y"] + [f"{s},{1 + 1e-15 * s},-0.1,1,0,0" for s in (0.0, 1.0, 2.0)]
    (tmp_path / "observables.csv").write_text("\n".join(rows) + "\n")
    fine = np.linspace(0, 2, 21)
    np.savez(
        tmp_path / "transient_figure.npz",
        expectation_labels=np.array(["E[u**2 - v**2]"]),
        expectation_t=np.array([1.0, 2.0]),
        expectation_fe=np.array([[0.5], [0.26]]),
        expectation_reference=np.array([[0.5], [0.25]]),
        expectation_exact_t=fine,
        expectation_exact=np.exp(-np.log(2) * fine)[:, None],
    )
    seen = _legends(monkeypatch)
    observables_figure(tmp_path, "toy", ["u", "v"])
    mass, positivity, _, expectations = seen
    assert mass == (
        "mass change ∫ρ(t) − ∫ρ(0)",
        [],
        "|mass change| ≤ 2.0e-15\nat every written time:\nround-off, nothing to plot",
    )
    assert positivity[0] == "min ρ / max ρ" and len(positivity) == 2  # −0.1 is drawn, not a sentence
    assert expectations[1] == ["E[u² − v²] exact", "E[u² − v²] FE"]


def test_exact_at_matches_times_not_positions() -> None:
    """The t = 2 snapshot of a run written at 0, 0.25, 0.5, 1, 2 gets the exact moments of t = 2."""
    written = [0.0, 0.25, 0.5, 1.0, 2.0]
    means = np.array([[t, -t] for t in written])
    covs = np.array([np.eye(2) * (1 + t) for t in written])
    extra = {"exact_t": np.array(written), "exact_mean": means, "exact_cov": covs}
    drawn = [0.0, 0.25, 0.5, 2.0]
    matched = np.array([mean for mean, _ in exact_at(extra, drawn, written)])
    assert matched == pytest.approx(np.array([[t, -t] for t in drawn]))
    assert exact_at(extra, [1.5], written) == [None]  # a time without a reference: none drawn
    older = {"exact_mean": means, "exact_cov": covs}  # no exact_t: one per written time, in order
    assert exact_at(older, [2.0], written)[0][1] == pytest.approx(3 * np.eye(2))
    assert exact_at(older, [2.0], written[:-1]) == [None]  # counts disagree: nothing, never a guess


def test_transient_panels_show_the_exact_density_of_their_own_time(
    tmp_out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six written times, four drawn (0, 0.25, 1, 2): each panel's exact contours are of its own time.

    (They were taken by panel index: the t = 1 panel showed the exact density of t = 0.5.)
    """
    x, y = coordinates(2)
    p = FokkerPlanckProblem(
        2, sp.eye(2), 0.1, Cuboid((-2.0, -2.0), (2.0, 2.0), (16, 16)), loss=(x**2 + y**2) / 2
    )
    disc = Discretisation(p, build_mesh(p.domain))
    times = [0.0, 0.25, 0.5, 1.0, 1.5, 2.0]
    frames = [(t, disc.interpolate(sp.exp(-2 * ((x - t / 2) ** 2 + y**2)))) for t in times]
    exact = {
        "exact_t": np.array(times),
        "exact_mean": np.array([[t / 2, 0.0] for t in times]),
        "exact_cov": np.array([np.eye(2) / 4 for _ in times]),
    }
    write_result(
        tmp_out, "transient", Result(fields=[FieldSeries("rho_transient", frames)], figure_data=exact)
    )
    if MPI.COMM_WORLD.rank != 0:
        return
    drawn: list[float] = []
    monkeypatch.setattr(
        "fpsolve.output.density_figures._exact_contours",
        lambda ax, tri, box, mean, *rest: drawn.append(mean[0]),
    )
    (figure,) = density_figure(tmp_out, "transient", "moving Gaussian", {"coordinates": ["x", "y"]})
    assert figure.is_file()
    assert drawn == pytest.approx([0.0, 0.125, 0.5, 1.0])  # t / 2 at t = 0, 0.25, 1, 2


def test_four_flat_panels_go_in_two_rows() -> None:
    assert panel_grid(4, 0.4) == (2, 2)
    assert panel_grid(4, 0.9) == (1, 4)
    assert panel_grid(1, 0.2) == (1, 1)
    assert panel_grid(3, 0.3) == (2, 2)


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


def test_a_3d_density_is_drawn_on_three_planes(tmp_out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y, z = coordinates(3)
    p = FokkerPlanckProblem(
        3,
        sp.eye(3),
        0.1,
        Cuboid((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0), (6, 6, 6)),
        loss=(x**2 + y**2 + z**2) / 2,
    )
    disc = Discretisation(p, build_mesh(p.domain))
    rho = disc.interpolate(sp.exp(-4 * ((x - 0.3) ** 2 + y**2 + z**2)))
    write_result(tmp_out, "stationary", Result(fields=[FieldSeries("rho_stationary", [(0.0, rho)])]))
    if MPI.COMM_WORLD.rank != 0:
        return
    seen = _legends(monkeypatch)
    density_figure(tmp_out, "stationary", "ball", {"coordinates": ["a", "b", "c"]})
    titles = [title for title, *_ in seen]
    assert titles[:3] == ["a = 0.333", "b = 0", "c = 0"]  # through the vertex nearest the peak (0.3, 0, 0)


def test_long_expectations_are_named_and_early_times_spread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Output times 1/128 … 8 on a time axis logarithmic beyond the first; long f named f₁ in the legend."""
    t = np.array([0.0, 1 / 128, 1 / 64, 1.0, 8.0])
    rows = ["t,mass,min,max,mean_x"] + [f"{s},1,0,1,0" for s in t]
    (tmp_path / "observables.csv").write_text("\n".join(rows) + "\n")
    long = "E[(x - mx)**2 + (y - my)**2 - kappa*eps2*(d1 + d2)/2]"
    np.savez(
        tmp_path / "transient_figure.npz",
        expectation_labels=np.array([long]),
        expectation_t=t[1:],
        expectation_fe=np.ones((4, 1)),
        expectation_reference=np.ones((4, 1)),
        expectation_exact_t=np.linspace(0, 8, 9),
        expectation_exact=np.ones((9, 1)),
    )
    saved: dict[str, Any] = {}
    monkeypatch.setattr(
        "fpsolve.output.density_figures.save", lambda fig, target: saved.setdefault("fig", fig)
    )
    observables_figure(tmp_path, "toy", ["x"])
    fig = saved["fig"]
    panel = fig.axes[-1]
    assert [text.get_text() for text in panel.get_legend().get_texts()] == ["E[f₁] exact", "E[f₁] FE"]
    assert fig.get_supxlabel() == "f₁ = (x − mx)² + (y − my)² − kappa·eps2·(d1 + d2)/2"
    assert panel.get_xscale() == "symlog" and [v for v in panel.get_xticks()] == [0.0, 0.01, 0.1, 1.0]


def test_per_panel_colour_bars_and_the_current_bar_do_not_overlap_the_maps(
    tmp_out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Peaks 4× apart over four panels (a ρ bar each) with a current: no colour bar lies on a map.

    (Constrained layout put the per-panel bars on the next map when the |J| bar spanned all panels.)
    """
    x, y = coordinates(2)
    p = FokkerPlanckProblem(
        2, sp.eye(2), 0.1, Cuboid((-2.0, -2.0), (2.0, 2.0), (16, 16)), loss=(x**2 + y**2) / 2
    )
    disc = Discretisation(p, build_mesh(p.domain))
    frames = [
        (t, disc.interpolate(sp.exp(-((x - 0.5) ** 2 + y**2) / (2 * s**2)) / s**2))
        for t, s in ((0, 0.3), (1, 0.4), (2, 0.5), (3, 0.6))
    ]
    currents = [(t, disc.current(f, name="J_transient")) for t, f in frames]
    fields = [FieldSeries("rho_transient", frames), FieldSeries("J_transient", currents)]
    write_result(tmp_out, "transient", Result(fields=fields))
    if MPI.COMM_WORLD.rank != 0:
        return
    saved: dict[str, Any] = {}
    monkeypatch.setattr(
        "fpsolve.output.density_figures.save", lambda fig, target: saved.setdefault("fig", fig)
    )
    density_figure(tmp_out, "transient", "spreading", {"coordinates": ["x", "y"], "observables": {}})
    fig = saved["fig"]
    fig.canvas.draw()
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    maps = [ax for ax in fig.axes if ax not in bars]
    assert len(bars) == 5 and len(maps) == 4  # a ρ bar per panel and the |J| bar
    spans = sorted((ax.get_position().x0, ax.get_position().x1) for ax in bars + maps)
    assert all(a1 <= b0 + 1e-6 for (_, a1), (b0, _) in zip(spans, spans[1:], strict=False))  # no overlap
    for m in maps:  # each map's own bar right beside it, not drifted towards the next map
        right = m.get_position().x1
        assert min(b.get_position().x0 for b in bars if b.get_position().x0 >= right) - right < 0.02
