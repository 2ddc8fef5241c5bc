"""``[[claims]]``: parsing, a claim decided by its check after a run and a sweep, a missing check, exit 1.

Serial and under ``mpiexec -n 2`` (the runs are in-process and collective; the exit-status test launches
``fpsolve`` on 2 ranks and runs serially). The toy problem is the 2-D
OU process dX = −AX dt + √(2ε²) A^{1/2} dW, A = diag(2, 0.5): Q = A gives Σ∞ = ε²I, an isotropic
density in an anisotropic loss (docs/theory.md §3.2), so the isotropy check has the exact ratio 1.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from mpi4py import MPI

from fpsolve.cases.claims import Claim, resolve_claims
from fpsolve.cases.commands import run_case
from fpsolve.cases.schema import parse_case
from fpsolve.errors import CaseError
from tests.integration.test_cli import run

CASE = """
[problem]
name = "isotropic_ou"
loss = "x**2 + y**2/4"
Q = [["2", "0"], ["0", "0.5"]]
eps2 = 0.05

[domain]
type = "rectangle"
lo = [-1.0, -1.0]
hi = [1.0, 1.0]
cells = [32, 32]

[discretisation]
scheme = "eafe"

[[analysis]]
type = "stationary"
reference = "ou"
rho_tolerance = 0.1
isotropy_tolerance = 0.05

[output]
figures = false

[[claims]]
statement = "the stationary density is isotropic although the loss is not"
source = "docs/theory.md §3.2 (Kunin et al.: Q ∝ H gives Σ∞ = ε²QH⁻¹)"
check = "stationary: covariance eigenvalue ratio max/min (isotropy)"
"""
ISOTROPY = "stationary: covariance eigenvalue ratio max/min (isotropy)"


def _data(**changes: Any) -> dict[str, Any]:
    data = tomllib.loads(CASE)
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"statement": "s"}, "must be a non-empty array of tables"),
        ([], "must be a non-empty array of tables"),
        ([{"statement": "s", "source": "§1", "check": "c", "tolerance": 1}], "unknown key 'tolerance'"),
        ([{"statement": "s", "source": "§1"}], "missing key 'check'"),
        ([{"statement": "s", "source": "", "check": "c"}], "claims[0].source must be a non-empty string"),
        ([{"statement": "s", "source": "§1", "check": 3}], "claims[0].check must be a non-empty string"),
    ],
)
def test_bad_claims_are_case_errors_naming_the_key(claims: Any, message: str) -> None:
    with pytest.raises(CaseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_case(_data(claims=claims))


def test_claims_parse_into_the_case() -> None:
    case = parse_case(_data())
    assert case.claims == (
        Claim(
            "the stationary density is isotropic although the loss is not",
            "docs/theory.md §3.2 (Kunin et al.: Q ∝ H gives Σ∞ = ε²QH⁻¹)",
            ISOTROPY,
        ),
    )
    no_claims = tomllib.loads(CASE.split("[[claims]]")[0])
    assert parse_case(no_claims).claims == ()


def test_resolve_copies_the_check_and_refuses_missing_or_ambiguous_names() -> None:
    checks = [
        {"name": "a: x", "value": 1.5, "reference": 1.0, "tolerance": 0.1, "passed": False},
        {"name": "b", "value": 0.0, "reference": 0.0, "tolerance": 1e-9, "passed": True},
        {"name": "b", "value": 0.0, "reference": 0.0, "tolerance": 1e-9, "passed": True},
    ]
    (record,) = resolve_claims([Claim("S", "§0", "a: x")], checks)
    assert record == {
        "statement": "S",
        "source": "§0",
        "check": "a: x",
        "value": 1.5,
        "reference": 1.0,
        "tolerance": 0.1,
        "passed": False,
    }
    with pytest.raises(CaseError, match=r"claims\[0\] \('S'\) names the check 'a: y'.*closest: 'a: x'"):
        resolve_claims([Claim("S", "§0", "a: y")], checks)
    with pytest.raises(CaseError, match="2 checks of this run have that name"):
        resolve_claims([Claim("S", "§0", "b")], checks)


def test_run_writes_the_claim_with_its_check(tmp_out: Path) -> None:
    out = tmp_out / "run"
    summary = run_case(parse_case(_data()), out, progress=False)
    (claim,) = summary["claims"]
    (decider,) = [c for c in summary["checks"] if c["name"] == ISOTROPY]
    assert {k: claim[k] for k in ("value", "reference", "tolerance", "passed")} == {
        k: decider[k] for k in ("value", "reference", "tolerance", "passed")
    }
    # Σ∞ = ε²I exactly; on 32² cells the FE covariance's eigenvalue ratio is 1.013 (measured)
    assert claim["passed"] and claim["reference"] == 1.0 and abs(claim["value"] - 1) < 0.03
    if MPI.COMM_WORLD.rank == 0:
        written = json.loads((out / "summary.json").read_text())
        assert written["claims"] == summary["claims"]


def test_claim_naming_a_missing_check_is_an_error_and_writes_nothing(tmp_out: Path) -> None:
    data = _data()
    data["claims"] = [{"statement": "s", "source": "§3.2", "check": "stationary: isotropy"}]
    out = tmp_out / "missing"
    with pytest.raises(CaseError, match="names the check 'stationary: isotropy': this run has no such check"):
        run_case(parse_case(data), out, progress=False)
    assert not out.exists()


def test_sweep_decides_claims_on_the_collected_checks(tmp_out: Path) -> None:
    data = _data(sweep={"problem.eps2": [0.05, 0.1]})
    data["claims"][0]["check"] = f"[problem.eps2=0.1] {ISOTROPY}"
    summary = run_case(parse_case(data), tmp_out / "sweep", progress=False)
    (claim,) = summary["claims"]
    assert claim["passed"] and claim["check"] == f"[problem.eps2=0.1] {ISOTROPY}"
    assert all(run["summary"]["claims"] == [] for run in summary["runs"])


@pytest.mark.serial
def test_a_failed_claim_fails_the_run_with_exit_status_1(tmp_path: Path) -> None:
    case = tmp_path / "isotropic_ou.toml"
    case.write_text(CASE.replace("isotropy_tolerance = 0.05", "isotropy_tolerance = 0.001"))
    proc = run(["run", str(case), "-o", str(tmp_path / "out"), "--quiet"])
    assert proc.returncode == 1, proc.stderr[-2000:]
    (claim,) = json.loads((tmp_path / "out" / "summary.json").read_text())["claims"]
    assert not claim["passed"] and "claim [FAIL]" in proc.stdout
