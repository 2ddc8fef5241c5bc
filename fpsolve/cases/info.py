r"""``fpsolve info``: what a case defines, and how hard it is to discretise.

Reports the parsed problem, mesh size, the PSD check of Q at the mesh nodes with its numerical rank,
and the cell Péclet number :math:`\mathrm{Pe}_T = |\beta|h_T/(2k_\beta)`,
:math:`k_\beta = \beta^TK\beta/|\beta|^2` (diffusion along the streamline, docs/numerics.md) at cell
midpoints: ``Pe > 1`` is where plain Galerkin oscillates; ``k_β = 0`` (degenerate Q along β) is
reported as infinite.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import dolfinx
from mpi4py import MPI

from fpsolve.analyses.transient import check_initial_values
from fpsolve.cases.schema import Case
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import check_coefficients
from fpsolve.errors import ProblemError


def case_info(case: Case, comm: MPI.Comm = MPI.COMM_WORLD) -> dict[str, Any]:
    """Build the mesh and evaluate Q, β at nodes and cell midpoints; returns a report dictionary."""
    p = case.problem
    tm = build_mesh(p.domain, comm)
    msh = tm.mesh
    tdim = msh.topology.dim
    V = dolfinx.fem.functionspace(msh, ("Lagrange", case.degree))
    nodes = V.tabulate_dof_coordinates()[: V.dofmap.index_map.size_local, : p.dim].T.copy()
    rank = check_coefficients(p, nodes, comm)
    ncells = msh.topology.index_map(tdim).size_local
    cells = np.arange(ncells, dtype=np.int32)
    h = msh.h(tdim, cells)
    mid = dolfinx.mesh.compute_midpoints(msh, tdim, cells)[:, : p.dim].T.copy()
    check_coefficients(p, mid, comm)  # midpoints too: the Péclet numbers below need finite values
    if p.initial is not None:
        check_initial_density(p, nodes, comm)
    beta = p.numpy("beta")(mid)[:, 0, :] if ncells else np.zeros((p.dim, 0))
    K = p.eps2 * p.numpy("Q")(mid) if ncells else np.zeros((p.dim, p.dim, 0))
    speed = np.linalg.norm(beta, axis=0)
    k_beta = np.einsum("in,ijn,jn->n", beta, K, beta) / np.maximum(speed, 1e-300) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        pe = np.where(
            k_beta > 1e-14 * max(1.0, float(np.abs(K).max(initial=0))), speed * h / (2 * k_beta), np.inf
        )
    pe = np.where(speed > 0, pe, 0.0)
    all_pe = np.concatenate(comm.allgather(pe))
    finite = all_pe[np.isfinite(all_pe)]
    return {
        "case": case.name,
        "dimension": p.dim,
        "loss": str(p.loss) if p.loss is not None else None,
        "drift": [str(e) for e in p.drift_field],
        "Q": [[str(e) for e in row] for row in p.Q.tolist()],
        "eps2": p.eps2,
        "beta": [str(e) for e in p.beta],
        "domain": type(p.domain).__name__,
        "boundary_parts": {name: ("absorbing" if name in p.absorbing else "reflecting") for name in tm.parts},
        "cells": msh.topology.index_map(tdim).size_global,
        "dofs": V.dofmap.index_map.size_global,
        "h_max": comm.allreduce(float(h.max(initial=0)), op=MPI.MAX),
        "Q_psd_at_nodes_and_midpoints": True,
        "rank_Q_max": int(rank),
        "peclet_max_finite": float(finite.max(initial=0.0)),
        "peclet_median": float(np.median(finite)) if finite.size else 0.0,
        "cells_peclet_above_1": int((all_pe > 1).sum()),
        "cells_degenerate_along_beta": int(np.isinf(all_pe).sum()),
        "scheme": case.scheme,
        "analyses": [a.kind for a in case.analyses],
    }


def check_initial_density(problem: Any, nodes: np.ndarray, comm: MPI.Comm) -> None:
    """ρ₀ finite and ≥ 0 at the nodes, and not 0 at all of them (collective; the runs check its mass)."""
    with np.errstate(all="ignore"):
        values = problem.numpy("initial")(nodes) if nodes.size else np.zeros(0)
    if not check_initial_values(values, nodes.T, comm) > 0:
        raise ProblemError(
            "the initial density is 0 at every node: it lies outside the domain or is too narrow"
        )
