r"""Metastable sets from the slow eigenfunctions of the generator (a crisp PCCA; docs/theory.md §7).

A clear gap after the m slowest eigenvalues (λ₀ = 0 among them),

.. math::  \operatorname{Re}\lambda_{m-1} \le r\,\operatorname{Re}\lambda_m ,

means m metastable sets: the generator eigenfunctions ψ₁, …, ψ_{m−1} (:mod:`fpsolve.solvers.spectral`)
are nearly constant on each set and change across the thin regions between them (for m = 2, ψ₁ has
one sign on each well). Every node x is mapped to :math:`\Psi(x) = (\psi_1(x), \dots, \psi_{m-1}(x))`;
these points fill a simplex whose m vertices are picked by the inner-simplex rule of PCCA (Deuflhard &
Weber 2005): the point farthest from the origin (the ρ∞-mean of every ψ_i, i ≥ 1, is 0), then the point
farthest from it, then repeatedly the point farthest from the affine hull of those picked. Candidates
are the nodes where ρ∞ ≥ :data:`BULK` · max ρ∞ (the eigenfunctions are meaningless where ρ∞ is
round-off); every node joins the set of its nearest vertex. The sets are numbered by their vertices
in decreasing lexicographic order of (ψ₁, ψ₂, …), so that the labels do not depend on the partition.

For m = 2 the two-state reduction gives the rates between the sets: with the stationary masses π₁, π₂
and :math:`k_{12} + k_{21} = \lambda_1`, :math:`\pi_1k_{12} = \pi_2k_{21}`,
:math:`k_{12} = \lambda_1\pi_2`, :math:`k_{21} = \lambda_1\pi_1`: mean residence times
:math:`1/(\lambda_1\pi_2)` and :math:`1/(\lambda_1\pi_1)` (for a symmetric double well 2/λ₁, the
Kramers time of §4.2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

import dolfinx
import ufl
from mpi4py import MPI

from fpsolve.discretisation.functionals import integral

__all__ = ["BULK", "metastable_count", "metastable_labels", "residence_times", "set_masses"]

Array = npt.NDArray[np.float64]
#: Vertex candidates: nodes where ρ∞ ≥ BULK · max ρ∞.
BULK = 1e-3
#: Slow eigenvalues must be real to this relative precision (a complex pair is a rotation, not a set).
REAL = 1e-8


def metastable_count(eigenvalues: npt.ArrayLike, ratio: float) -> int | None:
    r"""The smallest m ≥ 2 with :math:`\operatorname{Re}\lambda_{m-1} \le r\,\operatorname{Re}\lambda_m`.

    r is ``ratio``; ``eigenvalues`` are sorted by real part, λ₀ = 0 first. None where no computed gap is
    that clear, or where the slow eigenvalues λ₁ … λ_{m−1} below it are not real.
    """
    lam = np.asarray(eigenvalues, dtype=complex)
    for m in range(2, len(lam)):
        if lam[m - 1].real <= ratio * lam[m].real:
            slow = lam[1:m]
            return m if np.all(np.abs(slow.imag) <= REAL * np.abs(slow)) else None
    return None


def metastable_labels(psi: Array, rho: Array, owned: int, comm: MPI.Comm) -> tuple[Array, Array]:
    """Set labels of the local nodes and the vertices (m, m − 1) of the simplex (collective).

    Parameters
    ----------
    psi
        (n_local, m − 1): ψ₁ … ψ_{m−1} at this rank's nodes (owned first, then ghosts).
    rho
        (n_local,): ρ∞ at the same nodes.
    owned
        Number of owned nodes (candidates are taken among these, so each node counts once).
    comm
        The mesh's communicator.
    """
    top = comm.allreduce(float(rho[:owned].max(initial=-np.inf)), op=MPI.MAX)
    bulk = psi[:owned][rho[:owned] >= BULK * top]
    first, _ = _farthest(bulk, bulk, comm)
    vertices = [first]
    shifted = bulk - first
    for _ in range(psi.shape[1]):
        values, row = _farthest(shifted, bulk, comm)
        vertices.append(values)
        unit = row / max(float(np.linalg.norm(row)), np.finfo(float).tiny)
        shifted -= np.outer(shifted @ unit, unit)  # the directions picked so far are projected out
    ordered = np.array(sorted((tuple(v) for v in vertices), reverse=True))
    distance = np.linalg.norm(psi[:, None, :] - ordered[None, :, :], axis=2)
    return np.argmin(distance, axis=1).astype(float), ordered


def _farthest(shifted: Array, values: Array, comm: MPI.Comm) -> tuple[Array, Array]:
    """The ``values`` and ``shifted`` rows where ``shifted`` is longest over all ranks (ties: lowest rank)."""
    norms = np.linalg.norm(shifted, axis=1)
    k = int(np.argmax(norms)) if len(norms) else -1
    local = (float(norms[k]), values[k].copy(), shifted[k].copy()) if k >= 0 else (-1.0, None, None)
    best = max(comm.allgather(local), key=lambda item: item[0])
    return np.asarray(best[1]), np.asarray(best[2])


def set_masses(
    psi: Sequence[dolfinx.fem.Function], rho: dolfinx.fem.Function, vertices: Array
) -> list[float]:
    r"""Stationary mass :math:`\int_{S_k}\rho_\infty` of each set, :math:`S_k`: Ψ(x) nearest to vertex k.

    The nearest-vertex indicator is evaluated at the quadrature points (degree 3p + 2), so the sets end
    inside cells, not on the nodes' labels.
    """
    msh = rho.function_space.mesh
    v = dolfinx.fem.Constant(msh, np.asarray(vertices, float))
    distance = [sum((f - v[k, i]) ** 2 for i, f in enumerate(psi)) for k in range(len(vertices))]
    degree = 3 * rho.function_space.ufl_element().embedded_superdegree + 2
    masses = []
    for k, d in enumerate(distance):
        inside = 1.0
        for j, other in enumerate(distance):
            if j != k:
                inside = inside * ufl.conditional(ufl.le(d, other), 1.0, 0.0)
        masses.append(integral(inside * rho, msh, degree))
    return masses


def residence_times(gap: float, masses: npt.ArrayLike) -> list[float]:
    r"""Mean residence times :math:`1/(\lambda_1\pi_2)`, :math:`1/(\lambda_1\pi_1)` of two metastable sets."""
    p1, p2 = (float(p) for p in masses)
    return [1.0 / (gap * p2), 1.0 / (gap * p1)]
