"""Monte Carlo paths killed on leaving a level-set region {g < 0}, with the linearised bridge test."""

from __future__ import annotations

import sympy as sp

from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.sde.montecarlo import EulerMaruyama, exit_times


def test_disk_level_set_on_a_reflecting_square_needs_the_bridge() -> None:
    """The same exit as the disk test of test_montecarlo, with the disk given as x² + y² − 1 < 0.

    E τ = (R² − r²)/(2dε²) = 0.375 for R = 1, r = 0.5, d = 2, ε² = 0.5; the square [−1.5, 1.5]² is
    reflecting, so only the region kills. Measured (5·10⁴ paths, Δt = 2.5e-3): 0.3786 ± 0.0015 with the
    bridge (the closed-form disk test: 0.3755; the linearised distance −g/|∇g| = (R² − r²)/(2r) exceeds
    R − r, so crossings are slightly under-detected), 0.4078 ± 0.0016 without.
    """
    (x, y) = coordinates(2)
    square = Cuboid((-1.5, -1.5), (1.5, 1.5), (2, 2))
    bm = FokkerPlanckProblem(2, sp.eye(2), 0.5, square, loss=0 * x)
    region = x**2 + y**2 - 1
    args = ([0.5, 0.0], 50_000, 10.0)
    corrected, se, exited = exit_times(EulerMaruyama(bm, 2.5e-3, region=region), *args, seed=3)
    naive, se2, _ = exit_times(EulerMaruyama(bm, 2.5e-3, bridge=False, region=region), *args, seed=3)
    assert exited == 1.0
    assert abs(corrected - 0.375) <= 4 * se + 2e-3
    assert naive - 0.375 > 10 * se2
