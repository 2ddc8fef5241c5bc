"""Generated meshes: a missing ``<stem>.msh`` with a ``make_<stem>.py`` beside it is built into the cache."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mpi4py import MPI

from fpsolve.discretisation.mesh import MESH_CACHE_ENV, generator_script, mesh_cache_dir, read_mesh_file
from fpsolve.errors import MeshError

MESHES = Path(__file__).resolve().parents[3] / "meshes"

# the style of meshes/make_graded_square.py, on the unit square; H is the target size. The tolerance
# is 1e-6, not 1e-9: OCC pads bounding boxes by 1e-7
TINY = '''"""Write tiny.msh: the unit square with boundary groups "xmin", "xmax", "ymin", "ymax"."""

import argparse
from pathlib import Path

import gmsh


def main(h: float = H, out: Path | None = None) -> None:
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("tiny")
    square = gmsh.model.occ.addRectangle(0.0, 0.0, 0.0, 1.0, 1.0)
    gmsh.model.occ.synchronize()
    gmsh.model.addPhysicalGroup(2, [square], 1, name="domain")
    for k, (side, axis, value) in enumerate(
        [("xmin", 0, 0.0), ("xmax", 0, 1.0), ("ymin", 1, 0.0), ("ymax", 1, 1.0)], start=1
    ):
        tags = []
        for _, c in gmsh.model.getBoundary([(2, square)], oriented=False):
            box = gmsh.model.getBoundingBox(1, abs(c))
            if abs(box[axis] - value) < 1e-6 and abs(box[axis + 3] - value) < 1e-6:
                tags.append(abs(c))
        gmsh.model.addPhysicalGroup(1, tags, k, name=side)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h)
    gmsh.model.mesh.generate(2)
    gmsh.write(str(out if out is not None else Path(__file__).parent / "tiny.msh"))
    gmsh.finalize()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    main(out=parser.parse_args().out)
'''


def _write(path: Path, text: str) -> None:
    """Write ``path`` on rank 0 and let every rank see it."""
    if MPI.COMM_WORLD.rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    MPI.COMM_WORLD.Barrier()


def _cells(tm) -> int:
    return tm.mesh.topology.index_map(tm.mesh.topology.dim).size_global


@pytest.fixture
def tiny(tmp_out: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A missing ``meshes/tiny.msh`` with its script ``make_tiny.py``, and the (empty) cache directory."""
    cache = tmp_out / "cache"
    monkeypatch.setenv(MESH_CACHE_ENV, str(cache))
    _write(tmp_out / "meshes" / "make_tiny.py", TINY.replace("= H,", "= 0.1,"))
    return tmp_out / "meshes" / "tiny.msh", cache


def test_generated_on_first_use_then_reused(tiny: tuple[Path, Path]) -> None:
    msh, cache = tiny
    assert generator_script(msh) == msh.parent / "make_tiny.py"
    tm = read_mesh_file(msh, 2)
    assert set(tm.parts) == {"xmin", "xmax", "ymin", "ymax"}
    assert not msh.exists()  # the mesh lives in the cache only
    assert sorted(p.name for p in cache.iterdir()) == ["tiny.json", "tiny.msh"]  # no temporary left
    record = json.loads((cache / "tiny.json").read_text())
    assert record["cells"] == _cells(tm) > 0
    assert record["sha256"] == hashlib.sha256((msh.parent / "make_tiny.py").read_bytes()).hexdigest()
    mtime = (cache / "tiny.msh").stat().st_mtime_ns
    again = read_mesh_file(msh, 2)
    assert (cache / "tiny.msh").stat().st_mtime_ns == mtime
    assert _cells(again) == _cells(tm)


def test_edited_script_regenerates(tiny: tuple[Path, Path]) -> None:
    msh, cache = tiny
    coarse = _cells(read_mesh_file(msh, 2))
    _write(msh.parent / "make_tiny.py", TINY.replace("= H,", "= 0.05,"))
    fine = _cells(read_mesh_file(msh, 2))
    assert fine > coarse
    assert json.loads((cache / "tiny.json").read_text())["cells"] == fine


def test_corrupt_cell_count_is_an_error(tiny: tuple[Path, Path]) -> None:
    msh, cache = tiny
    read_mesh_file(msh, 2)
    record = json.loads((cache / "tiny.json").read_text())
    MPI.COMM_WORLD.Barrier()
    _write(cache / "tiny.json", json.dumps({**record, "cells": record["cells"] + 1}))
    with pytest.raises(MeshError, match=r"mesh cache is corrupt: .* delete .*tiny\.msh to regenerate"):
        read_mesh_file(msh, 2)


def test_truncated_cache_file_is_an_error_on_every_rank(tiny: tuple[Path, Path]) -> None:
    msh, cache = tiny
    read_mesh_file(msh, 2)
    text = (cache / "tiny.msh").read_text()
    MPI.COMM_WORLD.Barrier()
    _write(cache / "tiny.msh", text[: len(text) // 2])
    with pytest.raises(MeshError, match=r"mesh cache is corrupt: .*bytes.* delete .*tiny\.msh"):
        read_mesh_file(msh, 2)


def test_failing_script_is_a_one_line_error(tiny: tuple[Path, Path]) -> None:
    msh, cache = tiny
    _write(msh.parent / "make_broken.py", 'raise RuntimeError("no gmsh today")\n')
    with pytest.raises(
        MeshError, match=r"broken\.msh .*failed \(exit 1\): RuntimeError: no gmsh today"
    ) as err:
        read_mesh_file(msh.parent / "broken.msh", 2)
    assert "\n" not in str(err.value)
    assert list(cache.iterdir()) == []  # no half-written file left behind


def test_script_that_writes_nothing_is_an_error(tiny: tuple[Path, Path]) -> None:
    msh, cache = tiny
    _write(msh.parent / "make_lazy.py", "pass\n")
    with pytest.raises(MeshError, match=r"wrote nothing"):
        read_mesh_file(msh.parent / "lazy.msh", 2)
    assert list(cache.iterdir()) == []


def test_missing_mesh_without_script(tmp_out: Path) -> None:
    assert generator_script(tmp_out / "nowhere.msh") is None
    with pytest.raises(MeshError, match=r"mesh file not found: .*nowhere\.msh"):
        read_mesh_file(tmp_out / "nowhere.msh", 2)


def test_cache_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(MESH_CACHE_ENV, raising=False)
    assert mesh_cache_dir() == Path.home() / ".cache" / "fpsolve" / "meshes"
    monkeypatch.setenv(MESH_CACHE_ENV, str(tmp_path))
    assert mesh_cache_dir() == tmp_path


def test_committed_meshes() -> None:
    assert generator_script(MESHES / "annulus.msh") is None  # small: committed, read as it is
    assert generator_script(MESHES / "graded_square.msh") in (None, MESHES / "make_graded_square.py")


@pytest.mark.serial
def test_graded_square_script_writes_to_out(tmp_path: Path) -> None:
    before = sorted(MESHES.iterdir())
    out = tmp_path / "coarse.msh"
    args = ["0.5", "0.05", "0.5", "1.0", "0"]  # a coarse variant: a few hundred cells
    subprocess.run(
        [sys.executable, str(MESHES / "make_graded_square.py"), *args, "--out", str(out)], check=True
    )
    assert out.stat().st_size > 0
    assert sorted(MESHES.iterdir()) == before
