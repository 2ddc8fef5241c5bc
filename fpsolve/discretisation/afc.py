r"""Algebraic flux correction (AFC) on an assembled conservative matrix.

Given the conservative matrix :math:`A_{ij} = \int (K\nabla\phi_j - \beta\phi_j)\cdot\nabla\phi_i`
(zero column sums, :math:`\mathbf 1^T A = 0`), *discrete upwinding* adds the artificial diffusion

.. math::  d_{ij} = \max(0, A_{ij}, A_{ji})\ (i\ne j),\qquad d_{ii} = -\sum_{j\ne i} d_{ij},
           \qquad A_L = A - D,

so that :math:`A_L` has non-positive off-diagonal entries and still zero column sums: a singular
M-matrix for any :math:`K \succeq 0` (degenerate included) on any mesh (Kuzmin; docs/numerics.md).
The difference between the high-order (Galerkin) and low-order systems is a sum of antisymmetric
edge fluxes :math:`f_{ij} = -f_{ji}`; the limiters below scale them by symmetric
:math:`\alpha_{ij}\in[0,1]`, which keeps exact mass conservation and restores second-order accuracy
where the solution is smooth, while the local bounds keep :math:`\rho \ge 0`.

Everything works on the locally owned rows of a PETSc MPIAIJ matrix; values at off-process columns
come through one PETSc scatter, so the code is the same in serial and in parallel.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from petsc4py import PETSc

Array = npt.NDArray[np.float64]


class EdgeGraph:
    """Sparsity graph of the owned rows of a square MPIAIJ matrix, with a column-value scatter.

    Parameters
    ----------
    A
        Assembled matrix; its nonzero pattern defines the edges ``(i, j)``.
    """

    def __init__(self, A: PETSc.Mat) -> None:
        self.rstart, self.rend = A.getOwnershipRange()
        ai, aj, _ = A.getValuesCSR()
        self.indptr = np.asarray(ai, dtype=np.int64)
        self.cols = np.asarray(aj, dtype=np.int64)
        self.nrows = self.rend - self.rstart
        counts = np.diff(self.indptr)
        if np.any(counts == 0):  # the row reductions below need an entry (the diagonal) in every row
            raise ValueError("matrix has an empty row: no edge graph")
        self.rows = np.repeat(np.arange(self.nrows), counts)  # local row of each entry
        self.offdiag = self.cols != self.rows + self.rstart
        unique, self._inverse = _unique_with_inverse(self.cols)
        template = A.createVecRight()
        self._gathered = PETSc.Vec().createSeq(unique.size, comm=PETSc.COMM_SELF)
        index = PETSc.IS().createGeneral(unique.astype(PETSc.IntType), comm=PETSc.COMM_SELF)
        self._scatter = PETSc.Scatter().create(template, index, self._gathered, None)
        template.destroy()

    def entries(self, A: PETSc.Mat) -> Array:
        """Values of ``A`` at this graph's entries (``A`` must have the same nonzero pattern)."""
        ai, aj, av = A.getValuesCSR()
        if ai.size != self.indptr.size or not np.array_equal(aj, self.cols):
            msg = "matrix pattern differs from the edge graph"
            raise ValueError(msg)
        return np.asarray(av, dtype=np.float64)

    def at_columns(self, v: PETSc.Vec, entries: npt.NDArray[np.int64] | None = None) -> Array:
        """Values ``v_j`` of a distributed vector at the column of every entry (or of ``entries`` only)."""
        self._scatter.scatter(v, self._gathered, addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        inverse = self._inverse if entries is None else self._inverse[entries]
        return self._gathered.getArray(readonly=True)[inverse]

    def row_sum(self, values: Array) -> Array:
        """``Σ_j values_ij`` for every owned row."""
        return np.bincount(self.rows, weights=values, minlength=self.nrows)

    def row_max(self, values: Array, own: Array) -> Array:
        """``max(own_i, max_j values_ij)`` for every owned row."""
        return np.maximum(own, np.maximum.reduceat(values, self.indptr[:-1]))

    def row_min(self, values: Array, own: Array) -> Array:
        """``min(own_i, min_j values_ij)`` for every owned row."""
        return np.minimum(own, np.minimum.reduceat(values, self.indptr[:-1]))

    def matrix(self, template: PETSc.Mat, values: Array) -> PETSc.Mat:
        """A new MPIAIJ matrix with this graph's pattern, ``template``'s layout and the given entries."""
        B = PETSc.Mat().createAIJ(
            size=template.getSizes(),
            csr=(self.indptr.astype(PETSc.IntType), self.cols.astype(PETSc.IntType), values),
            comm=template.getComm(),
        )
        B.setLGMap(*template.getLGMap())
        B.assemble()
        return B


def _unique_with_inverse(
    values: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``np.unique(values, return_inverse=True)`` for indices in a range of the matrix size, in O(n).

    The column indices of a rank's rows span at most the global size, so a mask over that range replaces
    the sort (the sort was 1 s of the AFC set-up at 10⁶ DOFs).
    """
    lo = int(values.min()) if values.size else 0
    present = np.zeros(int(values.max()) - lo + 1 if values.size else 0, dtype=bool)
    present[values - lo] = True
    position = np.cumsum(present) - 1
    return np.flatnonzero(present) + lo, position[values - lo]


def artificial_diffusion(graph: EdgeGraph, A: PETSc.Mat) -> Array:
    r"""Discrete-upwinding coefficients :math:`d_{ij} = \max(0, A_{ij}, A_{ji})` per entry (0 on diagonal).

    The transpose is formed by PETSc so that :math:`A_{ji}` is available for off-process ``j``.
    """
    a = graph.entries(A)
    At = A.transpose(PETSc.Mat())
    at = graph.entries(At)
    At.destroy()
    d = np.maximum(0.0, np.maximum(a, at))
    d[~graph.offdiag] = 0.0
    return d


def low_order_entries(graph: EdgeGraph, a: Array, d: Array) -> Array:
    r"""Entries of :math:`A_L = A - D` (``d_ii = −Σ_j d_ij`` put on the diagonal)."""
    out = a - d
    diag = ~graph.offdiag
    out[diag] += graph.row_sum(d)[graph.rows[diag]]
    return out


def zalesak_fct(
    graph: EdgeGraph,
    f: Array,
    u_low: PETSc.Vec,
    lumped: Array,
    bounds_from: list[PETSc.Vec],
    fixed: npt.NDArray[np.int64],
) -> Array:
    r"""Zalesak's limiter for the FEM-FCT correction :math:`u_i = u^L_i + m_i^{-1}\sum_j\alpha_{ij}f_{ij}`.

    Local bounds :math:`u_i^{\max/\min}` are the extremes of ``bounds_from`` vectors over the stencil of
    ``i``; with :math:`P_i^\pm = \sum_j \max/\min(0, f_{ij})`,
    :math:`Q_i^\pm = m_i(u_i^{\max/\min} - u^L_i)`, :math:`R_i^\pm = \min(1, Q_i^\pm/P_i^\pm)` and
    :math:`\alpha_{ij} = \min(R_i^+, R_j^-)` for :math:`f_{ij} > 0` (else :math:`\min(R_i^-, R_j^+)`),
    the corrected values stay inside the local bounds. Rows ``fixed`` (owned local indices of Dirichlet
    nodes, whose values are prescribed) do not restrict their fluxes (:math:`R^\pm = 1`). Returns the
    per-row correction :math:`\sum_j \alpha_{ij} f_{ij}` (owned rows).
    """
    ul = u_low.getArray(readonly=True)
    umax = ul.copy()
    umin = ul.copy()
    for v in bounds_from:
        own = v.getArray(readonly=True)
        cols = graph.at_columns(v)
        umax = np.maximum(umax, graph.row_max(cols, own))
        umin = np.minimum(umin, graph.row_min(cols, own))
    return _limit(graph, f, lumped * (umax - ul), lumped * (umin - ul), u_low, fixed)


def _limit(
    graph: EdgeGraph,
    f: Array,
    q_plus: Array,
    q_minus: Array,
    template: PETSc.Vec,
    fixed: npt.NDArray[np.int64],
    entries: npt.NDArray[np.int64] | None = None,
    rows: npt.NDArray[np.int64] | None = None,
) -> Array:
    """Symmetric Zalesak-type α_ij from bounds ``Q±`` and flux sums ``P±``; returns Σ_j α_ij f_ij.

    ``f`` holds the fluxes of all graph entries, or of ``entries`` only (the others being zero; ``rows``
    are then their rows).
    """
    if entries is None:
        rows = graph.rows
    p_plus = np.bincount(rows, weights=np.maximum(f, 0.0), minlength=graph.nrows)
    p_minus = np.bincount(rows, weights=np.minimum(f, 0.0), minlength=graph.nrows)
    r_plus = np.ones_like(p_plus)
    r_minus = np.ones_like(p_minus)
    pos = p_plus > 0
    neg = p_minus < 0
    r_plus[pos] = np.clip(q_plus[pos] / p_plus[pos], 0.0, 1.0)
    r_minus[neg] = np.clip(q_minus[neg] / p_minus[neg], 0.0, 1.0)
    r_plus[fixed] = 1.0
    r_minus[fixed] = 1.0
    rp_vec = template.duplicate()
    rm_vec = template.duplicate()
    rp_vec.setArray(r_plus)
    rm_vec.setArray(r_minus)
    rp_cols = graph.at_columns(rp_vec, entries)
    rm_cols = graph.at_columns(rm_vec, entries)
    rp_vec.destroy()
    rm_vec.destroy()
    alpha = np.where(f > 0, np.minimum(r_plus[rows], rm_cols), np.minimum(r_minus[rows], rp_cols))
    return np.bincount(rows, weights=alpha * f, minlength=graph.nrows)


class SteadyLimiter:
    r"""Limited antidiffusion for the steady AFC scheme :math:`A_L u = \sum_j \alpha_{ij}(u) f_{ij}(u)`.

    Raw fluxes :math:`f_{ij} = d_{ij}(u_i - u_j)` (these turn :math:`A_L` back into :math:`A`), bounds of
    Barrenechea–John–Knobloch type :math:`Q_i^\pm = q_i(u_i^{\max/\min} - u_i)`, :math:`q_i = \sum_j d_{ij}`,
    so a local minimum can only be raised and a local maximum only lowered by the correction. Only the
    entries with :math:`d_{ij} > 0` carry a flux (found once, with :math:`q`, when the limiter is made);
    the bounds are taken over the whole stencil.

    Parameters
    ----------
    graph
        Edge graph of the operator.
    d
        Artificial diffusion :math:`d_{ij} \ge 0` at the graph's entries (not changed afterwards).
    """

    def __init__(self, graph: EdgeGraph, d: Array) -> None:
        self.graph = graph
        self._active = np.flatnonzero(d)
        self._rows = graph.rows[self._active]
        self._d = d[self._active]
        self._q = graph.row_sum(d)

    def __call__(self, u: PETSc.Vec, fixed: npt.NDArray[np.int64]) -> Array:
        r"""Per-row correction :math:`\sum_j \alpha_{ij} f_{ij}` at ``u``.

        ``fixed`` rows (owned local indices with prescribed values) do not restrict their fluxes.
        """
        graph = self.graph
        own = u.getArray(readonly=True)
        cols = graph.at_columns(u)
        umax = graph.row_max(cols, own)  # the diagonal entry's column value is u_i itself
        umin = graph.row_min(cols, own)
        f = self._d * (own[self._rows] - cols[self._active])
        q = self._q
        return _limit(graph, f, q * (umax - own), q * (umin - own), u, fixed, self._active, self._rows)
