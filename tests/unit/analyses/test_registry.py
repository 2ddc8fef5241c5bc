"""The analysis registry: a new analysis is one class; schema, runner, validate and plot pick it up."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest

from mpi4py import MPI

from fpsolve.analyses import ANALYSES
from fpsolve.analyses.base import Analysis, Context, Result, check, register
from fpsolve.analyses.transient import initial_density
from fpsolve.cases.commands import plot_directory, run_case
from fpsolve.cases.schema import CaseError, parse_case
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.tables import number


@dataclass(frozen=True)
class InitialMass(Analysis):
    """Toy analysis: the mass of the interpolated initial density (1 after normalisation)."""

    kind = "initial_mass"
    keys = frozenset({"type", "tolerance"})

    tolerance: float = 1e-12

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        if problem.initial is None:
            raise CaseError(f"{where}: initial_mass needs an [initial] density")
        return cls(number(table.get("tolerance", 1e-12), f"{where}.tolerance", positive=True))

    def run(self, ctx: Context) -> Result:
        rho = initial_density(ctx.disc)
        mass = ctx.disc.mass(rho)
        return Result({"initial_mass": mass}, [check("initial mass", mass, 1.0, self.tolerance)])

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        target = out / "figures" / "initial_mass.txt"  # a "figure" drawn from the written summary
        target.parent.mkdir(exist_ok=True)
        target.write_text(f"{title}: {summary['observables']['initial_mass']}\n")
        return [target]


@pytest.fixture
def toy() -> Iterator[type[Analysis]]:
    register(InitialMass)
    yield InitialMass
    del ANALYSES["initial_mass"]


CASE = {
    "problem": {"name": "toy", "drift": ["-x"], "Q": [["1"]], "eps2": 0.1},
    "domain": {"type": "interval", "lo": [-2.0], "hi": [2.0], "cells": [40]},
    "initial": {"type": "gaussian", "mean": [0.0], "cov": [[0.1]]},
    "analysis": [{"type": "initial_mass"}],
}


def test_a_registered_analysis_runs_end_to_end(toy: type[Analysis], tmp_out: Path) -> None:
    case = parse_case(CASE)
    assert isinstance(case.analyses[0], InitialMass)
    summary = run_case(case, tmp_out / "toy", progress=False)
    assert summary["analyses"] == ["initial_mass"]
    assert summary["checks"][0]["passed"] and abs(summary["observables"]["initial_mass"] - 1) < 1e-12
    assert summary["figures"] == ["figures/initial_mass.txt"]
    MPI.COMM_WORLD.Barrier()  # every rank is done with the result before rank 0 changes it
    if MPI.COMM_WORLD.rank == 0:
        (tmp_out / "toy" / "figures" / "initial_mass.txt").unlink()
    MPI.COMM_WORLD.Barrier()
    assert plot_directory(tmp_out / "toy") == [tmp_out / "toy" / "figures" / "initial_mass.txt"]
    if MPI.COMM_WORLD.rank == 0:
        assert json.loads((tmp_out / "toy" / "summary.json").read_text())["observables"]["initial_mass"] > 0


def test_unknown_keys_and_types_are_named(toy: type[Analysis]) -> None:
    bad = dict(CASE, analysis=[{"type": "initial_mass", "tolerence": 1}])
    with pytest.raises(
        CaseError, match="unknown key 'tolerence' in \\[\\[analysis\\]\\] 0 of type initial_mass"
    ):
        parse_case(bad)
    with pytest.raises(CaseError, match="must be one of .*initial_mass"):
        parse_case(dict(CASE, analysis=[{"type": "initial_masses"}]))


def test_without_registration_the_type_is_unknown() -> None:
    with pytest.raises(CaseError, match="analysis\\[0\\].type must be one of"):
        parse_case(CASE)
