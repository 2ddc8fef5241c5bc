"""Values of finite-element functions at given points (one rule for all callers), nodal values on rank 0."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

import dolfinx
import dolfinx.geometry
from mpi4py import MPI

from fpsolve.errors import FpsolveError

Array = npt.NDArray[np.float64]
#: bounding-box padding, relative to the mesh extent (points on cell faces and the boundary are found)
PADDING = 1e-10


def point_values(
    u: dolfinx.fem.Function, points: Sequence[Sequence[float]] | Array, outside: float | None = None
) -> Array:
    """``u`` at each point, the same array on every rank (collective): shape (n,), or (n, bs) for vectors.

    One rule for every caller: the points are located with
    :func:`dolfinx.geometry.determine_point_ownership` (one owning rank per point, bounding boxes padded
    by :data:`PADDING` times the mesh extent so that points on cell faces are found), the owner evaluates
    ``u`` in its cell and the values are gathered on rank 0 and broadcast. A point outside the mesh is
    an error, or gets the value ``outside`` when one is given (e.g. ``np.nan``).
    """
    msh = u.function_space.mesh
    comm = msh.comm
    gdim = msh.geometry.dim
    pts = np.asarray(points, dtype=float).reshape(-1, gdim)
    p3 = np.zeros((len(pts), 3))
    p3[:, :gdim] = pts
    x = msh.geometry.x
    extent = comm.allreduce(float(np.ptp(x, axis=0).max()) if len(x) else 0.0, op=MPI.MAX)
    data = dolfinx.geometry.determine_point_ownership(
        msh, p3 if comm.rank == 0 else np.zeros((0, 3)), PADDING * extent
    )
    bs = u.function_space.dofmap.index_map_bs
    cells = np.asarray(data.dest_cells, dtype=np.int32)
    mine = np.asarray(data.dest_owner) == 0
    values = np.zeros((0, bs))
    if mine.any():
        values = u.eval(np.asarray(data.dest_points).reshape(-1, 3)[mine], cells[mine]).reshape(-1, bs)
    gathered = comm.gather(values, root=0)
    out = None
    if comm.rank == 0:
        assert gathered is not None
        owner = np.asarray(data.src_owner)
        out = np.full((len(pts), bs), np.nan)
        for rank, vals in enumerate(gathered):
            out[np.flatnonzero(owner == rank)] = vals
        missing = owner < 0
        if missing.any() and outside is None:
            out = f"point {pts[missing][0].tolist()} is outside the mesh"
        elif missing.any():
            out[missing] = outside
    out = comm.bcast(out, root=0)
    if isinstance(out, str):
        raise FpsolveError(out)
    return out[:, 0] if bs == 1 else out


def gather_nodal(functions: Sequence[dolfinx.fem.Function]) -> tuple[Array, list[Array]] | None:
    """On rank 0: coordinates of the owned P1/P2 nodes of all ranks and the values of each function.

    Returns ``None`` on the other ranks. The functions must share one scalar function space.
    """
    V = functions[0].function_space
    n = V.dofmap.index_map.size_local
    coords = V.tabulate_dof_coordinates()[:n, : V.mesh.geometry.dim]
    comm = V.mesh.comm
    parts = comm.gather((coords, [f.x.array[:n].copy() for f in functions]), root=0)
    if comm.rank != 0:
        return None
    assert parts is not None
    return np.concatenate([p[0] for p in parts]), [
        np.concatenate([p[1][k] for p in parts]) for k in range(len(functions))
    ]
