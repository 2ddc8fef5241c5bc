"""A ``[sweep]`` over ``domain.cells`` records the observed orders and draws ``figures/convergence.png``.

1-D Ornstein–Uhlenbeck, dX = −2(X − 0.1) dt + sqrt(2ε²) dW on [−1.2, 1.2] (5.4 standard deviations
each side), exact stationary density N(0.1, ε²/2). P1 + AFC: the relative L² error of ρ is O(h²)
(measured 2.77e-2, 6.99e-3, 1.75e-3 on 16, 32, 64 cells: orders 1.99 least squares, 2.00 finest pair).
Runs serially and under ``mpiexec -n 2``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mpi4py import MPI

from fpsolve.cases.commands import plot_directory, run_case
from fpsolve.cases.schema import parse_case

CASE = """
[problem]
name = "ou_1d_convergence"
drift = ["-2*(x - 0.1)"]
Q = [["1"]]
eps2 = 0.1

[domain]
type = "interval"
lo = [-1.2]
hi = [1.2]
cells = 16

[[analysis]]
type = "stationary"
reference = "ou"
rho_tolerance = 0.05
current_tolerance = 0.3

[sweep]
"domain.cells" = [16, 32, 64]
"""

RHO = "stationary: rel. L2 error of rho vs N(mu, Sigma)"


def test_mesh_sweep_records_order_two_for_the_ou_density(tmp_out: Path) -> None:
    case = parse_case(tomllib.loads(CASE), tmp_out / "ou_1d_convergence.toml")
    out = tmp_out / "out"
    summary = run_case(case, out, progress=False)
    record = summary["convergence"]
    assert record["h"] == pytest.approx([2.4 / 16, 2.4 / 32, 2.4 / 64])  # (|Ω| / cells)^(1/1)
    rho = record["checks"][RHO]
    # order 2 of P1: 0.1 admits the pre-asymptotic 1.98 of the coarsest pair and round-off of the LU
    # solves across rank counts, and still tells apart an O(h) error (upwinding) or a mis-measured h
    assert rho["order_least_squares"] == pytest.approx(2.0, abs=0.1)
    assert rho["order_finest_pair"] == pytest.approx(2.0, abs=0.1)
    assert set(record["skipped"]) == {"stationary: mass", "stationary: min rho / max rho"}
    figure = out / "figures" / "convergence.png"
    assert figure.is_file() and "figures/convergence.png" in summary["figures"]
    comm = MPI.COMM_WORLD
    comm.Barrier()  # every rank has looked at the figure before rank 0 removes it
    if comm.rank == 0:
        figure.unlink()
    comm.Barrier()
    assert figure in plot_directory(out, comm)  # `fpsolve plot` draws it again from summary.json
    assert figure.is_file()
