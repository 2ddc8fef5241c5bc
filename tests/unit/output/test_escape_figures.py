"""Escape figure: the exit-location distribution as profiles along the absorbing boundary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fpsolve.output.escape_figures import escape_sweep_figure, exit_runs, eyring_kramers_prefactor


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


def test_the_eyring_kramers_reference_is_taken_at_each_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    """A law κ(ε) = A(ε) e^{−s/ε²} with an ε-dependent A: the reference follows A(ε), run by run.

    (A constant log A from the last run was drawn: for loss-proportional noise it missed by log c.)
    """
    eps2 = np.array([0.01, 0.005, 0.0025])
    s, log_a = 0.125, np.log(0.5 * (1 + eps2 / 0.1))  # the law's own ε-dependent prefactor
    log_kappa = log_a - s / eps2
    ratios = np.array([0.93, 0.96, 0.98])  # FE λ₁ / κ
    log_tau = -(np.log(ratios) + log_kappa)  # E τ = 1/λ₁
    assert eyring_kramers_prefactor(log_tau, ratios) - s / eps2 == pytest.approx(-log_a)
    seen: dict[str, Any] = {}

    def keep(fig: Any, target: Path) -> Path:
        seen["fig"] = fig
        return target

    monkeypatch.setattr("fpsolve.output.escape_figures.save", keep)
    fit = {"eps2": eps2, "inverse_eps2": 1 / eps2, "log_tau": log_tau, "slope": s, "predicted_slope": s}
    fit |= {"eyring_kramers_log_prefactor": float(-log_a[-1]), "rate_over_eyring_kramers": ratios}
    escape_sweep_figure(Path("sweep.png"), fit, "toy")
    prefactor = seen["fig"].axes[1]
    (law,) = [line for line in prefactor.get_lines() if line.get_label().startswith("Eyring–Kramers")]
    assert law.get_ydata() == pytest.approx(-log_a)
