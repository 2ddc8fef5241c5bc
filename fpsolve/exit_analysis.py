r"""The ``exit_time`` analysis: FE mean exit time T(x), the §1.2/§1.3 bounds on the same mesh, Monte Carlo.

``fpsolve run``: solves :math:`\mathcal LT = -1` (:class:`~fpsolve.solvers.exit_time.ExitTimeSolver`),
evaluates the lower bound :math:`(R_0^2-|x-x_0|^2)/(2\varepsilon^2\sigma d)` and the optimised upper bound
(:mod:`fpsolve.bounds`) at every node, and checks :math:`\text{lower} \le T \le \text{upper}` up to
``bound_tolerance``·max T (the FE error), the bound hypotheses (H1) on the mesh nodes and T ≥ 0.
Observables: T, sd(τ) (from the second moment), the bounds and the margins lower/T and T/upper at
the start points, and the
min/median/max of the margins over the interior nodes. Fields ``T_exit``, ``T_lower_bound``,
``T_upper_bound`` (``.pvd``) and ``figures/exit_time.png``.

``fpsolve validate``: T at each start point against the mean of Monte Carlo exit times
(:func:`fpsolve.montecarlo.exit_times`, Brownian-bridge crossing test) with Δt and Δt/2, accepted iff
:math:`|T_h - \text{MC}_{\Delta t/2}| \le k\,\text{s.e.} + |\text{MC}_{\Delta t}-\text{MC}_{\Delta t/2}|`.
Paths are followed up to :math:`t_\max = 12\,T_h(x_0)` (the exit-time tail is close to exponential with
mean ≤ max T, so the truncation bias is of order :math:`e^{-12}` relative); the fraction that exited is
recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.bounds import (
    best_direction,
    lower_bound,
    lower_bound_constants,
    upper_bound,
    upper_bound_constants,
)
from fpsolve.case import Case
from fpsolve.case_extras import ExitTimeAnalysis
from fpsolve.io import write_fields
from fpsolve.montecarlo import EulerMaruyama, exit_times
from fpsolve.operators import Discretisation
from fpsolve.points import gather_nodal, point_values
from fpsolve.problem import FokkerPlanckProblem
from fpsolve.solvers.exit_time import ExitTimeSolver

#: AFC/upwind T ≥ 0 up to the fixed-point tolerance (relative), as for densities.
POSITIVITY_TOL = 1e-9
#: H1 (∇L·(x−x₀) ≥ 0) is checked on the nodes up to round-off of the symbolic gradient.
H1_TOL = 1e-12
PROFILE_POINTS = 101
T_MAX_FACTOR = 12.0


def solve_exit_time(case: Case, disc: Discretisation) -> tuple[Any, Any, int]:
    """FE mean exit time T (``T_exit``), standard deviation of τ (``T_sd``) and T's iteration count."""
    solver = ExitTimeSolver(disc, petsc_options=case.petsc)
    T = solver.solve()
    iterations = solver.iterations
    T.name = "T_exit"
    sd = solver.standard_deviation(T)
    sd.name = "T_sd"
    return T, sd, iterations


def run_exit_time(
    case: Case, disc: Discretisation, a: ExitTimeAnalysis, out: Path, summary: dict[str, Any]
) -> None:
    """FE exit time, bounds, margins and checks into ``summary``; fields and figure into ``out``."""
    from fpsolve.runner import check

    problem, comm, eps2 = case.problem, disc.comm, case.problem.eps2
    T, sd, iterations = solve_exit_time(case, disc)
    n = disc.V.dofmap.index_map.size_local
    nodes = disc.V.tabulate_dof_coordinates()[:n, : problem.dim]
    centre = np.asarray(a.center)
    lower_c = lower_bound_constants(problem, nodes, centre, a.radius, comm)
    starts = np.asarray(a.start_points)
    upper_c = (
        upper_bound_constants(problem, nodes, np.asarray(a.bound_direction), comm)
        if a.bound_direction is not None
        else best_direction(problem, nodes, eps2, starts, comm)
    )
    lower, upper = disc.function("T_lower_bound"), disc.function("T_upper_bound")
    lower.x.array[:n] = lower_bound(nodes, centre, a.radius, eps2, lower_c.sigma)
    upper.x.array[:n] = upper_bound(nodes, upper_c, eps2)
    for f in (lower, upper):
        f.x.scatter_forward()
    summary["fields"] += [p.name for p in write_fields(out, [T, lower, upper])]
    t_max = disc.maximum(T)
    Th, lo_h, up_h = T.x.array[:n], lower.x.array[:n], upper.x.array[:n]
    interior = np.ones(n, dtype=bool)
    interior[disc.bc_rows - disc.V.dofmap.index_map.local_range[0]] = False
    below = comm.allreduce(float((Th - lo_h).min(initial=np.inf)), op=_min()) / t_max
    above = comm.allreduce(float((up_h - Th).min(initial=np.inf)), op=_min()) / t_max
    at_start = {
        "points": starts.tolist(),
        "T": point_values(T, starts).tolist(),
        "sd_tau": point_values(sd, starts).tolist(),
        "lower_bound": lower_bound(starts, centre, a.radius, eps2, lower_c.sigma).tolist(),
        "upper_bound": upper_bound(starts, upper_c, eps2).tolist(),
    }
    at_start["lower_over_T"] = (np.divide(at_start["lower_bound"], at_start["T"])).tolist()
    at_start["T_over_upper"] = (np.divide(at_start["T"], at_start["upper_bound"])).tolist()
    ratios = gather_nodal([T, lower, upper])
    margins = None
    if ratios is not None:
        _, (t_all, l_all, u_all) = ratios
        keep = (t_all > 1e-6 * t_max) & (l_all > 0)
        margins = {
            "lower_over_T": _stats(l_all[keep] / t_all[keep]),
            "T_over_upper": _stats(t_all[keep] / u_all[keep]),
        }
    margins = comm.bcast(margins, root=0)
    summary["observables"]["exit_time"] = {
        "max_T": t_max,
        "solver_iterations": iterations,
        "lower_bound_constants": {"sigma": lower_c.sigma, "h1_minimum": lower_c.h1_minimum},
        "upper_bound_constants": {
            "direction": list(upper_c.direction),
            "Lambda": upper_c.Lambda,
            "G": upper_c.G,
            "R_v": upper_c.R_v,
        },
        "start_points": at_start,
        "margins_over_interior_nodes": margins,
        "arrhenius_barrier": barrier(problem, nodes, centre, disc),
    }
    checks = summary["checks"]
    if disc.positive:
        checks.append(
            check("exit time: min T / max T", min(disc.minimum(T), 0.0) / t_max, 0.0, POSITIVITY_TOL)
        )
    checks.append(
        check(
            "exit time: hypothesis H1, min over ball nodes of grad L.(x - x0)",
            min(lower_c.h1_minimum, 0.0),
            0.0,
            H1_TOL,
        )
    )
    checks.append(
        check(
            "exit time: min over nodes of (T - lower bound) / max T", min(below, 0.0), 0.0, a.bound_tolerance
        )
    )
    if upper_c.Lambda > 0:
        checks.append(
            check(
                "exit time: min over nodes of (upper bound - T) / max T",
                min(above, 0.0),
                0.0,
                a.bound_tolerance,
            )
        )
    if case.figures:
        profile = _profiles(T, lower, upper, a, upper_c.direction)
        if comm.rank == 0:
            assert ratios is not None
            from fpsolve.exit_figures import exit_time_figure

            path = exit_time_figure(out / "figures" / "exit_time.png", ratios, profile, a, case.name, eps2)
            summary.setdefault("figures", []).append(str(path.relative_to(out)))


