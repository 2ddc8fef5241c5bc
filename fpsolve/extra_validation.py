"""``fpsolve validate`` for the exit-time and mass-concentration analyses (dispatch and figures).

The comparisons themselves are in :func:`fpsolve.exit_analysis.validate_exit_time` (FE T(x₀) vs
Monte Carlo exit times) and :func:`fpsolve.concentration.validate_mass_concentration` (FE mass in the
shrinking ball vs the Monte Carlo fraction of paths in it), both with the Δt / Δt/2 acceptance rule of
:func:`fpsolve.validate.mc_check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpsolve.case import Case
from fpsolve.case_extras import ExitTimeAnalysis, MassConcentrationAnalysis
from fpsolve.operators import Discretisation
from fpsolve.problem import FokkerPlanckProblem


def validate_extra(
    case: Case,
    disc: Discretisation,
    analysis: ExitTimeAnalysis | MassConcentrationAnalysis,
    truth: FokkerPlanckProblem,
    out: Path,
    series: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Run the FE-vs-MC comparison of ``analysis``; append its series record; figure on rank 0."""
    from fpsolve import exit_figures

    settings = case.validate
    if isinstance(analysis, ExitTimeAnalysis):
        from fpsolve.exit_analysis import validate_exit_time

        rows, record = validate_exit_time(case, disc, analysis, truth, settings)
        draw, name = exit_figures.exit_validation_figure, "validation_exit_time.png"
    else:
        from fpsolve.concentration import validate_mass_concentration

        rows, record = validate_mass_concentration(case, disc, analysis, truth, settings)
        draw, name = exit_figures.concentration_validation_figure, "validation_mass_concentration.png"
    series.append(record)
    if case.figures and disc.comm.rank == 0:
        path = draw(out / "figures" / name, record, case.name, settings.sigmas)
        record["figure"] = str(path.relative_to(out))
    return rows
