r"""Fichera classification of boundary facets: which absorbing boundary the process can reach.

For :math:`\mathcal L u = \nabla\cdot(K\nabla u) + \beta\cdot\nabla u` with outward normal n
(docs/theory.md §9; Oleinik & Radkevich 1973):

* :math:`n^TKn > 0`: **noncharacteristic** — diffusion reaches the boundary;
* :math:`n^TKn = 0` and the Fichera function :math:`\mathfrak b = \beta\cdot n > 0`: characteristic,
  **reached** (the drift carries the process out);
* :math:`n^TKn = 0`, :math:`\mathfrak b < 0`: characteristic, **not reached** (no boundary condition may
  be imposed there: a Dirichlet condition creates a spurious boundary layer);
* :math:`n^TKn = 0`, :math:`\mathfrak b = 0`: characteristic, **neutral** (the drift is tangential).

:math:`\beta = -\nabla L - \varepsilon^2\nabla\cdot Q` is the effective drift of the flux form, which is
exactly the Fichera vector :math:`b - \nabla\cdot a`. Each boundary facet is classified at its midpoint;
absorbing (Dirichlet) conditions go on the facets that are noncharacteristic or reached. Zero tests use
the tolerance ``rtol`` relative to the largest :math:`|K|` and :math:`|\beta|` on the boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

import dolfinx
from mpi4py import MPI

from fpsolve.discretisation.mesh import TaggedMesh
from fpsolve.problem.fokker_planck import FokkerPlanckProblem

Array = npt.NDArray[np.float64]

#: Facet classes, in the order of :attr:`FicheraPart.fractions`.
CLASSES = ("noncharacteristic", "reached", "not_reached", "neutral")


@dataclass(frozen=True)
class FicheraPart:
    """Classification of one boundary part: fraction of its measure in each class of :data:`CLASSES`."""

    name: str
    fractions: dict[str, float]

    @property
    def characteristic(self) -> bool:
        """Whether part of it (more than 1e-12 of its measure) is characteristic (:math:`n^TKn = 0`)."""
        return self.fractions["noncharacteristic"] < 1.0 - 1e-12

    @property
    def reachable(self) -> bool:
        """Whether some of it (more than 1e-12 of its measure) can be reached by the process."""
        return self.fractions["noncharacteristic"] + self.fractions["reached"] > 1e-12


def facet_geometry(tagged: TaggedMesh, facets: npt.NDArray[np.int32]) -> tuple[Array, Array, Array]:
    """Midpoints ``(n, gdim)``, unit outward normals ``(n, gdim)`` and measures ``(n,)`` of boundary facets.

    The normal is the part of (facet centroid − cell centroid) orthogonal to the facet.
    """
    msh = tagged.mesh
    tdim = msh.topology.dim
    fdim = tdim - 1
    msh.topology.create_connectivity(fdim, tdim)
    f2c = msh.topology.connectivity(fdim, tdim)
    x = msh.geometry.x
    fnodes = dolfinx.mesh.entities_to_geometry(msh, fdim, facets)
    cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int32)
    cnodes = dolfinx.mesh.entities_to_geometry(msh, tdim, cells)
    fx = x[fnodes]  # (n, vertices of a facet, 3)
    mid = fx.mean(axis=1)
    away = mid - x[cnodes].mean(axis=1)
    span = np.moveaxis(fx[:, 1:] - fx[:, :1], 1, 2)  # (n, 3, nf-1)
    if span.shape[2]:
        gram = np.einsum("nki,nkj->nij", span, span)
        coef = np.linalg.solve(gram, np.einsum("nki,nk->ni", span, away)[..., None])[..., 0]
        normal = away - np.einsum("nki,ni->nk", span, coef)
        measure = np.sqrt(np.abs(np.linalg.det(gram))) / math.factorial(fdim)
    else:
        normal = away
        measure = np.ones(len(facets))
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    gdim = msh.geometry.dim
    return mid[:, :gdim], normal[:, :gdim], measure


def classify_facets(
    problem: FokkerPlanckProblem, tagged: TaggedMesh, facets: npt.NDArray[np.int32], rtol: float = 1e-10
) -> tuple[npt.NDArray[np.int64], Array]:
    """Class index (into :data:`CLASSES`) and measure of each facet (scales agreed over all ranks)."""
    mid, normal, measure = facet_geometry(tagged, facets)
    dim = problem.dim
    pts = mid[:, :dim].T.copy()
    n = normal[:, :dim]
    K = problem.eps2 * problem.numpy("Q")(pts).reshape(dim, dim, -1)
    beta = problem.numpy("beta")(pts).reshape(dim, -1)
    nkn = np.einsum("ck,klc,cl->c", n, K, n)
    fichera = np.einsum("kc,ck->c", beta, n)
    comm = tagged.mesh.comm
    k_scale = comm.allreduce(float(np.abs(K).max(initial=0.0)), op=MPI.MAX) or 1.0
    b_scale = comm.allreduce(float(np.abs(beta).max(initial=0.0)), op=MPI.MAX) or 1.0
    cls = np.full(len(facets), 3, dtype=np.int64)  # neutral
    cls[fichera > rtol * b_scale] = 1
    cls[fichera < -rtol * b_scale] = 2
    cls[nkn > rtol * k_scale] = 0
    return cls, measure


def classify_boundary(
    problem: FokkerPlanckProblem, tagged: TaggedMesh, rtol: float = 1e-10
) -> list[FicheraPart]:
    """Fichera classification of every boundary part of ``tagged`` (measure fractions, all ranks)."""
    msh = tagged.mesh
    fdim = msh.topology.dim - 1
    owned = msh.topology.index_map(fdim).size_local
    out = []
    for name in tagged.parts:
        facets = tagged.facets([name])
        cls, measure = classify_facets(problem, tagged, facets, rtol)
        mine = facets < owned
        sums = np.bincount(cls[mine], weights=measure[mine], minlength=len(CLASSES))
        sums = msh.comm.allreduce(sums, op=MPI.SUM)
        total = float(sums.sum())
        fractions = {c: float(s / total) if total > 0 else 0.0 for c, s in zip(CLASSES, sums, strict=True)}
        out.append(FicheraPart(name, fractions))
    return out


def reachable_facets(
    problem: FokkerPlanckProblem, tagged: TaggedMesh, parts: tuple[str, ...] | list[str], rtol: float = 1e-10
) -> npt.NDArray[np.int32]:
    """Local indices of the facets of ``parts`` that are noncharacteristic or reached (Dirichlet facets)."""
    facets = tagged.facets(list(parts))
    cls, _ = classify_facets(problem, tagged, facets, rtol)
    return facets[cls <= 1]


__all__ = [
    "CLASSES",
    "FicheraPart",
    "classify_boundary",
    "classify_facets",
    "facet_geometry",
    "reachable_facets",
]
