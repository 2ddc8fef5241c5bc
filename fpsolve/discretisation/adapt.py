r"""Local mesh refinement driven by an a-posteriori indicator of a nodal field (``[mesh.adapt]``).

At small noise the density (or the quasi-stationary distribution) lives in O(ε) neighbourhoods of the
minima: a uniform mesh fine enough there wastes almost all of its cells. One adaptation step

1. takes a nonnegative P1 field :math:`w_h` (the stationary density, or the Gibbs weight
   :math:`e^{-(L - \min L)/\varepsilon^2}`, see :mod:`fpsolve.solvers.mesh_adaptation`);
2. computes the gradient-recovery (Zienkiewicz–Zhu) indicator of its :math:`L^1` error per cell,

   .. math::  \eta_K = \frac{h_K \int_K |G(w_h) - \nabla w_h|\,dx}{\int_\Omega w_h\,dx},

   G the recovered (nodal-average) gradient of
   :meth:`~fpsolve.discretisation.operators.Discretisation.recovered_gradient`: for P1,
   :math:`\|w - w_h\|_{L^1(K)} \lesssim h_K\|\nabla(w - w_h)\|_{L^1(K)}` and :math:`G - \nabla w_h`
   estimates :math:`\nabla(w - w_h)`; the sum :math:`\eta = \sum_K \eta_K` estimates the relative
   :math:`L^1` error;
3. marks the smallest set of cells with :math:`\sum_{\text{marked}} \eta_K \ge \theta\,\eta` (Dörfler
   marking, θ = ``fraction``; the threshold is found by bisection over all ranks, so the marking does
   not depend on the partition);
4. refines the marked cells (edge bisection, ``dolfinx.mesh.refine``; neighbours are refined as far as
   conformity needs) and carries the boundary-part tags over to the new facets.

The mesh is refined, never coarsened: the starting mesh must resolve the problem's geometry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI

from fpsolve.discretisation.mesh import TaggedMesh

__all__ = ["INDICATORS", "AdaptSettings", "dorfler_marking", "error_indicator", "refine_cells"]

Array = npt.NDArray[np.float64]

#: The fields an adaptation can be driven by (see :mod:`fpsolve.solvers.mesh_adaptation`).
INDICATORS = ("density", "gibbs")


@dataclass(frozen=True)
class AdaptSettings:
    r"""The ``[mesh.adapt]`` table.

    Attributes
    ----------
    indicator
        ``"density"`` (the stationary density on the current mesh) or ``"gibbs"``
        (:math:`e^{-(L-\min L)/\varepsilon^2}` at the nodes, no solve; needs a loss).
    steps
        Most refinement steps.
    fraction
        Dörfler's θ: the marked cells carry this share of the estimated error.
    tolerance
        Stop once the estimated relative :math:`L^1` error η is below this.
    max_dofs
        Stop before a step whose mesh would have more degrees of freedom than this (estimated from the
        marked share of cells).
    """

    indicator: str = "density"
    steps: int = 6
    fraction: float = 0.5
    tolerance: float = 0.0
    max_dofs: int = 1_000_000


def error_indicator(w: dolfinx.fem.Function, gradient: dolfinx.fem.Function) -> Array:
    r""":math:`\eta_K = h_K\int_K |G - \nabla w_h|\,dx / \int_\Omega w_h` on the owned cells (module doc)."""
    msh = w.function_space.mesh
    DG0 = dolfinx.fem.functionspace(msh, ("DG", 0))
    v = ufl.TestFunction(DG0)
    h = ufl.CellDiameter(msh)
    diff = gradient - ufl.grad(w)
    dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": 4})
    local = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(h * ufl.sqrt(ufl.inner(diff, diff)) * v * dx))
    total = msh.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(w * dx)), op=MPI.SUM)
    n = msh.topology.index_map(msh.topology.dim).size_local
    eta = local.array[:n].copy() / total
    local.destroy()
    return eta


def dorfler_marking(eta: Array, fraction: float, comm: MPI.Comm) -> npt.NDArray[np.int32]:
    r"""Dörfler marking: the owned cells with :math:`\eta_K \ge t`.

    t is the largest threshold with :math:`\sum_{\eta_K\ge t}\eta_K \ge \theta\sum_K\eta_K`.

    Bisection on t over [0, max η] with global sums (60 halvings: t to 1e-18 of max η), so every rank
    applies the same threshold.
    """
    total = comm.allreduce(float(eta.sum()), op=MPI.SUM)
    lo, hi = 0.0, comm.allreduce(float(eta.max(initial=0.0)), op=MPI.MAX)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if comm.allreduce(float(eta[eta >= mid].sum()), op=MPI.SUM) >= fraction * total:
            lo = mid
        else:
            hi = mid
    return np.flatnonzero(eta >= lo).astype(np.int32)


def refine_cells(tagged: TaggedMesh, cells: npt.NDArray[np.int32]) -> TaggedMesh:
    """``tagged`` with the given owned cells (and what conformity needs) bisected; tags carried over."""
    msh = tagged.mesh
    tdim = msh.topology.dim
    if tdim == 1:
        edges = cells  # in 1-D the cells are the edges
    else:
        msh.topology.create_entities(1)
        msh.topology.create_connectivity(tdim, 1)
        edges = dolfinx.mesh.compute_incident_entities(msh.topology, cells, tdim, 1)
    if tdim == 1:  # dolfinx computes no parent facets in 1-D: the tagged points are found again
        new, _, _ = dolfinx.mesh.refine(msh, edges, option=dolfinx.mesh.RefinementOption.parent_cell)
        return replace(tagged, mesh=new, facet_tags=_point_tags(tagged, new))
    new, parent_cell, parent_facet = dolfinx.mesh.refine(
        msh, edges, option=dolfinx.mesh.RefinementOption.parent_cell_and_facet
    )
    return replace(tagged, mesh=new, facet_tags=_child_facet_tags(tagged, new, parent_cell, parent_facet))


def _point_tags(tagged: TaggedMesh, new: dolfinx.mesh.Mesh) -> dolfinx.mesh.MeshTags:
    """1-D: the tagged boundary points of ``tagged`` (gathered from all ranks) located in ``new``."""
    old = tagged.mesh
    x = dolfinx.mesh.compute_midpoints(old, 0, tagged.facet_tags.indices)[:, 0]
    points = [
        p for part in old.comm.allgather(list(zip(x, tagged.facet_tags.values, strict=True))) for p in part
    ]
    span = float(np.ptp(old.geometry.x[:, 0])) if old.geometry.x.size else 1.0
    indices, values = [], []
    for coordinate, tag in points:
        found = dolfinx.mesh.locate_entities(new, 0, lambda y, c=coordinate: np.abs(y[0] - c) <= 1e-12 * span)
        indices.append(found)
        values.append(np.full(found.size, tag, dtype=np.int32))
    idx, first = np.unique(np.concatenate(indices).astype(np.int32), return_index=True)
    return dolfinx.mesh.meshtags(new, 0, idx, np.concatenate(values)[first])


def _child_facet_tags(
    tagged: TaggedMesh,
    new: dolfinx.mesh.Mesh,
    parent_cell: npt.NDArray[np.int32],
    parent_facet: npt.NDArray[np.int8],
) -> dolfinx.mesh.MeshTags:
    """Boundary tags of the refined mesh: a child facet inside a tagged parent facet gets its tag.

    ``dolfinx.mesh.transfer_meshtag`` refuses ghosted parent meshes (the meshes fpsolve builds), so the
    transfer is done here from the refinement's maps: for the owned child cell created as number c
    (``original_cell_index``, less the rank's offset) and its local facet k, ``parent_facet[c, k]`` is
    the local facet of ``parent_cell[c]`` that contains it (−1: inside the parent cell).
    """
    old, tdim = tagged.mesh, tagged.mesh.topology.dim
    fdim = tdim - 1
    old.topology.create_connectivity(tdim, fdim)
    new.topology.create_entities(fdim)
    new.topology.create_connectivity(tdim, fdim)
    new.topology.create_connectivity(fdim, tdim)
    old_facets = old.topology.index_map(fdim)
    value = np.zeros(old_facets.size_local + old_facets.num_ghosts, dtype=np.int32)
    value[tagged.facet_tags.indices] = tagged.facet_tags.values
    per_cell = tdim + 1  # simplices
    # the maps are in the order the refined cells were created; the mesh renumbered them since
    owned = new.topology.index_map(tdim).size_local
    offset = new.comm.exscan(owned) or 0
    created = np.asarray(new.topology.original_cell_index[:owned], dtype=np.int64) - offset
    local = parent_facet.reshape(-1, per_cell).astype(np.int64)[created]
    old_c2f = old.topology.connectivity(tdim, fdim).array.reshape(-1, per_cell)
    new_c2f = new.topology.connectivity(tdim, fdim).array.reshape(-1, per_cell)
    cells, k = np.nonzero(local >= 0)
    parent = old_c2f[parent_cell[created[cells]], local[cells, k]]
    tag = value[parent]
    keep = tag > 0
    child = new_c2f[cells[keep], k[keep]]
    child, first = np.unique(child, return_index=True)
    return dolfinx.mesh.meshtags(new, fdim, child.astype(np.int32), tag[keep][first])
