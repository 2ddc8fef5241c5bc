r"""Shared test problems with closed-form answers, for the test suite and ``bench/`` alike.

The 2-D anisotropic OU process of ``cases/ou_anisotropic_2d.toml`` (``fpsolve demo``):

.. math::  dX = -A(X-\mu)dt + \sqrt{2\varepsilon^2}Q^{1/2}dW,\quad A = V^{-1}\mathrm{diag}(4,1)V,
           \ V = \begin{pmatrix}-1&1\\1&1\end{pmatrix},\ Q = \begin{pmatrix}1&.5\\.5&.5\end{pmatrix},
           \ \varepsilon^2 = 0.05 .

Its stationary density is :math:`N(\mu,\Sigma)` with :math:`A\Sigma+\Sigma A^T = 2\varepsilon^2Q` and a
non-zero current (A and Q do not commute); transient moments follow the OU ODEs
(:mod:`fpsolve.problem.exact`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

import ufl
from mpi4py import MPI

from fpsolve.discretisation.functionals import error_L2
from fpsolve.discretisation.mesh import TaggedMesh, build_mesh, exterior_facets
from fpsolve.discretisation.operators import Discretisation
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.problem.domain import Cuboid, MeshFile
from fpsolve.problem.exact import (
    mfpt_1d,
    ou_stationary_covariance,
    ou_stationary_current,
    ou_stationary_density,
)
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates, gaussian_density
from fpsolve.sde.walls import MeshWalls
from fpsolve.solvers.boundary_value import SourceSolver
from fpsolve.solvers.exit_time import ExitTimeSolver
from fpsolve.solvers.stationary import StationarySolver
from fpsolve.solvers.transient import TransientSolver

__all__ = [
    "A",
    "EPS2",
    "MU",
    "Q",
    "V",
    "degenerate_problem",
    "double_well_drift",
    "double_well_error",
    "evolve_degenerate",
    "manufactured",
    "mms_errors",
    "nodal_value",
    "ou_errors",
    "ou_problem",
    "phase_space",
    "rotated_box",
    "rotated_double_well",
    "rotated_double_well_exit_time",
    "rotated_frame",
    "walls",
]

V = np.array([[-1.0, 1.0], [1.0, 1.0]])
A = np.linalg.inv(V) @ np.diag([4.0, 1.0]) @ V
Q = np.array([[1.0, 0.5], [0.5, 0.5]])
EPS2 = 0.05
MU = np.array([0.1, -0.05])


def ou_problem(cells: int, initial: sp.Expr | None = None) -> FokkerPlanckProblem:
    """The OU problem on ``[-1.2, 1.2]^2`` (± ≥ 4.5 standard deviations) with ``cells²`` squares."""
    x = sp.Matrix(coordinates(2)) - sp.Matrix(MU)
    drift = -sp.Matrix(A) * x
    box = Cuboid((-1.2, -1.2), (1.2, 1.2), (cells, cells))
    return FokkerPlanckProblem(2, sp.Matrix(Q), EPS2, box, drift=drift, initial=initial, name="ou_2d")


def walls(tagged: TaggedMesh, absorbing: tuple[str, ...] | list[str]) -> MeshWalls:
    """Monte Carlo walls of a tagged mesh: the named parts absorb, the rest reflect (collective)."""
    verts, tags, inside = exterior_facets(tagged)
    return MeshWalls.from_facets(verts, tags, inside, [tagged.parts[name] for name in absorbing])


def manufactured(dim: int) -> tuple[sp.Expr, sp.Expr, sp.Matrix]:
    """(ρ, L, Q) of the manufactured problem in ``dim`` dimensions."""
    X = coordinates(dim)
    if dim == 1:
        (x,) = X
        return sp.sin(sp.pi * x) * sp.exp(x), -x - 0.3 * x**2, sp.Matrix([[1 + x**2 / 2]])
    if dim == 2:
        x, y = X
        rho = sp.sin(sp.pi * x) * sp.sin(sp.pi * y) * sp.exp(x - y)
        Q = sp.Matrix([[1 + x**2, sp.Rational(3, 10)], [sp.Rational(3, 10), 1 + y**2]])
        return rho, -(x + y / 2) + x * y / 5, Q
    x, y, z = X
    rho = sp.sin(sp.pi * x) * sp.sin(sp.pi * y) * sp.sin(sp.pi * z) * sp.exp(x - z)
    Q = sp.Matrix([[1 + x**2, 0.3, 0], [0.3, 1 + y**2, 0.2], [0, 0.2, 1]])
    return rho, -(x + y / 2 - 0.7 * z) + x * y / 5, Q


def mms_errors(dim: int, cells: list[int], scheme: str, degree: int, eps2: float) -> list[float]:
    """L2 errors of the manufactured problem on ``cells``-per-side unit cubes."""
    rho, loss, Q = manufactured(dim)
    X = coordinates(dim)
    parts = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")[: 2 * dim]
    errors = []
    for n in cells:
        box = Cuboid((0.0,) * dim, (1.0,) * dim, (n,) * dim)
        p = FokkerPlanckProblem(dim, Q, eps2, box, loss=loss, absorbing=parts)
        J = [p.beta[i] * rho - sum(p.K[i, j] * sp.diff(rho, X[j]) for j in range(dim)) for i in range(dim)]
        source = sum(sp.diff(J[i], X[i]) for i in range(dim))
        disc = Discretisation(p, build_mesh(box), degree=degree, scheme=scheme)
        rho_h = SourceSolver(disc).solve(source)
        if scheme == "afc":
            assert disc.minimum(rho_h) >= 0.0
        errors.append(error_L2(rho_h, to_ufl(rho, ufl.SpatialCoordinate(disc.msh), X), disc.msh))
    return errors


def double_well_error(eps2: float, cells: int, scheme: str, comm: MPI.Comm = MPI.COMM_WORLD) -> float:
    """Relative error of T(−1) for the 1-D double well exit through the saddle."""
    (x,) = coordinates(1)
    p = FokkerPlanckProblem(
        1,
        sp.Matrix([[1]]),
        eps2,
        Cuboid((-2.0,), (0.0,), (cells,)),
        loss=x**4 / 4 - x**2 / 2,
        absorbing=("xmax",),
    )
    disc = Discretisation(p, build_mesh(p.domain, comm), scheme=scheme)
    T = ExitTimeSolver(disc).solve()
    if scheme == "eafe":
        assert disc.minimum(T) >= 0.0
    return nodal_value(disc, T, (-1.0,)) / float(mfpt_1d(double_well_drift, eps2, -2.0, 0.0, -1.0)) - 1.0


def nodal_value(disc: Discretisation, f: Any, point: tuple[float, ...]) -> float:
    """Nodal value of ``f`` at the mesh node ``point`` (all ranks)."""
    n = disc.V.dofmap.index_map.size_local
    X = disc.V.tabulate_dof_coordinates()[:n, : len(point)]
    here = np.flatnonzero(np.linalg.norm(X - np.asarray(point), axis=1) < 1e-12)
    return disc.comm.allreduce(float(f.x.array[here[0]]) if here.size else -np.inf, op=MPI.MAX)


def double_well_drift(y: np.ndarray) -> np.ndarray:
    """Drift −L'(y) of the double well L = y⁴/4 − y²/2."""
    return -(y**3 - y)


