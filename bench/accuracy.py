"""Accuracy tables for docs/numerics.md: convergence orders, positivity, mass, AFC iteration counts.

Run from the repository root: ``.venv/bin/python bench/accuracy.py`` (a few minutes, serial).
Uses the same problem definitions as the tests (tests/solvers/*).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fpsolve  # noqa: E402,F401
from fpsolve import testing  # noqa: E402
from fpsolve.discretisation.functionals import observed_orders  # noqa: E402


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Print a markdown table."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")


def fmt(v: float) -> str:
    """Short scientific format."""
    return f"{v:.2e}"


def main() -> None:
    """Print all tables."""
    rows = []
    cases = [
        (1, [32, 64, 128, 256], "afc", 1, 1e-3),
        (2, [8, 16, 32, 64], "afc", 1, 1e-3),
        (3, [4, 8, 16], "afc", 1, 1e-3),
        (1, [32, 64, 128, 256], "upwind", 1, 1e-3),
        (2, [8, 16, 32, 64], "upwind", 1, 1e-3),
        (1, [32, 64, 128, 256], "galerkin", 1, 1e-3),
        (2, [8, 16, 32, 64], "galerkin", 1, 1e-3),
        (1, [16, 32, 64], "galerkin", 1, 0.05),
        (2, [8, 16, 32], "galerkin", 1, 0.05),
        (3, [4, 8, 16], "galerkin", 1, 0.05),
        (1, [8, 16, 32], "galerkin", 2, 0.05),
        (2, [4, 8, 16], "galerkin", 2, 0.05),
        (3, [3, 6, 9], "galerkin", 2, 0.05),
    ]
    for dim, cells, scheme, degree, eps2 in cases:
        e = testing.mms_errors(dim, cells, scheme, degree, eps2)
        o = observed_orders([1 / n for n in cells], e)
        rows.append(
            [
                f"{dim}-D",
                f"{scheme} P{degree}",
                str(eps2),
                ", ".join(map(str, cells)),
                ", ".join(map(fmt, e)),
                ", ".join(f"{v:.2f}" for v in o),
            ]
        )
    table(
        "Manufactured solutions (L2 error, observed orders)",
        ["dim", "scheme", "ε²", "cells", "L2 errors", "orders"],
        rows,
    )

    rows = []
    for scheme in ("afc", "galerkin", "upwind"):
        cells = [32, 64, 128]
        e = testing.ou_errors(
            testing.ou_problem, testing.A, testing.EPS2 * testing.Q, testing.MU, cells, scheme
        )
        h = [1 / n for n in cells]
        rows.append(
            [
                scheme,
                ", ".join(map(fmt, e[:, 0])),
                ", ".join(f"{v:.2f}" for v in observed_orders(h, e[:, 0])),
                ", ".join(map(fmt, e[:, 1])),
                ", ".join(f"{v:.2f}" for v in observed_orders(h, e[:, 1])),
                fmt(e[:, 2].min()),
            ]
        )
    table(
        "2-D anisotropic OU, stationary (cells 32/64/128, relative L2)",
        ["scheme", "ρ errors", "orders", "J errors", "orders", "min ρ/max ρ"],
        rows,
    )

    rows = []
    from fpsolve.discretisation.mesh import build_mesh
    from fpsolve.discretisation.operators import Discretisation
    from fpsolve.solvers.stationary import StationarySolver

    for gamma in (0.5, 0.1, 0.01):
        make, A, K = testing.phase_space(gamma)
        for scheme in ("afc", "galerkin"):
            e = testing.ou_errors(make, A, K, np.zeros(2), [32, 64, 128], scheme)
            its = []
            if scheme == "afc":
                for n in (32, 64, 128):
                    p = make(n)
                    t0 = time.perf_counter()
                    r = StationarySolver(Discretisation(p, build_mesh(p.domain))).solve()
                    its.append(f"{r.iterations} ({time.perf_counter() - t0:.1f} s)")
            rows.append(
                [
                    str(gamma),
                    scheme,
                    ", ".join(map(fmt, e[:, 0])),
                    ", ".join(map(fmt, e[:, 1])),
                    fmt(e[:, 2].min()),
                    ", ".join(its) or "1",
                ]
            )
    table(
        "Degenerate phase-space OU (cells 32/64/128)",
        ["γ", "scheme", "ρ rel. L2", "J rel. L2", "min ρ/max ρ", "AFC iterations (time)"],
        rows,
    )

    rows = []
    for scheme in ("afc", "upwind", "galerkin"):
        s = testing.evolve_degenerate(scheme, 1000)
        m = np.array([r.mass for r in s.history])
        rows.append(
            [scheme, str(len(m)), fmt(np.abs(m - 1).max()), fmt(min(r.min / r.max for r in s.history))]
        )
    table(
        "Transient, ε² = 1e-3, rank-1 Q, 24×24 cells, 1000 backward-Euler steps",
        ["scheme", "steps", "max abs(mass − 1)", "min over run of min ρ/max ρ"],
        rows,
    )


if __name__ == "__main__":
    main()
