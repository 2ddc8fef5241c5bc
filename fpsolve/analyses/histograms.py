r"""Histograms of Monte Carlo paths against the finite-element probabilities of the same bins.

A :class:`Histogram` is a quantity :math:`q(x)` (a coordinate, or :math:`|x-c|^2` for radial bins),
its bin levels and the finite-element probability of each bin,
:math:`p_b = \int\rho\,1\{\ell_b \le q < \ell_{b+1}\}`, integrated geometrically (exact for a
coordinate, :mod:`fpsolve.discretisation.bins`). The Monte Carlo side is the fraction of the n paths
(alive, in the bin), :math:`\hat p_b`, from the bins' indicators (:meth:`Histogram.indicators`, averaged
by :func:`fpsolve.sde.montecarlo.simulate_moments`), with the binomial standard error
:math:`\sqrt{\hat p_b(1-\hat p_b)/n}`.

:func:`compare` records both and checks them twice, each check failing a correct FE answer with
probability at most :math:`\alpha = 2\Phi(-k)`, that of one k-σ check (k = ``validate.sigmas`` = 4:
6e-5). With :math:`\hat p'_b` the Δt run, :math:`e_b = \max(|p_b - \hat p_b| - |\hat p'_b - \hat p_b|, 0)`
is the per-bin form of :func:`fpsolve.analyses.base.mc_check` (statistical error plus Δt-bias estimate):

* worst bin, against a local error: :math:`\max_b e_b/s_b \le k_B = \Phi^{-1}(1 - \Phi(-k)/B)`,
  :math:`s_b = \sqrt{p_b(1-p_b)/n}` (the s.e. if FE is right, floored at 1/n); Bonferroni over the B
  bins, valid whatever their correlation (k_B = 4.74 for 30 bins);
* Pearson's :math:`X^2 = n\sum_b e_b^2/p_b` over the m bins with :math:`np_b \ge 5`, against an error
  in the shape: :math:`X^2 \le \chi^2_m(1-\alpha)` (69.1 for m = 30). Without the bias allowance
  it is Pearson's statistic on m cells of a multinomial, stochastically at most :math:`\chi^2_m`
  (covariance :math:`I - \sqrt p\sqrt p^T`); the allowance only lowers it. A 20 % error in ε² of a
  1-D OU gives :math:`X^2` = 101–154 against 63 (26 bins) with 2e4 paths, while the worst bin is
  at 4.1–4.8 s.e. (tests/unit/cases/test_validate_histograms.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import chdtri, ndtr, ndtri  # not scipy.stats: 0.6 s of every command's import

import dolfinx
import ufl
from mpi4py import MPI

from fpsolve.discretisation.bins import bin_probabilities
from fpsolve.discretisation.functionals import integral

__all__ = [
    "BINS",
    "Histogram",
    "compare",
    "compare_all",
    "exit_time_edges",
    "exit_time_record",
    "marginals",
    "mesh_box",
    "pick_times",
    "radial",
    "tolerance_sigmas",
]

Array = npt.NDArray[np.float64]

#: Bins per histogram: 30 bins over ±4 sd are 0.27 sd wide (the shape shows; with 1e5 paths the peak
#: bins, p ≈ 0.06, carry a relative s.e. of 1.3 %).
BINS = 30
#: Marginal bins cover the FE mean ± SPREAD standard deviations (clipped to the mesh).
SPREAD = 4.0
#: Radial bins cover [0, RADIAL_SPREAD·sqrt(E|X − c|²)].
RADIAL_SPREAD = 3.0
#: Halvings of each cut cell before the radial level set is interpolated (moves an edge at radius r
#: by at most δ²/(2r), δ = cell diameter / 16; :mod:`fpsolve.discretisation.bins`).
RADIAL_REFINE = 4


@dataclass
class Histogram:
    """One histogram: ``label`` (e.g. ``"x"``), display ``edges``, the quantity ``q`` and its levels.

    ``q`` maps points (m, d) to (m,); ``levels`` are the bin edges in q's units (``edges`` itself, or
    ``edges²`` for ``q = |x − c|²``); ``fe`` the finite-element probability of each bin.
    """

    t: float
    label: str
    edges: Array
    q: Callable[[Array], Array]
    levels: Array
    fe: Array

    def indicators(self) -> list[Callable[[Array], Array]]:
        """The indicator ``1{ℓ_b ≤ q(x) < ℓ_{b+1}}`` of each bin, for particles (m, d)."""
        q = self.q
        return [
            lambda x, lo=lo, hi=hi: (((v := q(x)) >= lo) & (v < hi)).astype(float)
            for lo, hi in zip(self.levels[:-1], self.levels[1:], strict=True)
        ]


def mesh_box(msh: dolfinx.mesh.Mesh) -> tuple[Array, Array]:
    """Lower and upper corners of the mesh's bounding box (collective)."""
    x = msh.geometry.x[:, : msh.geometry.dim]
    lo, hi = np.empty(x.shape[1]), np.empty(x.shape[1])
    msh.comm.Allreduce(x.min(0) if len(x) else np.full(x.shape[1], np.inf), lo, op=MPI.MIN)
    msh.comm.Allreduce(x.max(0) if len(x) else np.full(x.shape[1], -np.inf), hi, op=MPI.MAX)
    return lo, hi


