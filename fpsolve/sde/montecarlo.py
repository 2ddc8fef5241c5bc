r"""Monte Carlo for the same symbolic problem: Euler–Maruyama paths of the Itô SDE.

.. math::  X_{k+1} = X_k + b(X_k)\,\Delta t + \sqrt{2\varepsilon^2\Delta t}\;Q(X_k)^{1/2}\xi_k,
           \qquad \xi_k \sim N(0, I),

with ``b = −∇L`` (or the given drift) and :math:`Q^{1/2}` from a symmetric eigen-decomposition with
negative round-off eigenvalues clipped (Q may be singular). This is the process whose density solves
the Fokker–Planck equation of :mod:`fpsolve.problem.fokker_planck` (Itô ⇔
:math:`\nabla\cdot\nabla\cdot(Q\rho)`).

Boundaries of built-in shapes are handled in closed form; a mesh domain (or any :class:`MeshWalls`)
by walking each step through its boundary facets (:mod:`fpsolve.sde.walls`). Reflecting parts
mirror the overshoot back (weak order ½ at the wall);
absorbing parts kill a path when it is outside after a step *or*, with ``bridge=True``, with the
Brownian-bridge probability :math:`\exp(-2 d_k d_{k+1}/(\sigma_n^2\Delta t))` that it crossed and came
back during the step (:math:`d` distances to the boundary, :math:`\sigma_n^2 = 2\varepsilon^2 n^TQn`;
Gobet 2000), which removes the :math:`O(\sqrt{\Delta t})` bias of discrete monitoring.

Parallel and reproducible: particles are cut into fixed chunks, chunk ``c`` draws from
``SeedSequence(seed).spawn(n_chunks)[c]``, chunks are dealt to ranks round-robin and the per-chunk
sums are gathered and added in chunk order — the same seed gives bit-identical aggregates on any
number of ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from mpi4py import MPI

from fpsolve.errors import ProblemError
from fpsolve.log import progress_bar
from fpsolve.problem.domain import Cuboid, MeshFile, Sphere
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.sde.walls import MeshWalls

Array = npt.NDArray[np.float64]
CHUNK = 20_000
#: A noise factor with more than this many columns per dimension is replaced by √Q in the paths.
WIDE_FACTOR = 4
#: Time steps between progress reports inside a chunk (each a clock read; lines every few seconds).
PROGRESS_EVERY = 64


@dataclass
class Moments:
    """Per-time particle statistics: surviving fraction, mean, covariance and their standard errors."""

    t: float
    n: int
    alive: float
    mean: Array
    cov: Array
    mean_se: Array
    cov_se: Array
    f_mean: Array
    f_se: Array


def sqrt_psd(q: Array) -> Array:
    r"""Symmetric square roots of PSD matrices ``q`` of shape ``(n, d, d)`` (eigenvalues < 0 → 0).

    Closed forms for d = 1, 2; a symmetric eigen-decomposition for d = 3.

    >>> sqrt_psd(np.array([[[4.0, 0.0], [0.0, 0.0]]]))[0].tolist()
    [[2.0, 0.0], [0.0, 0.0]]
    """
    d = q.shape[-1]
    if d == 1:
        return np.sqrt(np.clip(q, 0.0, None))
    if d == 2:  # closed form: √Q = (Q + √det·I)/√(tr + 2√det), exact for PSD 2×2 (also singular)
        s = np.sqrt(np.clip(q[:, 0, 0] * q[:, 1, 1] - q[:, 0, 1] * q[:, 1, 0], 0.0, None))
        t = np.sqrt(np.clip(q[:, 0, 0] + q[:, 1, 1] + 2 * s, 0.0, None))
        root = q + s[:, None, None] * np.eye(2)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(t[:, None, None] > 0, root / t[:, None, None], 0.0)
    lam, vec = np.linalg.eigh(q)
    return np.einsum("nij,nj,nkj->nik", vec, np.sqrt(np.clip(lam, 0.0, None)), vec)


class EulerMaruyama:
    """Vectorised Euler–Maruyama integrator of a problem's SDE on its domain.

    Parameters
    ----------
    problem
        The problem. Built-in domains (:class:`~fpsolve.problem.domain.Cuboid`,
        :class:`~fpsolve.problem.domain.Sphere`) use closed-form walls; a
        :class:`~fpsolve.problem.domain.MeshFile` needs ``walls``.
    dt
        Time step.
    bridge
        Brownian-bridge crossing test at absorbing parts.
    walls
        Facet walls to use instead of the domain's own boundary (required for a mesh file:
        :meth:`MeshWalls.from_facets`, :func:`fpsolve.analyses.base.mesh_walls`).
    region
        A sympy expression g of the coordinates: paths are also killed where g ≥ 0
        (:meth:`_left_region`).
    """

    def __init__(
        self,
        problem: FokkerPlanckProblem,
        dt: float,
        bridge: bool = True,
        walls: MeshWalls | None = None,
        region: sp.Expr | None = None,
    ) -> None:
        if walls is None and isinstance(problem.domain, MeshFile):
            raise ProblemError(
                "Monte Carlo on a mesh-file domain needs its walls: pass walls= "
                "(fpsolve.analyses.base.mesh_walls builds them from the finite-element mesh)"
            )
        if walls is None and not isinstance(problem.domain, Cuboid | Sphere):
            raise ProblemError(f"Monte Carlo cannot handle a {type(problem.domain).__name__} domain")
        if not dt > 0:
            raise ProblemError(f"Monte Carlo time step must be positive, got {dt}")
        self.problem, self.dt, self.bridge, self.walls = problem, float(dt), bridge, walls
        self.d = problem.dim
        self._drift = _rows(problem.drift_field, problem.coords)
        self._Q = problem.numpy("Q")
        self._constant_root = None
        # a factor G (d × m) is used as given when it is narrow; a wide one (per-sample gradients: m = N)
        # would cost O(m) per particle and step for the same law as the d × d root of Q = G Gᵀ
        narrow = problem.noise_factor is not None and problem.noise_factor.shape[1] <= WIDE_FACTOR * self.d
        self._factor = problem.numpy("noise_factor") if narrow else None
        if self._factor is not None and not any(e.free_symbols for e in problem.noise_factor):
            self._constant_root = self._factor(np.zeros((self.d, 1)))[:, :, 0]
        elif self._factor is None and not any(e.free_symbols for e in problem.Q):
            self._constant_root = sqrt_psd(self._Q(np.zeros((self.d, 1)))[None, :, :, 0])[0]
        self.scale = np.sqrt(2.0 * problem.eps2 * self.dt)
        self._scaled_root = None if self._constant_root is None else self.scale * self._constant_root
        # the bridge needs G at every particle; without it a state-dependent 2×2 √Q is applied to ξ directly
        absorbing = bool(walls.absorbing.any()) if walls is not None else bool(problem.absorbing)
        self._needs_root = bridge and (absorbing or region is not None)
        self._region = None
        if region is not None:  # g and ∇g
            self._region = _rows([region, *(sp.diff(region, c) for c in problem.coords)], problem.coords)
        self._q_entries = None
        if self._constant_root is None and self._factor is None and self.d == 2 and not self._needs_root:
            self._q_entries = _rows([problem.Q[0, 0], problem.Q[0, 1], problem.Q[1, 1]], problem.coords)

    # -- one step ------------------------------------------------------------------------------

    def noise_root(self, x: Array) -> Array:
        """Noise factor G (G Gᵀ = Q) at particles ``x`` (n, d): (d, m) if constant, else (n, d, m).

        The problem's ``noise_factor`` when given with at most ``WIDE_FACTOR·d`` columns, else the
        symmetric square root of Q (the same law: G ξ and √Q ζ are both N(0, Q)).
        """
        if self._constant_root is not None:
            return self._constant_root
        if self._factor is not None:
            return np.moveaxis(self._factor(x.T), -1, 0)
        return sqrt_psd(np.moveaxis(self._Q(x.T), -1, 0))

    def step(self, x: Array, alive: npt.NDArray[np.bool_], rng: np.random.Generator) -> npt.NDArray[np.bool_]:
        """Advance the living particles ``x`` (in place); returns the mask of those absorbed in this step."""
        everyone = bool(alive.all())
        idx = None if everyone else np.flatnonzero(alive)
        xa = x if everyone else x[idx]
        cols = np.ascontiguousarray(xa.T)
        new = self._drift(cols).T  # (n, d), a fresh array
        new *= self.dt
        new += xa
        root = None
        if self._q_entries is not None:
            self._add_root_q_noise(cols, new, rng)
        else:
            root = self.noise_root(xa)
            xi = rng.standard_normal((len(xa), root.shape[-1]))
            if self._scaled_root is not None:
                new += xi @ self._scaled_root.T
            else:
                new += self.scale * np.einsum("nij,nj->ni", root, xi)
        killed = self._boundary(xa, new, root, rng)
        if self._region is not None:
            killed |= self._left_region(xa, new, root, rng)
        out = np.zeros_like(alive)
        if everyone:
            x[:] = new
            out[killed] = True
        else:
            x[idx] = new
            out[idx[killed]] = True
        return out

    def _add_root_q_noise(self, cols: Array, new: Array, rng: np.random.Generator) -> None:
        r"""``new += scale·√Q ξ`` for a state-dependent 2×2 Q, without forming the (n, 2, 2) roots.

        :math:`\sqrt Q\,\xi = (Q\xi + s\xi)/t`, :math:`s = \sqrt{\det Q}`,
        :math:`t = \sqrt{\mathrm{tr}\,Q + 2s}` (as :func:`sqrt_psd`); 0 where t = 0 (Q = 0).
        """
        n = cols.shape[1]
        q00, q01, q11 = (np.broadcast_to(v, (n,)) for v in self._q_entries(cols))
        s = np.sqrt(np.clip(q00 * q11 - q01 * q01, 0.0, None))
        t = np.sqrt(np.clip(q00 + q11 + 2 * s, 0.0, None))
        w = np.divide(self.scale, t, out=np.zeros(n), where=t > 0)
        xi = rng.standard_normal((n, 2))  # same draws as the general path
        xi0, xi1 = xi[:, 0], xi[:, 1]
        new[:, 0] += w * ((q00 + s) * xi0 + q01 * xi1)
        new[:, 1] += w * (q01 * xi0 + (q11 + s) * xi1)

    def _boundary(
        self, old: Array, new: Array, root: Array, rng: np.random.Generator
    ) -> npt.NDArray[np.bool_]:
        if self.walls is not None:
            return self._walls(old, new, root, rng)
        dom = self.problem.domain
        absorbing = set(self.problem.absorbing)
        killed = np.zeros(len(new), dtype=bool)
        if isinstance(dom, Sphere):
            c = np.asarray(dom.center)
            r_old = np.linalg.norm(old - c, axis=1)
            r_new = np.linalg.norm(new - c, axis=1)
            if "boundary" in absorbing:
                killed |= r_new >= dom.radius
                if self.bridge:
                    n = (old - c) / np.maximum(r_old, 1e-300)[:, None]
                    killed |= self._crossed(dom.radius - r_old, dom.radius - r_new, n, root, rng)
            else:
                out = r_new > dom.radius
                new[out] = c + (new[out] - c) * ((2 * dom.radius - r_new[out]) / r_new[out])[:, None]
            return killed
        for axis in range(self.d):
            for side, bound in enumerate((dom.lo[axis], dom.hi[axis])):
                name = dom.parts[2 * axis + side]
                sign = -1.0 if side == 0 else 1.0  # outward normal along the axis
                col = new[:, axis]
                if name in absorbing:
                    dist_new = sign * (bound - col)  # > 0 inside
                    killed |= dist_new <= 0
                    if self.bridge:
                        n = np.zeros((len(new), self.d))
                        n[:, axis] = sign
                        dist_old = sign * (bound - old[:, axis])
                        killed |= self._crossed(dist_old, dist_new, n, root, rng)
                else:  # mirror the overshoot back
                    np.copyto(col, 2 * bound - col, where=col < bound if side == 0 else col > bound)
        return killed

    def _left_region(
        self, old: Array, new: Array, root: Array, rng: np.random.Generator
    ) -> npt.NDArray[np.bool_]:
        r"""Paths outside the region :math:`\{g < 0\}` after the step, or (bridge) crossed and back.

        The bridge test uses the linearised distances :math:`d = -g/|\nabla g|` at both ends and the
        normal :math:`\nabla g/|\nabla g|` at the start (exact for a half-space, O(d²/radius of curvature)
        otherwise, where the crossing probability matters).
        """
        before, after = self._region(np.ascontiguousarray(old.T)), self._region(np.ascontiguousarray(new.T))
        killed = after[0] >= 0
        if not self.bridge:
            return killed
        with np.errstate(divide="ignore", invalid="ignore"):
            norm_old = np.linalg.norm(before[1:], axis=0)
            d_old = np.where(norm_old > 0, -before[0] / norm_old, np.inf)
            d_new = -after[0] / np.linalg.norm(after[1:], axis=0)
            n = np.where(norm_old > 0, before[1:] / norm_old, 0.0).T
        d_new = np.where(np.isfinite(d_new), d_new, np.inf)
        return killed | self._crossed(d_old, d_new, n, root, rng)

    def _walls(self, old: Array, new: Array, root: Array, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
        r"""Facet walls: reflect/absorb along the step, then the bridge test at the nearest absorbing facet.

        The bridge probability is only evaluated where it can exceed :math:`e^{-70}`: with clearance
        :math:`c` of the start cell, step length :math:`\ell` and :math:`\sigma_n^2\Delta t \le
        2\varepsilon^2\Delta t\,\mathrm{tr}\,Q`, elsewhere :math:`2c(c-\ell) > 70\,\sigma_n^2\Delta t`.
        """
        walls = self.walls
        cell = walls.cell_of(old)
        killed = walls.move(old, new, cell)
        if not self.bridge or not walls.absorbing.any():
            return killed
        var_max = self.scale**2 * np.sum(root**2, axis=(-2, -1))
        c = walls.clearance_absorbing[cell]
        step = new - old
        gap = c - np.sqrt(np.einsum("ni,ni->n", step, step))
        near = np.flatnonzero(~((gap > 0) & (2 * c * gap > 70 * var_max)) & ~killed)
        d_old = np.full(len(old), np.inf)
        d_new = np.full(len(old), np.inf)
        n = np.zeros_like(old)
        d_old[near], facet = walls.nearest_absorbing(old[near], cell[near])
        d_new[near] = walls.nearest_absorbing(new[near])[0]
        n[near] = walls.normals[facet]
        return killed | self._crossed(d_old, d_new, n, root, rng)

    def _crossed(
        self, d_old: Array, d_new: Array, n: Array, root: Array, rng: np.random.Generator
    ) -> npt.NDArray[np.bool_]:
        r"""Crossing draws :math:`P = \exp(-2 d_k d_{k+1}/(\sigma_n^2\Delta t))` (inside at both ends)."""
        gn = n @ root if root.ndim == 2 else np.einsum("nij,ni->nj", root, n)  # Gᵀn
        var = self.scale**2 * np.einsum("nj,nj->n", gn, gn)  # σ_n² Δt = 2ε²Δt nᵀQn, Q = GGᵀ
        inside = (d_old > 0) & (d_new > 0) & (var > 0)
        p = np.zeros(len(d_old))
        p[inside] = np.exp(-2.0 * d_old[inside] * d_new[inside] / var[inside])
        return rng.random(len(d_old)) < p


# -- ensembles ---------------------------------------------------------------------------------


def _rows(exprs: Sequence[sp.Expr], coords: Sequence[sp.Symbol]) -> Callable[[Array], Array]:
    """Evaluator of a vector of expressions at points given as columns ``(d, n)``: returns ``(k, n)``.

    One lambdified function with common subexpressions eliminated (sympy ``cse``), constants broadcast.
    """
    exprs = list(exprs)
    f = sp.lambdify([list(coords)], exprs, modules="numpy", cse=True)

    def evaluate(cols: Array) -> Array:
        out = np.empty((len(exprs), cols.shape[1]))
        for row, value in zip(out, f(cols), strict=True):
            row[...] = value
        return out

    return evaluate


class _Chunks:
    """The (chunk index, size, seed) of the chunks this rank owns; rank 0 reports progress in paths.

    The ranks own chunks round-robin, so rank 0's share times the rank count estimates the paths done.
    :meth:`within` reports progress inside the current chunk (a single chunk of ``CHUNK`` paths can run
    for minutes); lines are written every few seconds only (:class:`fpsolve.log.Progress`).
    """

    def __init__(self, n: int, seed: int, comm: MPI.Comm) -> None:
        count = max(1, -(-n // CHUNK))
        seeds = np.random.SeedSequence(seed).spawn(count)
        sizes = [CHUNK] * (count - 1) + [n - CHUNK * (count - 1)]
        self.mine = [(c, sizes[c], seeds[c]) for c in range(comm.rank, count, comm.size)]
        self.n, self.ranks = n, comm.size
        self.bar = progress_bar(comm, True, "Monte Carlo", n, unit="paths", summary=False)
        self._done = 0
        self._size = 0

    def __iter__(self) -> Iterator[tuple[int, int, np.random.SeedSequence]]:
        with self.bar or nullcontext():
            for chunk in self.mine:
                self._size = chunk[1]
                yield chunk
                self._done += chunk[1]
                self.within(0.0)

    def within(self, fraction: float) -> None:
        """Report that ``fraction`` (0–1) of the current chunk's work is done."""
        if self.bar is not None:
            self.bar.update(min(self.n, (self._done + fraction * self._size) * self.ranks))


