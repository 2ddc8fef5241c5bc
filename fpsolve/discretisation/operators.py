r"""The discretised problem: function space, coefficients, the scheme's matrices, functionals.

:class:`Discretisation` puts a :class:`~fpsolve.problem.fokker_planck.FokkerPlanckProblem` on a mesh:
P(p) Lagrange space, UFL coefficients :math:`K = \varepsilon^2Q` and β, the PSD check of Q, the
absorbing (Dirichlet) rows on the reachable parts (:mod:`fpsolve.discretisation.fichera`) and the
matrices of the chosen scheme (:mod:`fpsolve.discretisation.schemes`; weak forms in
:mod:`fpsolve.discretisation.forms`). With :math:`\mathbf 1^TA = 0` the discrete mass
:math:`\sum_i m_i\rho_i` is conserved exactly; the generator matrix is :math:`A^T`: forward and
backward problems are discretely adjoint. :func:`discretise` builds one from a problem in one call.
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any

import numpy as np

import basix
import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.discretisation.afc import EdgeGraph, SteadyLimiter
from fpsolve.discretisation.fichera import FicheraPart, classify_boundary, reachable_facets
from fpsolve.discretisation.forms import assemble, current_from_gradient
from fpsolve.discretisation.mesh import TaggedMesh, build_mesh
from fpsolve.discretisation.schemes import Scheme, scheme_class
from fpsolve.discretisation.symbolic import to_ufl
from fpsolve.errors import ProblemError, SolverDivergedError
from fpsolve.problem.fokker_planck import FokkerPlanckProblem

#: Largest accepted ratio of max |β| to 1 + its median over the check points: beyond it β is singular.
SINGULAR = 1e10
#: Where :class:`Discretisation` checks the coefficients (Q ⪰ 0, finite β).
CHECK_POINTS = ("nodes", "quadrature")


def quadrature_points(msh: dolfinx.mesh.Mesh, degree: int) -> np.ndarray:
    """Physical coordinates (3, n) of the degree-``degree`` quadrature points of the owned cells."""
    cell = msh.basix_cell()
    X, _ = basix.make_quadrature(cell, degree)
    cells = np.arange(msh.topology.index_map(msh.topology.dim).size_local, dtype=np.int32)
    expr = dolfinx.fem.Expression(ufl.SpatialCoordinate(msh), X)
    values = expr.eval(msh, cells).reshape(len(cells) * len(X), msh.geometry.dim)
    out = np.zeros((3, len(values)))
    out[: msh.geometry.dim] = values.T
    return out


def check_coefficients(problem: FokkerPlanckProblem, points: np.ndarray, comm: MPI.Comm) -> int:
    """Q finite, symmetric and ⪰ 0 and β finite at every rank's ``points`` (dim, n); the rank of Q.

    Collective: every rank raises the same :class:`~fpsolve.errors.ProblemError` (the first bad point
    in rank order), so no rank is left waiting.
    """
    rank, error = 0, ""
    try:
        if points.size:
            rank = problem.check_psd(np.ascontiguousarray(points))
            with np.errstate(all="ignore"):
                beta = problem.numpy("beta")(points)
            bad = np.flatnonzero(~np.isfinite(beta).all(axis=(0, 1)))
            if bad.size:
                where = tuple(float(v) for v in points[:, bad[0]])
                error = f"the drift β = b − ε²∇·Q is not finite at x = {where}"
    except ProblemError as exc:
        error = str(exc)
    errors = [e for e in comm.allgather(error) if e]
    if errors:
        raise ProblemError(errors[0])
    if points.size:
        speed = np.linalg.norm(beta[:, 0, :], axis=0)
        typical, k = float(np.median(speed)), int(np.argmax(speed))
        local = (float(speed[k]), typical, tuple(float(v) for v in points[:, k]))
    else:
        local = (0.0, 0.0, ())
    gathered = comm.allgather(local)
    top = max(gathered, key=lambda g: g[0])
    typical = max(g[1] for g in gathered)
    if top[0] > SINGULAR * (1.0 + typical):  # e.g. 1/x sampled a round-off away from x = 0
        raise ProblemError(
            f"the drift β = b − ε²∇·Q is (nearly) singular at x = {top[2]}: |β| = {top[0]:.3g}, "
            f"{SINGULAR:g} times its typical size"
        )
    return int(comm.allreduce(rank, op=MPI.MAX))


class Discretisation:
    """Finite-element discretisation of a Fokker–Planck problem on a mesh.

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
        Check that Q is finite, symmetric and ⪰ 0 and β finite at the check points (raises
        :class:`~fpsolve.errors.ProblemError` naming the first bad point).
    check_points
        ``"quadrature"`` (default: the degrees of freedom and every quadrature point of the owned
        cells, since Q can be indefinite between nodes) or ``"nodes"`` (the degrees of freedom only).
    fichera
        Put absorbing (Dirichlet) rows only on the facets of the absorbing parts that the process can
        reach (noncharacteristic, or characteristic with outward effective drift;
        :mod:`fpsolve.discretisation.fichera`).
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
        check_points: str = "quadrature",
    ) -> None:
        if check_points not in CHECK_POINTS:
            raise ProblemError(f"check_points must be one of {CHECK_POINTS}, got {check_points!r}")
        scheme_class(scheme, degree)  # unknown scheme or wrong degree: fail before any assembly
        self.problem = problem
        self.tagged = mesh
        self.msh = mesh.mesh
        self.comm: MPI.Comm = self.msh.comm
        self.scheme = scheme
        self.degree = degree
        self.fichera = fichera
        self.V = dolfinx.fem.functionspace(self.msh, ("Lagrange", degree))
        #: compiled nodal expressions of J and βρ with their input copies (:meth:`_nodal_expression`)
        self._expressions: dict[str, tuple[Any, Any, dolfinx.fem.Expression]] = {}
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
        self.check_points = check_points
        self._quadrature_degree = q
        if check_psd:
            self.rank_Q = self._check_coefficients()
        self.lumped = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(ufl.TestFunction(self.V) * self.dx))
        self.lumped.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        unknown = [part for part in problem.absorbing if part not in mesh.parts]
        if unknown:  # mesh files: the parts are the file's physical groups, known only now
            raise ProblemError(
                f"absorbing boundary part(s) {unknown} do not exist in the mesh; parts are {list(mesh.parts)}"
            )
        self.bc_rows = self._absorbing_rows()
        #: the spatial scheme (:mod:`fpsolve.discretisation.schemes`): matrices, limiter graph
        self.method: Scheme = scheme_class(scheme, degree)(self)
        self.A: PETSc.Mat = self.method.A
        self.A_L: PETSc.Mat | None = self.method.A_L
        self.graph: EdgeGraph | None = self.method.graph
        self.d: np.ndarray | None = self.method.d
        #: whether solutions need the nonlinear AFC limiter (``"afc"``, or ``"eafe"`` that is no M-matrix)
        self.limited: bool = self.method.limited

    # -- helpers -------------------------------------------------------------------------------

    def _check_coefficients(self) -> int:
        """:func:`check_coefficients` at the dofs (and quadrature points); the rank of Q."""
        dim = self.problem.dim
        points = self.V.tabulate_dof_coordinates()[: self.V.dofmap.index_map.size_local, :dim].T
        if self.check_points == "quadrature":
            points = np.hstack([points, quadrature_points(self.msh, self._quadrature_degree)[:dim]])
        return check_coefficients(self.problem, points, self.comm)

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

    def restricted(self, region: Any) -> Discretisation:
        r"""The same discretisation killed outside :math:`\{x : g(x) < 0\}`, g = ``region`` (sympy).

        A shallow copy sharing the mesh and matrices whose :attr:`bc_rows` add every owned dof with
        :math:`g(x_i) \ge 0`: those nodes become absorbing (Dirichlet) rows, on top of the absorbing parts.
        The region's boundary is the staircase of mesh nodes, resolved only to O(h) (not fitted by the
        mesh; a node on g = 0 itself falls on either side by the round-off of its coordinates), and
        every node outside is absorbing whether or not the process can reach it there (no Fichera
        classification of the level set).
        """
        n = self.V.dofmap.index_map.size_local
        nodes = self.V.tabulate_dof_coordinates()[:n, : self.problem.dim]
        outside = np.flatnonzero(_numpy_scalar(region, self.problem)(nodes.T) >= 0)
        out = copy.copy(self)
        out.bc_rows = np.union1d(self.bc_rows, outside + self.V.dofmap.index_map.local_range[0]).astype(
            PETSc.IntType
        )
        return out

    @cached_property
    def M(self) -> PETSc.Mat:
        r"""Consistent mass matrix :math:`M_{ij} = \int\phi_j\phi_i`, assembled on first use.

        (The stationary and exit-time solves need only the lumped mass :attr:`lumped`.)
        """
        rho, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        return assemble(ufl.inner(rho, v) * self.dx)

    @property
    def positive(self) -> bool:
        """Whether the scheme preserves positivity (``afc``, ``eafe``, ``upwind``)."""
        return self.method.positive

    def boundary_classes(self) -> list[FicheraPart]:
        """Fichera classification of every boundary part (:func:`.fichera.classify_boundary`)."""
        return classify_boundary(self.problem, self.tagged)

    def operator(self) -> PETSc.Mat:
        """The linear part of the spatial operator: ``A`` (Galerkin) or ``A_L`` (AFC/upwind/EAFE).

        For ``"afc"`` and a :attr:`limited` ``"eafe"`` the limited antidiffusion comes on top
        (:attr:`limiter`).
        """
        return self.method.operator()

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
        return self.method.generator()

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
        r"""Gradient of ρ_h recovered in continuous vector P(p): an :math:`L^2` projection of ∇ρ_h.

        Degree 1: the lumped projection :math:`G_i = \int \nabla\rho_h\,\phi_i / \int\phi_i` (the
        node-wise average of the cell gradients), :math:`O(h^2)` inside uniform meshes and :math:`O(h)` on
        boundary cells (so :math:`O(h^{3/2})` in :math:`L^2` unless ρ is small on ∂Ω), against
        :math:`O(h)` for :math:`\nabla\rho_h`. Degree ≥ 2: the consistent projection
        :math:`MG = \int\nabla\rho_h\cdot w` (CG + Jacobi on the mass matrix): lumping is wrong there,
        :math:`\int\phi_i = 0` for the vertex functions of P2 triangles. Both are exact for linear ρ.
        """
        W = dolfinx.fem.functionspace(self.msh, ("Lagrange", self.degree, (self.problem.dim,)))
        w = ufl.TestFunction(W)
        num = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(ufl.inner(ufl.grad(rho), w) * self.dx))
        num.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        G = dolfinx.fem.Function(W)
        if self.degree == 1:
            one = ufl.as_vector([1.0] * self.problem.dim)
            den = dolfinx.fem.petsc.assemble_vector(dolfinx.fem.form(ufl.inner(one, w) * self.dx))
            den.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            G.x.petsc_vec.pointwiseDivide(num, den)
            den.destroy()
        else:
            M = assemble(ufl.inner(ufl.TrialFunction(W), w) * self.dx)
            ksp = PETSc.KSP().create(self.comm)
            ksp.setOperators(M)
            ksp.setType("cg")
            ksp.getPC().setType("jacobi")
            ksp.setTolerances(rtol=1e-12, atol=0.0, max_it=1000)
            ksp.solve(num, G.x.petsc_vec)
            if ksp.getConvergedReason() <= 0:
                raise SolverDivergedError(f"gradient projection: CG reason {ksp.getConvergedReason()}")
            ksp.destroy()
            M.destroy()
        G.x.scatter_forward()
        num.destroy()
        return G

    def current(self, rho: dolfinx.fem.Function, name: str = "J") -> dolfinx.fem.Function:
        r"""Current :math:`J = \beta\rho_h - K G(\rho_h)` in continuous vector P(p).

        ``G`` is :meth:`recovered_gradient`; J is interpolated at the nodes (exact in ρ_h, β, K there).
        """
        G = self.recovered_gradient(rho)
        J = dolfinx.fem.Function(G.function_space)
        J.name = name
        J.interpolate(self._nodal_expression("current", rho, G))
        return J

    def drift_flux(self, rho: dolfinx.fem.Function) -> dolfinx.fem.Function:
        r"""The drift part :math:`\beta\rho_h` of the current, interpolated like :meth:`current`."""
        W = dolfinx.fem.functionspace(self.msh, ("Lagrange", self.degree, (self.problem.dim,)))
        flux = dolfinx.fem.Function(W)
        flux.interpolate(self._nodal_expression("drift", rho))
        return flux

    def _nodal_expression(
        self, kind: str, rho: dolfinx.fem.Function, G: dolfinx.fem.Function | None = None
    ) -> dolfinx.fem.Expression:
        """The expression of J (``"current"``) or βρ (``"drift"``) at the vector P(p) nodes, for ``rho``.

        Compiled once per kind for densities in :attr:`V`, on copies that each call refills: the UFL
        signature of a large K or β (a model's Q is a sum over its data) costs seconds per compilation.
        """
        W = dolfinx.fem.functionspace(self.msh, ("Lagrange", self.degree, (self.problem.dim,)))
        points = W.element.interpolation_points

        def body(r: Any, g: Any) -> Any:
            return current_from_gradient(self.K, self.beta, r, g) if kind == "current" else self.beta * r

        if rho.function_space is not self.V:  # another space: compiled for it alone
            return dolfinx.fem.Expression(body(rho, G), points)
        if kind not in self._expressions:
            rho_c, G_c = dolfinx.fem.Function(self.V), dolfinx.fem.Function(W)
            self._expressions[kind] = (rho_c, G_c, dolfinx.fem.Expression(body(rho_c, G_c), points))
        rho_c, G_c, expression = self._expressions[kind]
        rho_c.x.array[:] = rho.x.array
        if G is not None:
            G_c.x.array[:] = G.x.array
        return expression

    def num_dofs(self) -> int:
        """Global number of degrees of freedom."""
        imap = self.V.dofmap.index_map
        return imap.size_global * self.V.dofmap.index_map_bs


def _numpy_scalar(expr: Any, problem: FokkerPlanckProblem) -> Any:
    import sympy as sp

    f = sp.lambdify([list(problem.coords)], sp.sympify(expr), modules="numpy")
    return lambda x: np.broadcast_to(np.asarray(f(x), dtype=float), (x.shape[-1],))


def discretise(
    problem: FokkerPlanckProblem,
    mesh: TaggedMesh | None = None,
    scheme: str = "afc",
    degree: int = 1,
    check_points: str = "quadrature",
) -> Discretisation:
    """A :class:`Discretisation` of ``problem`` on ``mesh`` (default: its domain's mesh)."""
    mesh = mesh or build_mesh(problem.domain)
    return Discretisation(problem, mesh, degree=degree, scheme=scheme, check_points=check_points)