def marginals(
    t: float, rho: dolfinx.fem.Function, mean: Array, cov: Array, box: tuple[Array, Array]
) -> list[Histogram]:
    """A histogram of each coordinate over mean ± SPREAD sd, clipped to ``box`` (collective)."""
    out = []
    for i in range(len(mean)):
        sd = float(np.sqrt(max(cov[i, i], 0.0)))
        lo, hi = max(mean[i] - SPREAD * sd, box[0][i]), min(mean[i] + SPREAD * sd, box[1][i])
        edges = np.linspace(lo, hi, BINS + 1)

        def q(x: Array, i: int = i) -> Array:
            return x[:, i]

        out.append(Histogram(t, "xyz"[i], edges, q, edges, bin_probabilities(rho, q, edges)))
    return out


def radial(t: float, rho: dolfinx.fem.Function, centre: Array, label: str) -> Histogram:
    r"""A histogram, named ``label``, of :math:`|x - c|` (collective).

    The bins cover :math:`[0, \text{RADIAL\_SPREAD}\sqrt{E|X-c|^2}]`, :math:`E|X-c|^2 = \int|x-c|^2\rho /
    \int\rho` (FE).
    """
    c = np.asarray(centre, float)
    msh = rho.function_space.mesh
    x = ufl.SpatialCoordinate(msh)
    dist2 = sum((x[i] - float(c[i])) ** 2 for i in range(len(c)))
    second_moment = integral(rho * dist2, msh) / integral(rho, msh)
    edges = np.linspace(0.0, RADIAL_SPREAD * np.sqrt(second_moment), BINS + 1)

    def q(x: Array) -> Array:
        return np.einsum("ni,ni->n", x - c, x - c)

    fe = bin_probabilities(rho, q, edges**2, RADIAL_REFINE)
    return Histogram(t, label, edges, q, edges**2, fe)


def exit_time_edges(T: float, sd: float, dt: float) -> Array:
    """BINS bins for exit times over about [0, T + SPREAD·sd], each a whole number of steps ``dt``.

    The edges sit a quarter step off the grid of ``dt`` (and ``dt/2``), where Euler–Maruyama exit
    times lie, so that every bin holds the same number of grid times.
    """
    width = dt * max(1, round((T + SPREAD * sd) / (BINS * dt)))
    return dt / 4 + width * np.arange(BINS + 1)


def exit_time_record(
    start: Array, edges: Array, counts: Array, n: int, mc_mean: float, T: float, sd: float
) -> dict[str, Any]:
    """The exit-time histogram at ``start``: fractions of the n paths per bin, binomial s.e., FE moments."""
    p = np.asarray(counts, float) / n
    return {
        "start_point": np.asarray(start, float).tolist(),
        "edges": np.asarray(edges).tolist(),
        "mc": p.tolist(),
        "mc_se": np.sqrt(p * (1 - p) / n).tolist(),
        "beyond": float(1 - p.sum()),
        "n_paths": int(n),
        "mc_T": float(mc_mean),
        "fe_T": float(T),
        "fe_sd": float(sd),
    }


