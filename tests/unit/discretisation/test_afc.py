"""Discrete upwinding: A_L is an M-matrix with zero column sums, on any rank count."""

from __future__ import annotations

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates

x, y = coordinates(2)


def _disc() -> Discretisation:
    # rank-1 state-dependent Q, strong rotation: many positive off-diagonal Galerkin entries
    Q = sp.Matrix([[1, x], [x, x**2]])
    drift = sp.Matrix([y - x, -x - y])
    p = FokkerPlanckProblem(2, Q, 1e-3, Cuboid((-1.0, -1.0), (1.0, 1.0), (12, 12)), drift=drift)
    return Discretisation(p, build_mesh(p.domain), scheme="afc")


def test_low_order_matrix_is_conservative_m_matrix() -> None:
    disc = _disc()
    g = disc.graph
    a = g.entries(disc.A)
    a_low = g.entries(disc.A_L)
    comm = MPI.COMM_WORLD
    # the Galerkin matrix does violate the sign condition here, so the test is not vacuous
    assert comm.allreduce(float(a[g.offdiag].max()), op=MPI.MAX) > 0
    assert comm.allreduce(float(a_low[g.offdiag].max()), op=MPI.MAX) <= 0.0
    ones = disc.A_L.createVecLeft()
    ones.set(1.0)
    colsum = disc.A_L.createVecRight()
    disc.A_L.multTranspose(ones, colsum)
    scale = disc.A_L.norm()
    # 1ᵀA_L = 0 up to round-off in the assembled entries
    assert colsum.norm() <= 1e-13 * scale


def test_artificial_diffusion_is_symmetric() -> None:
    disc = _disc()
    D = disc.graph.matrix(disc.A, disc.d)
    Dt = D.transpose()
    Dt.axpy(-1.0, D)
    assert Dt.norm() <= 1e-15 * max(D.norm(), 1.0)
    assert np.all(disc.d >= 0)
