"""The ``spectrum`` analysis: parsing, exact matching, and tiny cases run end to end (any rank count)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mpi4py import MPI

from fpsolve.analyses.spectrum import SpectrumAnalysis, match_exact
from fpsolve.cases.commands import plot_directory, run_case
from fpsolve.cases.schema import CaseError, parse_case
from fpsolve.errors import ProblemError

#: docs/cases.md mixing_degenerate on a coarse mesh: rank-1 noise, H with eigenvalues 1 and 2.5.
HORMANDER: dict[str, Any] = {
    "problem": {
        "name": "tiny_spectrum",
        "loss": "(1.75*x**2 + 1.5*x*y + 1.75*y**2)/2",
        "Q": [["1", "0"], ["0", "0"]],
        "eps2": 1.0,
    },
    "domain": {"type": "rectangle", "lo": [-6.0, -2.0], "hi": [6.0, 2.0], "cells": [14, 14]},
    "discretisation": {"scheme": "galerkin", "degree": 3},
    "analysis": [
        {"type": "spectrum", "modes": 4, "reference": "ou", "gap_tolerance": 3e-4, "tolerance": 3e-3}
    ],
}
#: L = x⁴/4 − x²/2, ε² = 0.1 on [−3, 3]: λ₁ = 0.03355 (docs/theory.md §7), two metastable wells.
DOUBLE_WELL: dict[str, Any] = {
    "problem": {"name": "tiny_double_well", "loss": "x**4/4 - x**2/2", "Q": [["1"]], "eps2": 0.1},
    "domain": {"type": "interval", "lo": [-3.0], "hi": [3.0], "cells": [120]},
    "discretisation": {"scheme": "galerkin", "degree": 2},
    "analysis": [{"type": "spectrum", "modes": 4}],
}


def _summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"modes": 1}, "modes"),
        ({"modes": 51}, "modes"),
        ({"tolerance": 0}, "tolerance"),
        ({"metastable_ratio": 1.0}, "metastable_ratio"),
        ({"reference": "gibbs"}, "reference"),
        ({"shift": 1.0}, "shift"),
    ],
)
def test_bad_tables_are_refused(table: dict[str, Any], message: str) -> None:
    data = copy.deepcopy(HORMANDER)
    data["analysis"] = [{"type": "spectrum", **table}]
    with pytest.raises(CaseError, match=message):
        parse_case(data)


def test_parse_defaults() -> None:
    analysis = parse_case(DOUBLE_WELL).analyses[0]
    assert analysis == SpectrumAnalysis(modes=4)
    assert (analysis.target, analysis.tolerance, analysis.metastable_ratio) == (-1e-3, 1e-3, 0.1)


def test_match_exact_is_one_to_one_with_multiplicity() -> None:
    A = np.diag([1.0, 2.0])  # exact 0, 1, 2, 2, 3, 3, …
    lam = np.array([0.0, 1.0001, 1.999, 2.002, 2.9])
    matched, errors = match_exact(lam.astype(complex), A)
    np.testing.assert_allclose(matched.real, [0, 1, 2, 2, 3])
    np.testing.assert_allclose(errors, [0, 1e-4, 5e-4, 1e-3, 0.1 / 3], rtol=1e-9, atol=1e-15)


def test_hormander_case_end_to_end(tmp_out: Path) -> None:
    # P3 on 14×14 cells (1849 dofs): gap error 8.9e-5, the first four eigenvalues within 5.1e-4 (measured)
    summary = run_case(parse_case(HORMANDER), tmp_out / "h", progress=False)
    assert all(c["passed"] for c in summary["checks"]) and len(summary["checks"]) == 3
    spec = summary["observables"]["spectrum"]
    assert spec["exact"]["controllable"] and spec["exact"]["kalman_rank"] == 2
    assert abs(spec["relaxation_time"] - 1.0) < 3e-4 and spec["metastable"] is None
    assert spec["biorthogonality"] < 1e-6 and max(spec["backward_errors"]) < 1e-10
    np.testing.assert_allclose(
        spec["stationary_covariance"], spec["exact"]["stationary_covariance"], atol=1e-3
    )
    assert summary["figures"] == ["figures/spectrum_eigenvalues.png", "figures/spectrum_modes.png"]
    if MPI.COMM_WORLD.rank == 0:
        text = (tmp_out / "h" / "spectrum.xdmf").read_text()
        assert all(f'Name="{f}_{i}"' in text for f in ("phi", "psi") for i in range(4))
    MPI.COMM_WORLD.Barrier()
    assert len(plot_directory(tmp_out / "h")) == 2


def test_double_well_has_two_metastable_sets(tmp_out: Path) -> None:
    summary = run_case(parse_case(DOUBLE_WELL), tmp_out / "dw", progress=False)
    spec = summary["observables"]["spectrum"]
    assert abs(spec["gap"] - 0.03355) < 2e-4  # 0.033545 measured here and on 200 cells
    sets = spec["metastable"]
    assert sets["sets"] == 2 and sets["gap_ratio"] < 0.05
    np.testing.assert_allclose(sets["stationary_masses"], [0.5, 0.5], atol=1e-9)  # symmetric wells
    np.testing.assert_allclose(sets["residence_times"], 2 / spec["gap"], rtol=1e-8)
    assert sets["vertices"][0][0] > 0 > sets["vertices"][1][0]  # set 0 is where ψ₁ > 0
    if MPI.COMM_WORLD.rank == 0:
        assert 'Name="metastable_set"' in (tmp_out / "dw" / "spectrum.xdmf").read_text()


def test_a_non_controllable_pair_is_compared_not_checked(tmp_out: Path) -> None:
    data = copy.deepcopy(HORMANDER)
    data["problem"].update({"loss": "x**2/2 + y**2", "name": "not_controllable"})
    data["domain"]["cells"] = [8, 8]
    data["output"] = {"figures": False}
    summary = run_case(parse_case(data), tmp_out / "nc", progress=False)
    exact = summary["observables"]["spectrum"]["exact"]
    assert not exact["controllable"] and exact["kalman_rank"] == 1
    assert [c["name"] for c in summary["checks"]] == ["spectrum: |lambda_0| / Re lambda_1"]


def test_the_limited_scheme_is_refused(tmp_out: Path) -> None:
    data = copy.deepcopy(DOUBLE_WELL)
    data["discretisation"] = {"scheme": "afc"}
    with pytest.raises(ProblemError, match="nonlinear"):
        run_case(parse_case(data), tmp_out / "afc", progress=False)


def test_sweep_fit_collects_the_runs() -> None:
    def run(delta: float, gap: float) -> dict[str, Any]:
        exact = {
            "noise_floor": delta,
            "eigenvalues_real": [0, 1],
            "gap": 1.0,
            "gap_relative_error": abs(gap - 1),
        }
        exact["stationary_covariance"] = [[1 + delta, 0], [0, delta]]
        spectrum = {"eigenvalues_real": [0, gap], "gap": gap, "relaxation_time": 1 / gap, "exact": exact}
        spectrum["stationary_covariance"] = exact["stationary_covariance"]
        return {"observables": {"spectrum": spectrum}}

    fit = SpectrumAnalysis.sweep_fit([run(0.1, 1.0 + 1e-9), run(0.0, 1.0 - 2e-9)])
    assert fit is not None and fit["noise_floor"] == [0.1, 0.0]
    np.testing.assert_allclose(fit["gap_relative_error"], [1e-9, 2e-9], rtol=1e-6)
    np.testing.assert_allclose(fit["covariance_eigenvalues"], [[0.1, 1.1], [0.0, 1.0]])
    assert SpectrumAnalysis.sweep_fit([run(0.1, 1.0)]) is None
