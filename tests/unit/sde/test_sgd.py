r"""Mini-batch SGD ensembles (fpsolve/sde/sgd.py) and the η sweep against the SDE (cases/eta_sweep.py).

1-D quadratic with exact discrete statistics: ℓ = (w a − t)²/2, a = (1, 1), t = (0, 0), fresh label
noise δ = 1, b = 1: every step is w ← (1 − η) w + η δ ξ, so
Var w_k = (1−η)^{2k} v₀ + η²δ² (1 − (1−η)^{2k}) / (1 − (1−η)²)  (stationary ηδ²/(2 − η)), while the SDE
(ε² = η/2, Q = δ²) has Var w_t = e^{−2t} v₀ + ε²δ² (1 − e^{−2t}): the SGD/SDE variance ratio at
stationarity is 1/(1 − η/2), the mismatch the η sweep must measure.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from mpi4py import MPI

from fpsolve.cases.schema import parse_case
from fpsolve.cases.validate import validate_case
from fpsolve.sde.montecarlo import CHUNK, simulate_moments
from fpsolve.sde.sgd import MiniBatchSGD

V0 = 0.01


def _case(eta: float = 0.1, factors: list[float] | None = None):
    data = {
        "problem": {"name": "sgd_1d"},
        "model": {
            "parameters": ["w"],
            "loss": "(w*a - t)**2/2",
            "eta": eta,
            "batch": 1,
            "label": "t",
            "label_noise": 1.0,
        },
        "data": {"columns": {"a": [1.0, 1.0], "t": [0.0, 0.0]}},
        "domain": {"type": "interval", "lo": [-2.5], "hi": [2.5], "cells": [400]},
        "initial": {"type": "gaussian", "mean": [0.0], "cov": [[V0]]},
        "analysis": [{"type": "transient", "t_end": 4.0, "dt": 0.01, "output_times": [4.0]}],
        "validate": {"particles": 20000, "dt": 0.01, "seed": 4, "sgd_eta_factors": factors or [1]},
        "output": {"figures": False},
    }
    return parse_case(data, Path("sgd_1d.toml"))


def _sgd_var(eta: float, k: int) -> float:
    a = (1 - eta) ** (2 * k)
    return a * V0 + eta**2 * (1 - a) / (1 - (1 - eta) ** 2)


def _sample(rng: np.random.Generator, m: int) -> np.ndarray:
    return rng.normal(0.0, np.sqrt(V0), (m, 1))


def test_sgd_variance_is_the_exact_discrete_one() -> None:
    case = _case(eta=0.2)
    sgd = MiniBatchSGD(case.problem, case.model, 0.2)
    (m,) = simulate_moments(sgd, _sample, 40000, [6.0], seed=3)
    exact = _sgd_var(0.2, 30)  # 0.1111 (the SDE's would be 0.1000)
    # s.e. of the variance ≈ var·sqrt(2/n) = 8e-4; 4 s.e.
    assert abs(m.cov[0, 0] - exact) < 4 * m.cov_se[0, 0], (m.cov[0, 0], exact, m.cov_se[0, 0])
    assert abs(m.cov[0, 0] - 0.1 * (1 - np.exp(-12))) > 8 * m.cov_se[0, 0]  # and visibly not the SDE's


def test_sgd_ensemble_is_rank_count_invariant() -> None:
    case = _case()
    sgd = MiniBatchSGD(case.problem, case.model, 0.1)
    n = 2 * CHUNK + 10  # three chunks
    world = simulate_moments(sgd, _sample, n, [0.5], seed=9, comm=MPI.COMM_WORLD)[0]
    alone = simulate_moments(sgd, _sample, n, [0.5], seed=9, comm=MPI.COMM_SELF)[0]
    assert world.mean.tolist() == alone.mean.tolist() and world.cov.tolist() == alone.cov.tolist()


def test_eta_sweep_measures_the_growing_sgd_sde_mismatch(tmp_out: Path) -> None:
    case = _case(eta=0.1, factors=[1, 4])
    result = validate_case(case, tmp_out / "val")
    assert result["passed"], [c for c in result["checks"] if not c["passed"]]  # FE vs SDE paths
    runs = result["sgd"]["runs"]
    for run in runs:
        row = run["series"][0]
        eta, k = run["eta"], row["steps"]
        sde = np.exp(-2 * row["t_sgd"]) * V0 + eta / 2 * (1 - np.exp(-2 * row["t_sgd"]))
        assert abs(row["sgd_cov"][0][0] - _sgd_var(eta, k)) < 4 * row["sgd_cov_se"][0][0]
        assert abs(row["sde_cov"][0][0] - sde) < 4 * row["sde_cov_se"][0][0] + 2e-3 * sde  # + EM bias
    # exact ratios 1/(1 − η/2) − 1 = 0.053 and 0.25; s.e. of each ratio ≈ 1.4 %
    assert abs(runs[0]["variance_rel_mismatch"] - 0.053) < 0.06
    assert abs(runs[1]["variance_rel_mismatch"] - 0.25) < 0.06
    assert runs[1]["variance_max_abs_z"] > 8


def test_sgd_case_replace_keeps_model() -> None:
    case = _case()
    faster = dataclasses.replace(case.model, eta=0.3)
    assert faster.eps2 == 0.15 and case.model.eps2 == 0.05
