"""The escape analysis: λ₁, QSD, committor and exit fractions of a 2-D double well with two exits."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import sympy as sp

from fpsolve.cases.commands import run_case
from fpsolve.cases.schema import parse_case
from fpsolve.cases.validate import validate_case
from fpsolve.errors import CaseError


def case(eps2: float, **extra: object) -> dict:
    analysis = {"type": "escape", "start_points": [[-1.0, 0.0]], "target": ["xmax"]}
    return {
        "problem": {
            "name": "two_exits",
            "loss": "x**4/4 - x**2/2 + y**2",
            "Q": [["1", "0.3"], ["0.3", "0.5"]],
            "eps2": eps2,
        },
        "domain": {"type": "rectangle", "lo": [-2.0, -1.2], "hi": [0.4, 0.6], "cells": [48, 36]},
        "boundary": {"absorbing": ["xmax", "ymax"]},
        "discretisation": {"scheme": "eafe"},
        "analysis": [{**analysis, **extra}],
    }


def test_escape_identities_and_figure(tmp_out: Path) -> None:
    """ΔL/ε² = 2.5, exits at the saddle side (x = 0.4, barrier 0.25) and at y = 0.6 (barrier 0.36).

    λ₁E_QSD τ = 1 and the exit fractions sum to 1, to solver accuracy.
    """
    summary = run_case(parse_case(case(0.1)), tmp_out / "escape", progress=False)
    assert all(c["passed"] for c in summary["checks"]), summary["checks"]
    obs = summary["observables"]["escape"]
    assert obs["rate_source"] == "eigenvalue"
    assert abs(obs["rate_times_mean_exit_time"] - 1) < 1e-8
    fractions = obs["exit_fractions"]
    assert 0.5 < fractions["xmax"] < 1 and 0 < fractions["ymax"] < 0.5  # the saddle side wins
    # from the minimum the committor to xmax is close to the QSD's fraction (the QSD sits at the minimum)
    assert obs["start_points"]["committor"][0] == pytest.approx(fractions["xmax"], abs=0.05)
    assert {"figures/escape.png"} <= set(summary["figures"])
    names = set(summary["fields"])
    assert names == {"escape.xdmf"}


def test_small_noise_rate_comes_from_the_anchored_exit_time(tmp_out: Path) -> None:
    """ΔL/ε² = 40: the eigenvalue is beyond double precision; the rate is 1/E_QSD[τ], with no flux check."""
    data = case(0.25 / 40, eyring_kramers_minimum=[-1.0, 0.0], eyring_kramers_saddle=[0.0, 0.0])
    data["problem"]["Q"] = [["1", "0"], ["0", "1"]]
    data["boundary"]["absorbing"] = ["xmax"]
    data["analysis"][0]["target"] = []
    data["output"] = {"figures": False}
    summary = run_case(parse_case(data), tmp_out / "deep", progress=False)
    obs = summary["observables"]["escape"]
    assert obs["rate_source"].startswith("1/E_qsd")
    assert all(c["passed"] for c in summary["checks"])
    assert not any("λ₁ · E_QSD" in c["name"] for c in summary["checks"])
    # absorbed at x = 0.4, past the saddle: the Eyring–Kramers rate to O(ε²) + O(h²) (measured 0.974 at
    # h = 0.05; the y = 0.6 wall is 0.36 above the minimum, 14 more units of ε² than the saddle)
    assert obs["eyring_kramers"]["rate_over_eyring_kramers"] == pytest.approx(1.0, abs=0.05)


def test_target_must_be_an_absorbing_part() -> None:
    with pytest.raises(CaseError, match="not an absorbing part"):
        parse_case(case(0.1, target=["ymin"]))


def test_an_eyring_kramers_tolerance_needs_the_points() -> None:
    with pytest.raises(CaseError, match="eyring_kramers_tolerance needs eyring_kramers_minimum"):
        parse_case(case(0.1, eyring_kramers_tolerance=0.01))


def test_sweep_fits_the_arrhenius_slope_and_checks_it(tmp_out: Path) -> None:
    """1-D double well, ΔL/ε² = 5 … 40: the fitted slope of log E_QSD[τ] is the barrier 1/4.

    Measured: a/ε² + b + cε² fit 0.24986 (512 cells); the sweep check compares it with the Eyring–Kramers
    barrier at the default 5 %.
    """
    data = {
        "problem": {"name": "arrhenius", "loss": "x**4/4 - x**2/2", "Q": [["1"]], "eps2": 0.05},
        "domain": {"type": "interval", "lo": [-2.0], "hi": [0.4], "cells": [512]},
        "boundary": {"absorbing": ["xmax"]},
        "discretisation": {"scheme": "eafe"},
        "analysis": [{"type": "escape", "eyring_kramers_minimum": [-1.0], "eyring_kramers_saddle": [0.0]}],
        "sweep": {"problem.eps2": [0.05, 0.025, 0.0125, 0.00625]},
        "output": {"figures": True},
    }
    summary = run_case(parse_case(data), tmp_out / "sweep", progress=False)
    fit = summary["fits"]["escape"]
    assert fit["slope_corrected"] == pytest.approx(0.25, rel=1e-3)
    sweep_check = [c for c in summary["checks"] if c["name"].startswith("escape sweep")]
    assert len(sweep_check) == 1 and sweep_check[0]["passed"]
    assert "figures/sweep_escape.png" in summary["figures"]


def test_power_law_escape_from_a_degenerate_saddle(tmp_out: Path) -> None:
    """The cubic drift −X² from (−1, 1): x = ε^{2/3}s gives E τ ∝ (ε²)^{−1/3} (not Arrhenius).

    Measured exponent at the two smallest ε² (1e-3, 1e-4; 2000 cells): −0.333338; checked by the sweep at
    the default absolute tolerance 0.02.
    """
    data = {
        "problem": {"name": "cubic", "loss": "x**3/3", "Q": [["1"]], "eps2": 0.01},
        "domain": {"type": "interval", "lo": [-1.0], "hi": [1.0], "cells": [2000]},
        "boundary": {"absorbing": ["xmin", "xmax"]},
        "discretisation": {"scheme": "eafe"},
        "analysis": [{"type": "escape", "start_points": [[0.0]], "predicted_exponent": -1 / 3}],
        "sweep": {"problem.eps2": [0.01, 0.001, 0.0001]},
        "output": {"figures": False},
    }
    summary = run_case(parse_case(data), tmp_out / "power", progress=False)
    assert all(c["passed"] for c in summary["checks"]), [c for c in summary["checks"] if not c["passed"]]
    fit = summary["fits"]["escape"]
    assert fit["exponent_smallest_eps"] == pytest.approx(-1 / 3, abs=0.02)
    assert any(c["name"].startswith("escape sweep: exponent") for c in summary["checks"])


def _brownian_case(**extra: object) -> dict:
    """Brownian motion dX = √2 dW on (−1, 1), absorbing at both ends: E_ν τ = 1/λ₁ = 4/π²."""
    return {
        "problem": {"name": "brownian", "loss": "0", "Q": [["1"]], "eps2": 1.0},
        "domain": {"type": "interval", "lo": [-1.0], "hi": [1.0], "cells": [64]},
        "boundary": {"absorbing": ["xmin", "xmax"]},
        "discretisation": {"scheme": "eafe"},
        "analysis": [{"type": "escape", **extra}],
        "validate": {"particles": 20000, "dt": 1e-3, "seed": 7},
        "output": {"figures": False},
    }


def test_validate_starts_paths_from_the_qsd(tmp_out: Path) -> None:
    """E_QSD[τ] and 1/λ₁ against the mean exit time of paths drawn from the FE QSD.

    Measured (64 cells; the same numbers serially and on 2 ranks): FE E_QSD[τ] = 0.405366 (exact 4/π² =
    0.405285), MC 0.406343 ± 0.00289 (2·10⁴ paths, Δt/2 = 5e-4), Δt-bias estimate 0.00195, tolerance
    0.0135; MC sd(τ)/E τ = 1.0059 (exponential law: 1).
    """
    result = validate_case(parse_case(_brownian_case()), tmp_out / "qsd")
    assert result["passed"], result["checks"]
    names = [c["name"] for c in result["checks"]]
    assert names == ["escape: E_QSD[τ], paths from the QSD", "escape: 1/λ₁, paths from the QSD"]
    fe, inverse_rate = (c["value"] for c in result["checks"])
    assert fe == pytest.approx(4 / math.pi**2, rel=5e-4) and inverse_rate == pytest.approx(fe, rel=1e-8)
    record = result["series"][0]["qsd_paths"]
    assert record["exited_fraction"] == 1.0 and record["mc_sd_over_mean"] == pytest.approx(1.0, abs=0.03)
    assert abs(record["clipped_mass"]) < 1e-12


def test_qsd_paths_reject_a_wrong_noise(tmp_out: Path) -> None:
    """FE with ε² 30 % too large against paths of the true process: all checks fail.

    Measured: FE E_QSD[τ] = 0.31182, MC 0.40625 ± 0.0029, tolerance 0.0134.
    """
    case = parse_case(_brownian_case())
    wrong = dataclasses.replace(case, problem=dataclasses.replace(case.problem, eps2=1.3))
    result = validate_case(wrong, tmp_out / "wrong", mc_problem=case.problem)
    assert not any(c["passed"] for c in result["checks"])


def test_qsd_paths_can_be_switched_off(tmp_out: Path) -> None:
    with pytest.raises(CaseError, match="nothing was compared"):
        validate_case(parse_case(_brownian_case(qsd_paths=False)), tmp_out / "off")
    with pytest.raises(CaseError, match="qsd_paths must be true or false"):
        parse_case(_brownian_case(qsd_paths="yes"))


def _disk_case(cells: int, half_width: float = 1.0, **extra: object) -> dict:
    """Brownian motion (Q = I, ε² = 1) in the disk |x| < 0.7 given as a level set on a square mesh.

    Exact: T(x) = (R² − |x|²)/(4ε²), λ₁ = ε²j₀₁²/R² (j₀₁ the first zero of J₀), E_QSD[τ] = 1/λ₁.
    """
    analysis = {"type": "escape", "start_points": [[0.0, 0.0]], "region": "x**2 + y**2 - 0.49", **extra}
    w = half_width
    return {
        "problem": {"name": "disk", "loss": "0", "Q": [["1", "0"], ["0", "1"]], "eps2": 1.0},
        "domain": {"type": "rectangle", "lo": [-w, -w], "hi": [w, w], "cells": [cells, cells]},
        "boundary": {"absorbing": ["xmin", "xmax", "ymin", "ymax"]},
        "discretisation": {"scheme": "eafe"},
        "analysis": [analysis],
        "validate": {"particles": 20000, "dt": 1e-3, "seed": 11},
        "output": {"figures": False},
    }


def test_region_level_set_converges_at_first_order(tmp_out: Path) -> None:
    """The disk as a level set: the staircase of mesh nodes enlarges it by O(h), T and λ₁ err by O(h).

    Measured relative errors of T(0), T(0.3, 0.2), λ₁ at h = 1/8 … 1/256 (square [−1, 1]²):
    T(0) 12.7, 8.2, 3.6, 1.73, 0.87, 0.40 %; λ₁ 12.0, 7.8, 3.5, 1.71, 0.87, 0.40 % (observed order
    0.98–1.20 from h = 1/32 on, 0.5–0.6 before). T(0) at h = 1/32 and 1/64 (0.126895372122,
    0.124616175798) and λ₁ (11.3881995301, 11.6005207553) agree to 12 digits serially and on 2 ranks.
    """
    exact_t, exact_rate = 0.49 / 4, 2.404825557695773**2 / 0.49
    errors = []
    for cells, t_ref, rate_ref in ((64, 0.126895372122, 11.3881995301), (128, 0.124616175798, 11.6005207553)):
        summary = run_case(parse_case(_disk_case(cells)), tmp_out / f"disk{cells}", progress=False)
        assert all(c["passed"] for c in summary["checks"]), summary["checks"]
        obs = summary["observables"]["escape"]
        t0 = obs["start_points"]["T"][0]
        assert t0 == pytest.approx(t_ref, rel=1e-9) and obs["eigenvalue"] == pytest.approx(rate_ref, rel=1e-9)
        assert obs["exit_fractions"]["region"] == pytest.approx(1.0, abs=1e-12)
        errors.append((t0 / exact_t - 1, 1 - obs["eigenvalue"] / exact_rate))
    (t_coarse, rate_coarse), (t_fine, rate_fine) = errors
    assert 0 < t_fine < t_coarse and 0 < rate_fine < rate_coarse  # the basin grows by up to a cell
    assert 1.8 < t_coarse / t_fine < 2.4 and 1.8 < rate_coarse / rate_fine < 2.4


def test_region_paths_are_killed_outside(tmp_out: Path) -> None:
    """Validate with a region: Monte Carlo paths die on leaving the disk (bridge test at the level set).

    Measured (h = 1/128, 2·10⁴ paths, Δt/2 = 5e-4): FE T(0) = 0.12357 against MC 0.12261 ± 0.00061
    (Δt-bias estimate 0.00148, tolerance 0.0039; exact 0.1225); FE E_QSD[τ] = 0.08547 against MC from
    the QSD 0.08437 ± 0.00059 (tolerance 0.0036; exact 1/λ₁ = 0.08473).
    """
    result = validate_case(parse_case(_disk_case(192, half_width=0.75)), tmp_out / "disk_mc")
    assert result["passed"], result["checks"]


def test_region_may_name_the_loss() -> None:
    data = _disk_case(8, region="L - 0.3")
    data["problem"]["loss"] = "(x**2 + y**2)/4"
    case = parse_case(data)
    assert sp.simplify(case.analyses[0].region - (case.problem.loss - 0.3)) == 0


def test_region_must_hold_the_start_points() -> None:
    with pytest.raises(CaseError, match="outside the region"):
        parse_case(_disk_case(8, start_points=[[0.8, 0.0]]))
    with pytest.raises(CaseError, match="undefined symbol 'r'"):
        parse_case(_disk_case(8, region="r - 0.7"))


def test_loss_proportional_escape_tends_to_mori_law(tmp_out: Path) -> None:
    """Q = L/L*, 1-D (cases/escape_power_law_1d.toml on a coarser mesh): λ₁ over Mori's rate (17).

    Measured with 725 cells (h = 0.004): 0.9607 and 0.9795 at φ = 20, 40, as with h = 0.001 (1 − 8ε²:
    the law's own O(ε²)); the rate without Mori's 1 − n/2 would be 1.87 times larger.
    """
    loss = "0.1 + (x**2 - 1)**2/4"
    data = {
        "problem": {"name": "mori", "loss": loss, "Q": [[f"({loss})/0.1"]], "eps2": 0.005},
        "domain": {"type": "interval", "lo": [-2.5], "hi": [0.4], "cells": [725]},
        "boundary": {"absorbing": ["xmax"]},
        "analysis": [
            {
                "type": "escape",
                "eyring_kramers_minimum": [-1.0],
                "eyring_kramers_saddle": [0.0],
                "eyring_kramers_tolerance": 0.03,
            }
        ],
        "sweep": {"problem.eps2": [0.005, 0.0025]},
    }
    summary = run_case(parse_case(data), tmp_out / "mori", progress=False)
    ratios = summary["fits"]["escape"]["rate_over_eyring_kramers"]
    assert ratios == pytest.approx([0.9607, 0.9795], abs=2e-3)
    assert all(c["passed"] for c in summary["checks"] if c["name"].startswith("escape sweep: rate"))
