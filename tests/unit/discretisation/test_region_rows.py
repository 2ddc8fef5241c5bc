"""Discretisation.restricted: the nodes outside a level-set region become absorbing rows."""

from __future__ import annotations

import numpy as np
import sympy as sp

from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.domain import Cuboid
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates

x, y = coordinates(2)


def test_nodes_where_the_expression_is_not_negative_are_added() -> None:
    """Unit square, 8 × 8 cells, xmin absorbing (9 nodes): region x < 0.45 adds the 5 × 9 nodes x ≥ 0.5."""
    problem = FokkerPlanckProblem(
        2, sp.eye(2), 0.1, Cuboid((0.0, 0.0), (1.0, 1.0), (8, 8)), loss=0 * x, absorbing=("xmin",)
    )
    disc = Discretisation(problem, build_mesh(problem.domain), scheme="eafe")
    basin = disc.restricted(x - 0.45)
    comm = disc.comm
    assert comm.allreduce(len(disc.bc_rows)) == 9  # the original is untouched
    assert comm.allreduce(len(basin.bc_rows)) == 9 + 45
    assert basin.A is disc.A and basin.problem is disc.problem  # matrices shared, not reassembled
    imap = disc.V.dofmap.index_map
    nodes = disc.V.tabulate_dof_coordinates()[: imap.size_local]
    local = basin.bc_rows - imap.local_range[0]
    assert np.all((nodes[local, 0] > 0.49) | (np.abs(nodes[local, 0]) < 1e-12))
