r"""The ``spectrum`` analysis: the slowest eigenpairs of the reflecting Fokker–Planck operator.

:class:`~fpsolve.solvers.spectral.SpectralSolver` (SLEPc, two-sided shift-and-invert) gives the
``modes`` eigenvalues :math:`0 = \lambda_0, \lambda_1, \dots` of :math:`-\mathcal F` nearest to
``target`` (sorted by real part), the forward modes φ_i and the generator eigenfunctions ψ_i
(normalised: φ₀ = ρ∞, ψ₀ = 1, :math:`\int|\psi_i|^2\rho_\infty = 1`, :math:`\int\psi_i\phi_i = 1`).
Reported: the spectral gap :math:`\operatorname{Re}\lambda_1`, the relaxation time
:math:`1/\operatorname{Re}\lambda_1` (docs/theory.md §7), the ratios Re λ_i / Re λ_{i+1}, the moments of
ρ∞, the eigenvectors' backward errors and their biorthogonality
:math:`\max_{ij}|\int\psi_i\phi_j - \delta_{ij}|`, and, where the spectrum has a clear gap
(``metastable_ratio``), the metastable sets of :mod:`fpsolve.analyses.metastable`.

``reference = "ou"`` (linear drift −A(x−μ), constant Q): every computed eigenvalue is matched one to
one (least total distance) with the exact set :math:`\{\sum_in_i\lambda_i(A)\}` (with multiplicity,
:func:`~fpsolve.problem.exact.ou_spectrum`) and its error taken relative to :math:`\max(|\lambda|, g)`,
g = min Re λ(A) the exact gap. That set is the spectrum only for a controllable pair (Kalman rank d,
Hörmander's condition, docs/theory.md §1.5): for a non-controllable pair the comparison is reported
and drawn but not checked (a warning says so).

Checks: :math:`|\lambda_0|/\operatorname{Re}\lambda_1` ≤ :data:`ZERO_TOL` (the discrete operator conserves
mass, so 0 is an eigenvalue to round-off); with the reference, the relative error of the gap ≤
``gap_tolerance`` and the largest relative error of λ₁ … λ_{k−1} ≤ ``tolerance``. The domain truncation
adds an error of the order of ρ∞ on the boundary: keep the walls 7–8 standard deviations out.

Fields (``spectrum.xdmf``, at t = 0): ``phi_<i>`` and ``psi_<i>``, the real parts (the two modes of a
complex pair have the same real part), and ``metastable_set`` (labels 0 … m−1) where there are sets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.optimize

from fpsolve.analyses.base import Analysis, Context, FieldSeries, Result, check, reference_key, register
from fpsolve.analyses.metastable import metastable_count, metastable_labels, residence_times, set_masses
from fpsolve.discretisation.functionals import moments
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import CaseError
from fpsolve.log import get_logger
from fpsolve.output.spectrum_figures import eigenvalue_figure, mode_figure, spectrum_sweep_figure
from fpsolve.problem.exact import kalman_rank, linear_drift, ou_spectrum, ou_stationary_covariance
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.solvers.spectral import Mode, SpectralSolver
from fpsolve.tables import integer, number

__all__ = ["SpectrumAnalysis", "match_exact"]

#: |λ₀| / Re λ₁: zero to round-off (1e-14 measured), as the mass is conserved exactly.
ZERO_TOL = 1e-8
#: Most eigenpairs one analysis asks for.
MAX_MODES = 50


@register
@dataclass(frozen=True)
class SpectrumAnalysis(Analysis):
    """Eigenvalues, modes, gap and relaxation time; ``reference="ou"`` checks them against the exact set."""

    kind = "spectrum"
    keys = frozenset(
        {"type", "modes", "target", "reference", "tolerance", "gap_tolerance", "metastable_ratio"}
    )

    modes: int = 6
    target: float = -1e-3
    reference: str | None = None
    tolerance: float = 1e-3
    gap_tolerance: float | None = None
    metastable_ratio: float = 0.1

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate a ``spectrum`` table."""
        values: dict[str, Any] = {}
        if "modes" in table:
            values["modes"] = integer(table["modes"], f"{where}.modes", 2, MAX_MODES)
        if "target" in table:
            values["target"] = number(table["target"], f"{where}.target")
        for key in ("tolerance", "gap_tolerance"):
            if key in table:
                values[key] = number(table[key], f"{where}.{key}", positive=True)
        if "metastable_ratio" in table:
            ratio = number(table["metastable_ratio"], f"{where}.metastable_ratio", positive=True)
            if ratio >= 1:
                raise CaseError(f"{where}.metastable_ratio must be in (0, 1), got {ratio!r}")
            values["metastable_ratio"] = ratio
        return cls(reference=reference_key(table, where), **values)

    def run(self, ctx: Context) -> Result:
        """Solve the eigenproblem; observables, checks, fields φ_i, ψ_i and the metastable sets."""
        disc = ctx.disc
        solver = SpectralSolver(disc, self.modes, self.target, ctx.petsc, vectors=True)
        spec = solver.solve()
        lam = spec.eigenvalues
        gap = float(lam[1].real)
        mean, cov = moments(spec.rho, disc.msh, disc.problem.dim)
        observables: dict[str, Any] = {
            "eigenvalues_real": lam.real.tolist(),
            "eigenvalues_imag": lam.imag.tolist(),
            "gap": gap,
            "relaxation_time": 1.0 / gap,
            "gap_ratios": (lam.real[1:-1] / lam.real[2:]).tolist(),
            "backward_errors": [m.right_error for m in spec.modes],
            "left_backward_errors": [m.left_error for m in spec.modes],
            "biorthogonality": biorthogonality(spec.modes, solver.mass_matrix()),
            "stationary_mean": mean.tolist(),
            "stationary_covariance": cov.tolist(),
        }
        checks = [check("spectrum: |lambda_0| / Re lambda_1", abs(lam[0]) / gap, 0.0, ZERO_TOL)]
        tolerances = np.array([self.tolerance, self.gap_tolerance or self.tolerance])
        figure: dict[str, np.ndarray] = {"eigenvalues": lam, "tolerances": tolerances}
        if self.reference == "ou":
            exact, more_checks, figure["exact"] = self._ou(disc, lam)
            observables["exact"] = exact
            checks += more_checks
        fields = [FieldSeries(f"phi_{i}", [(0.0, m.phi[0])]) for i, m in enumerate(spec.modes)]
        fields += [FieldSeries(f"psi_{i}", [(0.0, m.psi[0])]) for i, m in enumerate(spec.modes)]
        sets = self._metastable(disc, spec.modes, lam, spec.rho)
        observables["metastable"] = sets[0] if sets else None
        if sets:
            fields.append(FieldSeries("metastable_set", [(0.0, sets[1])]))
        return Result({"spectrum": observables}, checks, fields, figure_data=figure)

    def _ou(
        self, disc: Discretisation, lam: np.ndarray
    ) -> tuple[dict[str, Any], list[dict[str, Any]], np.ndarray]:
        """The exact OU comparison, its checks (controllable pairs) and the exact set up to the plot range."""
        A, _, K = linear_drift(disc.problem)
        drift = np.linalg.eigvals(A)
        g = float(drift.real.min())
        top = float(lam.real.max())
        matched, errors = match_exact(lam, A)
        rank = kalman_rank(A, K)
        controllable = rank == len(A)
        gap_error = abs(lam[1].real - g) / g
        exact = {
            "drift_eigenvalues_real": drift.real.tolist(),
            "drift_eigenvalues_imag": drift.imag.tolist(),
            "kalman_rank": rank,
            "controllable": controllable,
            "gap": g,
            "relaxation_time": 1.0 / g,
            "eigenvalues_real": matched.real.tolist(),
            "eigenvalues_imag": matched.imag.tolist(),
            "relative_errors": errors.tolist(),
            "gap_relative_error": gap_error,
            "stationary_covariance": ou_stationary_covariance(A, K).tolist(),
            "noise_floor": float(np.linalg.eigvalsh(K / disc.problem.eps2).min()),
            "gap_tolerance": self.gap_tolerance or self.tolerance,
        }
        checks = []
        if controllable:
            checks = [
                check(
                    "spectrum: rel. error of the gap Re lambda_1 vs min Re lambda(A)",
                    gap_error,
                    0.0,
                    self.gap_tolerance or self.tolerance,
                ),
                check(
                    "spectrum: max rel. error of lambda_1..k-1 vs exact OU set",
                    errors[1:].max(),
                    0.0,
                    self.tolerance,
                ),
            ]
        elif disc.comm.rank == 0:  # the same on every rank: said once
            get_logger().warning(
                f"spectrum: (A, Q) is not controllable (Kalman rank {rank} < {len(A)}): the OU set "
                "{Σ nᵢλᵢ(A)} is the spectrum of controllable pairs only; compared, not checked"
            )
        return exact, checks, ou_spectrum(A, 1.25 * top + g)

    def _metastable(
        self, disc: Discretisation, modes: list[Mode], lam: np.ndarray, rho: Any
    ) -> tuple[dict[str, Any], Any] | None:
        """The metastable sets where the gap after m modes is clear: summary record and label field."""
        m = metastable_count(lam, self.metastable_ratio)
        if m is None:
            return None
        owned = disc.V.dofmap.index_map.size_local
        psi = np.column_stack([modes[i].psi[0].x.array for i in range(1, m)])
        labels, vertices = metastable_labels(psi, rho.x.array, owned, disc.comm)
        field = disc.function("metastable_set")
        field.x.array[:] = labels
        masses = set_masses([modes[i].psi[0] for i in range(1, m)], rho, vertices)
        record = {
            "sets": m,
            "gap_ratio": float(lam[m - 1].real / lam[m].real),
            "stationary_masses": masses,
            "vertices": vertices.tolist(),
        }
        if m == 2:
            record["residence_times"] = residence_times(float(lam[1].real), masses)
        return record, field

    @classmethod
    def figures(cls, out: Path, summary: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/spectrum_eigenvalues.png`` and ``figures/spectrum_modes.png`` (rank 0)."""
        data = out / "spectrum_figure.npz"
        if not data.is_file():
            return []
        arrays = dict(np.load(data))
        obs = summary["observables"]["spectrum"]
        made = [eigenvalue_figure(out / "figures" / "spectrum_eigenvalues.png", arrays, obs, title)]
        series = out / "spectrum.xdmf"
        if series.is_file():
            made.append(mode_figure(out / "figures" / "spectrum_modes.png", series, obs, summary, title))
        return made

    @classmethod
    def sweep_fit(cls, summaries: list[Mapping[str, Any]]) -> dict[str, Any] | None:
        """Eigenvalues, gap and stationary covariance against the noise floor λ_min(Q) over the runs."""
        runs = [s["observables"]["spectrum"] for s in summaries if "spectrum" in s["observables"]]
        if len(runs) < 2 or any("exact" not in r for r in runs):
            return None
        return {
            "noise_floor": [r["exact"]["noise_floor"] for r in runs],
            "eigenvalues_real": [r["eigenvalues_real"] for r in runs],
            "exact_eigenvalues_real": [r["exact"]["eigenvalues_real"] for r in runs],
            "gap": [r["gap"] for r in runs],
            "exact_gap": [r["exact"]["gap"] for r in runs],
            "gap_relative_error": [r["exact"]["gap_relative_error"] for r in runs],
            "gap_tolerance": runs[0]["exact"].get("gap_tolerance"),
            "relaxation_time": [r["relaxation_time"] for r in runs],
            "covariance_eigenvalues": [np.linalg.eigvalsh(r["stationary_covariance"]).tolist() for r in runs],
            "exact_covariance_eigenvalues": [
                np.linalg.eigvalsh(r["exact"]["stationary_covariance"]).tolist() for r in runs
            ],
        }

    @classmethod
    def sweep_figures(cls, out: Path, fit: Mapping[str, Any], title: str) -> list[Path]:
        """``figures/sweep_spectrum.png``."""
        return [spectrum_sweep_figure(out / "figures" / "sweep_spectrum.png", dict(fit), title)]


def match_exact(lam: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The exact OU eigenvalue matched to each of ``lam`` and the relative errors.

    One-to-one matching of least total distance (:func:`scipy.optimize.linear_sum_assignment`) with
    the exact set (with multiplicity) up to a real part beyond every computed one; errors
    :math:`|\lambda_h - \lambda|/\max(|\lambda|, g)`, g = min Re λ(A).
    """
    g = float(np.linalg.eigvals(A).real.min())
    upto = 1.25 * float(lam.real.max()) + g
    exact = ou_spectrum(A, upto)
    while len(exact) < len(lam):
        upto *= 2
        exact = ou_spectrum(A, upto)
    rows, cols = scipy.optimize.linear_sum_assignment(np.abs(lam[:, None] - exact[None, :]))
    matched = exact[cols[np.argsort(rows)]]
    return matched, np.abs(lam - matched) / np.maximum(np.abs(matched), g)


def biorthogonality(modes: list[Mode], M: Any) -> float:
    r""":math:`\max_{ij}|\psi_i^TM\phi_j - \delta_{ij}|` over the computed modes (complex, bilinear)."""
    worst = 0.0
    for j, right in enumerate(modes):
        Mr, Mi = M.createVecLeft(), M.createVecLeft()
        M.mult(right.phi[0].x.petsc_vec, Mr)
        M.mult(right.phi[1].x.petsc_vec, Mi)
        for i, left in enumerate(modes):
            ur, ui = left.psi[0].x.petsc_vec, left.psi[1].x.petsc_vec
            value = complex(ur.dot(Mr) - ui.dot(Mi), ur.dot(Mi) + ui.dot(Mr))
            worst = float(np.max([worst, abs(value - (i == j))]))  # NaN propagates
        Mr.destroy()
        Mi.destroy()
    return worst
