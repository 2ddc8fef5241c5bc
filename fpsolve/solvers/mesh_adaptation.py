r"""The ``[mesh.adapt]`` loop: solve (or evaluate) → estimate → mark → refine, until small or large enough.

The driving field (:data:`fpsolve.discretisation.adapt.INDICATORS`):

``density``
    the stationary density of the problem on the current mesh (P1, the case's scheme): the error
    indicator then targets the density's own :math:`L^1` error. Needs reflecting boundaries.
``gibbs``
    the Gibbs weight :math:`e^{-(L - \min L)/\varepsilon^2}` at the nodes (no solve; needs a loss). It is
    the stationary density of reversible problems with :math:`Q \propto I` and, inside a basin, the shape
    of the quasi-stationary distribution at small ε: a mesh for exit times, escape and transients that
    resolves the O(ε) neighbourhoods of the minima before any solve.

The adaptation runs on P1 whatever the case's degree (the indicator is the P1 recovery estimate of
:mod:`fpsolve.discretisation.adapt`); the case's analyses then run on the final mesh.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.discretisation.adapt import AdaptSettings, dorfler_marking, error_indicator, refine_cells
from fpsolve.discretisation.mesh import TaggedMesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError
from fpsolve.log import get_logger
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.solvers.options import Options
from fpsolve.solvers.stationary import StationarySolver

__all__ = ["adapt_mesh"]


def adapt_mesh(
    problem: FokkerPlanckProblem,
    tagged: TaggedMesh,
    settings: AdaptSettings,
    scheme: str,
    options: Options | None = None,
) -> tuple[TaggedMesh, list[dict[str, Any]]]:
    """Refine ``tagged`` for ``problem`` by ``settings``; returns the final mesh and one record per step.

    Each record: ``step``, ``dofs`` and ``cells`` (global, P1), ``estimate`` (the relative :math:`L^1`
    error estimate η of the driving field on that mesh) and ``marked`` (cells marked, global). The
    loop stops after ``settings.steps`` refinements, once η ≤ ``settings.tolerance``, or before a mesh
    with more than ``settings.max_dofs`` P1 degrees of freedom (that refinement is discarded).
    """
    if settings.indicator == "density" and problem.absorbing:
        raise ProblemError(
            "mesh.adapt.indicator = 'density' needs reflecting boundaries (the stationary density); "
            "use indicator = 'gibbs' with absorbing parts"
        )
    if settings.indicator == "gibbs" and problem.loss is None:
        raise ProblemError("mesh.adapt.indicator = 'gibbs' needs the problem's loss L")
    log = get_logger()
    history: list[dict[str, Any]] = []
    for step in range(settings.steps + 1):
        disc = Discretisation(problem, tagged, 1, scheme, check_psd=step == 0)
        w = _driving_field(disc, settings.indicator, options)
        eta = error_indicator(w, disc.recovered_gradient(w))
        comm = disc.comm
        cells = tagged.mesh.topology.index_map(tagged.mesh.topology.dim).size_global
        record = {
            "step": step,
            "dofs": disc.num_dofs(),
            "cells": cells,
            "estimate": comm.allreduce(float(eta.sum()), op=MPI.SUM),
        }
        history.append(record)
        log.info(
            f"mesh adaptation step {step}: {record['dofs']} dofs, {cells} cells, "
            f"estimated relative L1 error of the {settings.indicator} field {record['estimate']:.3e}"
        )
        if step == settings.steps or record["estimate"] <= settings.tolerance:
            break
        marked = dorfler_marking(eta, settings.fraction, comm)
        record["marked"] = comm.allreduce(int(marked.size), op=MPI.SUM)
        finer = refine_cells(tagged, marked)
        imap = finer.mesh.topology.index_map(0)
        if imap.size_global > settings.max_dofs:
            log.info(f"mesh adaptation: stopped before {imap.size_global} dofs (max {settings.max_dofs})")
            break
        tagged = finer
    return replace(tagged, adaptation=tuple(history)), history


def _driving_field(disc: Discretisation, indicator: str, options: Options | None) -> Any:
    """The nonnegative P1 field whose error the indicator estimates (module docstring)."""
    if indicator == "density":
        return StationarySolver(disc, options).solve().rho
    problem = disc.problem
    w = disc.interpolate(sp.sympify(problem.loss), name="gibbs_weight")
    lowest = disc.comm.allreduce(float(w.x.array.min(initial=np.inf)), op=MPI.MIN)
    w.x.array[:] = np.exp(-(w.x.array - lowest) / problem.eps2)
    return w
