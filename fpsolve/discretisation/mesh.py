"""Build DOLFINx meshes with tagged boundary parts from :mod:`fpsolve.problem.domain` descriptions.

gmsh runs on rank 0 only and the mesh is distributed with ``dolfinx.io.gmsh.model_to_mesh``.

Generated meshes: a ``.msh`` path that does not exist but has a script ``make_<stem>.py`` beside it
is generated on first use by running that script (``python make_<stem>.py --out FILE``, its default
arguments otherwise) into the mesh cache (:func:`mesh_cache_dir`) and read from there afterwards.
``<stem>.json`` beside the cached file records the script's SHA-256, the file size and the number
of cells: an edited script regenerates the mesh, a file that does not match its record is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import dolfinx
import dolfinx.io.gmsh
import dolfinx.mesh
from mpi4py import MPI

from fpsolve.errors import MeshError
from fpsolve.problem.domain import Cuboid, Domain, MeshFile, Sphere

Array = npt.NDArray[np.float64]

#: Largest accepted ratio of gmsh's largest cell diameter to the requested size h.
HONOURED = 3.0
#: environment variable overriding the mesh cache directory
MESH_CACHE_ENV = "FPSOLVE_MESH_CACHE"


@dataclass
class TaggedMesh:
    """A mesh, its boundary facet tags and the map from part name to tag value.

    ``adaptation`` records how the mesh was refined (one dict per step of
    :func:`fpsolve.solvers.mesh_adaptation.adapt_mesh`; empty for a mesh as built).
    """

    mesh: dolfinx.mesh.Mesh
    facet_tags: dolfinx.mesh.MeshTags
    parts: dict[str, int]
    adaptation: tuple[dict[str, Any], ...] = ()

    def facets(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """Local indices of the boundary facets in the named parts."""
        values = [self.parts[n] for n in names]
        return self.facet_tags.indices[np.isin(self.facet_tags.values, values)]


def build_mesh(domain: Domain, comm: MPI.Comm = MPI.COMM_WORLD) -> TaggedMesh:
    """Create the mesh of ``domain`` on ``comm`` with one facet tag per boundary part."""
    if isinstance(domain, Cuboid):
        return _cuboid(domain, comm)
    if isinstance(domain, Sphere):
        return _sphere(domain, comm)
    if isinstance(domain, MeshFile):
        return read_mesh_file(Path(domain.path), domain.dim, comm)
    raise MeshError(f"unknown domain type {type(domain).__name__}")


def _cuboid(d: Cuboid, comm: MPI.Comm) -> TaggedMesh:
    lo, hi, n = np.asarray(d.lo, float), np.asarray(d.hi, float), [int(c) for c in d.cells]
    if d.dim == 1:
        msh = dolfinx.mesh.create_interval(comm, n[0], [lo[0], hi[0]])
    elif d.dim == 2:
        diag = dolfinx.mesh.DiagonalType[d.diagonal]
        msh = dolfinx.mesh.create_rectangle(comm, [lo, hi], n, dolfinx.mesh.CellType.triangle, diagonal=diag)
    else:
        msh = dolfinx.mesh.create_box(comm, [lo, hi], n, dolfinx.mesh.CellType.tetrahedron)
    fdim = d.dim - 1
    msh.topology.create_connectivity(fdim, d.dim)
    tol = 1e-10 * float(np.max(hi - lo))
    indices, values, parts = [], [], {}
    for axis in range(d.dim):
        for side, bound in enumerate((lo[axis], hi[axis])):
            name = d.parts[2 * axis + side]
            tag = 2 * axis + side + 1
            parts[name] = tag
            facets = dolfinx.mesh.locate_entities_boundary(
                msh, fdim, lambda x, a=axis, b=bound: np.abs(x[a] - b) < tol
            )
            indices.append(facets)
            values.append(np.full(facets.size, tag, dtype=np.int32))
    idx = np.concatenate(indices)
    val = np.concatenate(values)
    # a facet on an edge of the box can belong to one part only: keep the first tag
    idx, first = np.unique(idx, return_index=True)
    tags = dolfinx.mesh.meshtags(msh, fdim, idx.astype(np.int32), val[first])
    return TaggedMesh(msh, tags, parts)


def _sphere(d: Sphere, comm: MPI.Comm) -> TaggedMesh:
    import gmsh

    rank = 0
    error = None
    if comm.rank == rank:
        gmsh.initialize(interruptible=False)
        try:
            gmsh.option.setNumber("General.Terminal", 0)
            gmsh.model.add("sphere")
            c = list(d.center) + [0.0] * (3 - d.dim)
            if d.dim == 2:
                ent = gmsh.model.occ.addDisk(c[0], c[1], 0.0, d.radius, d.radius)
            else:
                ent = gmsh.model.occ.addSphere(c[0], c[1], c[2], d.radius)
            gmsh.model.occ.synchronize()
            bnd = gmsh.model.getBoundary([(d.dim, ent)], oriented=False)
            gmsh.model.addPhysicalGroup(d.dim, [ent], 1, name="domain")
            gmsh.model.addPhysicalGroup(d.dim - 1, [b[1] for b in bnd], 1, name="boundary")
            gmsh.option.setNumber("Mesh.CharacteristicLengthMin", d.h)
            gmsh.option.setNumber("Mesh.CharacteristicLengthMax", d.h)
            gmsh.model.mesh.generate(d.dim)
        except Exception as exc:  # gmsh raises bare Exceptions; the other ranks must hear of it
            error = (
                f"gmsh could not mesh the {'disk' if d.dim == 2 else 'ball'} with h = {d.h}: {_one_line(exc)}"
            )
            gmsh.finalize()
    error = comm.bcast(error, root=rank)
    if error:
        raise MeshError(error)
    try:
        data = dolfinx.io.gmsh.model_to_mesh(gmsh.model, comm, rank, gdim=d.dim)
    finally:
        if comm.rank == rank:
            gmsh.finalize()
    msh = data.mesh
    owned = np.arange(msh.topology.index_map(d.dim).size_local, dtype=np.int32)
    h_max = comm.allreduce(float(msh.h(d.dim, owned).max(initial=0.0)), op=MPI.MAX)
    if h_max > HONOURED * d.h:  # gmsh gives up silently on sizes it cannot reach
        raise MeshError(
            f"gmsh did not honour h = {d.h}: its cells reach h = {h_max:.3g} (more than {HONOURED:g}×); "
            "choose a larger h"
        )
    return TaggedMesh(msh, data.facet_tags, {"boundary": 1})


def mesh_cache_dir() -> Path:
    """Directory of generated meshes: ``$FPSOLVE_MESH_CACHE``, else ``~/.cache/fpsolve/meshes``."""
    env = os.environ.get(MESH_CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "fpsolve" / "meshes"


def generator_script(path: str | Path) -> Path | None:
    """The script ``make_<stem>.py`` that generates the missing mesh ``path``, or ``None``.

    ``None`` when ``path`` exists (it is read as it is), is not a ``.msh`` file or has no such script.
    """
    path = Path(path)
    if path.suffix != ".msh" or path.is_file():
        return None
    script = path.parent / f"make_{path.stem}.py"
    return script if script.is_file() else None


def read_mesh_file(path: str | Path, dim: int, comm: MPI.Comm = MPI.COMM_WORLD) -> TaggedMesh:
    """Read the gmsh file ``path`` on ``comm``, generating it into the mesh cache if it has a script.

    Parameters
    ----------
    path
        A ``.msh`` file. If it does not exist but ``make_<stem>.py`` does, the mesh is that script's
        output, cached in :func:`mesh_cache_dir` (generated on rank 0 on first use, or when the
        script changed).
    dim
        Topological and geometric dimension of the mesh.
    comm
        Communicator to distribute the mesh on (collective).

    Returns
    -------
    TaggedMesh
        The mesh; its boundary parts are the named physical groups of dimension ``dim - 1``.

    Raises
    ------
    MeshError
        On every rank, if the file is missing, unreadable or of the wrong dimension, if generating
        it failed, or if the cached file does not match its record.
    """
    path = Path(path)
    if path.suffix != ".msh":
        raise MeshError(f"only gmsh .msh files are supported, got {path}")
    if path.is_file():
        return _read_msh(path, dim, comm)
    script = generator_script(path)
    if script is None:
        raise MeshError(f"mesh file not found: {path}")
    return _read_generated(script, dim, comm)


def _check_msh(path: Path, dim: int) -> str | None:
    """On one rank: None if gmsh reads ``path`` and finds ``dim``-D cells in it, else the reason."""
    import gmsh  # noqa: PLC0415  (gmsh is only needed for mesh files)

    owner = not gmsh.isInitialized()
    if owner:
        gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("fpsolve check")
        gmsh.merge(str(path))
        types, _, _ = gmsh.model.mesh.getElements(dim)
        if not len(types):
            return f"{path} has no {dim}-D cells"
        return None
    except Exception as exc:  # gmsh raises bare Exceptions on malformed files
        return _one_line(exc)
    finally:
        gmsh.model.remove()
        if owner:
            gmsh.finalize()


def _read_msh(path: Path, dim: int, comm: MPI.Comm) -> TaggedMesh:
    # dolfinx reads the file on rank 0 while the other ranks wait for it: a bad file must be found
    # (on rank 0) and reported to every rank before that, or they wait forever
    problem = comm.bcast(_check_msh(path, dim) if comm.rank == 0 else None, root=0)
    if problem is not None:
        raise MeshError(f"could not read mesh {path}: {problem}")
    try:
        data = dolfinx.io.gmsh.read_from_msh(path, comm, 0, gdim=dim)
    except Exception as exc:  # gmsh raises bare Exceptions on malformed files
        raise MeshError(f"could not read mesh {path}: {exc}") from exc
    if data.mesh.topology.dim != dim:
        msg = f"{path} holds a {data.mesh.topology.dim}-D mesh, the problem is {dim}-D"
        raise MeshError(msg)
    parts = {name: group.tag for name, group in data.physical_groups.items() if group.dim == dim - 1}
    if data.facet_tags is None:
        fdim = dim - 1
        empty = np.zeros(0, dtype=np.int32)
        return TaggedMesh(data.mesh, dolfinx.mesh.meshtags(data.mesh, fdim, empty, empty), parts)
    return TaggedMesh(data.mesh, data.facet_tags, parts)


def _read_generated(script: Path, dim: int, comm: MPI.Comm) -> TaggedMesh:
    """Read the cached output of ``script``, generating it first on rank 0 if needed (collective)."""
    stem = script.stem.removeprefix("make_")
    cache = mesh_cache_dir()
    target, record = cache / f"{stem}.msh", cache / f"{stem}.json"
    status: tuple[str | None, dict[str, Any] | None] = (None, None)
    if comm.rank == 0:
        try:
            status = (None, _cached_record(script, target, record))
        except MeshError as exc:
            status = (_one_line(exc), None)
        except Exception as exc:  # anything on rank 0 must reach the other ranks, or they hang
            status = (f"could not generate {target} with {script}: {_one_line(exc)}", None)
    error, meta = comm.bcast(status, root=0)
    if error is not None:
        raise MeshError(error)
    tagged = _read_msh(target, dim, comm)
    cells = tagged.mesh.topology.index_map(dim).size_global
    if meta is None:  # just generated: record what it holds
        if comm.rank == 0:
            try:
                meta = {
                    "script": str(script.resolve()),
                    "sha256": _sha256(script),
                    "bytes": target.stat().st_size,
                }
                _write_atomic(record, json.dumps({**meta, "cells": cells}, indent=1) + "\n")
            except OSError as exc:
                error = f"could not write {record}: {_one_line(exc)}"
        error = comm.bcast(error, root=0)
        if error is not None:
            raise MeshError(error)
    elif meta.get("cells") != cells:
        raise MeshError(
            f"the mesh cache is corrupt: {target} has {cells} cells, {record} records "
            f"{meta.get('cells')}; delete {target} to regenerate it"
        )
    return tagged


def _cached_record(script: Path, target: Path, record: Path) -> dict[str, Any] | None:
    """The record of an up-to-date cached ``target``, or ``None`` after (re)generating it."""
    sha = _sha256(script)
    try:
        meta = json.loads(record.read_text())
    except (OSError, ValueError):
        meta = None
    if isinstance(meta, dict) and meta.get("sha256") == sha and target.is_file():
        size = target.stat().st_size
        if meta.get("bytes") != size:
            raise MeshError(
                f"the mesh cache is corrupt: {target} has {size} bytes, {record} records "
                f"{meta.get('bytes')}; delete {target} to regenerate it"
            )
        return meta
    _generate(script, target, record)
    return None


def _generate(script: Path, target: Path, record: Path) -> None:
    """Run ``script --out`` into a temporary file of the cache and rename it to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    record.unlink(missing_ok=True)  # a record never describes a file it was not written for
    tmp = target.with_name(f".{target.stem}-{os.getpid()}-{os.urandom(4).hex()}.msh")  # gmsh needs .msh
    try:
        run = subprocess.run(
            [sys.executable, str(script), "--out", str(tmp)], capture_output=True, text=True, check=False
        )
        if run.returncode != 0:
            lines = [line.strip() for line in (run.stderr + run.stdout).splitlines() if line.strip()]
            why = lines[-1] if lines else "no output"
            raise MeshError(f"generating {target.name} with {script} failed (exit {run.returncode}): {why}")
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise MeshError(f"{script} wrote nothing to its --out file: cannot generate {target.name}")
        tmp.replace(target)  # atomic: a killed run never leaves a half-written target
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.stem}-{os.getpid()}-{os.urandom(4).hex()}{path.suffix}")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, MeshError) else f"{type(exc).__name__}: {text}"


