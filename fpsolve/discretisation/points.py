"""Values of finite-element functions at given points, and all nodal values gathered on rank 0."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

import dolfinx
import dolfinx.geometry
from mpi4py import MPI

from fpsolve.errors import FpsolveError

Array = npt.NDArray[np.float64]


def point_values(
    u: dolfinx.fem.Function, points: Sequence[Sequence[float]], outside: float | None = None
) -> Array:
    """``u`` at each point (the same array on every rank).

    A point outside the mesh is an error, or gets the value ``outside`` when one is given.

    Each rank evaluates the points that fall in its cells; a point on a partition boundary is found by
    several ranks and the values (equal up to round-off, u is continuous) are averaged.
    """
    msh = u.function_space.mesh
    pts = np.zeros((len(points), 3))
    pts[:, : msh.geometry.dim] = np.asarray(points, float)
    tree = dolfinx.geometry.bb_tree(msh, msh.topology.dim)
    candidates = dolfinx.geometry.compute_collisions_points(tree, pts)
    cells = dolfinx.geometry.compute_colliding_cells(msh, candidates, pts)
    total = np.zeros(len(pts))
    count = np.zeros(len(pts))
    for i in range(len(pts)):
        links = cells.links(i)
        if len(links):
            total[i] = u.eval(pts[i], links[:1])[0]
            count[i] = 1
    total = msh.comm.allreduce(total, op=MPI.SUM)
    count = msh.comm.allreduce(count, op=MPI.SUM)
    missing = count == 0
    if missing.any() and outside is None:
        raise FpsolveError(f"point {np.asarray(points)[missing][0].tolist()} is outside the mesh")
    return np.where(missing, outside if outside is not None else 0.0, total / np.maximum(count, 1))


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
