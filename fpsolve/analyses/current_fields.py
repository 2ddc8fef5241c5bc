r"""Diagnostics of a stationary probability current :math:`J_\infty = \beta\rho_\infty - K\nabla\rho_\infty`.

Broken detailed balance (docs/theory.md §2, §3): for a stationary density the current is divergence free,
:math:`\nabla\cdot J_\infty = 0`, and vanishes identically iff the process is reversible. This module
measures, from the finite-element ρ_h and the recovered current J_h of
:meth:`~fpsolve.discretisation.operators.Discretisation.current` (continuous P1 vectors):

* :func:`divergence_index` — :math:`\|\nabla\cdot J_h\|_{L^2}/\|\nabla\cdot(\beta\rho_h)\|_{L^2}`
  (O(h) consistency check; the weak divergence is zero to solver round-off by construction);
* :func:`detailed_balance_index` — :math:`\|J_h\|_{L^2}/\|K\nabla\rho_h\|_{L^2}` (0 iff reversible);
* :func:`circulation` — :math:`\oint J\cdot t\,dl` and :math:`\oint J\cdot n\,dl` on closed polygons,
  J sampled by parallel point evaluation (:func:`sample`);
* :func:`entropy_production` — :math:`\int J\cdot K^+J/\rho\,dx` (K⁺ the Moore–Penrose pseudo-inverse,
  so for degenerate K only the part of J in range K counts);
* :func:`modified_loss` — :math:`\Psi = -\varepsilon^2\log(\rho_\infty/\max\rho_\infty)` and the
  transverse drift :math:`j = J_\infty/\rho_\infty = \beta + Q\nabla\Psi` through
  :func:`transverse_index` (:math:`j\cdot\nabla\Psi = 0` in the linear case);
* :func:`fit_modified_loss`, :func:`fit_kwon_matrix` — the Kwon matrices recovered from the FE
  solution: a ρ-weighted least-squares quadratic :math:`\Psi \approx \frac12 x^TUx - u^Tx + c` and the
  antisymmetric :math:`Q_K` minimising :math:`\int |J_h + Q_K\nabla\Psi\,\rho_h|^2`.

Integrals of nodal quantities use the vertex quadrature :math:`\int f \approx \sum_i m_i f(x_i)`
(lumped mass :math:`m_i = \int\phi_i`, second order on P1 meshes), over owned nodes and summed over
ranks, so the results do not depend on the partition beyond round-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

import dolfinx
import ufl
from mpi4py import MPI

from fpsolve.discretisation.functionals import integral
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.points import point_values

Array = npt.NDArray[np.float64]

#: Nodes with ρ below this fraction of max ρ are left out of the quantities that divide by ρ (entropy
#: production, Ψ fit): there ρ_h is at the level of the discretisation error and J/ρ is noise.
RHO_FLOOR = 1e-8


@dataclass(frozen=True)
class NodalFields:
    """Owned nodal values of the stationary fields: coordinates, lumped masses, ρ, J and ∇ρ (recovered)."""

    x: Array  # (n, d)
    m: Array  # (n,)
    rho: Array  # (n,)
    J: Array  # (n, d)
    grad: Array  # (n, d)
    comm: MPI.Comm

    def sum(self, values: Array) -> Array:
        r""":math:`\sum_i m_i v_i` over all ranks (``values`` has the node axis first)."""
        local = np.tensordot(self.m, values, axes=(0, 0))
        return np.asarray(self.comm.allreduce(local, op=MPI.SUM))


def nodal_fields(disc: Discretisation, rho: dolfinx.fem.Function, J: dolfinx.fem.Function) -> NodalFields:
    """Collect the owned nodal values of ρ_h, J_h and the recovered gradient of ρ_h (P1)."""
    d = disc.problem.dim
    n = disc.V.dofmap.index_map.size_local
    G = disc.recovered_gradient(rho)
    return NodalFields(
        x=disc.V.tabulate_dof_coordinates()[:n, :d].copy(),
        m=disc.lumped.array[:n].copy(),
        rho=rho.x.array[:n].copy(),
        J=J.x.array.reshape(-1, d)[:n].copy(),
        grad=G.x.array.reshape(-1, d)[:n].copy(),
        comm=disc.comm,
    )


def divergence_index(disc: Discretisation, rho: dolfinx.fem.Function, J: dolfinx.fem.Function) -> float:
    r""":math:`\|\nabla\cdot J_h\|_{L^2} / \|\nabla\cdot(\beta\rho_h)\|_{L^2}` (cellwise divergence)."""
    num = integral(ufl.div(J) ** 2, disc.msh)
    den = integral(ufl.div(disc.beta * rho) ** 2, disc.msh)
    return float(np.sqrt(num / den))


def detailed_balance_index(disc: Discretisation, rho: dolfinx.fem.Function, J: dolfinx.fem.Function) -> float:
    r""":math:`\|J_h\|_{L^2} / \|K\nabla\rho_h\|_{L^2}`: zero iff detailed balance holds."""
    flux = disc.K * ufl.grad(rho) if disc.problem.dim > 1 else disc.K * rho.dx(0)
    return float(np.sqrt(integral(ufl.inner(J, J), disc.msh) / integral(ufl.inner(flux, flux), disc.msh)))


def entropy_production(disc: Discretisation, f: NodalFields) -> float:
    r""":math:`\int J\cdot K^+J/\rho\,dx` by vertex quadrature; K⁺ the pseudo-inverse of ε²Q(x_i).

    Nodes with :math:`\rho_i \le` ``RHO_FLOOR``·max ρ are skipped (their contribution to the exact
    integral is below 1e-6 relative for Gaussian tails).
    """
    K = disc.problem.eps2 * np.moveaxis(disc.problem.numpy("Q")(f.x.T.copy()), -1, 0)  # (n, d, d)
    Kp = np.linalg.pinv(K, hermitian=True) if len(K) else K
    keep = f.rho > RHO_FLOOR * _max(f.rho, f.comm)
    vals = np.zeros_like(f.rho)
    Jk = f.J[keep]
    vals[keep] = np.einsum("ni,nij,nj->n", Jk, Kp[keep], Jk) / f.rho[keep]
    return float(f.sum(vals))


def transverse_index(f: NodalFields) -> float:
    r"""Size of :math:`j\cdot\nabla\Psi` against :math:`|j||\nabla\Psi|`, weighted by :math:`\rho^4`.

    With :math:`j = J/\rho` and :math:`\nabla\Psi = -\varepsilon^2\nabla\rho/\rho`:
    :math:`\big(\sum_i m_i (J_i\cdot G_i)^2 / \sum_i m_i |J_i|^2|G_i|^2\big)^{1/2}` (G the recovered
    gradient of ρ_h), a weighted |cos| of the angle between the current and the level sets of Ψ;
    0 for a linear drift (Kwon: :math:`j = -Q_K\nabla\Psi`).
    """
    dot = np.einsum("ni,ni->n", f.J, f.grad)
    norms = np.einsum("ni,ni->n", f.J, f.J) * np.einsum("ni,ni->n", f.grad, f.grad)
    return float(np.sqrt(f.sum(dot**2) / f.sum(norms)))


def modified_loss(eps2: float, rho: Array, comm: MPI.Comm) -> Array:
    r"""Nodal :math:`\Psi = -\varepsilon^2\log(\rho/\max\rho)` (min Ψ = 0; ρ ≤ 0 gives +inf)."""
    rmax = _max(rho, comm)
    with np.errstate(divide="ignore"):
        return -eps2 * np.log(np.clip(rho, 0.0, None) / rmax)


def fit_modified_loss(eps2: float, f: NodalFields) -> tuple[Array, Array, float]:
    r"""Weighted least squares :math:`\Psi_h \approx \tfrac12 x^TUx - u^Tx + c` (weights :math:`m_i\rho_i`).

    Returns ``(U, u, c)``; for a Gaussian ρ_h = N(μ, Σ), :math:`U = \varepsilon^2\Sigma^{-1}`,
    :math:`u = U\mu`. Nodes below ``RHO_FLOOR``·max ρ are left out.
    """
    d = f.x.shape[1]
    psi = modified_loss(eps2, f.rho, f.comm)
    keep = f.rho > RHO_FLOOR * _max(f.rho, f.comm)
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    # basis: ½x_i² (i=j) or x_i x_j (i<j) for U_ij, then −x_i for u_i, then 1 for c
    cols = [0.5 * f.x[:, i] ** 2 if i == j else f.x[:, i] * f.x[:, j] for i, j in pairs]
    cols += [-f.x[:, i] for i in range(d)] + [np.ones(len(f.x))]
    P = np.stack(cols, axis=1) if len(f.x) else np.zeros((0, len(cols)))
    w = np.where(keep, f.rho, 0.0)
    psi = np.where(keep, psi, 0.0)
    normal = f.sum(w[:, None, None] * P[:, :, None] * P[:, None, :])
    rhs = f.sum(w[:, None] * P * psi[:, None])
    coef = np.linalg.solve(normal, rhs)
    U = np.zeros((d, d))
    for k, (i, j) in enumerate(pairs):
        U[i, j] = U[j, i] = coef[k]
    return U, coef[len(pairs) : len(pairs) + d], float(coef[-1])


def fit_kwon_matrix(f: NodalFields, U: Array, u: Array) -> Array:
    r"""Antisymmetric :math:`Q_K` minimising :math:`\sum_i m_i |J_i + Q_K (Ux_i - u)\rho_i|^2`.

    (:math:`\nabla\Psi = Ux - u` from :func:`fit_modified_loss`; :math:`J = -Q_K\nabla\Psi\,\rho` is the
    Kwon form of the stationary current; in 1-D Q_K = 0.)
    """
    d = f.x.shape[1]
    if d == 1:
        return np.zeros((1, 1))
    g = (f.x @ U.T - u) * f.rho[:, None]  # (n, d)
    basis = []
    for i in range(d):
        for j in range(i + 1, d):
            E = np.zeros((d, d))
            E[i, j], E[j, i] = 1.0, -1.0
            basis.append(E)
    cols = np.stack([-(g @ E.T) for E in basis], axis=1)  # (n, k, d)
    normal = f.sum(np.einsum("nad,nbd->nab", cols, cols))
    rhs = f.sum(np.einsum("nad,nd->na", cols, f.J))
    coef = np.linalg.solve(normal, rhs)
    return sum((c * E for c, E in zip(coef, basis, strict=True)), np.zeros((d, d)))


def circulation(J: dolfinx.fem.Function, curve: Array) -> tuple[float, float, float]:
    r"""Closed 2-D polygon ``curve`` (m, 2), counter-clockwise, equally spaced in a smooth parameter.

    Returns :math:`(\oint J\cdot t\,dl,\ \oint J\cdot n\,dl,\ \oint |J|\,dl)` with the periodic
    trapezoidal rule :math:`\oint J\cdot dx \approx \sum_k J(x_k)\cdot(x_{k+1}-x_{k-1})/2` (spectrally
    accurate for smooth periodic parametrisations), n the outward normal.
    """
    values = point_values(J, curve, np.nan)
    dx = 0.5 * (np.roll(curve, -1, axis=0) - np.roll(curve, 1, axis=0))
    normal = np.stack([dx[:, 1], -dx[:, 0]], axis=1)
    length = np.linalg.norm(dx, axis=1)
    return (
        float(np.sum(values * dx)),
        float(np.sum(values * normal)),
        float(np.sum(np.linalg.norm(values, axis=1) * length)),
    )


def level_curve(U: Array, mu: Array, level: float, points: int = 400) -> Array:
    r"""Ellipse :math:`\tfrac12 (x-\mu)^TU(x-\mu) = ` ``level``, counter-clockwise, ``points`` nodes."""
    L = np.linalg.cholesky(np.linalg.inv(U))
    t = 2 * np.pi * np.arange(points) / points
    return mu + (np.sqrt(2 * level) * L @ np.vstack([np.cos(t), np.sin(t)])).T


def current_scales(
    disc: Discretisation, rho: dolfinx.fem.Function, J: dolfinx.fem.Function
) -> dict[str, float]:
    r"""Nodal maxima :math:`\max|J_h|` and :math:`\max|\beta\rho_h|` (the drift flux).

    Under detailed balance the two parts of :math:`J = \beta\rho - K\nabla\rho` cancel, so a current
    is judged against the drift flux it is a difference of: figures draw |J| on that scale, where a
    pure discretisation current (|J_h| a few % of |βρ_h|) shows as nearly nothing.
    """
    W = J.function_space
    drift = disc.drift_flux(rho)
    n, bs = W.dofmap.index_map.size_local, W.dofmap.index_map_bs
    norms = [np.linalg.norm(f.x.array[: n * bs].reshape(n, bs), axis=1) for f in (J, drift)]
    return {"max_abs_J": _max(norms[0], disc.comm), "max_drift_flux": _max(norms[1], disc.comm)}


def _max(values: Array, comm: MPI.Comm) -> float:
    return float(comm.allreduce(values.max(initial=-np.inf), op=MPI.MAX))


def kwon_from_fields(disc: Discretisation, f: NodalFields) -> dict[str, Any]:
    """Recovered Kwon data: ``U``, ``u``, ``mu = U⁻¹u`` and ``Q_K`` (in the units of Q: Ψ = −ε² log ρ)."""
    U, u, _ = fit_modified_loss(disc.problem.eps2, f)
    return {"U": U, "u": u, "mu": np.linalg.solve(U, u), "Q_K": fit_kwon_matrix(f, U, u)}
