"""``fpsolve validate``: passes on a correct problem and FAILS when the FE problem is wrong."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fpsolve.analyses.base import ValidateSettings
from fpsolve.cases.schema import load_case
from fpsolve.cases.validate import validate_case

CASES = Path(__file__).resolve().parents[3] / "cases"


def _small_case():
    case = load_case(CASES / "ou_transient_rank1.toml")
    # y is twice as fine as in the case: there sd(y) = 0.106 at t = 0.5 is 1.7 cells, FE var(y) is
    # 3 % above the exact OU value, and the y-histogram of 1e5 paths (which matches the exact law)
    # fails its χ² check (X² = 79 against 66 over 28 bins, Pearson's χ² 139); on 80 × 160 cells
    # Pearson's χ² is 22 over 30 bins
    domain = dataclasses.replace(case.problem.domain, cells=(80, 160))
    return dataclasses.replace(
        case,
        problem=dataclasses.replace(case.problem, domain=domain),
        analyses=(dataclasses.replace(case.analyses[0], t_end=0.5, output_times=(0.25, 0.5)),),
        validate=ValidateSettings(particles=100_000, dt=2e-3, seed=3),
        figures=False,
    )


def test_validation_passes_for_the_right_problem(tmp_out: Path) -> None:
    result = validate_case(_small_case(), tmp_out / "ok")
    assert result["passed"], [c for c in result["checks"] if not c["passed"]]
    # at two times: mean x, y, three covariance entries, five test-function integrals and, for the
    # histograms of x and y, their worst bin and χ²
    assert len(result["checks"]) == 2 * (5 + 5 + 4)


def test_validation_rejects_eps2_off_by_20_percent(tmp_out: Path) -> None:
    case = _small_case()
    truth = case.problem
    wrong = dataclasses.replace(case, problem=dataclasses.replace(truth, eps2=1.2 * truth.eps2))
    result = validate_case(wrong, tmp_out / "wrong", mc_problem=truth)
    assert not result["passed"]
    failed = [c["name"] for c in result["checks"] if not c["passed"]]
    assert any("cov_xx" in name for name in failed), failed  # the variance is what ε² changes


def test_a_case_with_nothing_to_compare_is_refused_not_passed(tmp_out: Path) -> None:
    """A relaxation case has no Monte Carlo comparison: an error, not an empty "PASSED"."""
    import pytest

    from fpsolve.errors import CaseError

    case = load_case(Path(__file__).parents[3] / "cases" / "relaxation_ou_2d.toml")
    with pytest.raises(CaseError, match="nothing to validate"):
        validate_case(case, tmp_out / "v")
    assert not (tmp_out / "v").exists()
