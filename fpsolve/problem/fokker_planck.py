r"""The Fokker–Planck problem as one symbolic (sympy) definition.

.. math::

    \partial_t\rho = \nabla\cdot\big(\varepsilon^2\nabla\cdot(Q\rho) - b\rho\big)
                   = \nabla\cdot(K\nabla\rho - \beta\rho),\qquad
    K = \varepsilon^2 Q,\quad \beta = b - \varepsilon^2\nabla\cdot Q,

with drift ``b = −∇L`` (SGD) or a given non-gradient field ``b`` (OU / phase-space problems), and
``(∇·Q)_i = Σ_j ∂_j Q_ij`` computed exactly by sympy. The SDE is
``dX = b dt + sqrt(2ε²) Q^{1/2} dW`` (Itô), i.e. ``ε² = η/(2b)`` for SGD with learning rate η and
batch size b. The same definition evaluates in UFL (finite elements,
:mod:`fpsolve.discretisation.symbolic`) and in
numpy (Monte Carlo, :meth:`FokkerPlanckProblem.numpy`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.domain import Domain, Sphere

COORDS: tuple[sp.Symbol, sp.Symbol, sp.Symbol] = sp.symbols("x y z", real=True)


def coordinates(dim: int) -> tuple[sp.Symbol, ...]:
    """Coordinate symbols ``x``, ``y``, ``z`` of a ``dim``-dimensional problem."""
    return COORDS[:dim]


def gaussian_density(mean: Sequence[float], cov: npt.ArrayLike) -> sp.Expr:
    r"""Normal density :math:`N(\mu, \Sigma)` as a sympy expression of the coordinates."""
    mu = sp.Matrix([sp.Float(m) for m in mean])
    sigma = sp.Matrix(np.asarray(cov, dtype=float).reshape(len(mean), len(mean)))
    xs = sp.Matrix(coordinates(len(mean)))
    r = xs - mu
    quad = (r.T * sigma.inv() * r)[0, 0]
    norm = sp.sqrt((2 * sp.pi) ** len(mean) * sigma.det())
    return sp.exp(-quad / 2) / norm


def point_mass_density(x0: Sequence[float], width: float) -> sp.Expr:
    r"""Narrow isotropic Gaussian :math:`N(x_0, w^2 I)` approximating a point mass at :math:`x_0`.

    Resolve it with a few cells per ``width``; on coarser meshes use ``scheme="afc"`` (the Galerkin
    solution of a δ-like start oscillates).
    """
    return gaussian_density(x0, width**2 * np.eye(len(x0)))


def eps2_from_sgd(learning_rate: float, batch_size: int) -> float:
    r"""Temperature of the SGD diffusion approximation, :math:`\varepsilon^2 = \eta/(2b)`.

    >>> eps2_from_sgd(0.1, 32)
    0.0015625
    """
    if not (learning_rate > 0 and batch_size >= 1):
        raise ProblemError(f"need η > 0 and b ≥ 1, got η = {learning_rate}, b = {batch_size}")
    return learning_rate / (2 * batch_size)


@dataclass(frozen=True)
class FokkerPlanckProblem:
    """Forward Kolmogorov (Fokker–Planck) problem for ``dX = b dt + sqrt(2ε²) Q^{1/2} dW``.

    Parameters
    ----------
    dim
        Spatial dimension, 1–3; coordinates are ``x, y, z``.
    Q
        Noise covariance, a symmetric positive semi-definite ``dim × dim`` matrix of expressions
        (may be singular and state dependent).
    eps2
        Temperature ``ε² = η/(2b) > 0``.
    domain
        Where the density lives (:mod:`fpsolve.problem.domain`).
    loss
        Training loss ``L``; the drift is ``−∇L`` unless ``drift`` is given.
    drift
        Optional general drift ``b`` (a column of ``dim`` expressions).
    absorbing
        Boundary parts where ``ρ = 0`` (killing); every other part is reflecting (``J·n = 0``).
    initial
        Initial density (need not be normalised; solvers normalise it discretely).
    name
        Label used in outputs.
    noise_factor
        Optional ``dim × m`` matrix G with G Gᵀ = Q (e.g. centred per-sample gradients); Monte Carlo
        then uses G ξ with ξ ~ N(0, I_m) instead of a matrix square root. Checked against Q at 16 points.
    """

    dim: int
    Q: sp.ImmutableMatrix
    eps2: float
    domain: Domain
    loss: sp.Expr | None = None
    drift: sp.ImmutableMatrix | None = None
    absorbing: tuple[str, ...] = ()
    initial: sp.Expr | None = None
    name: str = "problem"
    noise_factor: sp.ImmutableMatrix | None = None
    _cache: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.dim not in (1, 2, 3):
            raise ProblemError(f"dimension must be 1, 2 or 3, got {self.dim}")
        if self.domain.dim != self.dim:
            msg = f"domain is {self.domain.dim}-D but the problem is {self.dim}-D"
            raise ProblemError(msg)
        object.__setattr__(self, "Q", sp.ImmutableMatrix(self.Q))
        if self.Q.shape != (self.dim, self.dim):
            raise ProblemError(f"Q must be {self.dim}×{self.dim}, got {self.Q.shape}")
        box = self.domain.bounding_box()
        for i in range(self.dim):
            for j in range(i):
                if not _same_function(self.Q[i, j], self.Q[j, i], self.coords, box):
                    raise ProblemError(
                        f"Q must be symmetric: Q[{i}][{j}] = {self.Q[i, j]} but Q[{j}][{i}] = {self.Q[j, i]}"
                    )
        if not (np.isfinite(self.eps2) and self.eps2 > 0):
            raise ProblemError(f"ε² must be positive, got {self.eps2}")
        if self.noise_factor is not None:
            object.__setattr__(self, "noise_factor", sp.ImmutableMatrix(self.noise_factor))
            G = self.noise_factor
            if G.shape[0] != self.dim:
                raise ProblemError(f"noise_factor must have {self.dim} rows, got shape {G.shape}")
            GGt = G * G.T
            pairs = [(i, j) for i in range(self.dim) for j in range(self.dim)]
            if not all(_same_function(GGt[i, j], self.Q[i, j], self.coords, box) for i, j in pairs):
                raise ProblemError("noise_factor G does not satisfy G Gᵀ = Q")
        if self.loss is None and self.drift is None:
            raise ProblemError("give a loss L (drift −∇L) or a drift field")
        if self.drift is not None:
            object.__setattr__(self, "drift", sp.ImmutableMatrix(self.drift))
            if self.drift.shape != (self.dim, 1):
                raise ProblemError(f"drift must have {self.dim} components, got shape {self.drift.shape}")
        allowed = set(self.coords)
        for label, expr in self._expressions():
            extra = expr.free_symbols - allowed
            if extra:
                names = ", ".join(sorted(map(str, extra)))
                raise ProblemError(f"{label} depends on undefined symbol(s) {names}")
        parts = getattr(self.domain, "parts", None)
        if parts is not None:
            unknown = [p for p in self.absorbing if p not in parts]
            if unknown:
                msg = f"absorbing boundary part(s) {unknown} do not exist; parts are {list(parts)}"
                raise ProblemError(msg)

    def _expressions(self) -> list[tuple[str, sp.Expr]]:
        out: list[tuple[str, sp.Expr]] = [("Q", e) for e in self.Q]
        if self.loss is not None:
            out.append(("loss", sp.sympify(self.loss)))
        if self.drift is not None:
            out += [("drift", e) for e in self.drift]
        if self.initial is not None:
            out.append(("initial", sp.sympify(self.initial)))
        if self.noise_factor is not None:
            out += [("noise_factor", e) for e in self.noise_factor]
        return out

    @property
    def coords(self) -> tuple[sp.Symbol, ...]:
        """Coordinate symbols."""
        return coordinates(self.dim)

    @property
    def drift_field(self) -> sp.ImmutableMatrix:
        """Drift ``b``: the given field, or ``−∇L``."""
        if self.drift is not None:
            return self.drift
        return sp.ImmutableMatrix([-sp.diff(self.loss, c) for c in self.coords])

    @property
    def div_Q(self) -> sp.ImmutableMatrix:
        """Row divergence ``(∇·Q)_i = Σ_j ∂_j Q_ij``."""
        return sp.ImmutableMatrix(
            [sum(sp.diff(self.Q[i, j], self.coords[j]) for j in range(self.dim)) for i in range(self.dim)]
        )

    @property
    def beta(self) -> sp.ImmutableMatrix:
        """Effective drift of the flux form ``β = b − ε²∇·Q`` (also the Fichera vector field)."""
        return sp.ImmutableMatrix(self.drift_field - self.eps2 * self.div_Q)

    @property
    def K(self) -> sp.ImmutableMatrix:
        """Diffusion matrix ``K = ε²Q``."""
        return sp.ImmutableMatrix(self.eps2 * self.Q)

    def numpy(self, what: str) -> Callable[..., npt.NDArray[np.float64]]:
        """Vectorised numpy evaluator of a named part of the problem.

        ``what`` is ``"Q"``, ``"beta"``, ``"drift"``, ``"loss"``, ``"initial"`` or ``"noise_factor"``.

        The callable takes an array ``x`` of shape ``(dim, n)`` and returns ``(n,)`` for scalars or
        ``(rows, cols, n)`` for matrices; constants are broadcast to ``n``.
        """
        key = f"numpy:{what}"
        if key not in self._cache:
            exprs = {
                "Q": self.Q,
                "beta": self.beta,
                "drift": self.drift_field,
                "loss": self.loss,
                "initial": self.initial,
                "noise_factor": self.noise_factor,
            }
            if what not in exprs or exprs[what] is None:
                raise ProblemError(f"the problem has no {what!r} to evaluate")
            self._cache[key] = _vectorise(exprs[what], self.coords)
        return self._cache[key]  # type: ignore[return-value]

    def numpy_function(self, expr: sp.Expr) -> Callable[..., npt.NDArray[np.float64]]:
        """Vectorised numpy evaluator of a scalar expression of the coordinates, for points ``(n, dim)``."""
        f = _vectorise(sp.sympify(expr), self.coords)
        return lambda x: f(np.asarray(x).T)

    def check_psd(self, points: npt.NDArray[np.float64], rtol: float = 1e-10) -> int:
        """Check that Q is positive semi-definite at ``points`` (shape ``(dim, n)``).

        Returns
        -------
        int
            The largest numerical rank of Q over the points (eigenvalues > ``rtol·max|λ|``).

        Raises
        ------
        ProblemError
            If Q is not finite or not symmetric at some point, or an eigenvalue is below
        ``−rtol·max(1, max|λ|)`` there (the point is named).
        """
        if points.shape[-1] and not self.Q.free_symbols & set(self.coords):
            points = points[:, :1]  # a constant Q: one point decides
        with np.errstate(all="ignore"):
            q = self.numpy("Q")(points)  # (d, d, n)
        where = lambda k: tuple(float(v) for v in points[:, k])  # noqa: E731
        bad = np.flatnonzero(~np.isfinite(q).all(axis=(0, 1)))
        if bad.size:
            raise ProblemError(f"Q is not finite at x = {where(int(bad[0]))}: {q[:, :, bad[0]].tolist()}")
        asym = np.abs(q - np.swapaxes(q, 0, 1)).max(axis=(0, 1)) > 1e-12 * (1 + np.abs(q).max(axis=(0, 1)))
        bad = np.flatnonzero(asym)
        if bad.size:
            raise ProblemError(f"Q is not symmetric at x = {where(int(bad[0]))}: {q[:, :, bad[0]].tolist()}")
        lam = np.linalg.eigvalsh(np.moveaxis(q, -1, 0))  # (n, d)
        scale = max(1.0, float(np.abs(lam).max(initial=0.0)))
        bad = np.flatnonzero(lam.min(axis=1) < -rtol * scale)
        if bad.size:
            k = int(bad[0])
            msg = f"Q is not positive semi-definite at x = {where(k)}: eigenvalues {lam[k].tolist()}"
            raise ProblemError(msg)
        return int((lam > rtol * scale).sum(axis=1).max(initial=0))


def check_finite_on(expr: sp.Expr, domain: Domain, where: str) -> None:
    """Raise :class:`ProblemError` naming a point of ``domain`` where ``expr`` (of x, y, z) is not finite.

    A bounded-cost test at 64 fixed points inside the domain and on its corners (a box) or boundary (a
    disk/ball); it catches expressions undefined on part of the domain (``log(x)`` across 0,
    ``exp(exp(exp(x)))``). Mesh files are not known before they are read: nothing is checked.
    """
    dim = domain.dim
    box = domain.bounding_box()
    if box is None:
        return
    rng = np.random.default_rng(2)
    lo, hi = np.asarray(box[0], float), np.asarray(box[1], float)
    if isinstance(domain, Sphere):  # inside the ball: random directions and radii, plus boundary points
        dirs = rng.normal(size=(dim, 80))
        dirs /= np.linalg.norm(dirs, axis=0)
        radii = domain.radius * np.concatenate([rng.uniform(0, 1, 64) ** (1 / dim), np.ones(16)])
        pts = np.asarray(domain.center, float)[:, None] + dirs * radii
    else:
        corners = np.array(np.meshgrid(*[[0.0, 1.0]] * dim)).reshape(dim, -1)
        unit = np.hstack([rng.uniform(0.0, 1.0, (dim, 64)), corners])
        pts = lo[:, None] + unit * (hi - lo)[:, None]
    with np.errstate(all="ignore"):
        values = _vectorise(sp.sympify(expr), coordinates(dim))(pts)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        point = tuple(round(float(v), 6) for v in pts[:, bad[0]])
        raise ProblemError(f"{where} is not finite at x = {point} in the domain")


def gibbs_reversible(problem: FokkerPlanckProblem) -> bool:
    r"""Whether :math:`\rho = e^{-L/\varepsilon^2}` has zero current: :math:`\beta = -Q\nabla L` identically.

    :math:`J = \beta\rho - \varepsilon^2Q\nabla\rho = \rho(\beta + Q\nabla L)` for that ρ, so the
    Gibbs density is stationary (with zero current) exactly when :math:`\beta + Q\nabla L = 0`, for any
    state-dependent Q: drift −∇L with Q = I, or drift :math:`-Q\nabla L + \varepsilon^2\nabla\cdot Q`.
    Tested with :func:`vanishes`. False without a loss.
    """
    if problem.loss is None:
        return False
    grad = [sp.diff(problem.loss, c) for c in problem.coords]
    return all(
        vanishes(problem.beta[i] + sum(problem.Q[i, j] * grad[j] for j in range(problem.dim)))
        for i in range(problem.dim)
    )


def vanishes(expr: sp.Expr, samples: int = 32) -> bool:
    """Whether ``expr`` is identically 0: structurally, or numerically at fixed points of [−2, 2]^n.

    ``n`` counts the free symbols. A bounded-cost substitute for ``simplify(expr) == 0``, whose run
    time has no bound (minutes for a loss with 24 ``tanh`` factors).
    """
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    symbols = sorted(expr.free_symbols, key=str)
    if not symbols:
        return bool(abs(complex(sp.N(expr))) <= 1e-12)
    pts = np.random.default_rng(1).uniform(-2.0, 2.0, (len(symbols), samples))
    with np.errstate(all="ignore"):
        values = _vectorise(expr, symbols)(pts)
    finite = np.isfinite(values)
    return bool(finite.any() and np.all(np.abs(values[finite]) <= 1e-12))


def _same_function(
    a: sp.Expr,
    b: sp.Expr,
    coords: Sequence[sp.Symbol],
    box: tuple[Sequence[float], Sequence[float]] | None = None,
) -> bool:
    """Whether two expressions agree: structurally, or numerically at 64 fixed points of ``box``.

    ``box`` is the domain's bounding box ([−2, 2]^d when unknown: mesh files are checked again at their
    nodes). Agreement means the same values where finite and non-finite at the same points, so a NaN
    cannot hide a difference. (A numeric test, not ``simplify``: its cost is bounded.)
    """
    if a == b:
        return True
    lo, hi = (np.full(len(coords), -2.0), np.full(len(coords), 2.0)) if box is None else box
    unit = np.random.default_rng(0).uniform(0.0, 1.0, (len(coords), 64))
    pts = np.asarray(lo, float)[:, None] + unit * (np.asarray(hi, float) - np.asarray(lo, float))[:, None]
    with np.errstate(all="ignore"):
        va = _vectorise(a, coords)(pts)
        vb = _vectorise(b, coords)(pts)
    ok = np.isfinite(va) & np.isfinite(vb)
    if not np.array_equal(np.isfinite(va), np.isfinite(vb)):
        return False
    return bool(np.all(np.abs(va[ok] - vb[ok]) <= 1e-12 * (1 + np.abs(va[ok]))))


def _vectorise(expr: sp.Basic, coords: Sequence[sp.Symbol]) -> Callable[..., npt.NDArray[np.float64]]:
    """Lambdify ``expr`` entry by entry (scalar or matrix), broadcasting constants to the point count."""
    entries = expr if isinstance(expr, sp.MatrixBase) else sp.Matrix([[expr]])
    shape = entries.shape
    funcs = [sp.lambdify([list(coords)], e, modules="numpy") for e in entries]

    def evaluate(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        x = np.asarray(x, dtype=float)
        n = x.shape[-1]
        out = np.stack([np.broadcast_to(np.asarray(f(x), dtype=float), (n,)) for f in funcs])
        if isinstance(expr, sp.MatrixBase):
            return out.reshape(*shape, n)
        return out[0].copy()

    return evaluate
