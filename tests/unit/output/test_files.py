"""Output directory safety and VTK files readable by PyVista."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

from mpi4py import MPI

from fpsolve.analyses.base import FieldSeries, Result
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.output.files import MANIFEST, OutputError, ResultDirectory, write_result
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates


def _on_root(action: object) -> None:
    if MPI.COMM_WORLD.rank == 0:
        action()  # type: ignore[operator]
    MPI.COMM_WORLD.Barrier()


def _write_result(target: Path, overwrite: bool, files: dict[str, str]) -> Path:
    with ResultDirectory(target, overwrite) as result:
        for name, text in files.items():
            _on_root(
                lambda n=name, t=text: (
                    (result.path / n).parent.mkdir(exist_ok=True),
                    (result.path / n).write_text(t),
                )
            )
    return target


def test_existing_user_directory_is_never_overwritten(tmp_out: Path) -> None:
    target = tmp_out / "mine"
    _on_root(lambda: (target.mkdir(), (target / "notes.txt").write_text("precious")))
    for overwrite in (False, True):
        with pytest.raises(OutputError, match="holds no fpsolve result"):
            ResultDirectory(target, overwrite=overwrite)
    assert (target / "notes.txt").read_text() == "precious"


def test_a_foreign_summary_json_is_no_licence_to_delete(tmp_out: Path) -> None:
    """Issue 17, reproduction 1: a user's summary.json next to thesis.tex (with and without -o .)."""
    target = tmp_out / "proj"
    _on_root(
        lambda: (
            target.mkdir(),
            (target / "summary.json").write_text("{}"),
            (target / "thesis.tex").write_text("chapter 1"),
        )
    )
    with pytest.raises(OutputError, match="holds no fpsolve result"):
        ResultDirectory(target, overwrite=True)
    with pytest.raises(OutputError, match="holds no fpsolve result"):
        ResultDirectory(target / ".", overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["summary.json", "thesis.tex"]
    assert not [p for p in tmp_out.iterdir() if p.name.startswith(".")]  # nothing staged


def test_overwrite_replaces_only_the_files_of_the_earlier_result(tmp_out: Path) -> None:
    target = _write_result(
        tmp_out / "res", False, {"summary.json": "1", "a.txt": "old", "figures/f.png": "x"}
    )
    _on_root(lambda: (target / "notes.txt").write_text("mine"))  # the user adds a file afterwards
    with pytest.raises(OutputError, match="use --overwrite"):
        ResultDirectory(target, overwrite=False)
    _write_result(target, True, {"summary.json": "2"})
    if MPI.COMM_WORLD.rank == 0:
        assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
            MANIFEST,
            "notes.txt",
            "summary.json",
        ]
        assert (target / "notes.txt").read_text() == "mine"
        assert (target / "summary.json").read_text() == "2"


def test_a_failed_run_leaves_nothing_behind(tmp_out: Path) -> None:
    target = tmp_out / "new"
    with pytest.raises(RuntimeError), ResultDirectory(target, overwrite=False) as result:
        _on_root(lambda: (result.path / "rho.pvd").write_text("partial"))
        raise RuntimeError("solver failed")
    assert not target.exists()
    assert list(tmp_out.iterdir()) == []


def test_fields_are_written_collectively_and_readable(tmp_out: Path) -> None:
    x, y = coordinates(2)
    p = FokkerPlanckProblem(2, sp.eye(2), 0.1, Cuboid((0.0, 0.0), (1.0, 1.0), (6, 6)), loss=x**2 + y)
    disc = Discretisation(p, build_mesh(p.domain))
    rho = disc.interpolate(1 + x * y)
    out = tmp_out / "res"
    fields = [FieldSeries("rho", [(0.0, rho)]), FieldSeries("J", [(0.0, disc.current(rho))])]
    with ResultDirectory(out, overwrite=False) as result:
        names = write_result(result.path, "toy", Result(fields=fields))
    assert names == ["toy.xdmf"]
    if MPI.COMM_WORLD.rank == 0:
        import pyvista

        grid = pyvista.read(out / "toy.xdmf")
        assert grid.n_points == 49 and {"rho", "J"} <= set(grid.point_data)
        vals = grid.point_data["rho"]
        pts = grid.points
        assert abs(vals - (1 + pts[:, 0] * pts[:, 1])).max() < 1e-12
        assert grid.point_data["J"].shape == (49, 3)
