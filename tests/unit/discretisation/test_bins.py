"""FE densities below level sets (histogram bins): exact for coordinates, convergent for radii."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import dolfinx
from mpi4py import MPI

from fpsolve.discretisation.bins import bin_probabilities, level_set_cdf


def _mesh(d: int, comm: MPI.Comm) -> dolfinx.mesh.Mesh:
    if d == 1:
        return dolfinx.mesh.create_unit_interval(comm, 7)
    if d == 2:
        return dolfinx.mesh.create_unit_square(comm, 7, 5, diagonal=dolfinx.mesh.DiagonalType.crossed)
    return dolfinx.mesh.create_unit_cube(comm, 4, 3, 5)


@pytest.mark.parametrize(("d", "degree"), [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2)])
def test_coordinate_cdf_is_exact_for_the_element_polynomials(d: int, degree: int) -> None:
    # levels on, between and beyond the mesh lines: every cut of a triangle/tetrahedron (corner,
    # cell minus corner, the 3-D prism) and ties between the vertex values of q = x
    X = sp.symbols(f"x0:{d}")
    rho = 1 + X[0] + 2 * X[-1] if degree == 1 else 1 + X[0] ** 2 + X[0] * X[-1]
    marginal = rho
    for k in range(d - 1, 0, -1):
        marginal = sp.integrate(marginal, (X[k], 0, 1))
    s = sp.Symbol("s")
    exact_cdf = sp.lambdify(s, sp.integrate(marginal, (X[0], 0, s)))
    levels = np.array([-0.1, 0.0, 0.1234, 1 / 7, 0.25, 0.5, 0.77777, 1.0, 1.2])
    msh = _mesh(d, MPI.COMM_WORLD)
    f = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, ("Lagrange", degree)))
    values = sp.lambdify(X, rho)
    f.interpolate(lambda x: values(*x[:d]))
    got = level_set_cdf(f, lambda x: x[:, 0], levels)
    exact = np.array([float(exact_cdf(min(max(v, 0.0), 1.0))) for v in levels])
    assert np.abs(got - exact).max() < 1e-13  # measured ≤ 9e-16


def test_radial_cdf_converges_as_the_cut_cells_are_refined() -> None:
    # ρ = 1 on the unit square, q = |x − c|²: F(r²) = πr²; the linear interpolant of q on pieces of
    # diameter δ exceeds q by ≤ δ², so the disk is too small by an area ≤ πδ², 4× less per halving
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 50, 50)
    f = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, ("Lagrange", 1)))
    f.x.array[:] = 1.0
    r = np.array([0.01, 0.1, 0.3, 0.45])
    errors = []
    for refine in (3, 4):
        got = level_set_cdf(f, lambda x: np.sum((x - 0.5) ** 2, 1), r**2, refine)
        errors.append(np.abs(got - np.pi * r**2).max())
        delta = np.sqrt(2) * 0.02 / 2**refine
        assert np.all(got <= np.pi * r**2 + 1e-15) and errors[-1] <= np.pi * delta**2
    # measured: 6.5e-6, 1.6e-6 (h = 0.02)
    assert errors[1] < 2e-6 and errors[0] / errors[1] > 3.5


def test_bins_are_the_same_on_any_partition() -> None:
    def gaussian(x: np.ndarray) -> np.ndarray:
        return np.exp(-((x[0] - 0.4) ** 2 + 2 * (x[1] - 0.6) ** 2) / 0.05)

    edges = np.linspace(0.05, 0.95, 19)
    probs = []
    for comm in (MPI.COMM_SELF, MPI.COMM_WORLD):
        msh = dolfinx.mesh.create_unit_square(comm, 30, 30)
        f = dolfinx.fem.Function(dolfinx.fem.functionspace(msh, ("Lagrange", 1)))
        f.interpolate(gaussian)
        probs.append(bin_probabilities(f, lambda x: x[:, 1], edges))
    assert np.abs(probs[0] - probs[1]).max() < 1e-15
