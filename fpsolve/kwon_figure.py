r"""Figure in the layout of Kunin et al. Fig. 3: original loss vs modified loss, current, one SGD path.

Panels (2-D problems): (1) contours of the loss :math:`\Phi = L` (or of ρ_h for a drift without a loss)
with one Euler–Maruyama path of the SDE; (2) contours of the modified loss
:math:`\Psi_h = -\varepsilon^2\log(\rho_h/\max\rho_h)`, its fitted quadratic (dashed) and streamlines
of the transverse drift :math:`j = J_h/\rho_h`, with the same path; (3) Ψ_h against Φ (or against the
fitted quadratic) at the grid points where ρ_h > 1e-6 max ρ_h. Fields are sampled collectively
(:func:`fpsolve.currents.sample`), the path and the plot are made on rank 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import dolfinx
from mpi4py import MPI

from fpsolve.case import Case
from fpsolve.currents import sample
from fpsolve.montecarlo import EulerMaruyama
from fpsolve.operators import Discretisation
from fpsolve.validate import initial_sampler

GRID = 160


def trajectory(case: Case, x0: np.ndarray, t_end: float) -> np.ndarray:
    """One Euler–Maruyama path from ``x0`` over ``[0, t_end]`` (step ``validate.dt`` or 1e-3), seeded."""
    dt = case.validate.dt or 1e-3
    em = EulerMaruyama(case.problem, dt)
    rng = np.random.default_rng(case.validate.seed)
    x = np.array([x0], dtype=float)
    alive = np.ones(1, dtype=bool)
    path = [x[0].copy()]
    for _ in range(int(round(t_end / dt))):
        em.step(x, alive, rng)
        path.append(x[0].copy())
    return np.array(path)


def kwon_figure(
    case: Case,
    disc: Discretisation,
    rho: dolfinx.fem.Function,
    J: dolfinx.fem.Function,
    rec: dict[str, Any],
    t_path: float,
    target: Path,
) -> Path:
    """Write the three-panel figure to ``target`` (rank 0) and return its path."""
    problem = case.problem
    xg = disc.msh.geometry.x[:, :2]
    lo, hi = np.empty(2), np.empty(2)
    disc.comm.Allreduce(xg.min(axis=0, initial=np.inf), lo, op=MPI.MIN)
    disc.comm.Allreduce(xg.max(axis=0, initial=-np.inf), hi, op=MPI.MAX)
    inset = 1e-9 * (hi - lo)
    gx, gy = np.meshgrid(*(np.linspace(lo[i] + inset[i], hi[i] - inset[i], GRID) for i in range(2)))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    r = sample(rho, pts)[:, 0].reshape(gx.shape)
    j = sample(J, pts)
    if disc.comm.rank != 0:
        return target
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = rec["mu"]
    if problem.initial is not None:
        start = initial_sampler(problem)(np.random.default_rng(case.validate.seed), 1)[0]
    path = trajectory(case, start, t_path)
    rmax = np.nanmax(r)
    seen = r > 1e-6 * rmax
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = -problem.eps2 * np.log(np.clip(r, 0, None) / rmax)
        u = np.where(seen, j[:, 0].reshape(gx.shape) / r, np.nan)
        v = np.where(seen, j[:, 1].reshape(gx.shape) / r, np.nan)
    y = pts - rec["mu"]
    quad = 0.5 * np.einsum("ni,ij,nj->n", y, rec["U"], y).reshape(gx.shape)
    levels = problem.eps2 * np.array([0.125, 0.5, 1.125, 2, 3.125, 4.5, 6.125, 8])  # ½·(k/2)² in std units
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))
    ax = axes[0]
    if problem.loss is not None:
        phi = problem.numpy("loss")(pts.T).reshape(gx.shape)
        phi -= phi.min()
        ax.contourf(gx, gy, phi, levels=20, cmap="viridis")
        ax.set_title(r"original loss $\Phi = L$ and an SGD (Euler–Maruyama) path")
        other, other_name = phi, r"$\Phi - \min\Phi$"
    else:
        ax.contourf(gx, gy, np.where(seen, r, np.nan), levels=20, cmap="viridis")
        ax.set_title(r"stationary density $\rho_h$ and an Euler–Maruyama path")
        other, other_name = quad, r"fitted quadratic $(x-\mu)^T U (x-\mu)/2$"
    ax = axes[1]
    ax.contourf(gx, gy, np.where(seen, psi, np.nan), levels=20, cmap="magma_r")
    ax.contour(gx, gy, quad, levels=levels, colors="k", linestyles="dashed", linewidths=0.6)
    ax.streamplot(gx, gy, u, v, color="white", density=1.1, linewidth=0.7, arrowsize=0.9)
    ax.set_title(
        r"modified loss $\Psi_h=-\varepsilon^2\log\rho_h$ (dashed: fit), streamlines of $J_h/\rho_h$"
    )
    for ax in axes[:2]:
        ax.plot(path[:, 0], path[:, 1], color="tab:cyan", lw=0.4, alpha=0.8)
        ax.plot(*path[0], "o", color="tab:red", ms=4)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    ax = axes[2]
    ax.plot(other[seen], psi[seen], ".", ms=1, alpha=0.4)
    top = float(np.nanmax(psi[seen]))
    ax.plot([0, top], [0, top], "k--", lw=0.8, label="equality")
    ax.set_xlabel(other_name)
    ax.set_ylabel(r"$\Psi_h$")
    ax.legend()
    ax.set_title(r"$\Psi_h$ against " + other_name)
    fig.suptitle(f"{case.name}: broken detailed balance (Kwon decomposition from the FE solution)")
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=110)
    plt.close(fig)
    return target
