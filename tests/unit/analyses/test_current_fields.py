"""Stationary-current diagnostics against the closed forms of fpsolve.problem.kwon."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import sympy as sp

from mpi4py import MPI

from fpsolve.analyses import current_fields as C
from fpsolve.discretisation.functionals import observed_orders
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.problem.kwon import kwon_decomposition, ou_entropy_production, ou_level_circulation
from fpsolve.solvers.stationary import StationarySolver

X, Y = coordinates(2)
LU = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
# Kunin et al. Fig. 3 (docs/theory.md §3.1), temperature ε² = 0.0025 as in cases/kunin_fig3_ou.toml
A_K = np.array([[2.5, -1.5], [-1.5, 2.5]])
B_K = np.array([-0.1, 0.05])
D_K = np.diag([4.0, 1.0])
EPS2 = 0.0025


def _solve(prob: FokkerPlanckProblem) -> tuple[Discretisation, object, object, C.NodalFields]:
    disc = Discretisation(prob, build_mesh(prob.domain, MPI.COMM_WORLD), scheme="afc")
    rho = StationarySolver(disc, petsc_options=LU).solve().rho
    J = disc.current(rho)
    return disc, rho, J, C.nodal_fields(disc, rho, J)


@functools.cache
def kunin(n: int) -> tuple[Discretisation, object, object, C.NodalFields]:
    loss = sp.Rational(1, 2) * (2.5 * X**2 - 3 * X * Y + 2.5 * Y**2) - (B_K[0] * X + B_K[1] * Y)
    dom = Cuboid((-0.38, -0.26), (0.30, 0.25), (n, n))
    return _solve(FokkerPlanckProblem(2, sp.Matrix(D_K), EPS2, dom, loss=loss))


def test_kunin_recovered_U_and_Q_K_converge() -> None:
    dec = kwon_decomposition(A_K, D_K)
    ns = (24, 48, 96)
    eU, eQ = [], []
    for n in ns:
        disc, _, _, f = kunin(n)
        rec = C.kwon_from_fields(disc, f)
        eU.append(np.linalg.norm(rec["U"] - dec.U) / np.linalg.norm(dec.U))
        eQ.append(np.linalg.norm(rec["Q_K"] - dec.Q_K) / np.linalg.norm(dec.Q_K))
        assert np.abs(rec["mu"] - np.linalg.solve(A_K, B_K)).max() < 1e-4  # measured ≤ 2.2e-6
    # measured: U 3.3e-2, 1.0e-2, 2.6e-3; Q_K 9.5e-2, 2.6e-2, 6.7e-3 (orders 1.7–2.0)
    assert eU[-1] < 5e-3 and eQ[-1] < 1.2e-2
    h = [1.0 / n for n in ns]
    assert observed_orders(h, eU).min() > 1.5
    assert observed_orders(h, eQ).min() > 1.6


def test_kunin_entropy_production_circulation_and_indices() -> None:
    disc, rho, J, f = kunin(96)
    dec = kwon_decomposition(A_K, D_K)
    mu = np.linalg.solve(A_K, B_K)
    exact = ou_entropy_production(A_K, EPS2 * D_K)  # = 1.0125 (temperature cancels)
    assert abs(exact - 1.0125) < 1e-12
    assert abs(C.entropy_production(disc, f) / exact - 1) < 5e-3  # measured 1.8e-3
    for c in (0.5, 1.0, 2.0):
        tangential, normal, total = C.circulation(J, C.level_curve(dec.U / EPS2, mu, c))
        ref = ou_level_circulation(dec.Q_K, dec.U, c)
        assert abs(tangential / ref - 1) < 2.5e-2  # measured 1.0e-2, 5.6e-3, 2.5e-3
        assert abs(normal) / total < 3e-2  # divergence free: measured 1.6e-2, 9.0e-3, 4.8e-3
    assert C.divergence_index(disc, rho, J) < 3e-2  # measured 1.2e-2
    assert C.transverse_index(f) < 3e-2  # exact 0; measured 1.4e-2
    # exact ‖J‖/‖K∇ρ‖ for this OU: 0.3796 (quadrature of the closed forms, runner check); measured FE 0.3776
    assert abs(C.detailed_balance_index(disc, rho, J) - 0.3796) < 0.01


def test_detailed_balance_gives_zero_current_and_Q_K() -> None:
    """Gibbs case Q = ∇²L (AD = DAᵀ): J∞ = 0, Q_K = 0, U = I (Ψ = L); errors shrink like h²."""
    loss = (X**2 + X * Y + 2 * Y**2) / 2
    Q = sp.Matrix([[1.0, 0.5], [0.5, 2.0]])
    rows = []
    for n in (24, 48):
        disc, rho, J, f = _solve(
            FokkerPlanckProblem(2, Q, 0.05, Cuboid((-1.2, -1.2), (1.2, 1.2), (n, n)), loss=loss)
        )
        rec = C.kwon_from_fields(disc, f)
        rows.append(
            (
                np.abs(rec["U"] - np.eye(2)).max(),
                np.abs(rec["Q_K"]).max(),
                C.detailed_balance_index(disc, rho, J),
            )
        )
    # measured (24, 48 cells): U 3.0e-2, 8.2e-3; Q_K 7.6e-3, 1.8e-3; ‖J‖/‖K∇ρ‖ 0.103, 0.0286 (96: 7.4e-3)
    assert rows[1][0] < 1.5e-2 and rows[1][1] < 4e-3 and rows[1][2] < 4e-2
    orders = (
        observed_orders([1 / 24, 1 / 48], np.array(rows)[:, 0]),
        observed_orders([1, 0.5], np.array(rows)[:, 2]),
    )
    assert min(o[0] for o in orders) > 1.7  # measured 1.86, 1.85


@pytest.mark.parametrize(("eta", "beta"), [(0.1, 0.8), (0.1, 0.0), (0.05, 0.95), (0.4, 0.5)])
def test_momentum_phase_space_recovery(eta: float, beta: float) -> None:
    """SGD with momentum, noise in v only: underdamped (β = 0.8, 0.95, 0.5) and overdamped (β = 0)."""
    h, lam, s2, S = 1.0, 0.1, 1.0, 4.0
    a = 2 * (h + lam) / (eta * (1 + beta))
    c = 2 * (1 - beta) / (eta * (1 + beta))
    kappa = S * (1 - beta**2)
    A = np.array([[0.0, -1.0], [a, c]])
    D = np.diag([0.0, 2 * (1 - beta) * s2 * h / (eta * (1 + beta))])
    dec = kwon_decomposition(A, D)  # units of D: U = Σ⁻¹/κ
    sd = 5 * np.sqrt(np.diag(dec.B) / kappa)
    prob = FokkerPlanckProblem(
        2,
        sp.Matrix(D),
        1 / kappa,
        Cuboid(tuple(-sd), tuple(sd), (64, 64)),
        drift=sp.Matrix([Y, -a * X - c * Y]),
    )
    disc, rho, J, f = _solve(prob)
    rec = C.kwon_from_fields(disc, f)
    # measured over the four settings at 64 cells: U ≤ 4.1e-3, Q_K ≤ 3.9e-3, entropy production ≤ 1.2e-2
    assert np.linalg.norm(rec["U"] - dec.U) / np.linalg.norm(dec.U) < 1e-2
    assert np.linalg.norm(rec["Q_K"] - dec.Q_K) / np.linalg.norm(dec.Q_K) < 1e-2
    ep = ou_entropy_production(A, D / kappa)
    assert abs(ep - a / c) < 1e-12 * ep
    assert abs(C.entropy_production(disc, f) / ep - 1) < 2.5e-2
    assert C.transverse_index(f) < 3e-2  # measured ≤ 1.3e-2


def test_one_dimensional_gibbs_fit() -> None:
    """1-D OU dX = −2X dt + √(2·0.1) dW: Ψ = −ε² log ρ = x² (U = 2 in Q units), no current."""
    x = coordinates(1)[0]
    prob = FokkerPlanckProblem(1, sp.Matrix([[1]]), 0.1, Cuboid((-1.5,), (1.5,), (200,)), loss=x**2)
    disc, rho, J, f = _solve(prob)
    rec = C.kwon_from_fields(disc, f)
    # measured U = 2.0015 (200 cells, h = 0.015: O(h²) error of the AFC density and its logarithm)
    assert abs(rec["U"][0, 0] - 2) < 5e-3 and rec["Q_K"].shape == (1, 1) and rec["Q_K"][0, 0] == 0
    assert C.detailed_balance_index(disc, rho, J) < 6e-3  # exact 0; measured 1.7e-3


def test_nonlinear_drift_has_a_nonzero_transverse_index() -> None:
    """Quartic loss with non-commuting noise: j·∇Ψ ≠ 0 (unlike the linear case), while ∇·J = 0 holds.

    L = x⁴/4 + x²/2 + xy/2 + y²/2, Q = diag(4, 1), ε² = 0.1. Measured transverse index 0.268, 0.110,
    0.087 at 32, 64, 128 cells (converging to ≈ 0.08: a property of the solution, not of the mesh; the
    linear Kunin case gives 0.014 → 0 instead) and net flux of J out of the level curve c = 0.5 of the
    fitted Ψ, relative to ∮|J|: −0.249, −0.054, −0.013 (order 2).
    """
    loss = X**4 / 4 + X**2 / 2 + X * Y / 2 + Y**2 / 2
    rows = []
    for n in (64, 128):
        prob = FokkerPlanckProblem(
            2, sp.Matrix(D_K), 0.1, Cuboid((-1.8, -1.8), (1.8, 1.8), (n, n)), loss=loss
        )
        disc, rho, J, f = _solve(prob)
        rec = C.kwon_from_fields(disc, f)
        tangential, normal, total = C.circulation(J, C.level_curve(rec["U"] / 0.1, rec["mu"], 0.5))
        rows.append((C.transverse_index(f), normal / total, tangential))
    assert rows[0][0] > 0.07 and rows[1][0] > 0.07 and abs(rows[0][0] - rows[1][0]) < 0.04
    assert abs(rows[1][1]) < 0.03 and abs(rows[1][1]) < abs(rows[0][1]) / 2.5
    assert abs(rows[1][2] / rows[0][2] - 1) < 0.05  # circulation −0.222, −0.228: mesh-converged, nonzero
