"""``fpsolve plot DIR`` redraws the figures of every analysis type from the written files alone."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from mpi4py import MPI

from fpsolve.analyses import ANALYSES
from fpsolve.cases.commands import plot_directory, run_case
from fpsolve.cases.schema import parse_case, sweep_override

CASES = Path(__file__).resolve().parents[2] / "cases"

#: coarse versions of shipped cases that together use every registered analysis type
SMALL: dict[str, dict[str, Any]] = {
    "kunin_fig3_ou": {"domain.cells": [24, 24]},  # stationary + kwon
    "ou_transient_rank1": {"domain.cells": [24, 24], "analysis": None},  # transient
    "exit_time_degenerate": {"domain.h": 0.1},  # exit_time
    "mass_concentration": {"domain.h": 0.1},  # mass_concentration, a [sweep] of three runs
    "escape_noise_isotropic": {"domain.cells": [24, 20]},  # escape, a [sweep] (two runs kept)
    "relaxation_ou_2d": {"domain.cells": [23, 15]},  # relaxation
    "mixing_degenerate_noisy": {"domain.cells": [10, 12]},  # spectrum, a [sweep] (two runs kept)
}


def _small(name: str) -> dict[str, Any]:
    data = tomllib.loads((CASES / f"{name}.toml").read_text())
    changes = {k: v for k, v in SMALL[name].items() if v is not None}
    small = sweep_override(data, changes)
    if "sweep" in data:  # keep the sweep, cheaper: two runs
        small["sweep"] = {k: v[:2] for k, v in data["sweep"].items()}
    if name == "ou_transient_rank1":
        small["analysis"][0].update(t_end=0.25, output_times=[0.25], method="beuler", dt=0.01)
    if name == "mass_concentration":
        small["analysis"][0].update(t_end=0.5, n_times=6)
    if name == "relaxation_ou_2d":
        small["analysis"][0].update(t_end=2.0, n_times=11)
    return small


def _figures(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("figures/*.png"))}


@pytest.mark.serial
def test_plot_redraws_every_analysis_type(tmp_path: Path) -> None:
    kinds = set()
    for name in SMALL:
        case = parse_case(_small(name), CASES / f"{name}.toml")
        kinds |= {a.kind for a in case.analyses}
        out = tmp_path / name
        run_case(case, out, progress=False)
        made = _figures(out)
        assert made, name
        for png in out.rglob("figures/*.png"):
            png.unlink()
        redrawn = plot_directory(out, MPI.COMM_SELF)
        assert {str(p.relative_to(out)) for p in redrawn} == set(made), name
        assert set(_figures(out)) == set(made)
    assert kinds == set(ANALYSES)  # every registered analysis type was drawn again
