"""Observed orders of a mesh sweep: exact power laws give their exponent; which checks get an order."""

from __future__ import annotations

import math
from typing import Any

import pytest

from fpsolve.cases.convergence import convergence, mesh_size, observed_order, varies_mesh


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0])
def test_exact_power_laws_give_the_exact_order(p: float) -> None:
    h = [0.3, 0.05, 0.12, 0.02]  # unsorted, unevenly spaced
    least_squares, finest = observed_order(h, [7.0 * v**p for v in h])
    assert least_squares == pytest.approx(p, abs=1e-12)
    assert finest == pytest.approx(p, abs=1e-12)


def test_finest_pair_is_the_two_smallest_distinct_h() -> None:
    # e = h² except on the coarsest mesh: only the least-squares order sees it
    least_squares, finest = observed_order([0.4, 0.2, 0.1, 0.1], [1.0, 0.04, 0.01, 0.01])
    assert finest == pytest.approx(2.0, abs=1e-12)
    assert least_squares > 2.5


def test_one_mesh_size_has_no_order() -> None:
    assert all(math.isnan(p) for p in observed_order([0.1, 0.1], [1e-2, 2e-2]))


def test_mesh_size_is_the_edge_of_the_mean_cell_volume() -> None:
    assert mesh_size(2.4**2, 2 * 24**2, 2) == pytest.approx(0.1 / math.sqrt(2))  # right-diagonal squares
    assert mesh_size(2.0, 40, 1) == pytest.approx(0.05)


def test_sweeps_over_cells_or_h_vary_the_mesh() -> None:
    assert varies_mesh(["problem.eps2", "domain.cells"]) and varies_mesh(["domain.h"])
    assert not varies_mesh(["problem.eps2", "domain.radius", "k"])


def _check(name: str, value: float, reference: float = 0.0, tolerance: float = 0.1) -> dict[str, Any]:
    return {"name": name, "value": value, "reference": reference, "tolerance": tolerance, "passed": True}


def test_record_orders_real_errors_and_names_the_skipped_checks() -> None:
    h = [0.2, 0.1, 0.05]
    summaries = [
        {
            "checks": [
                _check("L2 error", 3 * v**2),
                _check("mass", 1.0 + 1e-15 * k, 1.0, 1e-10),  # round-off
                _check("min rho / max rho", 0.0, 0.0, 1e-9),  # identically zero
                _check("T(x0)", 2.0 + v, 2.0),  # |value − reference| = h: order 1
                _check("exact", 5.0 + v, 5.0, 0.0),  # tolerance 0: not a convergence check
                _check("nan", math.nan),
            ]
            + ([_check("first run only", v)] if k == 0 else [])
        }
        for k, v in enumerate(h)
    ]
    record = convergence(h, summaries)
    assert record is not None and record["h"] == h
    assert set(record["checks"]) == {"L2 error", "T(x0)"}
    assert record["checks"]["L2 error"]["errors"] == pytest.approx([3 * v**2 for v in h])
    assert record["checks"]["L2 error"]["order_least_squares"] == pytest.approx(2.0, abs=1e-12)
    assert record["checks"]["T(x0)"]["order_finest_pair"] == pytest.approx(1.0, abs=1e-9)
    assert record["skipped"] == {
        "mass": "error zero or at round-off",
        "min rho / max rho": "error zero or at round-off",
        "nan": "error not finite",
        "first run only": "not in every run",
    }


def test_no_record_without_two_mesh_sizes() -> None:
    assert convergence([0.1, 0.1], [{"checks": [_check("e", 0.1)]}] * 2) is None
