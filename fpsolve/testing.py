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

import numpy as np
import sympy as sp

from fpsolve.discretisation.mesh import TaggedMesh, exterior_facets
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates
from fpsolve.sde.walls import MeshWalls

__all__ = ["A", "EPS2", "MU", "Q", "V", "ou_problem", "walls"]

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
