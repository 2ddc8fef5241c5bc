r"""Weak forms and assembled matrices of the Fokker–Planck operator (problem → discretisation).

Forward operator in conservative flux form, reflecting (zero-flux) boundaries natural:

.. math::  (\partial_t\rho, v) + (K\nabla\rho - \beta\rho, \nabla v) = 0
           \quad\Longleftrightarrow\quad M\dot\rho + A\rho = 0,\qquad
           A_{ij} = \int_\Omega (K\nabla\phi_j - \beta\phi_j)\cdot\nabla\phi_i .

``v = 1`` gives :math:`\mathbf 1^T A = 0`: the discrete mass :math:`\sum_i m_i\rho_i` is conserved
exactly. The backward generator :math:`\mathcal L T = \nabla\cdot(K\nabla T) + \beta\cdot\nabla T` has
the weak form :math:`-(\mathcal L T, v) = (K\nabla T,\nabla v) - (\beta\cdot\nabla T, v)`, whose matrix is
exactly :math:`A^T` — forward and backward problems are discretely adjoint.

Schemes (``scheme=``): ``"galerkin"`` uses :math:`A` (any degree; not positivity preserving),
``"upwind"`` uses the M-matrix :math:`A_L` of :mod:`fpsolve.afc` (first order, positive),
``"afc"`` (default, P1) uses :math:`A_L` plus limited antidiffusion (positive, ≈ second order),
``"eafe"`` (P1) replaces :math:`A` by the exponentially fitted matrix :math:`A_E` of :mod:`fpsolve.eafe`
(accurate for small ε where the solution varies like :math:`e^{\pm L/\varepsilon^2}`: exit times, Gibbs
states). Where :math:`A_E` is an M-matrix (Delaunay 2-D mesh, scalar or axis-diagonal K on axis-aligned
meshes) the scheme is linear; otherwise (obtuse 3-D meshes, cross-correlated K) the positive
off-diagonals are upwinded, :math:`A_L = A_E - D`, and limited antidiffusion restores :math:`A_E` as in
``"afc"`` (:attr:`Discretisation.limited`).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.afc import EdgeGraph, SteadyLimiter, artificial_diffusion, low_order_entries
from fpsolve.eafe import eafe_matrix
from fpsolve.errors import ProblemError
from fpsolve.fichera import FicheraPart, classify_boundary, reachable_facets
from fpsolve.mesh import TaggedMesh
from fpsolve.problem import FokkerPlanckProblem
from fpsolve.symbolic import to_ufl

SCHEMES = ("afc", "eafe", "galerkin", "upwind")


def forward_form(K: Any, beta: Any, rho: Any, v: Any, dx: ufl.Measure) -> ufl.Form:
    r"""Bilinear form :math:`a(\rho, v) = \int (K\nabla\rho - \beta\rho)\cdot\nabla v\,dx`."""
    return ufl.inner(K * ufl.grad(rho) - beta * rho, ufl.grad(v)) * dx


def generator_form(K: Any, beta: Any, T: Any, v: Any, dx: ufl.Measure) -> ufl.Form:
    r"""Bilinear form of :math:`-\mathcal L`: :math:`\int K\nabla T\cdot\nabla v - (\beta\cdot\nabla T)v`."""
    return (ufl.inner(K * ufl.grad(T), ufl.grad(v)) - ufl.inner(beta, ufl.grad(T)) * v) * dx


def current_from_gradient(K: Any, beta: Any, rho: Any, grad_rho: Any) -> Any:
    r"""Probability current :math:`J = \beta\rho - K\nabla\rho` given :math:`\nabla\rho` (UFL expression)."""
    return beta * rho - K * grad_rho


class Discretisation:
    """Finite-element discretisation of a :class:`~fpsolve.problem.FokkerPlanckProblem` on a mesh.

    Parameters
    ----------
    problem
        The symbolic problem.
    mesh
        Tagged mesh of the problem's domain.
    degree
        Lagrange degree (``"afc"``, ``"eafe"`` and ``"upwind"`` need 1).
    scheme
        ``"afc"``, ``"eafe"``, ``"galerkin"`` or ``"upwind"`` (see module docstring).
    quadrature_degree
        Quadrature degree for the coefficient integrals (default ``2·degree + 2``).
    check_psd
        Check Q ⪰ 0 at the mesh nodes (raises :class:`~fpsolve.errors.ProblemError`).
    fichera
        Put absorbing (Dirichlet) rows only on the facets of the absorbing parts that the process can
        reach (noncharacteristic, or characteristic with outward effective drift; :mod:`fpsolve.fichera`).
        ``False`` puts them on every absorbing facet (wrong for degenerate Q: a spurious boundary layer).
    """

    def __init__(
        self,
        problem: FokkerPlanckProblem,
        mesh: TaggedMesh,
        degree: int = 1,
        scheme: str = "afc",
        quadrature_degree: int | None = None,
        check_psd: bool = True,
        fichera: bool = True,
    ) -> None:
        if scheme not in SCHEMES:
            raise ProblemError(f"unknown scheme {scheme!r}; choose one of {SCHEMES}")
        if scheme != "galerkin" and degree != 1:
            raise ProblemError(f"scheme {scheme!r} needs degree 1 (got {degree})")
        self.problem = problem
        self.tagged = mesh
        self.msh = mesh.mesh
        self.comm: MPI.Comm = self.msh.comm
        self.scheme = scheme
        self.degree = degree
        self.fichera = fichera
        self.V = dolfinx.fem.functionspace(self.msh, ("Lagrange", degree))
        q = quadrature_degree if quadrature_degree is not None else 2 * degree + 2
        self.dx = ufl.Measure("dx", domain=self.msh, metadata={"quadrature_degree": q})
        x = ufl.SpatialCoordinate(self.msh)
        self.K = (
            to_ufl(problem.K, x, problem.coords)
            if problem.dim > 1
            else to_ufl(problem.K[0, 0], x, problem.coords)
        )
        beta = to_ufl(problem.beta, x, problem.coords)
        self.beta = beta
        if check_psd:
            self.rank_Q = self._check_psd()
        rho, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        self.A = _assemble(forward_form(self.K, beta, rho, v, self.dx))
        self.lumped = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(v * self.dx))
        self.lumped.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        self.bc_rows = self._absorbing_rows()
        self.graph: EdgeGraph | None = None
        self.d: np.ndarray | None = None
        self.A_L: PETSc.Mat | None = None
        if scheme in ("afc", "upwind"):
            self.graph = EdgeGraph(self.A)
            self.d = artificial_diffusion(self.graph, self.A)
            self.A_L = self.graph.matrix(
                self.A, low_order_entries(self.graph, self.graph.entries(self.A), self.d)
            )
        elif scheme == "eafe":
            S = _assemble(ufl.inner(self.K * ufl.grad(rho), ufl.grad(v)) * self.dx)
            self.A.destroy()
            self.A = eafe_matrix(problem, self.V, S)
            S.destroy()
            self.graph = EdgeGraph(self.A)
            self.d = artificial_diffusion(self.graph, self.A)
            # cotangent weights of right angles are 0 up to round-off: not positive off-diagonals
            self.d[self.d <= 1e-12 * self.A.norm(PETSc.NormType.INFINITY)] = 0.0
            self.A_L = self.graph.matrix(
                self.A, low_order_entries(self.graph, self.graph.entries(self.A), self.d)
            )
        #: whether solutions need the nonlinear AFC limiter (``"afc"``, or ``"eafe"`` that is no M-matrix)
        self.limited: bool = scheme == "afc" or (
            scheme == "eafe" and bool(self.comm.allreduce(bool(np.any(self.d > 0)), op=MPI.LOR))
        )

    # -- helpers -------------------------------------------------------------------------------

    def _check_psd(self) -> int:
        coords = self.V.tabulate_dof_coordinates()[: self.V.dofmap.index_map.size_local, : self.problem.dim]
        try:
            rank = self.problem.check_psd(coords.T.copy()) if coords.size else 0
            error = ""
        except ProblemError as exc:
            rank, error = 0, str(exc)
        errors = [e for e in self.comm.allgather(error) if e]
        if errors:
            raise ProblemError(errors[0])
        return int(self.comm.allreduce(rank, op=MPI.MAX))

    def _absorbing_rows(self) -> np.ndarray:
        """Global indices of the owned dofs on (the reachable facets of) the absorbing boundary parts."""
        return self.dirichlet_rows(self.problem.absorbing)

    def dirichlet_rows(self, parts: tuple[str, ...] | list[str]) -> np.ndarray:
        """Global indices of the owned dofs on the named parts (their reachable facets if ``fichera``)."""
        if not parts:
            return np.zeros(0, dtype=PETSc.IntType)
        fdim = self.msh.topology.dim - 1
        if self.fichera:
            facets = reachable_facets(self.problem, self.tagged, parts)
        else:
            facets = self.tagged.facets(list(parts))
        local = dolfinx.fem.locate_dofs_topological(self.V, fdim, facets)
        imap = self.V.dofmap.index_map
        owned = local[local < imap.size_local]
        return imap.local_to_global(owned.astype(np.int32)).astype(PETSc.IntType)

    # -- public --------------------------------------------------------------------------------

    @cached_property
    def M(self) -> PETSc.Mat:
        r"""Consistent mass matrix :math:`M_{ij} = \int\phi_j\phi_i`, assembled on first use.

        (The stationary and exit-time solves need only the lumped mass :attr:`lumped`.)
        """
        rho, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        return _assemble(ufl.inner(rho, v) * self.dx)

    @property
    def positive(self) -> bool:
        """Whether the scheme preserves positivity (``afc``, ``eafe``, ``upwind``)."""
        return self.scheme != "galerkin"

    def boundary_classes(self) -> list[FicheraPart]:
        """Fichera classification of every boundary part (:func:`fpsolve.fichera.classify_boundary`)."""
        return classify_boundary(self.problem, self.tagged)

    def operator(self) -> PETSc.Mat:
        """The linear part of the spatial operator: ``A`` (Galerkin) or ``A_L`` (AFC/upwind/EAFE).

        For ``"afc"`` and a :attr:`limited` ``"eafe"`` the limited antidiffusion comes on top
        (:attr:`limiter`).
        """
        return self.A if self.A_L is None else self.A_L

    @cached_property
    def limiter(self) -> SteadyLimiter:
        """The steady AFC limiter on this operator's graph (for :attr:`limited` schemes)."""
        if self.graph is None:
            raise ProblemError(f"scheme {self.scheme!r} has no limiter")
        return SteadyLimiter(self.graph, self.d)

    def blended_operator(self, omega: float) -> PETSc.Mat:
        r"""New matrix :math:`A - (1-\omega)D = (1-\omega)A_L + \omega A` (``omega`` 0: A_L, 1: A).

        For the schemes with an :attr:`A_L` (which has the nonzero pattern of :attr:`A`).
        """
        P = self.A_L.copy()
        P.scale(1.0 - omega)
        P.axpy(omega, self.A, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        return P

    def generator(self) -> PETSc.Mat:
        r"""Matrix of :math:`-\mathcal L` (the backward generator): the transpose of :meth:`operator`."""
        return self.operator().transpose(PETSc.Mat())

    def function(self, name: str = "rho") -> dolfinx.fem.Function:
        """A new finite-element function on this discretisation's space."""
        f = dolfinx.fem.Function(self.V)
        f.name = name
        return f

    def interpolate(self, expr: Any, name: str = "rho") -> dolfinx.fem.Function:
        """Interpolate a sympy expression of the coordinates into the FE space."""
        f = self.function(name)
        numpy_f = _numpy_scalar(expr, self.problem)
        f.interpolate(lambda x: numpy_f(x[: self.problem.dim]))
        return f

    def mass(self, rho: dolfinx.fem.Function) -> float:
        r""":math:`\int_\Omega \rho_h\,dx` (equals :math:`\sum_i m_i\rho_i`)."""
        return float(self.lumped.dot(rho.x.petsc_vec))

    def minimum(self, rho: dolfinx.fem.Function) -> float:
        """Smallest nodal value of ``rho`` over all ranks."""
        local = rho.x.array[: self.V.dofmap.index_map.size_local]
        return float(self.comm.allreduce(local.min(initial=np.inf), op=MPI.MIN))

    def maximum(self, rho: dolfinx.fem.Function) -> float:
        """Largest nodal value of ``rho`` over all ranks."""
        local = rho.x.array[: self.V.dofmap.index_map.size_local]
        return float(self.comm.allreduce(local.max(initial=-np.inf), op=MPI.MAX))

    def recovered_gradient(self, rho: dolfinx.fem.Function) -> dolfinx.fem.Function:
        r"""Gradient recovered by lumped :math:`L^2` projection onto continuous vector P(p).

        :math:`G_i = \int \nabla\rho_h\,\phi_i / \int\phi_i` (node-wise average of the cell gradients);
        :math:`O(h^2)` inside uniform meshes, :math:`O(h)` on boundary cells (so :math:`O(h^{3/2})` in
        :math:`L^2` unless ρ is small on ∂Ω, as for confined densities), against :math:`O(h)` for
        :math:`\nabla\rho_h`.
        """
        W = dolfinx.fem.functionspace(self.msh, ("Lagrange", self.degree, (self.problem.dim,)))
        w = ufl.TestFunction(W)
        one = ufl.as_vector([1.0] * self.problem.dim)
        num = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(ufl.inner(ufl.grad(rho), w) * self.dx))
        den = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(ufl.inner(one, w) * self.dx))
        for vec in (num, den):
            vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        G = dolfinx.fem.Function(W)
        G.x.petsc_vec.pointwiseDivide(num, den)
        G.x.scatter_forward()
        num.destroy()
        den.destroy()
        return G

    def current(self, rho: dolfinx.fem.Function, name: str = "J") -> dolfinx.fem.Function:
        r"""Current :math:`J = \beta\rho_h - K G(\rho_h)` in continuous vector P(p).

        ``G`` is :meth:`recovered_gradient`; J is interpolated at the nodes (exact in ρ_h, β, K there).
        """
        G = self.recovered_gradient(rho)
        W = G.function_space
        J = dolfinx.fem.Function(W)
        J.name = name
        J.interpolate(
            dolfinx.fem.Expression(
                current_from_gradient(self.K, self.beta, rho, G), W.element.interpolation_points
            )
        )
        return J

    def num_dofs(self) -> int:
        """Global number of degrees of freedom."""
        imap = self.V.dofmap.index_map
        return imap.size_global * self.V.dofmap.index_map_bs


def _assemble(a: ufl.Form) -> PETSc.Mat:
    A = dolfinx.fem.petsc.assemble_matrix(dolfinx.fem.form(a))
    A.assemble()
    return A


def _numpy_scalar(expr: Any, problem: FokkerPlanckProblem) -> Any:
    import sympy as sp

    f = sp.lambdify([list(problem.coords)], sp.sympify(expr), modules="numpy")
    return lambda x: np.broadcast_to(np.asarray(f(x), dtype=float), (x.shape[-1],))