def _ordered_sum(local: dict[int, Array], comm: MPI.Comm) -> Array:
    """Sum per-chunk arrays in chunk order after gathering them (rank-count independent)."""
    merged: dict[int, Array] = {}
    for part in comm.allgather(local):
        merged.update(part)
    total = None
    for c in sorted(merged):
        total = merged[c].copy() if total is None else total + merged[c]
    return total


def simulate_moments(
    em: EulerMaruyama,
    sample: Callable[[np.random.Generator, int], Array],
    n: int,
    times: Sequence[float],
    seed: int,
    comm: MPI.Comm = MPI.COMM_WORLD,
    functions: Sequence[Callable[[Array], Array]] = (),
) -> list[Moments]:
    r"""Mean and covariance of the surviving particles at ``times`` (multiples of ``dt`` after rounding).

    ``sample(rng, m)`` draws ``m`` initial positions (shape ``(m, d)``). Each of ``functions``
    (``f(x)`` for ``x`` of shape ``(m, d)``) is averaged as :math:`E[f(X_t)1_{t<\tau}]`, the Monte Carlo
    estimate of :math:`\int \rho_t f` (absorbed paths count as 0), with its standard error.
    """
    d = em.d
    steps = [int(round(t / em.dt)) for t in times]
    # per chunk and output time: count, Σx, Σxxᵀ, Σ(xxᵀ)², … as flat power sums up to order 4
    local: dict[int, Array] = {}
    chunks = _Chunks(n, seed, comm)
    for c, size, ss in chunks:
        rng = np.random.default_rng(ss)
        x = sample(rng, size)
        alive = np.ones(size, dtype=bool)
        rows = []
        k = 0
        for target in steps:
            while k < target:
                alive &= ~em.step(x, alive, rng)
                k += 1
                if k % PROGRESS_EVERY == 0:
                    chunks.within(k / steps[-1])
            fx = [f(x[alive]) for f in functions]
            rows.append(
                np.concatenate([_power_sums(x[alive], d), [v.sum() for v in fx], [(v**2).sum() for v in fx]])
            )
        local[c] = np.array(rows)
    total = _ordered_sum(local, comm)
    nf = len(functions)
    out = []
    for i, t in enumerate(times):
        row = total[i]
        mom = _moments(t, row[: len(row) - 2 * nf], d, n)
        sf, sf2 = row[len(row) - 2 * nf : len(row) - nf], row[len(row) - nf :]
        mom.f_mean = sf / n
        mom.f_se = np.sqrt(np.clip(sf2 / n - mom.f_mean**2, 0.0, None) / n)
        out.append(mom)
    return out


