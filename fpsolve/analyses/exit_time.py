r"""The ``exit_time`` analysis: FE mean exit time T(x), the §1.2/§1.3 bounds on the same mesh, Monte Carlo.

``fpsolve run``: solves :math:`\mathcal LT = -1` (:class:`~fpsolve.solvers.exit_time.ExitTimeSolver`),
evaluates the lower bound :math:`(R_0^2-|x-x_0|^2)/(2\varepsilon^2\sigma d)`, the upper bound as the
theory states it (docs/theory.md §1.3(b), :func:`fpsolve.problem.bounds.theory_upper_bound`) and the
reconstructed slab bound of §1.3(a) (:mod:`fpsolve.problem.bounds`) at every node, and checks
:math:`\text{lower} \le T \le \text{upper}` up to
``bound_tolerance``·max T (the FE error), the bound hypotheses (H1) on the mesh nodes and T ≥ 0.
Observables: T, sd(τ) (from the second moment), the bounds and the margins lower/T and T/upper at
the start points, and the
min/median/max of the margins over the interior nodes. Fields ``T_exit``, ``T_lower_bound``,
``T_upper_bound`` (``exit_time.xdmf``) and ``figures/exit_time.png``.

``fpsolve validate``: T at each start point against the mean of Monte Carlo exit times
(:func:`fpsolve.sde.montecarlo.exit_times`, Brownian-bridge crossing test) with Δt and Δt/2, accepted iff
:math:`|T_h - \text{MC}_{\Delta t/2}| \le k\,\text{s.e.} + |\text{MC}_{\Delta t}-\text{MC}_{\Delta t/2}|`.
Paths are followed up to :math:`t_\max = 12\,T_h(x_0)` (the exit-time tail is close to exponential with
mean ≤ max T, so the truncation bias is of order :math:`e^{-12}` relative); the fraction that exited is
recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.analyses.base import (
    POSITIVITY_TOL,
    Analysis,
    Context,
    FieldSeries,
    Result,
    Validation,
    check,
    mc_check,
    register,
    slope,
)
from fpsolve.analyses.histograms import exit_time_edges, exit_time_record
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.points import gather_nodal, point_values
from fpsolve.errors import CaseError, ProblemError
from fpsolve.log import get_logger, report
from fpsolve.output.density_figures import mesh_triangulation
from fpsolve.output.exit_time_figures import exit_time_figure, exit_time_sweep_figure, exit_validation_figure
from fpsolve.output.fields import read_series
from fpsolve.output.validation_figures import exit_histogram_figure
from fpsolve.problem.asymptotics import eyring_kramers
from fpsolve.problem.bounds import (
    best_direction,
    best_theory_direction,
    lower_bound,
    lower_bound_constants,
    theory_upper_bound,
    upper_bound,
    upper_bound_constants,
)
from fpsolve.problem.domain import Sphere
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.sde.montecarlo import EulerMaruyama, Start, exit_time_histogram, exit_times
from fpsolve.solvers.exit_time import ExitTimeSolver
from fpsolve.tables import number, points, vector

#: H1 (∇L·(x−x₀) ≥ 0) is checked on the nodes up to round-off of the symbolic gradient.
H1_TOL = 1e-12
PROFILE_POINTS = 101
T_MAX_FACTOR = 12.0


def eyring_kramers_points(
    table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """``eyring_kramers_minimum``/``_saddle`` of an analysis table (both or neither), checked usable.

    Raises CaseError if only one is given or the Eyring–Kramers law does not apply at them
    (:func:`fpsolve.problem.asymptotics.eyring_kramers`).
    """
    given = [k for k in ("eyring_kramers_minimum", "eyring_kramers_saddle") if k in table]
    if len(given) == 1:
        raise CaseError(f"{where}: give both eyring_kramers_minimum and eyring_kramers_saddle, or neither")
    if not given:
        return None
    m = vector(table["eyring_kramers_minimum"], f"{where}.eyring_kramers_minimum", problem.dim)
    s = vector(table["eyring_kramers_saddle"], f"{where}.eyring_kramers_saddle", problem.dim)
    try:
        eyring_kramers(problem, m, s)
    except ProblemError as exc:
        raise CaseError(f"{where}: Eyring–Kramers reference: {exc}") from None
    return tuple(m), tuple(s)


def exit_time_check(
    ctx: Context,
    truth: FokkerPlanckProblem,
    name: str,
    t_fe: float,
    start: Start,
    seed: int,
    edges: Sequence[float] = (),
    region: sp.Expr | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    r"""One FE mean exit time ``t_fe`` against Monte Carlo paths of ``truth`` from ``start`` (collective).

    ``start``: a point or a sampler of start points (:data:`fpsolve.sde.montecarlo.Start`). Paths with
    Δt/2 (seed ``seed``, exit times counted in the bins ``edges``) and Δt (seed + 1), Δt =
    ``validate.dt`` (default 1e-3), followed to :math:`t_\max` = T_MAX_FACTOR·max(t_fe, 100Δt);
    :func:`~fpsolve.analyses.base.mc_check` gives the verdict; ``region``: paths are also killed where
    it is ≥ 0 (:class:`~fpsolve.sde.montecarlo.EulerMaruyama`). Returns the record, with
    ``exited_fraction``, and the bin counts.
    """
    settings, comm = ctx.settings, ctx.disc.comm
    dt = settings.dt or 1e-3
    t_max = T_MAX_FACTOR * max(t_fe, 100 * dt)
    n = settings.particles
    get_logger().info(
        f"{name}: Monte Carlo, {n} paths with Δt = {dt / 2:g}, then {n} with Δt = {dt:g}, followed to "
        f"t = {t_max:.4g} at most (FE {t_fe:.6g})"
    )
    fine = exit_time_histogram(
        EulerMaruyama(truth, dt / 2, walls=ctx.walls, region=region), start, n, t_max, edges, seed, comm
    )
    coarse = exit_times(
        EulerMaruyama(truth, dt, walls=ctx.walls, region=region), start, n, t_max, seed + 1, comm
    )
    row = mc_check(name, t_fe, fine[0], fine[1], coarse[0], n, dt / 2, settings.sigmas)
    row["exited_fraction"] = fine[2]
    return row, fine[3]


def solve_exit_time(ctx: Context) -> tuple[Any, Any, int]:
    """FE mean exit time T (``T_exit``), standard deviation of τ (``T_sd``) and T's iteration count."""
    solver = ExitTimeSolver(ctx.disc, petsc_options=ctx.petsc)
    T = solver.solve()
    iterations = solver.iterations
    T.name = "T_exit"
    sd = solver.standard_deviation(T)
    sd.name = "T_sd"
    return T, sd, iterations


