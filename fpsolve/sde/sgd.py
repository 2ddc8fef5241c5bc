r"""Real mini-batch SGD as a Monte Carlo ensemble: the discrete process the SDE approximates.

.. math::  \theta_{k+1} = \theta_k - \eta\,\hat g(\theta_k),\qquad
           \hat g = \frac1b\sum_{j=1}^{b}\big(g_{i_j}(\theta_k) + \delta\,\xi_j\,c_{i_j}(\theta_k)\big),

with mini-batch indices drawn with or without replacement and fresh label noise (see
:mod:`fpsolve.problem.model`). One step is time η of the SDE, so :class:`MiniBatchSGD` plugs into the ensemble
drivers of :mod:`fpsolve.sde.montecarlo` (``simulate_moments``) with ``dt = η``: the same chunked,
rank-invariant seeding, the same reflecting/absorbing walls of the problem's box (an iterate leaving
the box is mirrored back into it, like the SDE paths; absorbing parts kill it — discrete monitoring is
exact for the discrete process).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.problem.model import SGDModel
from fpsolve.sde.montecarlo import EulerMaruyama
from fpsolve.sde.walls import MeshWalls

Array = npt.NDArray[np.float64]


class MiniBatchSGD(EulerMaruyama):
    """SGD iterates of ``model`` with learning rate ``eta`` inside ``problem``'s domain.

    ``problem`` supplies the domain and boundary parts only (its ε² should be the model's at ``eta``).
    """

    def __init__(
        self, problem: FokkerPlanckProblem, model: SGDModel, eta: float, walls: MeshWalls | None = None
    ) -> None:
        super().__init__(problem, eta, bridge=False, walls=walls)
        self.model, self.eta = model, float(eta)

    def step(self, x: Array, alive: npt.NDArray[np.bool_], rng: np.random.Generator) -> npt.NDArray[np.bool_]:
        """One SGD step of the living iterates ``x`` (in place); returns the mask of those absorbed."""
        idx = np.flatnonzero(alive)
        xa = x[idx]
        batches = self.model.draw_batches(rng, len(xa))
        new = xa - self.eta * self.model.minibatch_gradient(xa, batches, rng)
        killed = self._boundary(xa, new, np.zeros((self.d, 1)), rng)
        x[idx] = new
        out = np.zeros_like(alive)
        out[idx[killed]] = True
        return out