def _power_sums(x: Array, d: int) -> Array:
    """[count, Σx_i, Σx_i x_j, Σ(x_i x_j)²]: enough for means, covariances and their standard errors."""
    xx = np.einsum("ni,nj->nij", x, x).reshape(len(x), d * d)
    return np.concatenate([[len(x)], x.sum(0), xx.sum(0), (xx**2).sum(0)])


def _moments(t: float, s: Array, d: int, n_total: int) -> Moments:
    m = s[0]
    if m < 2:
        nan = np.full(d, np.nan)
        empty = np.zeros(0)
        return Moments(
            t, int(m), m / n_total, nan, np.full((d, d), np.nan), nan, np.full((d, d), np.nan), empty, empty
        )
    sx = s[1 : 1 + d]
    sxx = s[1 + d : 1 + d + d * d].reshape(d, d)
    sxx2 = s[1 + d + d * d : 1 + d + 2 * d * d].reshape(d, d)
    mean = sx / m
    second = sxx / m
    cov = second - np.outer(mean, mean)
    mean_se = np.sqrt(np.clip(np.diag(cov), 0, None) / m)
    # s.e. of cov_ij ≈ sd(x_i x_j)/√m (centred near the mean, error of the mean is second order)
    var_prod = np.clip(sxx2 / m - second**2, 0, None)
    cov_se = np.sqrt(var_prod / m)
    return Moments(t, int(m), m / n_total, mean, cov, mean_se, cov_se, np.zeros(0), np.zeros(0))