def barrier(problem: FokkerPlanckProblem, nodes: np.ndarray, centre: np.ndarray, disc: Discretisation) -> Any:
    r""":math:`\Delta L = \min_{\partial D_\text{abs}} L - L(x_0)` over the absorbing boundary nodes.

    The Arrhenius slope of :math:`\log T` against :math:`1/\varepsilon^2` when Q = I (Freidlin–Wentzell);
    for other Q it is the cost of the steepest-ascent path only where that path runs along a direction
    with :math:`v^TQv = 1`. ``None`` without a loss.
    """
    if problem.loss is None:
        return None
    f = problem.numpy("loss")
    rows = disc.bc_rows - disc.V.dofmap.index_map.local_range[0]
    local = float(f(nodes[rows].T).min(initial=np.inf)) if len(rows) else np.inf
    return float(disc.comm.allreduce(local, op=_min()) - f(centre[:, None])[0])


def _min() -> Any:
    from mpi4py import MPI

    return MPI.MIN


def _stats(v: np.ndarray) -> dict[str, float]:
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}


def _profiles(T: Any, lower: Any, upper: Any, a: ExitTimeAnalysis, direction: tuple[float, ...]) -> dict:
    """T and the bounds along the chord of the ball through x₀ in the bound direction (collective)."""
    centre = np.asarray(a.center)
    s = np.linspace(-a.radius, a.radius, PROFILE_POINTS) * (1 - 1e-6)
    pts = centre + s[:, None] * np.asarray(direction)[None, :]
    return {
        "s": s,
        "direction": direction,
        "T": point_values(T, pts, np.nan),  # the polygonal mesh may miss the chord's ends
        "lower": point_values(lower, pts, np.nan),
        "upper": point_values(upper, pts, np.nan),
    }


def validate_exit_time(
    case: Case,
    disc: Discretisation,
    a: ExitTimeAnalysis,
    truth: FokkerPlanckProblem,
    settings: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """FE T at the start points vs Monte Carlo (Δt and Δt/2); returns the checks and a series record."""
    from fpsolve.validate import mc_check

    T, sd, _ = solve_exit_time(case, disc)
    starts = np.asarray(a.start_points)
    fe = point_values(T, starts)
    fe_sd = point_values(sd, starts)
    dt = settings.dt or 1e-3
    rows, mc, se, exited = [], [], [], []
    for i, (p, t_fe) in enumerate(zip(starts, fe, strict=True)):
        t_max = T_MAX_FACTOR * max(float(t_fe), 100 * dt)
        seed = settings.seed + 2 * i
        fine = exit_times(EulerMaruyama(truth, dt / 2), p, settings.particles, t_max, seed, disc.comm)
        coarse = exit_times(EulerMaruyama(truth, dt), p, settings.particles, t_max, seed + 1, disc.comm)
        name = f"exit time: T({', '.join(f'{c:g}' for c in p)})"
        row = mc_check(name, t_fe, fine[0], fine[1], coarse[0], settings.particles, dt / 2, settings.sigmas)
        row["exited_fraction"] = fine[2]
        rows.append(row)
        mc.append(fine[0])
        se.append(fine[1])
        exited.append(fine[2])
    series = {
        "analysis": "exit_time",
        "start_points": starts.tolist(),
        "fe_T": fe.tolist(),
        "mc_T": mc,
        "mc_T_se": se,
        "exited_fraction": exited,
        # sd(τ): FE from the second moment (𝓛T₂ = −2T); MC sample sd = s.e.·√n (recorded, not checked)
        "fe_sd_tau": fe_sd.tolist(),
        "mc_sd_tau": [float(s * np.sqrt(settings.particles)) for s in se],
    }
    return rows, series
