"""Exact sampling from P1 densities: moments against the exact ones, clipping, rank-count independence."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import dolfinx
from mpi4py import MPI

from fpsolve.discretisation.sampling import p1_sampler
from fpsolve.errors import ProblemError

N = 200_000


def _function(comm: MPI.Comm, degree: int = 1) -> dolfinx.fem.Function:
    """ν = 1 + x + 2y on the unit square (8 × 8 cells): linear, so its P1 interpolant is exact."""
    msh = dolfinx.mesh.create_unit_square(comm, 8, 8, dolfinx.mesh.CellType.triangle)
    u = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, ("Lagrange", degree)))
    u.interpolate(lambda x: 1 + x[0] + 2 * x[1])
    return u


def _exact_moments() -> tuple[np.ndarray, np.ndarray]:
    x, y = sp.symbols("x y")
    rho = 1 + x + 2 * y

    def integral(f: sp.Expr) -> float:
        return float(sp.integrate(f * rho, (x, 0, 1), (y, 0, 1)) / sp.integrate(rho, (x, 0, 1), (y, 0, 1)))

    mean = np.array([integral(x), integral(y)])
    second = np.array([[integral(a * b) for b in (x, y)] for a in (x, y)])
    return mean, second - np.outer(mean, mean)


def test_moments_of_a_linear_density_within_four_standard_errors() -> None:
    """2·10⁵ draws: mean and covariance of ν = 1 + x + 2y against the exact moments.

    Measured (seed 1; the same draws serially and on 2 ranks): mean (0.533289, 0.566194) against
    (0.533333, 0.566667), −0.07 and −0.75 s.e.; covariance (0.082194, −0.002385, 0.078805) against
    (0.082222, −0.002222, 0.078889), −0.17, −0.90 and −0.49 s.e.
    """
    sampler = p1_sampler(_function(MPI.COMM_WORLD))
    assert sampler.mass == pytest.approx(2.5, rel=1e-12) and sampler.clipped == 0.0
    x = sampler(np.random.default_rng(1), N)
    mean, cov = _exact_moments()
    assert np.all((x >= 0) & (x <= 1))
    assert np.all(np.abs(x.mean(0) - mean) <= 4 * x.std(0) / np.sqrt(N))
    c = x - mean  # centred at the exact mean: the products' sample sd is the s.e. of each entry
    prod = np.einsum("ni,nj->nij", c, c)
    assert np.all(np.abs(prod.mean(0) - cov) <= 4 * prod.std(0) / np.sqrt(N))


def test_draws_do_not_depend_on_the_partition() -> None:
    """The distributed mesh and a whole mesh on every rank give bit-identical draws."""
    here = p1_sampler(_function(MPI.COMM_WORLD))(np.random.default_rng(5), 1000)
    alone = p1_sampler(_function(MPI.COMM_SELF))(np.random.default_rng(5), 1000)
    assert np.array_equal(here, alone)


def test_negative_nodal_values_are_clipped_and_reported() -> None:
    """ν = x on [−0.25, 1] (5 cells): the cell [−0.25, 0] carries −1/32 of ∫ν = 15/32 and is dropped.

    The sampled density is x on [0, 1]: mean 2/3 and variance 1/18, and clipped = 1/15 exactly.
    """
    msh = dolfinx.mesh.create_interval(MPI.COMM_WORLD, 5, [-0.25, 1.0])
    u = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, ("Lagrange", 1)))
    u.interpolate(lambda x: x[0])
    sampler = p1_sampler(u)
    assert sampler.clipped == pytest.approx(1 / 15, rel=1e-12)
    x = sampler(np.random.default_rng(2), N)[:, 0]
    assert x.min() >= 0
    se = x.std() / np.sqrt(N)
    assert abs(x.mean() - 2 / 3) <= 4 * se
    assert abs(x.var() - 1 / 18) <= 4 * np.std((x - 2 / 3) ** 2) / np.sqrt(N)


def test_higher_degree_samples_the_vertex_interpolant() -> None:
    """A P2 function is sampled through its P1 vertex interpolant (here the same linear density)."""
    p2 = p1_sampler(_function(MPI.COMM_WORLD, degree=2))(np.random.default_rng(3), 100)
    p1 = p1_sampler(_function(MPI.COMM_WORLD))(np.random.default_rng(3), 100)
    assert np.allclose(p2, p1, rtol=0, atol=1e-14)


def test_a_density_without_positive_mass_is_refused() -> None:
    u = _function(MPI.COMM_WORLD)
    u.x.array[:] = -1.0
    with pytest.raises(ProblemError, match="no positive mass"):
        p1_sampler(u)