#: Where exit-time paths start: one point, or ``sample(rng, m)`` drawing ``m`` points (shape ``(m, d)``).
Start = Sequence[float] | Callable[[np.random.Generator, int], Array]


def exit_times(
    em: EulerMaruyama, x0: Start, n: int, t_max: float, seed: int, comm: MPI.Comm = MPI.COMM_WORLD
) -> tuple[float, float, float]:
    """Mean exit time from ``x0`` through the absorbing parts: ``(mean, standard error, fraction exited)``.

    ``x0`` is a point or a sampler of start points (:data:`Start`; a sampler draws each chunk's points
    from the chunk's generator first, so the aggregates stay independent of the rank count). Paths
    still inside at ``t_max`` are counted with τ = t_max (reported by the fraction).
    """
    return exit_time_histogram(em, x0, n, t_max, (), seed, comm)[:3]


def exit_time_histogram(
    em: EulerMaruyama,
    x0: Start,
    n: int,
    t_max: float,
    edges: Sequence[float],
    seed: int,
    comm: MPI.Comm = MPI.COMM_WORLD,
) -> tuple[float, float, float, Array]:
    """:func:`exit_times` and the number of paths with τ in each bin ``[edges[k], edges[k+1])``.

    Exit times are multiples of ``em.dt``: edges off that grid count each step in one bin. No
    ``edges``: no counts.
    """
    local: dict[int, Array] = {}
    max_steps = int(np.ceil(t_max / em.dt))
    chunks = _Chunks(n, seed, comm)
    for c, size, ss in chunks:
        rng = np.random.default_rng(ss)
        x = x0(rng, size) if callable(x0) else np.tile(np.asarray(x0, float), (size, 1))
        alive = np.ones(size, dtype=bool)
        tau = np.full(size, max_steps * em.dt)
        for k in range(max_steps):
            hit = em.step(x, alive, rng)
            tau[hit] = (k + 1) * em.dt
            alive &= ~hit
            if not alive.any():
                break
            if k % PROGRESS_EVERY == 0:
                chunks.within(1.0 - alive.sum() / size)
        counts = np.histogram(tau, edges)[0] if len(edges) else np.zeros(0)
        local[c] = np.concatenate([[size, tau.sum(), (tau**2).sum(), (~alive).sum()], counts])
    s = _ordered_sum(local, comm)
    mean = s[1] / s[0]
    se = np.sqrt(max(s[2] / s[0] - mean**2, 0.0) / s[0])
    return float(mean), float(se), float(s[3] / s[0]), s[4:]