def pick_times(times: Sequence[float], count: int = 3) -> list[float]:
    """Up to ``count`` of ``times``, evenly spread, always the last."""
    idx = np.unique(np.linspace(len(times) - 1, 0, count).round().astype(int))
    return [times[i] for i in idx]


def tolerance_sigmas(k: float, bins: int) -> float:
    r"""Bonferroni level :math:`k_B = \Phi^{-1}(1 - \Phi(-k)/B)`: B bins, the false alarms of one k-σ test."""
    return float(-ndtri(ndtr(-k) / bins))


def compare(
    prefix: str, h: Histogram, mc: Array, mc_se: Array, coarse: Array, n: int, dt: float, k: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(record, checks) of ``h`` against the Monte Carlo bin fractions ``mc`` (Δt/2) and ``coarse`` (Δt).

    The record holds what the figure needs (edges, FE and MC probabilities, the MC standard errors,
    the standardised residuals, Pearson's χ²); the checks are the module docstring's.
    """
    fe, mc = np.asarray(h.fe, float), np.asarray(mc, float)
    se = np.sqrt(np.clip(fe * (1 - fe), 1.0 / n, None) / n)  # ≥ 1/n (p ≈ 0 has no sample variance)
    excess = np.maximum(np.abs(fe - mc) - np.abs(np.asarray(coarse) - mc), 0.0)
    z_tol = tolerance_sigmas(k, len(fe))
    full = n * fe >= 5
    chi2_tol = float(chdtri(max(int(full.sum()), 1), 2 * ndtr(-k)))  # χ² quantile at 1 − 2Φ(−k)
    chi2 = float(n * np.sum((mc - fe)[full] ** 2 / fe[full]))
    record = {
        "t": float(h.t),
        "quantity": h.label,
        "edges": h.edges.tolist(),
        "fe": fe.tolist(),
        "mc": mc.tolist(),
        "mc_se": np.asarray(mc_se).tolist(),
        "z": ((mc - fe) / se).tolist(),
        "z_tolerance": z_tol,
        "chi2": chi2,
        "chi2_bins": int(full.sum()),
        "chi2_tolerance": chi2_tol,
        "n_paths": int(n),
    }
    common = {"reference": 0.0, "n_paths": int(n), "dt": float(dt)}
    worst = float((excess / se).max())
    checks = [
        {
            "name": f"{prefix}: histogram of {h.label}, worst bin |FE - MC| / s.e.",
            "value": worst,
            "tolerance": z_tol,
            "passed": bool(worst <= z_tol),
            "bins": len(fe),
            **common,
        }
    ]
    if full.any():
        stat = float(n * np.sum(excess[full] ** 2 / fe[full]))
        checks.append(
            {
                "name": f"{prefix}: histogram of {h.label}, chi-square over {int(full.sum())} bins",
                "value": stat,
                "tolerance": chi2_tol,
                "passed": bool(stat <= chi2_tol),
                "pearson_chi2": chi2,
                "bins": int(full.sum()),
                **common,
            }
        )
    return record, checks


def compare_all(
    hists: Sequence[Histogram],
    times: Sequence[float],
    fine: Sequence[Any],
    coarse: Sequence[Any],
    first: int,
    name: Callable[[float], str],
    n: int,
    dt: float,
    k: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """:func:`compare` for every histogram of ``hists``: (records, checks).

    ``fine``/``coarse`` hold the Monte Carlo results (Δt/2, Δt) at ``times``, with the bin fractions of
    the histograms, in order, in ``f_mean``/``f_se`` from position ``first`` on; ``name(t)`` prefixes the
    checks of the histogram at time t.
    """
    records: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    offset = first
    for h in hists:
        i = list(times).index(h.t)
        sl = slice(offset, offset + len(h.fe))
        offset += len(h.fe)
        record, rows = compare(
            name(h.t), h, fine[i].f_mean[sl], fine[i].f_se[sl], coarse[i].f_mean[sl], n, dt, k
        )
        records.append(record)
        checks += rows
    return records, checks
