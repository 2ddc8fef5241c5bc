r"""Global integrals, errors, point values and convergence rates of finite-element fields (MPI-reduced)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import dolfinx
import dolfinx.geometry
import ufl
from mpi4py import MPI

from fpsolve.discretisation.symbolic import to_ufl


def integral(expr: Any, msh: dolfinx.mesh.Mesh, quadrature_degree: int = 6) -> float:
    r""":math:`\int_\Omega e\,dx`, summed over ranks."""
    dx = ufl.Measure("dx", domain=msh, metadata={"quadrature_degree": quadrature_degree})
    local = dolfinx.fem.assemble_scalar(dolfinx.fem.form(expr * dx))
    return float(msh.comm.allreduce(local, op=MPI.SUM))


def gibbs_l1_error(rho: Any, problem: Any, quadrature_degree: int = 8) -> float:
    r"""Relative :math:`L^1` error :math:`\int|\rho_h - w/Z|` of a normalised ρ_h against the Gibbs density.

    :math:`w = e^{-(L - L_0)/\varepsilon^2}` (L₀ the smallest value of L at the mesh nodes, against
    overflow) and :math:`Z = \int w`, both by quadrature of ``quadrature_degree`` on ρ_h's mesh.
    """
    msh = rho.function_space.mesh
    nodes = msh.geometry.x[:, : problem.dim]
    lowest = msh.comm.allreduce(float(np.min(problem.numpy_function(problem.loss)(nodes))), op=MPI.MIN)
    w = ufl.exp(-(to_ufl(problem.loss, ufl.SpatialCoordinate(msh), problem.coords) - lowest) / problem.eps2)
    Z = integral(w, msh, quadrature_degree)
    return integral(abs(rho - w / Z), msh, quadrature_degree)


def error_L2(
    u_h: Any, u_exact: Any, msh: dolfinx.mesh.Mesh, relative: bool = False, quadrature_degree: int = 8
) -> float:
    r""":math:`\|u_h - u\|_{L^2}` (vector or scalar), optionally divided by :math:`\|u\|_{L^2}`.

    The exact solution is a UFL expression evaluated at high-order quadrature points.
    """
    diff = u_h - u_exact
    e = np.sqrt(integral(ufl.inner(diff, diff), msh, quadrature_degree))
    if relative:
        e /= np.sqrt(integral(ufl.inner(u_exact, u_exact), msh, quadrature_degree))
    return float(e)


def moments(rho: Any, msh: dolfinx.mesh.Mesh, dim: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean :math:`m = \int x\rho / \int\rho` and covariance :math:`\int (x-m)(x-m)^T\rho / \int\rho`.

    m enters the covariance forms as a :class:`dolfinx.fem.Constant`, so that they are compiled once and
    not again for every new mean.
    """
    x = ufl.SpatialCoordinate(msh)
    mass = integral(rho, msh)
    mean = np.array([integral(rho * x[i], msh) for i in range(dim)]) / mass
    m = dolfinx.fem.Constant(msh, mean)
    cov = (
        np.array(
            [[integral(rho * (x[i] - m[i]) * (x[j] - m[j]), msh) for j in range(dim)] for i in range(dim)]
        )
        / mass
    )
    return mean, cov


def observed_orders(h: Sequence[float], errors: Sequence[float]) -> np.ndarray:
    r"""Orders :math:`\log(e_{k+1}/e_k)/\log(h_{k+1}/h_k)` between successive refinements.

    >>> observed_orders([0.1, 0.05], [4e-2, 1e-2]).round(6).tolist()
    [2.0]
    """
    h, e = np.asarray(h, float), np.asarray(errors, float)
    return np.log(e[1:] / e[:-1]) / np.log(h[1:] / h[:-1])
