"""Prints solver results as JSON, to compare across rank counts (tests/integration/test_parallel.py)."""

from __future__ import annotations

import json

import numpy as np

import ufl
from mpi4py import MPI

import fpsolve  # noqa: F401
from fpsolve import testing
from fpsolve.analyses import current_fields as currents
from fpsolve.discretisation.functionals import integral, moments
from fpsolve.discretisation.mesh import build_mesh
from fpsolve.discretisation.operators import Discretisation
from fpsolve.problem.fokker_planck import gaussian_density
from fpsolve.solvers.stationary import StationarySolver
from fpsolve.solvers.transient import TransientSolver


def main() -> None:
    """Stationary AFC and transient FCT runs of the demo problem; rank 0 prints the numbers."""
    out: dict[str, object] = {}
    p = testing.ou_problem(40)
    disc = Discretisation(p, build_mesh(p.domain))
    res = StationarySolver(disc).solve()
    mean, cov = moments(res.rho, disc.msh, 2)
    x = ufl.SpatialCoordinate(disc.msh)
    out["stationary"] = [*mean, *cov.ravel(), integral(res.rho * ufl.exp(x[0] - x[1]), disc.msh)]
    out["stationary_min"] = disc.minimum(res.rho)
    J = disc.current(res.rho)
    f = currents.nodal_fields(disc, res.rho, J)
    rec = currents.kwon_from_fields(disc, f)
    circ = currents.circulation(J, currents.level_curve(rec["U"] / p.eps2, rec["mu"], 1.0))
    out["currents"] = [
        currents.entropy_production(disc, f),
        currents.transverse_index(f),
        currents.detailed_balance_index(disc, res.rho, J),
        *rec["U"].ravel(),
        rec["Q_K"][0, 1],
        *circ,
    ]

    tp = testing.ou_problem(40, initial=gaussian_density([0.6, 0.3], 0.02 * np.eye(2)))
    tdisc = Discretisation(tp, disc.tagged)
    rho = tdisc.interpolate(tp.initial)
    rho.x.array[:] /= tdisc.mass(rho)
    for t in TransientSolver(tdisc, 5e-3).run(rho, [0.05, 0.1]):
        m, c = moments(rho, tdisc.msh, 2)
        out[f"transient_{t}"] = [*m, *c.ravel()]
    if MPI.COMM_WORLD.rank == 0:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
