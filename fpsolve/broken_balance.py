r"""Broken detailed balance of a stationary solution: current diagnostics, Kwon matrices, checks, figure.

Called by the runner for a stationary analysis with ``kwon = true``. From ρ_h and J_h it computes
(:mod:`fpsolve.currents`) the divergence and detailed-balance indices, the entropy production
:math:`\int J\cdot K^+J/\rho`, the modified loss :math:`\Psi = -\varepsilon^2\log\rho` with its fitted
quadratic (U, u) and the recovered Kwon matrix :math:`Q_K` (units of Q: :math:`D = Q`,
:math:`\rho \propto e^{-\Psi/\varepsilon^2}`), the transverse index of :math:`j = J/\rho` and the
circulation of J around the level curves :math:`\{\tfrac12(x-\mu)^TU(x-\mu) = \varepsilon^2 c\}`
(``circulation_levels`` c, 2-D). With ``reference = "ou"`` each is compared with its closed form
(:mod:`fpsolve.kwon`): the relative errors must be below ``kwon_tolerance``. The figure
``figures/kwon.png`` (Kunin et al. Fig. 3 layout) is made by :mod:`fpsolve.kwon_figure`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import dolfinx
import ufl

from fpsolve.case import Case, StationaryAnalysis
from fpsolve.currents import (
    circulation,
    detailed_balance_index,
    divergence_index,
    entropy_production,
    kwon_from_fields,
    level_curve,
    nodal_fields,
    transverse_index,
)
from fpsolve.diagnostics import integral
from fpsolve.exact import linear_drift, ou_stationary_current, ou_stationary_density
from fpsolve.kwon import kwon_decomposition, ou_entropy_production, ou_level_circulation
from fpsolve.operators import Discretisation
from fpsolve.symbolic import to_ufl


def _check(name: str, value: float, reference: float, tolerance: float) -> dict[str, Any]:
    from fpsolve.runner import check

    return check(name, value, reference, tolerance)


def _rel(a: np.ndarray, b: np.ndarray, scale: float | None = None) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / (scale or np.linalg.norm(b)))


def stationary_currents(
    case: Case,
    disc: Discretisation,
    a: StationaryAnalysis,
    rho: dolfinx.fem.Function,
    J: dolfinx.fem.Function,
    out: Path,
    summary: dict[str, Any],
) -> None:
    """Compute the diagnostics, append observables ``kwon`` and checks to ``summary``, make the figure."""
    problem = case.problem
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
    checks = summary["checks"]
    tol = a.kwon_tolerance
    checks.append(
        _check(
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
            _check(
                "kwon: rel. error of U fitted to Psi_h = -eps2 log rho_h", _rel(rec["U"], dec.U), 0.0, tol
            ),
            _check("kwon: |mu_fit - mu| / std", _mean_error(rec["mu"], mu, eps2 * dec.B), 0.0, tol),
            _check("kwon: rel. error of Q_K fitted to J_h", _rel(rec["Q_K"], dec.Q_K, scale_Q), 0.0, tol),
            _check(
                "kwon: rel. error of entropy production",
                _relative(obs["entropy_production"], ep_ex),
                0.0,
                tol,
            ),
            _check(
                "kwon: rel. error of |J|/|K grad rho|",
                _relative(obs["detailed_balance_index"], db_ex),
                0.0,
                tol,
            ),
            _check("kwon: transverse index |j.grad Psi| (exact 0)", obs["transverse_index"], 0.0, tol),
        ]
    if problem.dim == 2:
        U, mu = (exact or rec)["U"], (exact or rec)["mu"]
        rows = []
        for c in a.circulation_levels:
            tangential, normal, total = circulation(J, level_curve(U / eps2, mu, c))
            row = {"level": c, "circulation": tangential, "net_flux": normal, "integral_abs_J": total}
            checks.append(
                _check(
                    f"currents: net flux of J out of level curve c={c:g} / int |J|", normal / total, 0.0, tol
                )
            )
            if exact is not None:
                ref = ou_level_circulation(exact["Q_K"], exact["U"], c)
                row["circulation_exact"] = ref
                if abs(ref) > 0:
                    checks.append(
                        _check(
                            f"kwon: rel. error of circulation on level c={c:g}",
                            _relative(tangential, ref),
                            0.0,
                            tol,
                        )
                    )
            rows.append(row)
        obs["circulation"] = rows
        if case.figures:
            from fpsolve.kwon_figure import kwon_figure

            fig = kwon_figure(case, disc, rho, J, rec, a.trajectory_time, out / "figures" / "kwon.png")
            summary.setdefault("kwon_figures", []).append(str(fig.relative_to(out)))
    summary["observables"]["kwon"] = obs


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference)


def _mean_error(m: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    return float(np.abs(np.asarray(m) - mu).max() / np.sqrt(np.diag(cov).min()))
