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

Non-reversible drifts :math:`b = -Q\nabla L + \ell` with a transverse ℓ (:math:`\ell\cdot\nabla L = 0`,
:math:`\nabla\cdot\ell = 0`): the Bouchet–Reygner generalisation (:func:`bouchet_reygner`), where the
prefactor's :math:`|\lambda^-|` becomes the unstable eigenvalue of the drift's Jacobian at s. FE escape
rates approach it: ``cases/escape_nonreversible.toml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, vanishes

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
    if problem.loss is None:
        raise ProblemError("Eyring–Kramers needs a loss (drift −∇L, or −Q∇L plus a transverse field)")
    if any(e.free_symbols for e in problem.Q):
        raise ProblemError("Eyring–Kramers is implemented for a constant Q only")
    Q = np.array(problem.Q.tolist(), dtype=float)
    if np.linalg.eigvalsh(Q).min() <= 0:
        raise ProblemError("Eyring–Kramers needs a positive definite Q (a singular Q is not reversible)")
    if problem.drift is not None:
        return bouchet_reygner(problem, minimum, saddle)
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


def transverse_part(problem: FokkerPlanckProblem) -> sp.ImmutableMatrix | None:
    r"""The transverse part :math:`\ell = b + Q\nabla L` of the drift, or None if it is not transverse.

    Transverse: :math:`\ell\cdot\nabla L = 0` and :math:`\nabla\cdot\ell = 0` (Q constant).

    Then :math:`\nabla\cdot(e^{-L/\varepsilon^2}\ell) = e^{-L/\varepsilon^2}(\nabla\cdot\ell -
    \ell\cdot\nabla L/\varepsilon^2) = 0`: the Gibbs density :math:`e^{-L/\varepsilon^2}` stays
    stationary and L is the quasi-potential, the setting of Bouchet & Reygner (2016). Both identities
    are tested with :func:`~fpsolve.problem.fokker_planck.vanishes`.
    """
    xs = problem.coords
    grad = sp.Matrix([sp.diff(problem.loss, c) for c in xs])
    ell = sp.Matrix(problem.drift_field) + sp.Matrix(problem.Q) * grad
    divergence = sum(sp.diff(ell[i], xs[i]) for i in range(problem.dim))
    if vanishes((ell.T * grad)[0, 0]) and vanishes(divergence):
        return sp.ImmutableMatrix(ell)
    return None


def bouchet_reygner(
    problem: FokkerPlanckProblem, minimum: npt.ArrayLike, saddle: npt.ArrayLike
) -> EyringKramers:
    r"""Mean transition time for the non-reversible drift :math:`b = -Q\nabla L + \ell` (Q constant).

    With ℓ transverse (:func:`transverse_part`) the Eyring–Kramers law holds with the negative eigenvalue
    of :math:`Q\nabla^2V(s)` replaced by minus the positive eigenvalue μ of the drift's Jacobian
    :math:`\nabla b(s) = -Q\nabla^2L(s) + \nabla\ell(s)` (Bouchet & Reygner 2016, their eq. (1.7);
    docs/theory.md §10):

    .. math::  E_m\tau \approx \frac{2\pi}{\mu}\sqrt{\frac{|\det\nabla^2L(s)|}{\det\nabla^2L(m)}}
               \,e^{(L(s)-L(m))/\varepsilon^2}.

    For ℓ = 0 this is the reversible formula with V = L. Example: L = (x² − 1)²/4 + y²/2, ℓ = γJ∇L
    (J the rotation by π/2): μ = √(1 + γ²) at s = 0, the escape faster by that factor.
    """
    ell = transverse_part(problem)
    if ell is None:
        raise ProblemError(
            "Eyring–Kramers / Bouchet–Reygner needs the drift −Q∇L + ℓ with ℓ·∇L = 0 and ∇·ℓ = 0 "
            "(then L is the quasi-potential); this drift is not of that form"
        )
    xs = problem.coords
    hess = sp.lambdify([xs], sp.hessian(problem.loss, xs), "numpy")
    jac = sp.lambdify([xs], sp.Matrix(problem.drift_field).jacobian(xs), "numpy")
    m, s = np.asarray(minimum, float), np.asarray(saddle, float)
    eig_m = np.linalg.eigvalsh(np.asarray(hess(m), float))
    eig_s = np.linalg.eigvalsh(np.asarray(hess(s), float))
    if eig_m.min() <= 0:
        raise ProblemError(f"{m.tolist()} is not a non-degenerate minimum of L (Hessian eigenvalues {eig_m})")
    if np.sum(eig_s < 0) != 1 or np.any(eig_s == 0):
        raise ProblemError(f"{s.tolist()} is not an index-1 saddle of L (Hessian eigenvalues {eig_s})")
    growth = np.linalg.eigvals(np.asarray(jac(s), float))
    unstable = growth.real[growth.real > 0]
    if unstable.size != 1:
        raise ProblemError(f"the drift at the saddle {s.tolist()} has {unstable.size} unstable directions")
    loss = sp.lambdify([xs], problem.loss, "numpy")
    barrier = float(loss(s)) - float(loss(m))
    mu = float(unstable[0])
    prefactor = 2 * math.pi / mu * math.sqrt(abs(np.prod(eig_s)) / np.prod(eig_m))
    return EyringKramers(prefactor * math.exp(barrier / problem.eps2), prefactor, barrier, -mu)


__all__ = ["EyringKramers", "bouchet_reygner", "eyring_kramers", "transverse_part"]
