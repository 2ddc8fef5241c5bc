r"""Stationary density where Q vanishes inside the domain: Chen et al.'s quartic well (docs/theory.md §5.1).

:math:`d\theta = -(\theta^3 - \mu\theta)dt + \zeta\theta\,dW`, i.e. ``L = θ⁴/4 − μθ²/2``,
``ε²Q = ζ²θ²/2`` (zero at θ = 0). The zero-flux solution
:math:`\rho_\infty \propto |\theta|^{2\mu/\zeta^2 - 2} e^{-\theta^2/\zeta^2}` is the stationary density
on any symmetric interval with reflecting ends (J ≡ 0 satisfies J·n = 0). With μ = 1.5, ζ = 1 it is
:math:`|\theta| e^{-\theta^2}`: a kink and a zero exactly where the diffusion degenerates.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

import ufl

from fpsolve.discretisation.functionals import error_L2, integral, observed_orders
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.solvers.stationary import StationarySolver

MU, ZETA = 1.5, 1.0


def test_chen_quartic_stationary_density_converges_where_q_vanishes() -> None:
    (x,) = coordinates(1)
    cells = [50, 100, 200]
    errors, minima = [], []
    for n in cells:
        p = FokkerPlanckProblem(
            1,
            sp.Matrix([[ZETA**2 * x**2 / 2]]),
            1.0,
            Cuboid((-3.0,), (3.0,), (n,)),
            loss=x**4 / 4 - MU * x**2 / 2,
        )
        disc = Discretisation(p, build_mesh(p.domain), scheme="afc")
        rho = StationarySolver(disc).solve().rho
        X = ufl.SpatialCoordinate(disc.msh)
        exact = (X[0] ** 2) ** (MU / ZETA**2 - 1) * ufl.exp(-(X[0] ** 2) / ZETA**2)
        exact = exact / integral(exact, disc.msh, 12)
        errors.append(error_L2(rho, exact, disc.msh, relative=True, quadrature_degree=12))
        minima.append(disc.minimum(rho))
    orders = observed_orders([6.0 / n for n in cells], errors)
    # measured: errors 5.3e-3, 1.3e-3, 3.3e-4 (orders 2.00, 2.00) — P1 accuracy despite the kink at 0
    assert errors[-1] < 5e-4, errors
    assert np.all(orders > 1.8), orders
    assert min(minima) >= 0.0  # AFC keeps ρ ≥ 0 at the degenerate point