def ou_errors(
    problem_at: Callable[[int], FokkerPlanckProblem],
    A: np.ndarray,
    K: np.ndarray,
    mu: np.ndarray,
    cells: list[int],
    scheme: str,
) -> np.ndarray:
    """Per mesh: (rel. L2 error of ρ, of J, min ρ / max ρ, |mass − 1|) of the stationary OU solve."""
    sigma = ou_stationary_covariance(A, K)
    out = []
    for n in cells:
        p = problem_at(n)
        disc = Discretisation(p, build_mesh(p.domain), scheme=scheme)
        res = StationarySolver(disc).solve()
        X = ufl.SpatialCoordinate(disc.msh)
        rho_ex = to_ufl(ou_stationary_density(mu, sigma), X, p.coords)
        J_ex = to_ufl(ou_stationary_current(A, K, mu), X, p.coords)
        out.append(
            (
                error_L2(res.rho, rho_ex, disc.msh, relative=True),
                error_L2(disc.current(res.rho), J_ex, disc.msh, relative=True),
                disc.minimum(res.rho) / disc.maximum(res.rho),
                abs(disc.mass(res.rho) - 1.0),
            )
        )
    return np.array(out)


def phase_space(
    gamma: float, T: float = 0.1, omega: float = 1.0
) -> tuple[Callable[[int], FokkerPlanckProblem], np.ndarray, np.ndarray]:
    """Problem factory, drift matrix and diffusion of the degenerate phase-space OU."""
    th, v = coordinates(2)
    A = np.array([[0.0, -1.0], [omega**2, gamma]])
    K = np.diag([0.0, gamma * T])

    def make(n: int) -> FokkerPlanckProblem:
        box = Cuboid((-1.6, -1.6), (1.6, 1.6), (n, n))  # ±5 standard deviations
        drift = sp.Matrix([v, -gamma * v - omega**2 * th])
        return FokkerPlanckProblem(2, sp.Matrix([[0, 0], [0, 1]]), gamma * T, box, drift=drift)

    return make, A, K


def evolve_degenerate(scheme: str, steps: int, dt: float = 5e-3) -> TransientSolver:
    """``steps`` transient steps of :func:`degenerate_problem` (24 cells); returns the solver."""
    p = degenerate_problem(24)
    disc = Discretisation(p, build_mesh(p.domain), scheme=scheme)
    assert disc.rank_Q == 1
    rho = disc.interpolate(p.initial)
    rho.x.array[:] /= disc.mass(rho)
    solver = TransientSolver(disc, dt)
    for _ in solver.run(rho, [steps * dt]):
        pass
    return solver


