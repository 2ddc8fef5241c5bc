"""Metastable sets from slow eigenfunctions: the gap rule, the inner-simplex vertices, the two-state rates."""

from __future__ import annotations

import numpy as np
import pytest

from mpi4py import MPI

from fpsolve.analyses.metastable import metastable_count, metastable_labels, residence_times


@pytest.mark.parametrize(
    ("eigenvalues", "count"),
    [
        ([0, 0.03, 0.9, 1.7], 2),  # double well: 0.03 ≤ 0.1·0.9
        ([0, 0.01, 0.02, 1.0, 1.5], 3),  # three wells
        ([0, 1, 2, 2.5, 3], None),  # OU: no clear gap
        ([0, 0.01 + 0.5j, 0.01 - 0.5j, 1.0], None),  # slow rotation: not metastability
        ([0, 0.5, 1.0], None),  # the gap is not within the computed modes
    ],
)
def test_metastable_count(eigenvalues: list[complex], count: int | None) -> None:
    assert metastable_count(eigenvalues, 0.1) == count


def _three_plateaus(comm: MPI.Comm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ψ₁, ψ₂) near three vertices plus transition points; each rank holds every size-th node."""
    rng = np.random.default_rng(3)
    vertices = np.array([[1.0, 0.5], [-1.0, 0.5], [0.0, -1.0]])
    truth = np.repeat([0, 1, 2], 40)
    psi = vertices[truth] + 0.05 * rng.standard_normal((120, 2))
    psi = np.vstack([psi, [[0.0, 0.0], [0.5, -0.25]]])  # transition region, between the sets
    truth = np.append(truth, [-1, -1])
    rho = np.append(np.ones(120), [1e-6, 1e-6])  # low ρ∞ between the wells: never a vertex
    mine = slice(comm.rank, None, comm.size)
    return psi[mine], rho[mine], truth[mine]


def test_labels_find_three_plateaus_on_any_rank_count() -> None:
    comm = MPI.COMM_WORLD
    psi, rho, truth = _three_plateaus(comm)
    labels, vertices = metastable_labels(psi, rho, len(rho), comm)
    # vertices sorted in decreasing lexicographic order of (ψ₁, ψ₂): the sets are numbered
    # independently of the partition
    np.testing.assert_allclose(vertices, [[1.0, 0.5], [0.0, -1.0], [-1.0, 0.5]], atol=0.2)
    expected = np.array([0, 2, 1])[truth[truth >= 0]]
    np.testing.assert_array_equal(labels[truth >= 0], expected)
    gathered = comm.allgather(vertices)
    assert all(np.array_equal(v, gathered[0]) for v in gathered)


def test_two_state_residence_times() -> None:
    # k12 + k21 = λ₁, π₁k12 = π₂k21 ⇒ k12 = λ₁π₂: residence times 1/(λ₁π₂), 1/(λ₁π₁)
    times = residence_times(0.5, [0.75, 0.25])
    np.testing.assert_allclose(times, [8.0, 1.0 / 0.375])
    k12, k21 = 1 / times[0], 1 / times[1]
    assert abs(k12 + k21 - 0.5) < 1e-15 and abs(0.75 * k12 - 0.25 * k21) < 1e-15
