"""``fpsolve validate``: Monte Carlo histograms against the FE bin probabilities, redrawn by ``fpsolve plot``.

A 1-D OU process (stationary N(0.2, 0.05), a transient run from N(0.8, 0.01)) with 20000 paths, one
chunk: the histograms at t_stationary and at the three output times are compared bin by bin.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from mpi4py import MPI

from fpsolve.cases.commands import plot_directory
from fpsolve.cases.schema import Case, parse_case
from fpsolve.cases.validate import validate_case

FIGURES = {"validation.png", "validation_stationary_histograms.png", "validation_transient_histograms.png"}


def _case() -> Case:
    return parse_case(
        {
            "problem": {"name": "ou_1d", "drift": ["-2*(x - 0.2)"], "Q": [["1"]], "eps2": 0.1},
            "domain": {"type": "interval", "lo": [-1.3], "hi": [1.7], "cells": [300]},
            "initial": {"type": "gaussian", "mean": [0.8], "cov": [[0.01]]},
            "analysis": [
                {"type": "stationary"},
                {"type": "transient", "t_end": 0.5, "dt": 0.001, "output_times": [0.1, 0.25, 0.5]},
            ],
            "validate": {"particles": 20000, "dt": 0.004, "seed": 3, "t_stationary": 4.0},
        }
    )


def _histogram_checks(result: dict) -> list[dict]:
    return [c for c in result["checks"] if "histogram" in c["name"]]


def test_histograms_agree_and_plot_draws_them_again(tmp_out: Path) -> None:
    out = tmp_out / "ou"
    result = validate_case(_case(), out)
    assert result["passed"], [c for c in result["checks"] if not c["passed"]]
    checks = _histogram_checks(result)
    assert [c["name"].split(":")[0] for c in checks[::2]] == [
        "stationary t=4",
        *(f"transient t={t}" for t in (0.1, 0.25, 0.5)),
    ]
    records = [h for s in result["series"] for h in s.get("histograms", [])]
    assert len(records) == 4
    for h in records:
        fe, z = np.asarray(h["fe"]), np.asarray(h["z"])
        # ±4 sd of a Gaussian: the bins hold all but 6e-5 of the FE mass (1)
        assert 0.9999 < fe.sum() <= 1 + 1e-12 and np.all(fe >= 0)
        # every bin within the Bonferroni level 4.74 s.e. (measured max 2.7); Pearson's χ² over the
        # m ≈ 25 bins with np ≥ 5 is m ± √(2m) if FE is right, below its tolerance χ²_m(1 − 6e-5)
        assert np.abs(z).max() < h["z_tolerance"] and h["chi2"] < h["chi2_tolerance"]
        counts = np.asarray(h["mc"]) * h["n_paths"]
        assert h["n_paths"] == 20000 and np.abs(counts - counts.round()).max() < 1e-9
    comm = MPI.COMM_WORLD
    comm.Barrier()  # rank 0 moves the staged results into place
    assert {p.name for p in (out / "figures").glob("*.png")} == FIGURES
    comm.Barrier()  # every rank has listed them before rank 0 removes them
    if comm.rank == 0:
        for png in (out / "figures").glob("*.png"):
            png.unlink()
    comm.Barrier()
    redrawn = plot_directory(out, comm)
    assert {p.name for p in redrawn} == FIGURES
    assert {p.name for p in (out / "figures").glob("*.png")} == FIGURES


def test_histograms_reject_a_wrong_eps2(tmp_out: Path) -> None:
    case = _case()
    truth = case.problem
    wrong = dataclasses.replace(
        case, problem=dataclasses.replace(truth, eps2=1.2 * truth.eps2), figures=False
    )
    result = validate_case(wrong, tmp_out / "wrong", mc_problem=truth)
    chi2 = [c for c in _histogram_checks(result) if "chi-square" in c["name"]]
    # the FE law is 10 % too wide: X² = 101–154 against 63.1 at every time (the cov_xx checks fail
    # at two of the four times), while the worst single bin is at 4.1–4.8 s.e. against 4.74
    assert len(chi2) == 4 and all(c["value"] > 1.5 * c["tolerance"] for c in chi2)