def degenerate_problem(cells: int) -> FokkerPlanckProblem:
    """ε² = 1e-3, rank-1 state-dependent Q = v vᵀ with v = (1, x), confining loss, reflecting box."""
    x, y = coordinates(2)
    Q = sp.Matrix([[1, x], [x, x**2]])
    loss = (x**2 + 2 * y**2 + x * y) / 2
    start = gaussian_density([0.5, -0.4], 0.003 * np.eye(2))  # width 0.055 < h = 0.083: point-mass-like
    return FokkerPlanckProblem(
        2, Q, 1e-3, Cuboid((-1.0, -1.0), (1.0, 1.0), (cells, cells)), loss=loss, initial=start
    )


DELTA = 0.25
U_A, U_B, WIDTH = -1.8, 0.5, 0.6


def rotated_frame(dim: int) -> np.ndarray:
    """Rotation whose rows are e₁, e₂(, e₃): 0.5 rad in 2-D; about the axis (1, 2, 3) by 0.7 rad in 3-D."""
    if dim == 2:
        c, s = math.cos(0.5), math.sin(0.5)
        return np.array([[c, s], [-s, c]])
    k = np.array([1.0, 2.0, 3.0]) / math.sqrt(14.0)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return (np.eye(3) + math.sin(0.7) * K + (1 - math.cos(0.7)) * K @ K).T


def rotated_box(dim: int, h: float, path: Path, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Write the gmsh mesh of the rotated box, groups ``exit`` (u = U_B) and ``wall`` (rank 0 writes)."""
    if comm.rank == 0:
        _write_rotated_box(dim, h, path)
    comm.barrier()


def _write_rotated_box(dim: int, h: float, path: Path) -> None:
    import gmsh

    R = rotated_frame(dim)
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    occ = gmsh.model.occ
    if dim == 2:
        tag = occ.addRectangle(U_A, -WIDTH, 0, U_B - U_A, 2 * WIDTH)
    else:
        tag = occ.addBox(U_A, -WIDTH, -WIDTH, U_B - U_A, 2 * WIDTH, 2 * WIDTH)
    M = np.eye(4)
    M[:dim, :dim] = R.T  # x = Rᵀ (u, v)
    occ.affineTransform([(dim, tag)], list(M[:3].ravel()))
    occ.synchronize()
    faces = gmsh.model.getBoundary([(dim, tag)], oriented=False)
    exit_ = [f[1] for f in faces if R[0] @ np.array(occ.getCenterOfMass(*f))[:dim] > U_B - 1e-9]
    gmsh.model.addPhysicalGroup(dim, [tag], 1, name="domain")
    gmsh.model.addPhysicalGroup(dim - 1, exit_, 1, name="exit")
    gmsh.model.addPhysicalGroup(dim - 1, [f[1] for f in faces if f[1] not in exit_], 2, name="wall")
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", h)
    gmsh.model.mesh.generate(dim)
    gmsh.write(str(path))
    gmsh.finalize()


def rotated_double_well(dim: int, ratio: float, q_perp: float, mesh: Path) -> FokkerPlanckProblem:
    r"""Exact small-noise suite (bench/small_noise.py): a double well separable in a rotated frame.

    With :math:`u = e_1\cdot x`, :math:`v_k = e_{k+1}\cdot x` (:func:`rotated_frame`),
    :math:`L = \Delta(u^2-1)^2 + \sum_k v_k^2` and :math:`Q = e_1e_1^T + q_\perp\sum_k e_{k+1}e_{k+1}^T`
    (q⊥ = 0: rank 1) on :func:`rotated_box`, absorbing at u = 0.5: u is autonomous and T(x) = T(u) is
    :func:`rotated_double_well_exit_time`. ΔL/ε² = ``ratio`` (Δ = 1/4).
    """
    R = rotated_frame(dim)
    xs = sp.Matrix(coordinates(dim))
    u, *vs = (sp.Matrix(R) * xs)[:]
    loss = DELTA * (u**2 - 1) ** 2 + sum(v**2 for v in vs)
    Q = np.outer(R[0], R[0]) + q_perp * sum(np.outer(r, r) for r in R[1:])
    return FokkerPlanckProblem(
        dim, sp.Matrix(Q), DELTA / ratio, MeshFile(mesh, dim), loss=loss, absorbing=("exit",)
    )


def rotated_double_well_exit_time(ratio: float) -> float:
    """Exact T at the minimum u = −1 of :func:`rotated_double_well` (reflecting at U_A, absorbing at U_B)."""
    return float(mfpt_1d(lambda s: -4 * DELTA * s * (s**2 - 1), DELTA / ratio, U_A, U_B, -1.0))