def ball(
    table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem, radius_key: str
) -> tuple[tuple[float, ...], float]:
    """Centre and radius of an analysis ball: the given keys, or the disk/ball domain itself."""
    dom = problem.domain
    if "center" in table:
        center = vector(table["center"], f"{where}.center", problem.dim)
    elif isinstance(dom, Sphere):
        center = tuple(dom.center)
    else:
        raise CaseError(f"{where}.center is required unless the domain is a disk or ball")
    if radius_key in table:
        radius = number(table[radius_key], f"{where}.{radius_key}", positive=True)
    elif isinstance(dom, Sphere):
        radius = dom.radius
    else:
        raise CaseError(f"{where}.{radius_key} is required unless the domain is a disk or ball")
    return center, radius


@register
@dataclass(frozen=True)
class ExitTimeAnalysis(Analysis):
    r"""Mean exit time :math:`T(x) = E_x\tau` through the absorbing parts, with the §1.2/§1.3 bounds.

    ``center``/``radius``: the ball :math:`B_{R_0}(x_0)` of the lower bound (default: the disk/ball
    domain itself); ``bound_direction``: the direction v of the upper bound (default: the best of 36
    directions in 2-D, of the axes otherwise); ``bound_tolerance``: how far (relative to max T) the FE
    solution may cross a bound before the check fails (discretisation error);
    ``eyring_kramers_minimum``/``eyring_kramers_saddle``: print and record the Eyring–Kramers time
    (:mod:`fpsolve.problem.asymptotics`; reversible problems only) beside T at the minimum.
    """

    kind = "exit_time"
    keys = frozenset(
        {
            "type",
            "start_points",
            "center",
            "radius",
            "bound_direction",
            "bound_tolerance",
            "eyring_kramers_minimum",
            "eyring_kramers_saddle",
            "slope_tolerance",
        }
    )

    start_points: tuple[tuple[float, ...], ...]
    center: tuple[float, ...]
    radius: float
    bound_direction: tuple[float, ...] | None = None
    bound_tolerance: float = 0.02
    eyring_kramers: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    slope_tolerance: float | None = None

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate an ``exit_time`` table."""
        if not problem.absorbing:
            raise CaseError(f"{where}: an exit_time analysis needs [boundary] absorbing parts")
        center, radius = ball(table, where, problem, "radius")
        starts = points(table.get("start_points"), f"{where}.start_points", problem.dim)
        for i, p in enumerate(starts):
            if np.linalg.norm(np.subtract(p, center)) >= radius:
                raise CaseError(
                    f"{where}.start_points[{i}] = {list(p)} is not inside the ball of the lower bound"
                )
        direction = None
        if "bound_direction" in table:
            direction = vector(table["bound_direction"], f"{where}.bound_direction", problem.dim)
            if np.linalg.norm(direction) == 0:
                raise CaseError(f"{where}.bound_direction must be a non-zero vector")
        tol = {}
        if "bound_tolerance" in table:
            tol["bound_tolerance"] = number(
                table["bound_tolerance"], f"{where}.bound_tolerance", positive=True
            )
        reference = eyring_kramers_points(table, where, problem)
        if reference is not None:
            tol["eyring_kramers"] = reference
        if "slope_tolerance" in table:
            if problem.loss is None:
                raise CaseError(f"{where}.slope_tolerance: the Arrhenius slope ΔL needs a loss")
            tol["slope_tolerance"] = number(
                table["slope_tolerance"], f"{where}.slope_tolerance", positive=True
            )
        return cls(starts, tuple(center), radius, direction, **tol)

    def run(self, ctx: Context) -> Result:
        """FE exit time, bounds, margins and checks; T and the bounds as fields."""
        a = self
        disc, problem = ctx.disc, ctx.problem
        comm, eps2 = disc.comm, problem.eps2
        T, sd, iterations = solve_exit_time(ctx)
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
        theory_c = best_theory_direction(problem, nodes, eps2, centre, starts, comm)
        lower, upper = disc.function("T_lower_bound"), disc.function("T_upper_bound")
        theory = disc.function("T_theory_bound")
        lower.x.array[:n] = lower_bound(nodes, centre, a.radius, eps2, lower_c.sigma)
        upper.x.array[:n] = upper_bound(nodes, upper_c, eps2)
        theory.x.array[:n] = theory_upper_bound(nodes, theory_c, eps2)
        for f in (lower, upper, theory):
            f.x.scatter_forward()
        t_max = disc.maximum(T)
        Th, lo_h, up_h = T.x.array[:n], lower.x.array[:n], upper.x.array[:n]
        below = comm.allreduce(float((Th - lo_h).min(initial=np.inf)), op=MPI.MIN) / t_max
        above = comm.allreduce(float((up_h - Th).min(initial=np.inf)), op=MPI.MIN) / t_max
        th_h = theory.x.array[:n]
        above_theory = comm.allreduce(float((th_h - Th).min(initial=np.inf)), op=MPI.MIN) / t_max
        at_start = {
            "points": starts.tolist(),
            "T": point_values(T, starts).tolist(),
            "sd_tau": point_values(sd, starts).tolist(),
            "lower_bound": lower_bound(starts, centre, a.radius, eps2, lower_c.sigma).tolist(),
            "upper_bound": upper_bound(starts, upper_c, eps2).tolist(),
        }
        at_start["lower_over_T"] = (np.divide(at_start["lower_bound"], at_start["T"])).tolist()
        at_start["T_over_upper"] = (np.divide(at_start["T"], at_start["upper_bound"])).tolist()
        at_start["theory_upper_bound"] = theory_upper_bound(starts, theory_c, eps2).tolist()
        at_start["theory_upper_bound_proof_constant"] = theory_upper_bound(
            starts, theory_c, eps2, 1.0
        ).tolist()
        at_start["T_over_theory_bound"] = (np.divide(at_start["T"], at_start["theory_upper_bound"])).tolist()
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
        observables = {
            "max_T": t_max,
            "solver_iterations": iterations,
            "lower_bound_constants": {"sigma": lower_c.sigma, "h1_minimum": lower_c.h1_minimum},
            "upper_bound_constants": {
                "direction": list(upper_c.direction),
                "Lambda": upper_c.Lambda,
                "G": upper_c.G,
                "R_v": upper_c.R_v,
            },
            "theory_bound_constants": {
                "direction": list(theory_c.direction),
                "centre": list(theory_c.centre),
                "beta": theory_c.beta,
                "Lambda": theory_c.Lambda,
                "R_v": theory_c.R_v,
            },
            "start_points": at_start,
            "margins_over_interior_nodes": margins,
            "arrhenius_barrier": barrier(problem, nodes, centre, disc),
            "slope_tolerance": a.slope_tolerance,
        }
        if a.eyring_kramers is not None:
            m, s = a.eyring_kramers
            ek = eyring_kramers(problem, m, s)
            t_m = float(point_values(T, np.asarray([m]))[0])
            observables["eyring_kramers"] = {
                "minimum": list(m),
                "saddle": list(s),
                "time": ek.time,
                "prefactor": ek.prefactor,
                "barrier": ek.barrier,
                "lambda_minus": ek.lambda_minus,
                "T_at_minimum": t_m,
                "T_over_eyring_kramers": t_m / ek.time,
            }
            report(
                f"exit time at the minimum {t_m:.6g}, Eyring–Kramers {ek.time:.6g} (prefactor "
                f"{ek.prefactor:.4g}, barrier/ε² {ek.barrier / eps2:.4g}): ratio {t_m / ek.time:.4f} "
                "(1 + O(ε²) absorbing past the saddle, about 0.5 on the separatrix)"
            )
        checks = []
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
                "exit time: min over nodes of (T - lower bound) / max T",
                min(below, 0.0),
                0.0,
                a.bound_tolerance,
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
        if theory_c.beta > 0:
            checks.append(
                check(
                    "exit time: min over nodes of (theory upper bound, docs/theory.md §1.3(b), - T) / max T",
                    min(above_theory, 0.0),
                    0.0,
                    a.bound_tolerance,
                )
            )
        figure_data: dict[str, np.ndarray] = {}
        if ctx.figures:
            profile = _profiles(T, lower, upper, a, upper_c.direction, theory)
            if comm.rank == 0:  # the maps are drawn from exit_time.xdmf
                figure_data = {
                    "start_points": starts,
                    "eps2": np.array(eps2),
                    **{f"profile_{k}": np.asarray(v) for k, v in profile.items()},
                }
        fields = [FieldSeries(f.name, [(0.0, f)]) for f in (T, lower, upper, theory)]
        return Result({"exit_time": observables}, checks, fields, figure_data=figure_data)

    def validate(self, ctx: Context, truth: FokkerPlanckProblem) -> Validation:
        """FE T at the start points vs Monte Carlo exit times (Δt and Δt/2); histograms of the MC τ."""
        settings = ctx.settings
        T, sd, _ = solve_exit_time(ctx)
        starts = np.asarray(self.start_points)
        fe = point_values(T, starts)
        fe_sd = point_values(sd, starts)
        dt = settings.dt or 1e-3
        rows, mc, se, exited, histograms = [], [], [], [], []
        for i, (p, t_fe) in enumerate(zip(starts, fe, strict=True)):
            edges = exit_time_edges(float(t_fe), float(fe_sd[i]), dt)
            name = f"exit time: T({', '.join(f'{c:g}' for c in p)})"
            row, counts = exit_time_check(ctx, truth, name, float(t_fe), p, settings.seed + 2 * i, edges)
            rows.append(row)
            mc.append(row["reference"])
            se.append(row["mc_standard_error"])
            exited.append(row["exited_fraction"])
            histograms.append(
                exit_time_record(p, edges, counts, settings.particles, row["reference"], t_fe, fe_sd[i])
            )
        record = {
            "analysis": "exit_time",
            "start_points": starts.tolist(),
            "fe_T": fe.tolist(),
            "mc_T": mc,
            "mc_T_se": se,
            "exited_fraction": exited,
            # sd(τ): FE from the second moment (𝓛T₂ = −2T); MC sample sd = s.e.·√n (recorded, not checked)
            "fe_sd_tau": fe_sd.tolist(),
            "mc_sd_tau": [float(s * np.sqrt(settings.particles)) for s in se],
            "histograms": histograms,
        }
        return Validation(rows, record)

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/exit_time.png``: maps from ``exit_time.xdmf``, the chord from the figure data."""
        data = out / "exit_time_figure.npz"
        if not data.is_file():
            return []
        names = list(summary.get("coordinates", [])) or ["x", "y", "z"]
        maps = None
        if len(names) == 2 and (out / "exit_time.xdmf").is_file():
            ((_, grid),) = read_series(out / "exit_time.xdmf")
            fields = [np.asarray(grid.point_data[k]) for k in ("T_exit", "T_lower_bound", "T_upper_bound")]
            maps = (mesh_triangulation(grid), *fields)
        with np.load(data) as f:
            profile = {k[len("profile_") :]: f[k] for k in f.files if k.startswith("profile_")}
            target = out / "figures" / "exit_time.png"
            degenerate = summary.get("rank_Q", len(names)) < len(names)
            return [
                exit_time_figure(
                    target, maps, profile, f["start_points"], title, float(f["eps2"]), names, degenerate
                )
            ]

    @classmethod
    def sweep_fit(cls, summaries: list[Mapping[str, Any]]) -> dict[str, Any] | None:
        r""":math:`\log T(x_0)` against :math:`1/\varepsilon^2` at each start point.

        Least-squares slopes over all runs and over the two smallest ε (the local Arrhenius slope),
        next to :math:`\Delta L = \min_{\partial D} L - L(x_0)`. With ``slope_tolerance`` the check:
        the local slope at the first start point over ΔL against 1, passed iff within the (relative)
        tolerance; the local slope approaches ΔL from below as ε → 0 (a prefactor
        :math:`\propto(\varepsilon^2)^{p/2}` lowers it by about :math:`(p/2)\,\varepsilon^2`).
        """
        runs = [s for s in summaries if "exit_time" in s["observables"]]
        if len(runs) < 2:
            return None
        order = np.argsort([-s["eps2"] for s in runs])  # increasing 1/ε²
        runs = [runs[i] for i in order]
        inv = np.array([1.0 / s["eps2"] for s in runs])
        obs = [s["observables"]["exit_time"] for s in runs]
        log_t = np.log(np.array([o["start_points"]["T"] for o in obs]))
        fit = {
            "inverse_eps2": inv.tolist(),
            "start_points": obs[0]["start_points"]["points"],
            "log_T": log_t.tolist(),
            "log_lower_bound": np.log([o["start_points"]["lower_bound"][0] for o in obs]).tolist(),
            "log_upper_bound": np.log([o["start_points"]["upper_bound"][0] for o in obs]).tolist(),
            "log_theory_bound": np.log([o["start_points"]["theory_upper_bound"][0] for o in obs]).tolist(),
            "slopes": [slope(inv, log_t[:, k])[0] for k in range(log_t.shape[1])],
            "slopes_smallest_eps": [slope(inv[-2:], log_t[-2:, k])[0] for k in range(log_t.shape[1])],
            "barrier": obs[0]["arrhenius_barrier"],
            "checks": [],
        }
        tolerance, barrier_ = obs[-1].get("slope_tolerance"), fit["barrier"]
        if tolerance is not None:  # no barrier (ΔL ≤ 0): no Arrhenius law, a failed check
            ratio = fit["slopes_smallest_eps"][0] / barrier_ if barrier_ > 0 else float("nan")
            fit["checks"].append(
                check(
                    "exit_time sweep: Arrhenius slope of log T(x0) against 1/ε² at the two smallest ε / ΔL",
                    ratio,
                    1.0,
                    tolerance,
                )
            )
        return fit

    @classmethod
    def sweep_figures(cls, out: Path, fit: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/sweep_exit_time.png``."""
        return [exit_time_sweep_figure(out / "figures" / "sweep_exit_time.png", dict(fit), title)]

    @classmethod
    def validation_figures(
        cls, out: Path, record: Mapping[str, Any], title: str, sigmas: float
    ) -> list[Path]:
        """FE T(x₀) against the Monte Carlo means; histograms of the MC exit times with the FE moments."""
        target = out / "figures" / "validation_exit_time.png"
        made = [exit_validation_figure(target, dict(record), title, sigmas)]
        if "histograms" in record:
            target = out / "figures" / "validation_exit_time_histograms.png"
            made.append(exit_histogram_figure(record["histograms"], target, title))
        return made


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
    return float(disc.comm.allreduce(local, op=MPI.MIN) - f(centre[:, None])[0])


def _stats(v: np.ndarray) -> dict[str, float]:
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}


def _profiles(
    T: Any, lower: Any, upper: Any, a: ExitTimeAnalysis, direction: tuple[float, ...], theory: Any
) -> dict[str, Any]:
    """T and the bounds along the chord of the ball through x₀ in the bound direction (collective)."""
    centre = np.asarray(a.center)
    s = np.linspace(-a.radius, a.radius, PROFILE_POINTS) * (1 - 1e-6)
    pts = centre + s[:, None] * np.asarray(direction)[None, :]
    return {
        "s": s,
        "centre": centre,
        "direction": direction,
        "T": point_values(T, pts, np.nan),  # the polygonal mesh may miss the chord's ends
        "lower": point_values(lower, pts, np.nan),
        "upper": point_values(upper, pts, np.nan),
        "theory": point_values(theory, pts, np.nan),
    }
