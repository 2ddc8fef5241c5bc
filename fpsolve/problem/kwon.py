r"""Kwon–Ao–Thouless decomposition of a linear drift (docs/theory.md §2, §3, §8 #2–3).

For the linear SDE :math:`dX = -A(X-\mu)\,dt + \sqrt 2\,D^{1/2}dW` (constant :math:`D \succeq 0`; in
fpsolve :math:`D = K = \varepsilon^2 Q`, or :math:`D = Q` with the temperature :math:`\varepsilon^2`
pulled out) the drift matrix splits as

.. math::  A = (D + Q_K)\,U,\qquad U = U^T,\quad Q_K = -Q_K^T,

computed with the Lyapunov recipe: :math:`A B + B A^T = 2D`, :math:`U = B^{-1}`, :math:`Q_K = AB - D`.
The stationary law is :math:`N(\mu, B)` (:math:`\rho_\infty \propto e^{-\frac12 (x-\mu)^T U (x-\mu)}`)
and the stationary current :math:`J_\infty = -Q_K U (x-\mu)\rho_\infty`, tangent to the level sets of
the modified loss :math:`\Psi = \frac12 (x-\mu)^T U (x-\mu)`. With the temperature pulled out
(:math:`D = Q`, :math:`K = \varepsilon^2 Q`) the density is :math:`\propto e^{-\Psi/\varepsilon^2}`, the
covariance :math:`\varepsilon^2 B` and the current carries the same :math:`Q_K`.

The Lyapunov (Sylvester) operator :math:`X \mapsto AX + XA^T` is singular iff
:math:`\lambda_i + \lambda_j = 0` for a pair of eigenvalues of A (:func:`sylvester_gap`); B is
positive definite iff A is stable and :math:`(A, D^{1/2})` is controllable (Kalman rank,
:func:`controllability_rank`). :func:`kwon_decomposition` refuses (``ProblemError``) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.linalg

from fpsolve.errors import ProblemError

Array = npt.NDArray[np.float64]

#: Relative size of min |λ_i + λ_j| (over max |λ|) below which the Sylvester operator is called singular.
SINGULAR_RTOL = 1e-10


@dataclass(frozen=True)
class KwonDecomposition:
    """Result of :func:`kwon_decomposition`: ``A = (D + Q_K) U``.

    Attributes
    ----------
    B
        Stationary covariance (in the units of D): ``A B + B Aᵀ = 2 D``.
    U
        ``B⁻¹``, the Hessian of the modified loss Ψ.
    Q_K
        Kwon's antisymmetric matrix ``A B − D``.
    sylvester_gap
        ``min |λ_i + λ_j| / max |λ|`` over eigenvalue pairs of A (0: singular).
    controllability_rank
        Rank of the Kalman matrix ``[S, AS, …, A^{d−1}S]``, ``S = D^{1/2}``.
    antisymmetry_error
        ``‖Q_K + Q_Kᵀ‖ / ‖A‖`` (round-off).
    reconstruction_error
        ``‖(D + Q_K)U − A‖ / ‖A‖`` (round-off).
    """

    B: Array
    U: Array
    Q_K: Array
    sylvester_gap: float
    controllability_rank: int
    antisymmetry_error: float
    reconstruction_error: float

    @property
    def detailed_balance(self) -> bool:
        """Whether the stationary current vanishes (``Q_K = 0`` up to round-off, i.e. ``AD = DAᵀ``)."""
        return bool(np.abs(self.Q_K).max() <= 1e-12 * max(1.0, np.abs(self.U).max()))


def sylvester_gap(A: npt.ArrayLike) -> float:
    r"""``min_{i,j} |λ_i + λ_j| / max_i |λ_i|``: zero iff :math:`X \mapsto AX + XA^T` is singular."""
    lam = np.linalg.eigvals(np.asarray(A, float))
    scale = max(float(np.abs(lam).max()), np.finfo(float).tiny)
    return float(np.abs(lam[:, None] + lam[None, :]).min() / scale)


def controllability_rank(A: npt.ArrayLike, D: npt.ArrayLike, rtol: float = 1e-10) -> int:
    r"""Rank of the Kalman matrix :math:`[S, AS, \dots, A^{d-1}S]`, :math:`S = D^{1/2}` (D ⪰ 0)."""
    A, D = np.asarray(A, float), np.asarray(D, float)
    lam, vec = np.linalg.eigh(0.5 * (D + D.T))
    S = vec * np.sqrt(np.clip(lam, 0.0, None))
    blocks = [S]
    for _ in range(len(A) - 1):
        blocks.append(A @ blocks[-1])
    kalman = np.hstack(blocks)
    s = np.linalg.svd(kalman, compute_uv=False)
    return int((s > rtol * max(s.max(initial=0.0), np.finfo(float).tiny)).sum())


def kwon_decomposition(A: npt.ArrayLike, D: npt.ArrayLike) -> KwonDecomposition:
    r"""Decompose :math:`A = (D + Q_K)U` by the Lyapunov recipe (docs/theory.md §2.1).

    Raises
    ------
    ProblemError
        If D is not symmetric PSD, if the Sylvester operator is singular (:math:`\lambda_i+\lambda_j=0`),
        if A is not stable (B not positive definite: U would be indefinite) or if
        :math:`(A, D^{1/2})` is not controllable (B singular, no U).
    """
    A, D = np.asarray(A, float), np.asarray(D, float)
    d = len(A)
    if A.shape != (d, d) or D.shape != (d, d):
        raise ProblemError(f"A and D must be square matrices of the same size, got {A.shape} and {D.shape}")
    scale_D = max(float(np.abs(D).max()), np.finfo(float).tiny)
    if np.abs(D - D.T).max() > 1e-12 * scale_D or np.linalg.eigvalsh(D).min() < -1e-12 * scale_D:
        raise ProblemError("D must be symmetric positive semi-definite")
    gap = sylvester_gap(A)
    if gap <= SINGULAR_RTOL:
        lam = np.linalg.eigvals(A)
        raise ProblemError(
            f"Kwon decomposition singular: eigenvalues {np.round(lam, 12).tolist()} of A have "
            "λ_i + λ_j = 0 (centre, saddle pair or flat direction); U and Q_K are not unique or do not exist"
        )
    if np.linalg.eigvals(A).real.min() <= 0:
        raise ProblemError("A is not stable (an eigenvalue has Re λ ≤ 0): no stationary density")
    rank = controllability_rank(A, D)
    if rank < d:
        raise ProblemError(
            f"(A, D^1/2) is not controllable (Kalman rank {rank} < {d}): "
            "the stationary covariance is singular and U = B⁻¹ does not exist"
        )
    B = scipy.linalg.solve_continuous_lyapunov(A, 2.0 * D)
    B = 0.5 * (B + B.T)
    U = np.linalg.inv(B)
    U = 0.5 * (U + U.T)
    Q_K = A @ B - D
    norm = np.linalg.norm(A)
    return KwonDecomposition(
        B=B,
        U=U,
        Q_K=Q_K,
        sylvester_gap=gap,
        controllability_rank=rank,
        antisymmetry_error=float(np.linalg.norm(Q_K + Q_K.T) / norm),
        reconstruction_error=float(np.linalg.norm((D + Q_K) @ U - A) / norm),
    )


def eigenbasis_Q_K(A: npt.ArrayLike, D: npt.ArrayLike) -> Array:
    r"""Kwon's matrix by Kunin et al.'s eigenbasis formula (symmetric A only).

    In the orthonormal eigenbasis of :math:`A = V\Lambda V^T`:
    :math:`\tilde Q_{ij} = \tilde D_{ij}(\lambda_i-\lambda_j)/(\lambda_i+\lambda_j)`,
    :math:`\tilde D = V^TDV`.
    """
    A, D = np.asarray(A, float), np.asarray(D, float)
    if np.abs(A - A.T).max() > 1e-12 * np.abs(A).max():
        raise ProblemError("the eigenbasis formula needs a symmetric A (use kwon_decomposition)")
    lam, V = np.linalg.eigh(A)
    Dt = V.T @ D @ V
    return V @ (Dt * (lam[:, None] - lam[None, :]) / (lam[:, None] + lam[None, :])) @ V.T


def ou_entropy_production(A: npt.ArrayLike, K: npt.ArrayLike) -> float:
    r"""Closed form of :math:`\int J_\infty\cdot K^+J_\infty/\rho_\infty\,dx` for OU with constant K.

    With :math:`J_\infty = -Q_K\Sigma^{-1}(x-\mu)\rho_\infty` (:math:`A\Sigma+\Sigma A^T = 2K`,
    :math:`Q_K = A\Sigma - K`) and :math:`E[(x-\mu)(x-\mu)^T] = \Sigma`:

    .. math::  \int J\cdot K^+J/\rho = \operatorname{tr}(Q_K^T K^+ Q_K\,\Sigma^{-1}).

    K⁺ is the Moore–Penrose pseudo-inverse: for degenerate K only the part of J in range(K) counts.
    """
    dec = kwon_decomposition(A, K)
    return float(np.trace(dec.Q_K.T @ np.linalg.pinv(np.asarray(K, float)) @ dec.Q_K @ dec.U))


def ou_level_circulation(Q_K: npt.ArrayLike, U: npt.ArrayLike, c: float) -> float:
    r"""Counter-clockwise circulation :math:`\oint J_\infty\cdot t\,dl` on :math:`\frac12 y^TUy = c` (2-D).

    ``U`` is the inverse covariance and ``Q_K`` Kwon's matrix in the same units
    (:math:`J = -Q_K U y\rho`, :math:`\rho = N(0, U^{-1})`). On the level set
    :math:`J\cdot t = q\,|Uy|\rho` with :math:`q = (Q_K)_{12}`, and the divergence theorem gives
    :math:`\oint |Uy|\,dl = \operatorname{tr}U\cdot 2\pi c/\sqrt{\det U}`, so

    .. math::  \Gamma(c) = q\,\operatorname{tr}(U)\,c\,e^{-c}.
    """
    Q_K, U = np.asarray(Q_K, float), np.asarray(U, float)
    if Q_K.shape != (2, 2):
        raise ProblemError("ou_level_circulation is 2-D")
    return float(Q_K[0, 1] * np.trace(U) * c * np.exp(-c))


__all__ = [
    "KwonDecomposition",
    "controllability_rank",
    "eigenbasis_Q_K",
    "kwon_decomposition",
    "ou_entropy_production",
    "ou_level_circulation",
    "sylvester_gap",
]
