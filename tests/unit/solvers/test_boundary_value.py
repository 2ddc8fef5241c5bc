r"""Manufactured solutions: observed L2 orders of the steady forward problem in 1-D, 2-D and 3-D.

:math:`\nabla\cdot(\beta\rho - K\nabla\rho) = f` on the unit cube with ρ = 0 on ∂Ω, where f is
computed by sympy from a chosen positive ρ, an anisotropic state-dependent Q and a transport-dominated
drift (ε² = 10⁻³: cell Péclet numbers 2–60, so the AFC limiter is active on every mesh). The expected
orders are 2 for P1 (AFC and Galerkin) and 3 for P2 Galerkin; we assert ≥ 1.9 and ≥ 2.9 on the last
refinement (the observed values are listed in docs/numerics.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from fpsolve import testing
from fpsolve.discretisation.functionals import observed_orders


@pytest.mark.parametrize(
    ("dim", "cells", "scheme", "degree", "eps2", "order"),
    [
        (1, [32, 64, 128, 256], "afc", 1, 1e-3, 1.9),
        (2, [8, 16, 32, 64], "afc", 1, 1e-3, 1.9),
        (3, [4, 8, 16], "afc", 1, 1e-3, 1.9),
        (1, [16, 32, 64], "galerkin", 1, 0.05, 1.9),
        (2, [8, 16, 32], "galerkin", 1, 0.05, 1.9),
        (3, [4, 8, 16], "galerkin", 1, 0.05, 1.9),
        (1, [8, 16, 32], "galerkin", 2, 0.05, 2.9),
        (2, [4, 8, 16], "galerkin", 2, 0.05, 2.9),
        (3, [3, 6, 9], "galerkin", 2, 0.05, 2.9),
    ],
)
def test_manufactured_solution_order(
    dim: int, cells: list[int], scheme: str, degree: int, eps2: float, order: float
) -> None:
    errors = testing.mms_errors(dim, cells, scheme, degree, eps2)
    orders = observed_orders([1.0 / n for n in cells], errors)
    assert orders[-1] >= order, (errors, orders)
    assert np.all(np.diff(errors) < 0)
