r"""Mean exit times from the backward problem 𝓛T = −1 (transpose of the forward operator).

* Brownian motion in the unit disk (ε² = 0.5, Q = I, L = 0): T = (1 − r²)/(2dε²) exactly (THEORY §1.2).
* 1-D double well L = x⁴/4 − x²/2 on (−2, 0), reflecting at −2, absorbing at the saddle 0:
  T(−1) from the exact double integral (THEORY §4.1). Measured on 64 cells: relative error 1.7e-3
  (ε² = 0.1) and 1.5e-2 (ε² = 0.05); at ε² = 0.02 it is 0.30 — resolving that needs exponential fitting
  (issue 5), so it is not asserted here.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate as si
import sympy as sp

import ufl
from mpi4py import MPI

from fpsolve.diagnostics import error_L2
from fpsolve.domain import Cuboid, Sphere
from fpsolve.mesh import build_mesh
from fpsolve.operators import Discretisation
from fpsolve.problem import FokkerPlanckProblem, coordinates
from fpsolve.solvers.exit_time import ExitTimeSolver
from fpsolve.symbolic import to_ufl


@pytest.mark.parametrize("scheme", ["afc", "galerkin"])
def test_brownian_exit_time_from_disk(scheme: str) -> None:
    x, y = coordinates(2)
    p = FokkerPlanckProblem(
        2, sp.eye(2), 0.5, Sphere((0.0, 0.0), 1.0, 0.05), loss=0 * x, absorbing=("boundary",)
    )
    disc = Discretisation(p, build_mesh(p.domain), scheme=scheme)
    T = ExitTimeSolver(disc).solve()
    exact = (1 - x**2 - y**2) / 2
    # polygonal disk of size h = 0.05: O(h²) ≈ 2.5e-3 relative
    assert (
        error_L2(T, to_ufl(exact, ufl.SpatialCoordinate(disc.msh), p.coords), disc.msh, relative=True) < 5e-3
    )
    assert disc.minimum(T) >= 0.0


@pytest.mark.parametrize(("eps2", "tolerance"), [(0.1, 5e-3), (0.05, 3e-2)])
def test_double_well_mfpt_matches_double_integral(eps2: float, tolerance: float) -> None:
    (x,) = coordinates(1)
    loss = x**4 / 4 - x**2 / 2
    f = sp.lambdify(x, loss)
    ys = np.linspace(-2.0, 0.0, 40001)
    inner = si.cumulative_trapezoid(np.exp(-f(ys) / eps2), ys, initial=0)
    outer = np.exp(f(ys) / eps2) * inner / eps2
    start = np.searchsorted(ys, -1.0)
    exact = si.trapezoid(outer[start:], ys[start:])
    p = FokkerPlanckProblem(
        1, sp.Matrix([[1]]), eps2, Cuboid((-2.0,), (0.0,), (64,)), loss=loss, absorbing=("xmax",)
    )
    disc = Discretisation(p, build_mesh(p.domain))
    T = ExitTimeSolver(disc).solve()
    xs = disc.V.tabulate_dof_coordinates()[:, 0]
    here = np.flatnonzero(np.abs(xs + 1.0) < 1e-12)
    value = float(T.x.array[here[0]]) if here.size else -np.inf
    value = disc.comm.allreduce(value, op=MPI.MAX)
    assert abs(value / exact - 1) < tolerance, (value, exact)
