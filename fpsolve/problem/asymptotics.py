r"""Small-noise reference asymptotics of exit times: the Eyring–Kramers law with its prefactor.

For a reversible drift :math:`b = -Q\nabla V` with constant, positive definite Q (for a loss L and
drift −∇L: :math:`\nabla V = Q^{-1}\nabla L`, which exists iff :math:`Q^{-1}\nabla^2L` is symmetric),
the mean time from a minimum m over the lowest index-1 saddle s into the next basin is
(Bovier, Gayrard & Klein 2004; docs/theory.md §10)

.. math::  E_m\tau \approx \frac{2\pi}{|\lambda^-|}
           \sqrt{\frac{|\det\nabla^2V(s)|}{\det\nabla^2V(m)}}\;
           e^{(V(s)-V(m))/\varepsilon^2}\,\bigl(1 + O(\varepsilon^2)\bigr),

:math:`\lambda^-` the negative eigenvalue of :math:`Q\nabla^2V(s)`. Absorbing exactly on the separatrix
halves it; absorbing a little past the saddle (where the drift carries paths on) does not. Checked in
tests/unit/problem/test_asymptotics.py against the exact 1-D double integral (ratio 1 + O(ε²)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.fokker_planck import FokkerPlanckProblem

Array = npt.NDArray[np.float64]

#: Relative asymmetry of :math:`Q^{-1}\nabla^2 L` above which the drift is not reversible.
SYMMETRY_TOL = 1e-8


@dataclass(frozen=True)
class EyringKramers:
    """The Eyring–Kramers mean transition time and its parts (module docstring)."""

    time: float
    prefactor: float
    barrier: float
    lambda_minus: float


def eyring_kramers(
    problem: FokkerPlanckProblem, minimum: npt.ArrayLike, saddle: npt.ArrayLike
) -> EyringKramers:
    r"""Eyring–Kramers time from ``minimum`` over ``saddle`` for a reversible problem (module docstring).

    Raises
    ------
    ProblemError
        If Q is not constant and positive definite, the drift is not −∇L, :math:`Q^{-1}\nabla^2L` is not
        symmetric (no potential V: the non-reversible case), or the points are not a minimum and an
        index-1 saddle of V.
    """
    if problem.loss is None or problem.drift is not None:
        raise ProblemError("Eyring–Kramers needs a loss (drift −∇L)")
    if any(e.free_symbols for e in problem.Q):
        raise ProblemError("Eyring–Kramers is implemented for a constant Q only")
    Q = np.array(problem.Q.tolist(), dtype=float)
    if np.linalg.eigvalsh(Q).min() <= 0:
        raise ProblemError("Eyring–Kramers needs a positive definite Q (a singular Q is not reversible)")
    Qinv = np.linalg.inv(Q)
    xs = problem.coords
    grad = sp.lambdify([xs], sp.Matrix([problem.loss]).jacobian(xs).T, "numpy")
    hess = sp.lambdify([xs], sp.hessian(problem.loss, xs), "numpy")
    m, s = np.asarray(minimum, float), np.asarray(saddle, float)
    H = {}
    for label, point in (("minimum", m), ("saddle", s)):
        HV = Qinv @ np.asarray(hess(point), float)
        if np.abs(HV - HV.T).max() > SYMMETRY_TOL * np.abs(HV).max():
            raise ProblemError(
                f"Q⁻¹∇²L is not symmetric at the {label} {point.tolist()}: the drift −∇L is not of the form "
                "−Q∇V (not reversible); Eyring–Kramers does not apply"
            )
        H[label] = 0.5 * (HV + HV.T)
    eig_m = np.linalg.eigvalsh(H["minimum"])
    eig_s = np.linalg.eigvalsh(H["saddle"])
    if eig_m.min() <= 0:
        raise ProblemError(f"{m.tolist()} is not a non-degenerate minimum of V (Hessian eigenvalues {eig_m})")
    if np.sum(eig_s < 0) != 1 or np.any(eig_s == 0):
        raise ProblemError(f"{s.tolist()} is not an index-1 saddle of V (Hessian eigenvalues {eig_s})")
    # V(s) − V(m): line integral of ∇V = Q⁻¹∇L along the segment (path independent: ∇V is a gradient)
    t, w = np.polynomial.legendre.leggauss(64)
    t = 0.5 * (t + 1.0)
    dV = [float((Qinv @ np.asarray(grad(m + ti * (s - m)), float).ravel()) @ (s - m)) for ti in t]
    barrier = 0.5 * float(np.dot(w, dV))
    lam = float(np.linalg.eigvals(Q @ H["saddle"]).real.min())
    prefactor = 2 * math.pi / abs(lam) * math.sqrt(abs(np.prod(eig_s)) / np.prod(eig_m))
    return EyringKramers(prefactor * math.exp(barrier / problem.eps2), prefactor, barrier, lam)


__all__ = ["EyringKramers", "eyring_kramers"]
