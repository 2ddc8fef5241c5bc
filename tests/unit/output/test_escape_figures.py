"""Escape figure: the exit-location distribution as profiles along the absorbing boundary."""

from __future__ import annotations

import numpy as np
import pytest

from fpsolve.output.escape_figures import exit_runs


def _edge(x: float, n: int = 41) -> tuple[np.ndarray, np.ndarray]:
    """Nodes on the edge {x} × [−1, 1] and a Gaussian exit mass on them summing to 1."""
    y = np.linspace(-1.0, 1.0, n)
    mass = np.exp(-8 * y**2)
    return np.column_stack([np.full(n, x), y]), mass / mass.sum()


def test_one_edge_gives_one_profile_whose_density_integrates_to_its_mass() -> None:
    points, mass = _edge(0.4)
    rng = np.random.default_rng(1)
    shuffled = rng.permutation(len(points))  # the analysis' node order is arbitrary
    (run,) = exit_runs(points[shuffled], mass[shuffled], np.array([-1.0, 0.0]))
    assert run["points"][:, 1] == pytest.approx(np.linspace(-1.0, 1.0, 41))  # in order along the edge
    assert run["s"][-1] == pytest.approx(2.0)
    assert run["mass"] == pytest.approx(1.0)
    assert np.trapezoid(run["density"], run["s"]) == pytest.approx(1.0, abs=1e-3)
    assert run["density"].max() == pytest.approx(mass.max() / 0.05)  # per unit length: spacing 0.05


def test_disjoint_edges_are_separate_and_the_edge_through_the_angle_pi_is_one() -> None:
    left, m_left = _edge(-1.0)  # seen from the centre at angles around ±π: split by the sort, joined
    right, m_right = _edge(1.0)
    runs = exit_runs(np.vstack([left, right]), np.concatenate([m_left, m_right]) / 2, np.zeros(2))
    assert sorted(len(r["points"]) for r in runs) == [41, 41]
    assert sorted(float(np.unique(r["points"][:, 0])[0]) for r in runs) == [-1.0, 1.0]
    assert [r["mass"] for r in runs] == pytest.approx([0.5, 0.5])
    for run in runs:
        assert np.all(np.diff(run["s"]) == pytest.approx(0.05))  # consecutive neighbours, no jump inside
