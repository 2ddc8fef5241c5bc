r"""Distances of a density from the stationary one: relative entropy, L¹ and χ² (MPI-reduced).

For P1 densities ρ_h, ρ∞_h with nodal values :math:`\rho_i`, :math:`\rho_{\infty,i}` each integral is
the lumped-mass (vertex) quadrature
:math:`\int f(\rho, \rho_\infty) \approx \sum_i m_i f(\rho_i, \rho_{\infty,i})`, :math:`m_i = \int\phi_i`,
summed over the owned nodes and all ranks:

.. math::  H(\rho|\rho_\infty) = \sum_i m_i\Big(\rho_i\log\frac{\rho_i}{\rho_{\infty,i}} - \rho_i
           + \rho_{\infty,i}\Big),\qquad
           \|\rho-\rho_\infty\|_1 = \sum_i m_i|\rho_i - \rho_{\infty,i}|,\qquad
           \chi^2(\rho|\rho_\infty) = \sum_i m_i\frac{(\rho_i-\rho_{\infty,i})^2}{\rho_{\infty,i}} .

The terms :math:`-\rho + \rho_\infty` integrate to ∫ρ − ∫ρ∞ = 0 for two densities of mass 1, so this is
:math:`\int\rho\log(\rho/\rho_\infty)`; written so, every node's term is ≥ 0 (H ≥ 0 by construction) and
of second order in ρ − ρ∞: the plain sum carries ∫(ρ − ρ∞), round-off of about 1e-14 that would
swamp H once it is small (1e-6 at the end of a relaxation: a relative error of 1e-8, partition
dependent).

Why this rule: it is exact for the mass (:math:`\sum_im_i\rho_i = \int\rho_h`), each sum is an
f-divergence :math:`\sum_i y_i f(x_i/y_i)` of the node masses :math:`x_i = m_i\rho_i`,
:math:`y_i = m_i\rho_{\infty,i}` (f convex, f(1) = 0: :math:`u\log u - u + 1`, :math:`|u - 1|`,
:math:`(u - 1)^2`), and one backward Euler
step of an M-matrix scheme with lumped mass (``upwind``, linear ``eafe``) maps node masses by a column-
stochastic non-negative matrix :math:`M_L(M_L + \Delta tA_L)^{-1}` that fixes :math:`M_L\rho_\infty`: by
the data-processing inequality all three are then non-increasing in time, exactly.

Floors: a node with :math:`\rho_i \le 0` (Galerkin densities dip below 0) adds
:math:`\rho_{\infty,i} - \rho_i` to H (the limit :math:`0\log 0 = 0`, continued linearly), and
:math:`\rho_{\infty,i}` is raised to :data:`FLOOR` ``· max ρ∞`` in H (in the logarithm and the linear
term, so that every term stays ≥ 0) and in the denominator of χ². Where ρ∞ is that small its nodal
values are round-off of the solves (about 1e-16·max ρ∞), which would otherwise turn differences of
round-off into arbitrarily large χ² terms. The floor changes only nodes with ρ∞ < 1e-12·max ρ∞ (beyond
7.4 standard deviations of a Gaussian): there it caps the log ratio, and where ρ is as small it adds at
most 1e-12·max ρ∞ per unit volume to H (H(ρ∞|ρ∞) is not 0 but below that times the volume).
"""

from __future__ import annotations

import numpy as np

import dolfinx
from mpi4py import MPI

from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError

__all__ = ["FLOOR", "chi_squared", "l1_distance", "relative_entropy"]

#: ρ∞ is floored at FLOOR·max ρ∞ in the denominators of H and χ² (module docstring).
FLOOR = 1e-12


def relative_entropy(disc: Discretisation, rho: dolfinx.fem.Function, rho_inf: dolfinx.fem.Function) -> float:
    r""":math:`H(\rho|\rho_\infty) = \int\rho\log(\rho/\rho_\infty)` by vertex quadrature (see the module)."""
    m, r, q = _nodal(disc, rho, rho_inf)
    pos = r > 0
    terms = q - r
    terms[pos] += r[pos] * np.log(r[pos] / q[pos])
    return _sum(disc, m * terms)


def l1_distance(disc: Discretisation, rho: dolfinx.fem.Function, rho_inf: dolfinx.fem.Function) -> float:
    r""":math:`\int|\rho - \rho_\infty|` by vertex quadrature (twice the total-variation distance)."""
    m, r, _ = _nodal(disc, rho, rho_inf)
    return _sum(disc, m * np.abs(r - _owned(disc, rho_inf)))


def chi_squared(disc: Discretisation, rho: dolfinx.fem.Function, rho_inf: dolfinx.fem.Function) -> float:
    r""":math:`\chi^2(\rho|\rho_\infty) = \int(\rho - \rho_\infty)^2/\rho_\infty` by vertex quadrature."""
    m, r, q = _nodal(disc, rho, rho_inf)
    return _sum(disc, m * (r - _owned(disc, rho_inf)) ** 2 / q)


def _owned(disc: Discretisation, f: dolfinx.fem.Function) -> np.ndarray:
    return f.x.array[: disc.V.dofmap.index_map.size_local]


def _nodal(
    disc: Discretisation, rho: dolfinx.fem.Function, rho_inf: dolfinx.fem.Function
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Owned lumped masses m_i, ρ_i and the floored ρ∞_i (P1 only: m_i > 0 is the vertex rule)."""
    if disc.degree != 1:
        raise ProblemError(
            f"relative entropy and distances use the vertex quadrature of P1; degree {disc.degree} has "
            "lumped masses of either sign"
        )
    m = disc.lumped.getArray(readonly=True)[: disc.V.dofmap.index_map.size_local]
    q = np.maximum(_owned(disc, rho_inf), FLOOR * disc.maximum(rho_inf))
    return m, _owned(disc, rho), q


def _sum(disc: Discretisation, local: np.ndarray) -> float:
    return float(disc.comm.allreduce(float(local.sum()), op=MPI.SUM))
