"""Build DOLFINx meshes with tagged boundary parts from :mod:`fpsolve.problem.domain` descriptions.

gmsh runs on rank 0 only and the mesh is distributed with ``dolfinx.io.gmsh.model_to_mesh``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

import dolfinx
import dolfinx.io.gmsh
import dolfinx.mesh
from mpi4py import MPI

from fpsolve.errors import MeshError
from fpsolve.problem.domain import Cuboid, Domain, MeshFile, Sphere

Array = npt.NDArray[np.float64]


@dataclass
class TaggedMesh:
    """A mesh, its boundary facet tags and the map from part name to tag value."""

    mesh: dolfinx.mesh.Mesh
    facet_tags: dolfinx.mesh.MeshTags
    parts: dict[str, int]

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
        return _from_file(Path(domain.path), domain.dim, comm)
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
    if comm.rank == rank:
        gmsh.initialize(interruptible=False)
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
    try:
        data = dolfinx.io.gmsh.model_to_mesh(gmsh.model, comm, rank, gdim=d.dim)
    finally:
        if comm.rank == rank:
            gmsh.finalize()
    return TaggedMesh(data.mesh, data.facet_tags, {"boundary": 1})


def _from_file(path: Path, dim: int, comm: MPI.Comm) -> TaggedMesh:
    if path.suffix != ".msh":
        raise MeshError(f"only gmsh .msh files are supported, got {path}")
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
