r"""Field time series: one XDMF/HDF5 pair per analysis, every field at every time (ParaView, pyvista).

An analysis' fields (ρ, J, T, …) go to ``<kind>.h5`` (written collectively by
:class:`dolfinx.io.XDMFFile`: every rank writes the nodes it owns, so no point appears twice) and the
index ``<kind>.xdmf``. dolfinx's own index (XDMF 3, one ``xi:include`` per function) makes the XDMF
reader of the VTK library that the pyvista wheel ships crash, so rank 0 rewrites it as XDMF 2: one
temporal collection whose grid at each time carries the mesh and *all* fields of that time. ParaView
("XDMF Reader") and ``pyvista.get_reader`` then see every time step with ρ and J side by side
(README, "Reading the outputs").

XDMF stores nodal values on the mesh geometry, so a field of another space (P2 ρ, a DG quantity) is
written as its interpolant onto the Lagrange space of the geometry's degree (P1 on the usual affine
meshes): the file holds the vertex values, not the higher-order function.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import basix.ufl
import dolfinx
import dolfinx.io
from mpi4py import MPI

__all__ = ["read_series", "write_series"]


def write_series(
    path: Path, series: Sequence[tuple[str, Sequence[tuple[float, dolfinx.fem.Function]]]], comm: MPI.Comm
) -> str:
    """Write named fields over time to ``path`` (``.xdmf``) and its ``.h5``; returns the index's name.

    Parameters
    ----------
    path
        The index file ``<dir>/<kind>.xdmf``; the data go to ``<dir>/<kind>.h5``.
    series
        ``(name, [(t, function), ...])`` per field; all functions live on one mesh. Fields may be
        recorded at different times: each time's grid carries the fields that have a value there.
    comm
        The mesh's communicator (collective).
    """
    path = Path(path)
    msh = series[0][1][0][1].function_space.mesh
    with dolfinx.io.XDMFFile(comm, path, "w") as xdmf:
        xdmf.write_mesh(msh)
        for name, frames in series:
            for t, f in frames:
                xdmf.write_function(_on_geometry(f, name), float(t))
    if comm.rank == 0:
        _reindex(path, msh.geometry.x.dtype.itemsize)
    comm.Barrier()
    return path.name


def _on_geometry(f: dolfinx.fem.Function, name: str) -> dolfinx.fem.Function:
    """``f`` named ``name``, interpolated onto Lagrange of the geometry's degree where it lives elsewhere."""
    msh = f.function_space.mesh
    element = f.function_space.ufl_element()
    degree = msh.geometry.cmaps[0].degree
    shape = f.function_space.value_shape
    if (
        element.family_name in ("P", "Q")
        and element.embedded_superdegree == degree
        and not element.discontinuous
    ):
        g = f
    else:
        target = basix.ufl.element("Lagrange", msh.basix_cell(), degree, shape=tuple(shape) or None)
        g = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, target))
        g.interpolate(f)
    out = g.copy() if g is f else g
    out.name = name
    return out


def _reindex(path: Path, itemsize: int) -> None:
    """Rewrite dolfinx's XDMF 3 index ``path`` as one XDMF 2 temporal collection (see the module doc)."""
    domain = ET.parse(path).getroot().find("Domain")
    assert domain is not None
    mesh = domain.find("Grid[@GridType='Uniform']")
    assert mesh is not None
    topology, geometry = mesh.find("Topology"), mesh.find("Geometry")
    steps: dict[str, list[ET.Element]] = {}
    for collection in domain.findall("Grid[@GridType='Collection']"):
        for grid in collection.findall("Grid"):
            time = grid.find("Time")
            assert time is not None
            steps.setdefault(time.get("Value", "0"), []).extend(grid.findall("Attribute"))
    root = ET.Element("Xdmf", Version="2.0")
    series = ET.SubElement(
        ET.SubElement(root, "Domain"), "Grid", Name="fields", GridType="Collection", CollectionType="Temporal"
    )
    for t in sorted(steps, key=float):
        grid = ET.SubElement(series, "Grid", Name=f"t={t}", GridType="Uniform")
        ET.SubElement(grid, "Time", Value=t)
        grid.extend([topology, geometry, *steps[t]])  # type: ignore[list-item]
    for item in root.iter("DataItem"):  # XDMF 2 reads an unlabelled Float as 4 bytes
        if item.get("NumberType", "Float") == "Float":
            item.set("NumberType", "Float")
            item.set("Precision", str(itemsize))
    ET.ElementTree(root).write(path, xml_declaration=True, encoding="utf-8")


def read_series(path: Path) -> list[tuple[float, Any]]:
    """``(t, pyvista.UnstructuredGrid)`` for every time of a :func:`write_series` file (serial, rank 0)."""
    import pyvista

    reader = pyvista.get_reader(str(path))
    frames = []
    for t in reader.time_values or [0.0]:
        if reader.time_values:
            reader.set_active_time_value(t)
        grid = reader.read()
        if isinstance(grid, pyvista.MultiBlock):
            grid = grid.combine()
        frames.append((float(t), grid))
    return frames