def current_circulation(
    em: EulerMaruyama,
    sample: Callable[[np.random.Generator, int], Array],
    n: int,
    t_burn: float,
    t_average: float,
    fields: Sequence[Callable[[Array], Array]],
    seed: int,
    comm: MPI.Comm = MPI.COMM_WORLD,
) -> tuple[Array, Array]:
    r"""Stationary current against vector fields: :math:`\int J_\infty\cdot w\,dx` for each ``w``.

    Estimator (stochastic thermodynamics): after a burn-in ``t_burn``,
    :math:`\int J\cdot w = \lim \frac1T E\int_0^T w(X_t)\circ dX_t`, the Stratonovich integral taken
    with the midpoint rule :math:`\sum_k w(\tfrac{X_k+X_{k+1}}2)\cdot(X_{k+1}-X_k)/T`. Reflected steps
    enter as taken. Returns the estimates and their standard errors (from the spread of the
    independent per-chunk estimates).
    """
    burn = int(round(t_burn / em.dt))
    steps = int(round(t_average / em.dt))
    local: dict[int, Array] = {}
    chunks = _Chunks(n, seed, comm)
    for c, size, ss in chunks:
        rng = np.random.default_rng(ss)
        x = sample(rng, size)
        alive = np.ones(size, dtype=bool)
        for k in range(burn):
            em.step(x, alive, rng)
            if k % PROGRESS_EVERY == 0:
                chunks.within(k / (burn + steps))
        acc = np.zeros(len(fields))
        for k in range(steps):
            if k % PROGRESS_EVERY == 0:
                chunks.within((burn + k) / (burn + steps))
            old = x.copy()
            em.step(x, alive, rng)
            mid = 0.5 * (old + x)
            dx = x - old
            acc += [np.einsum("ni,ni->", w(mid), dx) for w in fields]
        local[c] = acc / (size * steps * em.dt)
    merged: dict[int, Array] = {}
    for part in comm.allgather(local):
        merged.update(part)
    est = np.array([merged[c] for c in sorted(merged)])
    sizes = np.array([min(CHUNK, n - CHUNK * c) for c in sorted(merged)], dtype=float)
    mean = (est * sizes[:, None]).sum(0) / sizes.sum()
    if len(est) < 2:
        return mean, np.full(len(fields), np.nan)
    se = np.sqrt(((est - mean) ** 2 * sizes[:, None]).sum(0) / sizes.sum() / (len(est) - 1))
    return mean, se


def initial_sampler(problem: FokkerPlanckProblem) -> Any:
    """``sample(rng, m)`` drawing from the problem's initial density when it is a Gaussian."""
    expr = problem.initial
    if expr is None:
        raise ProblemError("validate needs an [initial] density to start the Monte Carlo paths")
    mean, cov = gaussian_parameters(expr, problem)
    return lambda rng, m: rng.multivariate_normal(mean, cov, m)


def gaussian_parameters(expr: sp.Expr, problem: FokkerPlanckProblem) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``expr`` if it is ``c·exp(quadratic)`` (the Gaussian/point initial types)."""
    xs = problem.coords
    log_rho = sp.expand(sp.expand_log(sp.log(expr), force=True))
    hess = sp.hessian(log_rho, xs)
    if any(e.free_symbols for e in hess) or log_rho.has(sp.log(xs[0])):
        raise ProblemError("validate samples Gaussian or point initial densities only")
    precision = -np.array(hess, dtype=float)
    grad0 = np.array([sp.diff(log_rho, c).subs(dict.fromkeys(xs, 0)) for c in xs], dtype=float)
    cov = np.linalg.inv(precision)
    return cov @ grad0, cov
