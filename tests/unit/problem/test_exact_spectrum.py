"""The exact OU spectrum {Σ nᵢλᵢ(A)} and the Kalman rank of fpsolve.problem.exact."""

from __future__ import annotations

import numpy as np
import pytest

from fpsolve.errors import ProblemError
from fpsolve.problem.exact import kalman_rank, ou_spectrum


def test_ou_spectrum_lists_every_multi_index_once() -> None:
    # λ(A) = 1, 2.5: 0, 1, 2, 2.5, 3, 3.5, 4, 4.5, 5 (= 5·1 = 2·2.5, twice)
    values = ou_spectrum(np.diag([1.0, 2.5]), 5.0)
    np.testing.assert_allclose(values.real, [0, 1, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5], atol=1e-14)
    assert np.all(values.imag == 0)
    assert len(ou_spectrum(np.diag([1.0, 2.5]), -1.0)) == 0


def test_ou_spectrum_of_a_rotation_has_conjugate_pairs() -> None:
    A = np.array([[1.0, 2.0], [-0.5, 0.7]])  # λ(A) = 0.85 ± 0.9887i
    lam = np.linalg.eigvals(A)
    values = ou_spectrum(A, 1.8)
    expected = [0, lam[0], lam[1], 2 * lam[0], lam[0] + lam[1], 2 * lam[1]]
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(np.array(expected)), atol=1e-12)


def test_ou_spectrum_needs_a_stable_matrix() -> None:
    with pytest.raises(ProblemError, match="stable"):
        ou_spectrum(np.diag([1.0, 0.0]), 3.0)


@pytest.mark.parametrize(
    ("A", "K", "rank"),
    [
        (np.diag([1.0, 2.0]), np.diag([1.0, 0.0]), 1),  # docs/theory.md §1.5: not controllable
        (np.array([[1.75, 0.75], [0.75, 1.75]]), np.diag([1.0, 0.0]), 2),  # H e₁ ∦ e₁: Hörmander
        (np.array([[2, -0.5, 0], [-0.5, 2, -0.5], [0, -0.5, 2]]), np.diag([1.0, 1.0, 0.0]), 3),
        (np.array([[2, -0.5, 0], [-0.5, 2, 0], [0, 0, 2]]), np.diag([1.0, 1.0, 0.0]), 2),
    ],
)
def test_kalman_rank(A: np.ndarray, K: np.ndarray, rank: int) -> None:
    assert kalman_rank(A, K) == rank
