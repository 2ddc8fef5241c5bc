r"""Small-noise reference asymptotics of exit times: the Eyring–Kramers law with its prefactor.

Reversible problems: the zero-flux density :math:`\rho_\infty = e^{-U}` exists, i.e.
:math:`\nabla U = -(\varepsilon^2Q)^{-1}\beta` (β = b − ε²∇·Q the flux-form drift) is a gradient. The
generator is then :math:`\mathcal Lf = e^{U}\nabla\cdot(\varepsilon^2Qe^{-U}\nabla f)` and the mean time
from a minimum m of U over the lowest index-1 saddle s into the next basin is (Bovier, Gayrard &
Klein 2004; docs/theory.md §4.2, §10)

.. math::  E_m\tau \approx \frac{2\pi}{|\lambda^-|}
           \sqrt{\frac{|\det\nabla^2U(s)|}{\det\nabla^2U(m)}}\;
           e^{U(s)-U(m)}\,\bigl(1 + O(\varepsilon^2)\bigr),

:math:`\lambda^-` the negative eigenvalue of :math:`\varepsilon^2Q(s)\nabla^2U(s)`. For constant Q and drift
−∇L, :math:`U = V/\varepsilon^2` with :math:`\nabla V = Q^{-1}\nabla L` (exists iff :math:`Q^{-1}\nabla^2L`
is symmetric). Q may depend on x: loss-proportional noise :math:`Q = \sigma^2(L/L_*)I` gives
:math:`U = (1 + \varphi)\log L`, :math:`\varphi = L_*/(\varepsilon^2\sigma^2)`, and the law becomes Mori et
al.'s power-law rate with the exponent :math:`\varphi + 1 - n/2` (docs/theory.md §4.4).
Absorbing exactly on the separatrix halves the time; absorbing a little past the saddle (where the drift
carries paths on) does not. Checked in tests/unit/problem/test_asymptotics.py against exact 1-D double
integrals (ratio 1 + O(ε²)).

Non-reversible drifts :math:`b = -Q\nabla L + \ell` with a transverse ℓ (:math:`\ell\cdot\nabla L = 0`,
:math:`\nabla\cdot\ell = 0`, Q constant): the Bouchet–Reygner generalisation (:func:`bouchet_reygner`),
where the prefactor's :math:`|\lambda^-|` becomes the unstable eigenvalue of the drift's Jacobian at s. FE
escape rates approach it: ``cases/escape_nonreversible.toml``.
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

#: Relative asymmetry of :math:`\nabla^2U` above which the problem is not reversible.
SYMMETRY_TOL = 1e-8
#: Points of the segment m → s where Q ≻ 0 is checked, and (as many again, scattered within a quarter
#: of |s − m| of it: a symmetric axis can hide the asymmetry) where reversibility, a symmetric ∇²U, is.
SEGMENT_CHECKS = 9


@dataclass(frozen=True)
class EyringKramers:
    """The Eyring–Kramers mean transition time and its parts (module docstring).

    ``time = prefactor · exp(barrier/ε²)``; ``barrier`` is ε²(U(s) − U(m)) (ΔV for constant Q),
    ``minimum`` and ``saddle`` the critical points used (of U; they move by O(ε²) from those of L when
    ∇·Q ≠ 0 there).
    """

    time: float
    prefactor: float
    barrier: float
    lambda_minus: float
    minimum: tuple[float, ...] = ()
    saddle: tuple[float, ...] = ()


def eyring_kramers(
    problem: FokkerPlanckProblem, minimum: npt.ArrayLike, saddle: npt.ArrayLike
) -> EyringKramers:
    r"""Eyring–Kramers time from ``minimum`` over ``saddle`` (module docstring).

    The given points are refined by Newton's method to the nearby zeros of β (the critical points of U).

    Raises
    ------
    ProblemError
        If Q is not positive definite along the segment from the minimum to the saddle, :math:`\nabla^2U`
        is not symmetric there (no potential: the non-reversible case; a drift −Q∇L + ℓ with constant Q
        goes to :func:`bouchet_reygner`), or the points are not near a minimum and an index-1 saddle of U.
    """
    if problem.loss is None:
        raise ProblemError("Eyring–Kramers needs a loss (drift −∇L, or −Q∇L plus a transverse field)")
    if problem.drift is not None:
        if any(e.free_symbols for e in problem.Q):
            raise ProblemError(
                "Bouchet–Reygner (a drift other than −∇L) is implemented for a constant Q only"
            )
        _positive_definite(np.array(problem.Q.tolist(), dtype=float), "")
        return bouchet_reygner(problem, minimum, saddle)
    field = _Potential(problem)
    m0, s0 = np.asarray(minimum, float), np.asarray(saddle, float)
    reach = 0.25 * float(np.linalg.norm(s0 - m0))
    m = field.critical_point(m0, "minimum", reach)
    s = field.critical_point(s0, "saddle", reach)
    t, w = np.polynomial.legendre.leggauss(64)
    t = 0.5 * (t + 1.0)
    for ti in np.linspace(0.0, 1.0, SEGMENT_CHECKS):
        point = m + ti * (s - m)
        _positive_definite(field.K(point), f" at {np.round(point, 6).tolist()}")
        field.symmetric_hessian(point)
    rng = np.random.default_rng(0)
    for ti in rng.uniform(size=SEGMENT_CHECKS):
        u = rng.normal(size=m.size)
        point = m + ti * (s - m) + reach * rng.uniform() * u / np.linalg.norm(u)
        if np.linalg.eigvalsh(field.K(point)).min() > 0:
            field.symmetric_hessian(point)
    H_m, H_s = field.symmetric_hessian(m), field.symmetric_hessian(s)
    eig_m, eig_s = np.linalg.eigvalsh(H_m), np.linalg.eigvalsh(H_s)
    if eig_m.min() <= 0:
        raise ProblemError(f"{m.tolist()} is not a non-degenerate minimum of U (Hessian eigenvalues {eig_m})")
    if np.sum(eig_s < 0) != 1 or np.any(eig_s == 0):
        raise ProblemError(f"{s.tolist()} is not an index-1 saddle of U (Hessian eigenvalues {eig_s})")
    # U(s) − U(m): line integral of ∇U along the segment (path independent: ∇U is a gradient)
    barrier_u = 0.5 * float(np.dot(w, [field.grad_u(m + ti * (s - m)) @ (s - m) for ti in t]))
    lam = float(np.linalg.eigvals(field.K(s) @ H_s).real.min())
    prefactor = 2 * math.pi / abs(lam) * math.sqrt(abs(np.prod(eig_s)) / np.prod(eig_m))
    return EyringKramers(
        prefactor * math.exp(barrier_u),
        prefactor,
        problem.eps2 * barrier_u,
        lam,
        tuple(m.tolist()),
        tuple(s.tolist()),
    )


def _positive_definite(K: Array, where: str) -> None:
    eig = np.linalg.eigvalsh(0.5 * (K + K.T))
    if eig.min() <= 1e-12 * abs(eig).max():
        raise ProblemError(
            f"Eyring–Kramers needs a positive definite Q{where} (a singular Q is not reversible)"
        )


class _Potential:
    r"""Numpy evaluators of the stationary potential's derivatives for the drift −∇L.

    Zero flux :math:`\beta\rho - \varepsilon^2Q\nabla\rho = 0` with :math:`\rho = e^{-U}` gives
    :math:`\nabla U = -(\varepsilon^2Q)^{-1}\beta`; differentiating :math:`\varepsilon^2Q\nabla U = -\beta`,
    :math:`\partial_k\nabla U = -(\varepsilon^2Q)^{-1}(\partial_k\beta + \varepsilon^2(\partial_kQ)\nabla U)`.
    """

    def __init__(self, problem: FokkerPlanckProblem) -> None:
        xs = problem.coords
        beta = sp.Matrix(problem.beta)
        Q = sp.Matrix(problem.Q)
        self.eps2 = problem.eps2
        self._beta = sp.lambdify([xs], beta, "numpy")
        self._dbeta = sp.lambdify([xs], beta.jacobian(xs), "numpy")
        self._q = sp.lambdify([xs], Q, "numpy")
        self._dq = [sp.lambdify([xs], Q.diff(c), "numpy") for c in xs]

    def K(self, x: Array) -> Array:
        r""":math:`\varepsilon^2Q(x)`."""
        return self.eps2 * np.asarray(self._q(x), float)

    def beta(self, x: Array) -> Array:
        """β(x)."""
        return np.asarray(self._beta(x), float).ravel()

    def grad_u(self, x: Array) -> Array:
        r""":math:`\nabla U(x)`."""
        return -np.linalg.solve(self.K(x), self.beta(x))

    def hessian(self, x: Array) -> Array:
        r""":math:`\nabla^2U(x)` (class docstring)."""
        g = self.grad_u(x)
        db = np.asarray(self._dbeta(x), float)
        cols = [db[:, k] + self.eps2 * np.asarray(dq(x), float) @ g for k, dq in enumerate(self._dq)]
        return -np.linalg.solve(self.K(x), np.column_stack(cols))

    def symmetric_hessian(self, x: Array) -> Array:
        r""":math:`\nabla^2U(x)`, refused if not symmetric (∇U is then no gradient: not reversible)."""
        H = self.hessian(x)
        if np.abs(H - H.T).max() > SYMMETRY_TOL * np.abs(H).max():
            raise ProblemError(
                f"∇²U is not symmetric at {np.round(x, 6).tolist()}: −(ε²Q)⁻¹β is no gradient, the drift "
                "is not of the form −ε²Q∇U + ε²∇·Q (not reversible); Eyring–Kramers does not apply"
            )
        return 0.5 * (H + H.T)

    def critical_point(self, x0: Array, label: str, reach: float) -> Array:
        """The zero of β near ``x0`` by Newton's method (within ``reach`` of it)."""
        x = x0.copy()
        for _ in range(50):
            try:
                step = np.linalg.solve(np.asarray(self._dbeta(x), float), self.beta(x))
            except np.linalg.LinAlgError:
                step = np.full_like(x, np.nan)
            x = x - step
            converged = np.linalg.norm(step) <= 1e-12 * (1.0 + np.linalg.norm(x))
            if converged or not np.all(np.isfinite(x)):
                break
        if not converged or np.linalg.norm(x - x0) > reach:
            raise ProblemError(
                f"no non-degenerate critical point of the stationary potential near the {label} {x0.tolist()}"
            )
        return x


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
