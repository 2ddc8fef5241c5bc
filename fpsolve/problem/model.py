r"""SGD problems from a model and a data set: mean loss, per-sample gradient covariance, noise factor.

A per-sample loss :math:`\ell(\theta; d_i)` of 1–3 parameters θ (the problem's coordinates
``x, y, z``) and data columns :math:`d_i` (one row per sample, N samples) defines, with exact sympy
gradients :math:`g_i(\theta) = \nabla_\theta\ell(\theta; d_i)`:

.. math::

    L(\theta) = \frac1N\sum_i \ell(\theta; d_i),\qquad
    Q(\theta) = f\,\frac1N\sum_i (g_i - \bar g)(g_i - \bar g)^T
               + \delta^2\,\frac1N\sum_i c_i c_i^T,\qquad
    \varepsilon^2 = \frac{\eta}{2b},

and the noise factor :math:`G = [\sqrt f (g_i-\bar g)/\sqrt N \;|\; \delta c_i/\sqrt N]`, so that
:math:`GG^T = Q` with no matrix square root (rank :math:`\le N-1` from the data part, state dependent).

*Mini-batches.* One SGD step is :math:`\theta \leftarrow \theta - \eta\,\hat g`, :math:`\hat g` the mean
of the b drawn samples' gradients. Drawn uniformly *with* replacement, :math:`\mathrm{Cov}\,\hat g =
Q/b` with ``f = 1``; drawn *without* replacement (one batch of b distinct samples per step),
the data part carries the finite-population factor ``f = (N − b)/(N − 1)`` (zero for full batches).
Matching mean and covariance of one step of length η with the SDE
:math:`dX = -\nabla L\,dt + \sqrt{2\varepsilon^2}\,G\,dW` gives ε² = η/(2b) (docs/theory.md §0).

*Label noise.* With ``label`` naming the target column and ``label_noise = δ``, every drawn sample gets
a fresh label :math:`y_i + \delta\xi`, ξ of mean 0 and variance 1 (Gaussian or Rademacher), independent
across draws and steps. The loss gradient must be affine in the label (true for the squared loss),
:math:`\nabla\ell(\theta; y+\delta\xi) = g_i + \delta\xi\,c_i` with :math:`c_i = \partial_y g_i`
(for :math:`\ell = (h-y)^2/2`: :math:`c_i = -\nabla h`, the output Jacobian). Its mean is
:math:`g_i`; the variance of one drawn sample's gradient is :math:`\frac1N\sum(g_i-\bar g)(\cdot)^T +
\delta^2\frac1N\sum c_ic_i^T`, and the label part is not reduced by sampling without replacement
(the labels are drawn anew), hence the formula for Q. ``L`` is the mean loss at the clean labels
(the label noise changes ``E ℓ`` by a θ-independent constant for the squared loss, and only ``∇L``
enters the dynamics).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sympy as sp

from fpsolve.errors import ProblemError
from fpsolve.problem.data import Columns, DataError, load_data
from fpsolve.problem.domain import Domain
from fpsolve.problem.expressions import parse_expression
from fpsolve.problem.fokker_planck import FokkerPlanckProblem, coordinates, eps2_from_sgd, vanishes
from fpsolve.tables import check_keys

Array = npt.NDArray[np.float64]
KEYS = {
    "parameters",
    "loss",
    "eta",
    "batch",
    "replacement",
    "label",
    "label_noise",
    "label_noise_distribution",
}
DISTRIBUTIONS = ("gaussian", "rademacher")


def data_symbol(name: str) -> sp.Symbol:
    """The sympy symbol standing for data column ``name`` in a per-sample loss."""
    return sp.Symbol(f"data_{name}", real=True)


@dataclass(frozen=True)
class SGDModel:
    """Per-sample loss, data and SGD settings; derives L, Q, G and ε² (see the module docstring).

    Parameters
    ----------
    parameters
        Names of θ in the case file; θ_k is the problem coordinate ``"xyz"[k]``.
    loss
        Per-sample loss ℓ in the coordinates and :func:`data_symbol` symbols.
    data
        Columns of N samples.
    eta, batch
        Learning rate η > 0 and batch size 1 ≤ b ≤ N.
    replacement
        Mini-batches drawn with (True) or without replacement.
    label, label_noise, label_noise_distribution
        Target column, noise standard deviation δ ≥ 0 and its law (``gaussian`` or ``rademacher``).
    """

    parameters: tuple[str, ...]
    loss: sp.Expr
    data: Columns
    eta: float
    batch: int
    replacement: bool = True
    label: str | None = None
    label_noise: float = 0.0
    label_noise_distribution: str = "gaussian"
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.parameters) <= 3:
            raise ProblemError(f"a model has 1–3 parameters, got {len(self.parameters)}")
        if not 1 <= self.batch <= self.n_samples:
            raise ProblemError(f"model.batch must be in [1, N = {self.n_samples}], got {self.batch}")
        if self.label_noise < 0 or (self.label_noise > 0 and self.label is None):
            raise ProblemError("model.label_noise needs model.label (the target column) and δ ≥ 0")
        if self.label is not None and self.label not in self.data:
            raise ProblemError(f"model.label {self.label!r} is not a data column ({', '.join(self.data)})")
        if self.label_noise_distribution not in DISTRIBUTIONS:
            raise ProblemError(f"model.label_noise_distribution must be one of {', '.join(DISTRIBUTIONS)}")
        allowed = set(self.coords) | {data_symbol(c) for c in self.data}
        extra = self.loss.free_symbols - allowed
        if extra:
            raise ProblemError(f"model.loss depends on undefined symbol(s) {', '.join(map(str, extra))}")
        if self.label_noise > 0:
            y = data_symbol(self.label)
            if not all(vanishes(sp.diff(self.loss, c, y, y)) for c in self.coords):
                raise ProblemError("label noise needs a loss whose gradient is affine in the label")

    @property
    def dim(self) -> int:
        """Number of parameters (the problem's dimension)."""
        return len(self.parameters)

    @property
    def coords(self) -> tuple[sp.Symbol, ...]:
        """Coordinate symbols standing for θ."""
        return coordinates(self.dim)

    @property
    def n_samples(self) -> int:
        """N, the number of samples."""
        return len(next(iter(self.data.values())))

    @property
    def eps2(self) -> float:
        """ε² = η/(2b)."""
        return eps2_from_sgd(self.eta, self.batch)

    @property
    def population_factor(self) -> float:
        """``f``: 1 with replacement, (N − b)/(N − 1) without."""
        n = self.n_samples
        return 1.0 if self.replacement else (n - self.batch) / (n - 1)

    def _at(self, expr: sp.Expr, i: int) -> sp.Expr:
        return expr.subs({data_symbol(c): sp.Float(v[i]) for c, v in self.data.items()})

    @property
    def gradient(self) -> sp.ImmutableMatrix:
        """Per-sample gradient ∇_θ ℓ as a column of expressions in θ and the data symbols."""
        return sp.ImmutableMatrix([sp.diff(self.loss, c) for c in self.coords])

    @property
    def label_direction(self) -> sp.ImmutableMatrix:
        """``c = ∂_y ∇_θ ℓ`` (zero column without label noise)."""
        if self.label is None:
            return sp.ImmutableMatrix.zeros(self.dim, 1)
        return sp.ImmutableMatrix(sp.diff(self.gradient, data_symbol(self.label)))

    @property
    def per_sample_gradients(self) -> sp.ImmutableMatrix:
        """``[g_1 … g_N]`` (dim × N)."""
        return sp.ImmutableMatrix.hstack(*[self._at(self.gradient, i) for i in range(self.n_samples)])

    @property
    def mean_loss(self) -> sp.Expr:
        """``L(θ) = (1/N) Σ ℓ(θ; d_i)``."""
        total = sp.Add(*[self._at(self.loss, i) for i in range(self.n_samples)])
        return self._compact(total / self.n_samples)

    def _compact(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` as one polynomial in θ when it is one, else unchanged.

        A sum over N samples of a polynomial loss (linear models) collapses to a few monomials.
        """
        if expr.is_polynomial(*self.coords):
            return sp.Poly(expr, *self.coords).as_expr()
        return expr

    @property
    def noise_factor(self) -> sp.ImmutableMatrix:
        """``G = [√f (g_i − ḡ)/√N | δ c_i/√N]`` with G Gᵀ = Q."""
        if "G" not in self._cache:
            n = self.n_samples
            g = self.per_sample_gradients
            mean = sp.ImmutableMatrix([sp.Add(*g.row(k)) / n for k in range(self.dim)])
            scale = sp.sqrt(sp.Float(self.population_factor) / n)
            blocks = [(g[:, i] - mean) * scale for i in range(n)] if self.population_factor > 0 else []
            if self.label_noise > 0:
                c = self.label_direction
                s = sp.Float(self.label_noise) / sp.sqrt(n)
                blocks += [self._at(c, i) * s for i in range(n)]
            if not blocks:
                blocks = [sp.ImmutableMatrix.zeros(self.dim, 1)]
            self._cache["G"] = sp.ImmutableMatrix.hstack(*blocks).applyfunc(sp.expand)
        return self._cache["G"]

    @property
    def Q(self) -> sp.ImmutableMatrix:
        """Per-sample gradient covariance ``Q = G Gᵀ`` (see the module docstring)."""
        G = self.noise_factor
        return sp.ImmutableMatrix(G * G.T).applyfunc(self._compact)

    def problem(
        self,
        domain: Domain,
        initial: sp.Expr | None = None,
        name: str = "sgd",
        absorbing: tuple[str, ...] = (),
    ) -> FokkerPlanckProblem:
        """The Fokker–Planck problem of this model's SGD diffusion on ``domain``."""
        return FokkerPlanckProblem(
            self.dim,
            self.Q,
            self.eps2,
            domain,
            loss=self.mean_loss,
            absorbing=absorbing,
            initial=initial,
            name=name,
            noise_factor=self.noise_factor,
        )

    # -- numeric evaluation for the SGD simulation ------------------------------------------------

    def _numeric(self, key: str, expr: sp.ImmutableMatrix) -> Callable[..., list[Array]]:
        if key not in self._cache:
            args = [*self.coords, *[data_symbol(c) for c in self.data]]
            self._cache[key] = [sp.lambdify(args, e, modules="numpy") for e in expr]
        return self._cache[key]

    def minibatch_gradient(
        self, theta: Array, batches: npt.NDArray[np.int64], rng: np.random.Generator
    ) -> Array:
        r"""Mini-batch gradients :math:`\hat g = \frac1b\sum_{k} (g_{i_k} + \delta\xi_k c_{i_k})`.

        ``theta`` has shape (n, dim), ``batches`` (n, b) sample indices; returns (n, dim). Fresh label
        noise ξ is drawn from ``rng`` for every drawn sample.
        """
        th = [theta[:, k : k + 1] for k in range(self.dim)]
        cols = [v[batches] for v in self.data.values()]
        shape = batches.shape
        g = [np.broadcast_to(f(*th, *cols), shape) for f in self._numeric("g", self.gradient)]
        out = np.stack([gi.mean(axis=1) for gi in g], axis=1)
        if self.label_noise > 0:
            if self.label_noise_distribution == "gaussian":
                xi = rng.standard_normal(shape)
            else:
                xi = rng.choice(np.array([-1.0, 1.0]), size=shape)
            c = [np.broadcast_to(f(*th, *cols), shape) for f in self._numeric("c", self.label_direction)]
            out += self.label_noise * np.stack([(ci * xi).mean(axis=1) for ci in c], axis=1)
        return out

    def draw_batches(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
        """Sample indices of ``n`` mini-batches, shape (n, b): uniform with or without replacement."""
        N, b = self.n_samples, self.batch
        if self.replacement:
            return rng.integers(0, N, size=(n, b))
        return np.argsort(rng.random((n, N)), axis=1)[:, :b]


def model_from_tables(
    model: Mapping[str, Any], data: Mapping[str, Any] | None, constants: Mapping[str, float], base: Path
) -> SGDModel:
    """Build an :class:`SGDModel` from the ``[model]`` and ``[data]`` tables of a case file.

    ``constants`` are the case's ``[parameters]`` (numbers substituted into the loss); ``base`` is the
    folder of the case file (data files are relative to it).
    """
    check_keys(model, KEYS, "[model]", ProblemError)
    if data is None:
        raise DataError("a [model] needs a [data] table")
    cols = load_data(data, base)
    names = model.get("parameters")
    if (
        not isinstance(names, list)
        or not 1 <= len(names) <= 3
        or not all(isinstance(n, str) and n.isidentifier() for n in names)
    ):
        raise ProblemError('model.parameters must be a list of 1–3 names, e.g. ["u", "v"]')
    taken = set(names) | set(constants) | {"pi", "e"}
    clash = sorted(
        (set(cols) & taken) | ({n for n in names if names.count(n) > 1}) | (set(names) & set(constants))
    )
    if clash:
        raise ProblemError(f"name '{clash[0]}' is used twice (model parameters, data columns, [parameters])")
    if "loss" not in model:
        raise ProblemError("model.loss (the per-sample loss) is required")
    loss = parse_expression(model["loss"], constants, names, "model.loss", {c: data_symbol(c) for c in cols})
    for key in ("eta", "batch"):
        if key not in model:
            raise ProblemError(f"model.{key} is required")
    eta, batch = model["eta"], model["batch"]
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not np.isfinite(eta) or eta <= 0:
        raise ProblemError(f"model.eta must be a positive number, got {eta!r}")
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise ProblemError(f"model.batch must be an integer, got {batch!r}")
    replacement = model.get("replacement", True)
    if not isinstance(replacement, bool):
        raise ProblemError("model.replacement must be true or false")
    label = model.get("label")
    if label is not None and not isinstance(label, str):
        raise ProblemError("model.label must be a data column name")
    delta = model.get("label_noise", 0.0)
    if isinstance(delta, bool) or not isinstance(delta, int | float) or not np.isfinite(delta):
        raise ProblemError(f"model.label_noise must be a number, got {delta!r}")
    return SGDModel(
        tuple(names),
        loss,
        cols,
        float(eta),
        batch,
        replacement,
        label,
        float(delta),
        model.get("label_noise_distribution", "gaussian"),
    )
