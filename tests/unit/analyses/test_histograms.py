"""Histograms for ``fpsolve validate``: FE bin probabilities against the exact OU law, the bin check."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as ss

import ufl

from fpsolve.analyses.histograms import (
    BINS,
    Histogram,
    compare,
    exit_time_edges,
    marginals,
    mesh_box,
    pick_times,
    tolerance_sigmas,
)
from fpsolve.discretisation.bins import bin_probabilities
from fpsolve.discretisation.functionals import integral, moments
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.exact import ou_stationary_covariance
from fpsolve.solvers.stationary import StationarySolver
from fpsolve.testing import EPS2, MU, A, Q, ou_problem

SIGMA = ou_stationary_covariance(A, EPS2 * Q)


@pytest.fixture(scope="module")
def ou_densities() -> dict[int, tuple[Discretisation, object]]:
    """The demo OU's stationary FE density on 48² and 96² squares of [-1.2, 1.2]²."""
    out = {}
    for cells in (48, 96):
        p = ou_problem(cells)
        disc = Discretisation(p, build_mesh(p.domain))
        out[cells] = (disc, StationarySolver(disc).solve().rho)
    return out


def _exact(h: Histogram, i: int) -> np.ndarray:
    return np.diff(ss.norm.cdf(h.edges, MU[i], np.sqrt(SIGMA[i, i])))


def test_fe_bins_add_up_to_the_fe_mass_in_their_range(ou_densities: dict) -> None:
    disc, rho = ou_densities[96]
    x = ufl.SpatialCoordinate(disc.msh)
    for i in range(2):
        # bins 0.04 wide across the cells (h = 0.025) of a range on mesh lines, where quadrature of
        # the indicator is exact: the geometric cuts inside the range must add up to it
        probs = bin_probabilities(rho, lambda p, i=i: p[:, i], np.linspace(-0.6, 0.6, BINS + 1))
        inside = ufl.conditional(ufl.And(ufl.ge(x[i], -0.6), ufl.lt(x[i], 0.6)), rho, 0.0)
        assert abs(probs.sum() - integral(inside, disc.msh)) < 1e-13
        assert np.all(probs >= 0.0)
        whole = bin_probabilities(rho, lambda p, i=i: p[:, i], np.linspace(-1.2, 1.2, 7))
        assert abs(whole.sum() - disc.mass(rho)) < 1e-13  # bins across the mesh hold all its mass


def test_fe_bins_converge_to_the_exact_gaussian_bins(ou_densities: dict) -> None:
    errors = {}
    for cells, (disc, rho) in ou_densities.items():
        mean, cov = moments(rho, disc.msh, 2)
        hists = marginals(6.0, rho, mean, cov, mesh_box(disc.msh))
        assert [h.label for h in hists] == ["x", "y"]
        for i, h in enumerate(hists):
            assert len(h.fe) == BINS and h.t == 6.0
            errors[cells, i] = np.abs(h.fe - _exact(h, i)).max()
    # the bins are exact integrals of ρ_h: what is left is the FE error, O(h²). Measured max
    # |FE − exact| 5.8e-4 / 2.3e-3 (x / y) on 48², 1.2e-4 / 3.1e-4 on 96², i.e. ratios 4.9 and 7.4.
    # Against n Monte Carlo paths the s.e. of a peak bin (p ≈ 0.06) is 0.24/√n: 3.1e-4 for n = 6e5,
    # so 96² is accurate enough for the 2e5 paths of the demo case.
    assert errors[96, 0] < 2e-4 and errors[96, 1] < 5e-4
    for i in range(2):
        assert errors[48, i] / errors[96, i] > 3.5


def test_the_check_accepts_paths_of_the_fe_law_and_rejects_others() -> None:
    rng = np.random.default_rng(4)
    edges = np.linspace(-4, 4, BINS + 1)
    fe = np.diff(ss.norm.cdf(edges))
    h = Histogram(1.0, "x", edges, lambda x: x[:, 0], edges, fe)
    n = 5000
    # the law itself passes both checks (worst bin 2.7 s.e., X² = 20.3 over the 22 bins with
    # np ≥ 5); a 10 % wider one (ε² off by 20 %) fails the χ² check by far (X² = 107 against 56.9)
    # while its worst bin, at 4.6 s.e., stays within 4.74
    for scale, passes in ((1.0, (True, True)), (1.1, (True, False))):
        mc = np.histogram(scale * rng.standard_normal(n), edges)[0] / n
        se = np.sqrt(mc * (1 - mc) / n)
        record, (worst, chi2) = compare("t=1", h, mc, se, mc, n, 0.01, 4.0)
        assert (worst["passed"], chi2["passed"]) == passes
        assert worst["tolerance"] == pytest.approx(4.74, abs=0.01)
        assert chi2["tolerance"] == pytest.approx(ss.chi2.isf(2 * ss.norm.sf(4.0), chi2["bins"]))
        assert len(record["z"]) == BINS and record["n_paths"] == n
    # indicator functions of the bins count the same paths as numpy's histogram
    x = rng.standard_normal((1000, 1))
    counts = np.array([f(x).sum() for f in h.indicators()])
    assert np.array_equal(counts, np.histogram(x[:, 0], edges)[0])


def test_bonferroni_level_and_the_chosen_times() -> None:
    assert tolerance_sigmas(4.0, 1) == pytest.approx(4.0)
    assert tolerance_sigmas(4.0, 30) == pytest.approx(4.74, abs=0.01)
    assert pick_times([0.25, 0.5, 1.0, 2.0]) == [0.25, 1.0, 2.0]
    assert pick_times([0.5]) == [0.5]


def test_exit_time_bins_hold_whole_steps() -> None:
    dt = 0.01
    edges = exit_time_edges(1.7, 1.5, dt)
    widths = np.diff(edges) / dt
    assert len(edges) == BINS + 1 and np.allclose(widths, np.round(widths)) and widths[0] >= 1
    assert edges[0] == dt / 4 and edges[-1] >= 1.7 + 4 * 1.5 - widths[0] * dt
    tau = dt * np.arange(1, 1000)  # Euler–Maruyama exit times: each lies in one bin, none on an edge
    assert np.min(np.abs(tau[:, None] - edges[None, :])) >= dt / 4 - 1e-12
