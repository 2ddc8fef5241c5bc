r"""Broken detailed balance of a stationary solution: current diagnostics, Kwon matrices, checks, figure.

Called by the runner for a stationary analysis with ``kwon = true``. From ρ_h and J_h it computes
(:mod:`fpsolve.analyses.current_fields`) the divergence and detailed-balance indices, the entropy production
:math:`\int J\cdot K^+J/\rho`, the modified loss :math:`\Psi = -\varepsilon^2\log\rho` with its fitted
quadratic (U, u) and the recovered Kwon matrix :math:`Q_K` (units of Q: :math:`D = Q`,
:math:`\rho \propto e^{-\Psi/\varepsilon^2}`), the transverse index of :math:`j = J/\rho` and the
circulation of J around the level curves :math:`\{\tfrac12(x-\mu)^TU(x-\mu) = \varepsilon^2 c\}`
(``circulation_levels`` c, 2-D). With ``reference = "ou"`` each is compared with its closed form
(:mod:`fpsolve.problem.kwon`): the relative errors must be below ``kwon_tolerance``. The figure
``figures/kwon.png`` (Kunin et al. Fig. 3 layout) is made by :mod:`fpsolve.output.kwon_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

import dolfinx
import ufl
from mpi4py import MPI

from fpsolve.analyses.base import Analysis, Context, Result, check, reference_key, register
from fpsolve.analyses.current_fields import (
    circulation,
    detailed_balance_index,
    divergence_index,
    entropy_production,
    kwon_from_fields,
    level_curve,
    nodal_fields,
    transverse_index,
)
from fpsolve.discretisation.functionals import integral
from fpsolve.discretisation.points import point_values
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.errors import CaseError
from fpsolve.output.kwon_figure import kwon_figure
from fpsolve.problem.exact import linear_drift, ou_stationary_current, ou_stationary_density
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.problem.kwon import kwon_decomposition, ou_entropy_production, ou_level_circulation
from fpsolve.sde.montecarlo import EulerMaruyama, initial_sampler
from fpsolve.tables import number, vector


def _rel(a: np.ndarray, b: np.ndarray, scale: float | None = None) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / (scale or np.linalg.norm(b)))


#: Samples per axis of the figure's grid.
GRID = 160


@register
@dataclass(frozen=True)
class KwonAnalysis(Analysis):
    """Current diagnostics and the Kwon decomposition of the stationary solution (see module docstring).

    ``tolerance`` bounds the relative errors against the OU closed forms (``reference = "ou"``) and the
    net flux through level curves; ``divergence_tolerance`` the discrete divergence index;
    ``trajectory_time`` is the length of the Euler–Maruyama path drawn in the figure.
    """

    kind = "kwon"
    keys = frozenset(
        {"type", "reference", "tolerance", "divergence_tolerance", "circulation_levels", "trajectory_time"}
    )

    reference: str | None = None
    tolerance: float = 0.05
    divergence_tolerance: float = 0.1
    circulation_levels: tuple[float, ...] = (0.5, 1.0, 2.0)
    trajectory_time: float = 5.0

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate a ``kwon`` table."""
        out: dict[str, Any] = {}
        for key in ("tolerance", "divergence_tolerance", "trajectory_time"):
            if key in table:
                out[key] = number(table[key], f"{where}.{key}", positive=True)
        if "circulation_levels" in table:
            levels = vector(table["circulation_levels"], f"{where}.circulation_levels")
            if min(levels) <= 0:
                raise CaseError(f"{where}.circulation_levels must be positive")
            out["circulation_levels"] = levels
        return cls(reference_key(table, where), **out)

    def run(self, ctx: Context) -> Result:
        """Diagnostics of the stationary ρ_h (solved once per case) and J_h; figure data in 2-D."""
        rho = ctx.stationary.rho
        J = ctx.disc.current(rho, name="J_stationary")
        return stationary_currents(ctx, self, rho, J)

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/kwon.png`` (Kunin et al. Fig. 3 layout) from ``kwon_figure.npz`` (2-D)."""
        data = out / "kwon_figure.npz"
        if not data.is_file():
            return []
        with np.load(data) as f:
            names = tuple(summary.get("coordinates", ["x", "y"]))
            return [kwon_figure({k: f[k] for k in f.files}, title, out / "figures" / "kwon.png", names)]


def stationary_currents(
    ctx: Context, a: KwonAnalysis, rho: dolfinx.fem.Function, J: dolfinx.fem.Function
) -> Result:
    """The diagnostics as observables ``kwon`` and checks (collective)."""
    disc, problem = ctx.disc, ctx.problem
    eps2 = problem.eps2
    f = nodal_fields(disc, rho, J)
    rec = kwon_from_fields(disc, f)
    obs: dict[str, Any] = {
        "divergence_index": divergence_index(disc, rho, J),
        "detailed_balance_index": detailed_balance_index(disc, rho, J),
        "entropy_production": entropy_production(disc, f),
        "transverse_index": transverse_index(f),
        "U_fit": rec["U"].tolist(),
        "mu_fit": rec["mu"].tolist(),
        "Q_K_fit": rec["Q_K"].tolist(),
    }
    checks = []
    tol = a.tolerance
    checks.append(
        check(
            "currents: |div J_h| / |div(beta rho_h)| (L2)",
            obs["divergence_index"],
            0.0,
            a.divergence_tolerance,
        )
    )
    exact = None
    if a.reference == "ou":
        A, mu, K = linear_drift(problem)
        dec = kwon_decomposition(A, K / eps2)
        exact = {"U": dec.U, "mu": mu, "Q_K": dec.Q_K}
        x = ufl.SpatialCoordinate(disc.msh)
        rho_ex = to_ufl(ou_stationary_density(mu, eps2 * dec.B), x, problem.coords)
        J_ex = to_ufl(ou_stationary_current(A, K, mu), x, problem.coords)
        flux = disc.K * ufl.grad(rho_ex)
        db_ex = float(
            np.sqrt(
                integral(ufl.inner(J_ex, J_ex), disc.msh, 8) / integral(ufl.inner(flux, flux), disc.msh, 8)
            )
        )
        ep_ex = ou_entropy_production(A, K)
        scale_Q = np.linalg.norm(dec.Q_K) if not dec.detailed_balance else np.linalg.norm(K / eps2)
        obs.update(
            U_exact=dec.U.tolist(),
            Q_K_exact=dec.Q_K.tolist(),
            entropy_production_exact=ep_ex,
            detailed_balance_index_exact=db_ex,
            sylvester_gap=dec.sylvester_gap,
            controllability_rank=dec.controllability_rank,
        )
        checks += [
            check("kwon: rel. error of U fitted to Psi_h = -eps2 log rho_h", _rel(rec["U"], dec.U), 0.0, tol),
            check("kwon: |mu_fit - mu| / std", _mean_error(rec["mu"], mu, eps2 * dec.B), 0.0, tol),
            check("kwon: rel. error of Q_K fitted to J_h", _rel(rec["Q_K"], dec.Q_K, scale_Q), 0.0, tol),
            check(
                "kwon: rel. error of entropy production",
                _relative(obs["entropy_production"], ep_ex),
                0.0,
                tol,
            ),
            check(
                "kwon: rel. error of |J|/|K grad rho|",
                _relative(obs["detailed_balance_index"], db_ex),
                0.0,
                tol,
            ),
            check("kwon: transverse index |j.grad Psi| (exact 0)", obs["transverse_index"], 0.0, tol),
        ]
    if problem.dim == 2:
        U, mu = (exact or rec)["U"], (exact or rec)["mu"]
        rows = []
        for c in a.circulation_levels:
            tangential, normal, total = circulation(J, level_curve(U / eps2, mu, c))
            row = {"level": c, "circulation": tangential, "net_flux": normal, "integral_abs_J": total}
            checks.append(
                check(
                    f"currents: net flux of J out of level curve c={c:g} / int |J|", normal / total, 0.0, tol
                )
            )
            if exact is not None:
                ref = ou_level_circulation(exact["Q_K"], exact["U"], c)
                row["circulation_exact"] = ref
                if abs(ref) > 0:
                    checks.append(
                        check(
                            f"kwon: rel. error of circulation on level c={c:g}",
                            _relative(tangential, ref),
                            0.0,
                            tol,
                        )
                    )
            rows.append(row)
        obs["circulation"] = rows
    figure_data = figure_grid(ctx, rho, J, rec, a.trajectory_time) if ctx.figures and problem.dim == 2 else {}
    return Result({"kwon": obs}, checks, figure_data=figure_data)


def trajectory(ctx: Context, x0: np.ndarray, t_end: float) -> np.ndarray:
    """One Euler–Maruyama path from ``x0`` over ``[0, t_end]`` (step ``validate.dt`` or 1e-3), seeded."""
    dt = ctx.settings.dt or 1e-3
    em = EulerMaruyama(ctx.problem, dt, walls=ctx.walls)
    rng = np.random.default_rng(ctx.settings.seed)
    x = np.array([x0], dtype=float)
    alive = np.ones(1, dtype=bool)
    path = [x[0].copy()]
    for _ in range(int(round(t_end / dt))):
        em.step(x, alive, rng)
        path.append(x[0].copy())
    return np.array(path)


def figure_grid(
    ctx: Context, rho: dolfinx.fem.Function, J: dolfinx.fem.Function, rec: dict[str, Any], t_path: float
) -> dict[str, np.ndarray]:
    """ρ_h, J_h and L on a GRID² grid over the mesh's bounding box, one SDE path, the fit (rank 0).

    Sampled collectively (:func:`fpsolve.discretisation.points.point_values`); arrays on rank 0, empty
    elsewhere.
    """
    disc, problem = ctx.disc, ctx.problem
    xg = disc.msh.geometry.x[:, :2]
    lo, hi = np.empty(2), np.empty(2)
    disc.comm.Allreduce(xg.min(axis=0, initial=np.inf), lo, op=MPI.MIN)
    disc.comm.Allreduce(xg.max(axis=0, initial=-np.inf), hi, op=MPI.MAX)
    inset = 1e-9 * (hi - lo)
    gx, gy = np.meshgrid(*(np.linspace(lo[i] + inset[i], hi[i] - inset[i], GRID) for i in range(2)))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    r = point_values(rho, pts, np.nan).reshape(gx.shape)
    j = point_values(J, pts, np.nan)
    if disc.comm.rank != 0:
        return {}
    start = rec["mu"]
    if problem.initial is not None:
        start = initial_sampler(problem)(np.random.default_rng(ctx.settings.seed), 1)[0]
    data = {
        "gx": gx,
        "gy": gy,
        "rho": r,
        "j": j,
        "lo": lo,
        "hi": hi,
        "path": trajectory(ctx, start, t_path),
        "mu": np.asarray(rec["mu"]),
        "U": np.asarray(rec["U"]),
        "eps2": np.array(problem.eps2),
    }
    if problem.loss is not None:
        data["loss"] = problem.numpy("loss")(pts.T).reshape(gx.shape)
    return data


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


def _mean_error(m: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    return float(np.abs(np.asarray(m) - mu).max() / np.sqrt(np.diag(cov).min()))