def exterior_facets(tagged: TaggedMesh) -> tuple[Array, npt.NDArray[np.int32], Array]:
    """Exterior facets of a (distributed) mesh on every rank: vertices (nf, d, d), tags (nf,), cell centroids.

    Collective on the mesh's communicator. Untagged exterior facets get tag −1. Each facet's vertices
    are sorted lexicographically, the normal is oriented away from its cell's centroid, and the facets
    are sorted and de-duplicated, so the result does not depend on the partition.
    """
    msh = tagged.mesh
    d = msh.geometry.dim
    tdim = msh.topology.dim
    fdim = tdim - 1
    msh.topology.create_connectivity(fdim, tdim)
    facets = dolfinx.mesh.exterior_facet_indices(msh.topology)
    facets = facets[facets < msh.topology.index_map(fdim).size_local]
    tag_of = np.full(msh.topology.index_map(fdim).size_local + msh.topology.index_map(fdim).num_ghosts, -1)
    tag_of[tagged.facet_tags.indices] = tagged.facet_tags.values
    x = msh.geometry.x[:, :d]
    verts = x[dolfinx.mesh.entities_to_geometry(msh, fdim, facets)]
    f2c = msh.topology.connectivity(fdim, tdim)
    cells = f2c.array[f2c.offsets[facets]]
    centroid = x[dolfinx.mesh.entities_to_geometry(msh, tdim, cells)].mean(axis=1)
    parts = msh.comm.allgather((verts, centroid, tag_of[facets].astype(np.int32)))
    verts = np.concatenate([p[0] for p in parts]).reshape(-1, d, d)
    centroid = np.concatenate([p[1] for p in parts]).reshape(-1, d)
    tags = np.concatenate([p[2] for p in parts])
    # canonical order: vertices within a facet, then facets
    order = np.lexsort(verts.transpose(2, 0, 1)[::-1], axis=-1)
    verts = np.take_along_axis(verts, order[:, :, None], axis=1)
    flat = verts.reshape(len(verts), -1)
    _, keep = np.unique(flat, axis=0, return_index=True)  # lexicographic order of the rows
    return verts[keep], tags[keep], centroid[keep]
