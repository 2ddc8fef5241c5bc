"""Relative entropy, L¹ and χ² of P1 densities by vertex quadrature, against Gaussian closed forms."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import scipy.stats as ss
import sympy as sp

from fpsolve.discretisation.divergences import FLOOR, chi_squared, l1_distance, relative_entropy
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates, gaussian_density
from fpsolve.problem.gaussian_divergences import gaussian_relative_entropy


def _chi_squared(m: npt.ArrayLike, S: npt.ArrayLike, mu: npt.ArrayLike, Sigma: npt.ArrayLike) -> float:
    r"""χ² between Gaussians in closed form, δ = m − μ (finite iff 2Σ − S ≻ 0).

    :math:`\chi^2(N(m,S)|N(\mu,\Sigma)) = \frac{\sqrt{\det\Sigma}}{\det S\sqrt{\det(2S^{-1}-\Sigma^{-1})}}
    e^{\delta^T(2\Sigma-S)^{-1}\delta} - 1`.
    """
    m, mu = np.atleast_1d(m), np.atleast_1d(mu)
    S, Sigma = np.atleast_2d(S), np.atleast_2d(Sigma)
    d = m - mu
    P = 2 * np.linalg.inv(S) - np.linalg.inv(Sigma)
    scale = np.sqrt(np.linalg.det(Sigma)) / (np.linalg.det(S) * np.sqrt(np.linalg.det(P)))
    return float(scale * np.exp(d @ np.linalg.solve(2 * Sigma - S, d)) - 1)


def _l1_equal_covariance(delta: npt.ArrayLike, Sigma: npt.ArrayLike) -> float:
    r""":math:`\|N(m,\Sigma) - N(\mu,\Sigma)\|_1 = 2(2\Phi(D/2) - 1)`, D the Mahalanobis distance of m − μ."""
    delta = np.atleast_1d(delta)
    D = float(np.sqrt(delta @ np.linalg.solve(np.atleast_2d(Sigma), delta)))
    return 2 * (2 * ss.norm.cdf(D / 2) - 1)


def _disc(dim: int, lo: tuple, hi: tuple, cells: tuple, degree: int = 1) -> Discretisation:
    xs = coordinates(dim)
    scheme = "upwind" if degree == 1 else "galerkin"
    problem = FokkerPlanckProblem(dim, sp.eye(dim), 1.0, Cuboid(lo, hi, cells), drift=-sp.Matrix(xs))
    return Discretisation(problem, build_mesh(problem.domain), degree=degree, scheme=scheme)


def test_one_dimensional_gaussians() -> None:
    disc = _disc(1, (-7.0,), (7.0,), (140,))
    p = disc.interpolate(gaussian_density([0.5], [[0.36]]))
    q = disc.interpolate(gaussian_density([0.0], [[1.0]]))
    shifted = disc.interpolate(gaussian_density([0.5], [[1.0]]))
    # On a uniform grid the vertex rule is the trapezoidal rule: exponentially accurate for smooth
    # integrands that vanish at the ends; what remains is the truncation at ±7 (measured 2.7e-12).
    assert relative_entropy(disc, p, q) == pytest.approx(
        gaussian_relative_entropy([0.5], [[0.36]], [0.0], [[1.0]]), abs=1e-10
    )
    assert chi_squared(disc, p, q) == pytest.approx(_chi_squared(0.5, 0.36, 0.0, 1.0), abs=1e-10)
    # |p − q| has a kink: second order in h = 0.1 (measured 1.6e-4)
    assert l1_distance(disc, shifted, q) == pytest.approx(_l1_equal_covariance(0.5, 1.0), abs=5e-4)
    assert relative_entropy(disc, q, q) == 0.0
    assert chi_squared(disc, q, q) == 0.0


def test_two_dimensional_correlated_gaussians() -> None:
    disc = _disc(2, (-1.6, -1.6), (2.0, 2.0), (40, 40))
    m, S = np.array([0.3, 0.2]), np.array([[0.05, 0.01], [0.01, 0.03]])
    mu, Sigma = np.array([0.0, 0.1]), np.array([[0.1, 0.04], [0.04, 0.06]])
    p = disc.interpolate(gaussian_density(m, S))
    q = disc.interpolate(gaussian_density(mu, Sigma))
    shifted = disc.interpolate(gaussian_density(m, Sigma))
    # relative errors measured 4.0e-7 (H), 1.8e-7 (χ²): truncation of the Gaussians at the walls
    assert relative_entropy(disc, p, q) == pytest.approx(gaussian_relative_entropy(m, S, mu, Sigma), rel=2e-6)
    assert chi_squared(disc, p, q) == pytest.approx(_chi_squared(m, S, mu, Sigma), rel=2e-6)
    # the kink of |p − q| along a line across the cells: measured 3.6e-4 relative
    assert l1_distance(disc, shifted, q) == pytest.approx(_l1_equal_covariance(m - mu, Sigma), rel=2e-3)


def test_zero_and_negative_values_stay_finite() -> None:
    disc = _disc(1, (-7.0,), (7.0,), (140,))
    p = disc.interpolate(gaussian_density([0.5], [[0.36]]))
    q = disc.interpolate(gaussian_density([0.0], [[1.0]]))
    n = disc.V.dofmap.index_map.size_local
    tails = np.abs(disc.V.tabulate_dof_coordinates()[:n, 0]) > 6.0
    p.x.array[:n][tails] = -1e-17  # a Galerkin undershoot, and round-off of ρ∞ in its tails
    q.x.array[:n][tails] = np.where(np.arange(tails.sum()) % 2, 0.0, -1e-18)
    for value in (relative_entropy(disc, p, q), l1_distance(disc, p, q), chi_squared(disc, p, q)):
        assert np.isfinite(value) and value >= 0
    # with ρ = ρ∞ the floored nodes add at most FLOOR·max ρ∞ each, times their weight (here < 2)
    assert 0 < relative_entropy(disc, q, q) <= FLOOR * disc.maximum(q) * 2.0


def test_higher_degrees_are_refused() -> None:
    disc = _disc(1, (-1.0,), (1.0,), (4,), degree=2)
    rho = disc.interpolate(gaussian_density([0.0], [[0.1]]))
    with pytest.raises(ProblemError, match="vertex quadrature"):
        relative_entropy(disc, rho, rho)
