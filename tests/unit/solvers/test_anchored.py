"""The anchored (renewal) form of backward solves: exit times far beyond what a direct LU resolves."""

from __future__ import annotations

import numpy as np
import pytest

from fpsolve import testing
from fpsolve.solvers.anchored import PRECISION_TOL, ROUNDOFF, precision_indicator


# 1-D double well L = x⁴/4 − x²/2 (ΔL = 1/4), reflecting at −2, absorbing at the saddle, eafe, 256 cells.
# Measured relative errors of T(−1) against the double integral: 2.0e-4 (ΔL/ε² = 20), 4.1e-4 (40),
# 1.0e-3 (100, T = 1.3e43). The direct solve of the same matrix gave −1.3e-5, −1.00 (T < 0) and no
# answer: round-off of the generator's diagonal (≈ u·max B_ii/m_i ≈ 1e-12 per unit time) swamps the
# escape rate 1/T.
@pytest.mark.parametrize(("ratio", "measured"), [(20, 2.0e-4), (40, 4.1e-4), (100, 1.0e-3)])
def test_double_well_exit_time_far_beyond_double_precision(ratio: float, measured: float) -> None:
    err = testing.double_well_error(0.25 / ratio, 256, "eafe")
    assert abs(err) < 1.5 * measured, err


def test_second_order_at_large_barrier() -> None:
    # ΔL/ε² = 40: 4.07e-4 (256 cells) → 2.54e-5 (1024): order 2.00; the error is the scheme's alone
    coarse, fine = (abs(testing.double_well_error(0.25 / 40, n, "eafe")) for n in (256, 1024))
    assert np.log2(coarse / fine) / 2 > 1.9, (coarse, fine)


def test_precision_indicator_scales_with_the_solution() -> None:
    from petsc4py import PETSc

    x = PETSc.Vec().createSeq(3)
    x.setValues([0, 1, 2], [1.0, -4.0, 2.0])
    assert precision_indicator(x, 10.0) == pytest.approx(ROUNDOFF * 40.0)
    assert PRECISION_TOL < 1e-2
