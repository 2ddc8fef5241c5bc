r"""Eigenpairs of the Fokker–Planck operator near zero (SLEPc shift-and-invert), with their modes.

.. math::  A\phi = \lambda M\phi ,\qquad A^T\psi = \lambda M\psi ,

with :math:`M\dot\rho + A\rho = 0`, so the modes decay as :math:`e^{-\lambda t}`: :math:`\lambda_0 = 0`
(eigenvector ρ∞), :math:`\operatorname{Re}\lambda_1` is the spectral gap (asymptotic mixing rate). For
an OU process :math:`dX = -A_d X dt + \ldots` the spectrum is :math:`\{\sum_i n_i\lambda_i(A_d)\}`
independent of (controllable) Q (Metafune–Pallara–Priola; docs/theory.md §7), the exact test of this
module.

The right eigenvectors φ are the forward modes (signed densities); the left eigenvectors ψ are the
eigenfunctions of the backward generator, :math:`\mathcal L\psi = -\lambda\psi` (observables that relax as
:math:`E_x\psi(X_t) = e^{-\lambda t}\psi(x)`; weak form :math:`A^T\psi = \lambda M\psi`). With
``vectors=True`` both come from two-sided Krylov–Schur and are normalised (:func:`normalise`) so that

.. math::  \phi_0 = \rho_\infty,\ \int\rho_\infty = 1,\qquad \psi_0 = 1,\qquad
           \int|\psi_i|^2\rho_\infty = 1,\qquad \int\psi_i\phi_i = 1,

the phase of ψ fixed by :math:`\int\psi_i w\rho_\infty > 0` for the tilt
:math:`w = \exp(\sum_k g_k(x_k - m_k)/s_k)` (m, s: mean and standard deviations of ρ∞, s at least
:data:`MIN_SPREAD` times the mesh width; g = :data:`TILT`), a rule that does not depend on the mesh
partition. Then
:math:`\rho(t) = \sum_i e^{-\lambda_i t}\big(\int\psi_i\rho(0)\big)\phi_i` up to the modes not computed,
and for a reversible process :math:`\phi_i = \psi_i\rho_\infty`.

Linear schemes only: ``galerkin`` of any degree (consistent mass), ``upwind`` and ``eafe`` where it is
an M-matrix (lumped mass, the positive pair). Krylov–Schur with ``ST`` SINVERT at a target slightly
below 0 (MUMPS inner solves); every ``-<prefix>eps_*``/``st_*`` option passes through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import dolfinx
import ufl
from mpi4py import MPI
from petsc4py import PETSc
from slepc4py import SLEPc

from fpsolve.discretisation.functionals import integral, moments
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError, SolverDivergedError
from fpsolve.solvers.options import Options, configure, merged

__all__ = ["EPS_DEFAULTS", "TILT", "Mode", "SpectralSolver", "Spectrum", "backward_error", "normalise"]

EPS_DEFAULTS: dict[str, object] = {
    "eps_type": "krylovschur",
    "eps_tol": 1e-10,
    "st_type": "sinvert",
    "st_ksp_type": "preonly",
    "st_pc_type": "lu",
    "st_pc_factor_mat_solver_type": "mumps",
}
#: Directions g of the tilt that fixes the phase of ψ (generic, so that ∫ψ w ρ∞ ≠ 0 for every mode).
TILT = (0.5, 0.309, 0.191)
#: The tilt's length scales are the standard deviations of ρ∞, at least this fraction of the mesh width.
MIN_SPREAD = 1e-2


@dataclass
class Mode:
    """One eigenpair: λ, the forward mode φ and the generator eigenfunction ψ (real and imaginary parts)."""

    value: complex
    phi: tuple[dolfinx.fem.Function, dolfinx.fem.Function]
    psi: tuple[dolfinx.fem.Function, dolfinx.fem.Function]
    #: backward errors of φ and ψ (:func:`backward_error`)
    right_error: float
    left_error: float


@dataclass
class Spectrum:
    """Eigenvalues (ascending real part), backward errors, the 0-mode normalised to ∫ρ = 1 and the modes."""

    eigenvalues: np.ndarray
    rho: dolfinx.fem.Function
    errors: np.ndarray
    modes: list[Mode] = field(default_factory=list)


class SpectralSolver:
    r"""The ``nev`` eigenvalues of :math:`Ax = \lambda Mx` nearest to a target just below 0.

    Parameters
    ----------
    disc
        Discretisation with ``scheme`` ``"galerkin"``, ``"upwind"`` or a linear ``"eafe"``, and no
        absorbing parts.
    nev
        Number of eigenpairs.
    target
        Shift; must not be an eigenvalue (default −1e−3).
    petsc_options, prefix
        SLEPc/PETSc options under ``prefix``.
    vectors
        Also return the normalised modes φ and ψ (two-sided Krylov–Schur).
    """

    def __init__(
        self,
        disc: Discretisation,
        nev: int = 4,
        target: float = -1e-3,
        petsc_options: Options | None = None,
        prefix: str = "fpsolve_spectral_",
        vectors: bool = False,
    ) -> None:
        if disc.limited:
            raise ProblemError(
                "the AFC-limited scheme is nonlinear; compute spectra with scheme 'galerkin', 'upwind' or "
                "'eafe' (on a mesh where it is an M-matrix)"
            )
        if disc.problem.absorbing:
            raise ProblemError("spectral solver: absorbing boundaries are not supported yet")
        self.disc, self.nev, self.target = disc, nev, target
        self.options, self.prefix, self.vectors = petsc_options, prefix, vectors

    def mass_matrix(self) -> PETSc.Mat:
        """The scheme's mass matrix: consistent (Galerkin) or lumped (the M-matrix schemes)."""
        disc = self.disc
        if disc.scheme == "galerkin":
            return disc.M
        M = disc.M.duplicate()
        M.zeroEntries()
        M.setDiagonal(disc.lumped)
        M.assemble()
        return M

    def solve(self) -> Spectrum:
        """Compute the eigenpairs; raises :class:`SolverDivergedError` if fewer than ``nev`` converge."""
        disc = self.disc
        M = self.mass_matrix()
        eps = SLEPc.EPS().create(disc.comm)
        eps.setOperators(disc.operator(), M)
        eps.setProblemType(SLEPc.EPS.ProblemType.GNHEP)
        eps.setDimensions(nev=self.nev)
        eps.setTwoSided(self.vectors)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_REAL)
        eps.setTarget(self.target)
        configure(eps, self.prefix, merged(EPS_DEFAULTS, self.options), set_up=True)
        eps.solve()
        nconv = eps.getConverged()
        if nconv < self.nev:
            raise SolverDivergedError(f"SLEPc converged {nconv} of {self.nev} eigenpairs")
        values = np.array([eps.getEigenvalue(i) for i in range(nconv)])
        errors = np.array([eps.computeError(i, SLEPc.EPS.ErrorType.BACKWARD) for i in range(nconv)])
        scale = max(float(np.abs(values).max()), 1e-300)
        order = np.lexsort((-values.imag, np.round(values.real / scale, 10)))[: self.nev]
        A = disc.operator()
        modes = [self._mode(eps, int(i), values[i], A, M) for i in order] if self.vectors else []
        rho = disc.function("rho")
        vi = rho.x.petsc_vec.duplicate()
        eps.getEigenpair(int(order[0]), rho.x.petsc_vec, vi)
        vi.destroy()
        rho.x.array[:] /= disc.mass(rho)
        rho.x.scatter_forward()
        eps.destroy()
        if modes:
            normalise(modes, M, rho)
        return Spectrum(values[order], rho, errors[order], modes)

    def _mode(self, eps: SLEPc.EPS, i: int, value: complex, A: PETSc.Mat, M: PETSc.Mat) -> Mode:
        r"""Eigenpair ``i``: φ = vr + i·vi and ψ from SLEPc's left vector y = wr + i·wi.

        SLEPc's convention :math:`y^HA = \lambda y^HM` makes ψ = conj(y), but for some complex pairs of a
        real build the stored y satisfies :math:`A^Ty = \lambda My` itself: of wr ∓ i·wi the one with the
        smaller residual is taken, and both residuals are recorded.
        """
        functions = [self.disc.function(name) for name in ("phi_re", "phi_im", "psi_re", "psi_im")]
        vr, vi, wr, wi = (f.x.petsc_vec for f in functions)
        eps.getEigenpair(i, vr, vi)
        eps.getLeftEigenvector(i, wr, wi)
        right = backward_error(A, M, value, vr, vi)
        wi.scale(-1.0)
        left = backward_error(A, M, value, wr, wi, transpose=True)
        if wi.norm() > 0:
            wi.scale(-1.0)
            other = backward_error(A, M, value, wr, wi, transpose=True)
            if other < left:
                left = other
            else:
                wi.scale(-1.0)
        for f in functions:
            f.x.scatter_forward()
        return Mode(complex(value), (functions[0], functions[1]), (functions[2], functions[3]), right, left)


def backward_error(
    A: PETSc.Mat, M: PETSc.Mat, value: complex, re: PETSc.Vec, im: PETSc.Vec, transpose: bool = False
) -> float:
    r"""Backward error :math:`\|(A - \lambda M)x\| / ((\|A\|_F + |\lambda|\|M\|_F)\|x\|)`, x = re + i·im.

    With ``transpose`` the residual is :math:`(A^T - \lambda M)x` (a left eigenvector; M is symmetric).
    """
    mult = A.multTranspose if transpose else A.mult
    Ar, Ai, Mr, Mi = (A.createVecLeft() for _ in range(4))
    mult(re, Ar)
    mult(im, Ai)
    M.mult(re, Mr)
    M.mult(im, Mi)
    Ar.axpy(-value.real, Mr)
    Ar.axpy(value.imag, Mi)
    Ai.axpy(-value.real, Mi)
    Ai.axpy(-value.imag, Mr)
    residual = float(np.hypot(Ar.norm(), Ai.norm()))
    size = float(np.hypot(re.norm(), im.norm()))
    scale = A.norm(PETSc.NormType.FROBENIUS) + abs(value) * M.norm(PETSc.NormType.FROBENIUS)
    for v in (Ar, Ai, Mr, Mi):
        v.destroy()
    return residual / (scale * size)


def normalise(modes: list[Mode], M: PETSc.Mat, rho: dolfinx.fem.Function) -> None:
    r"""Scale ``modes`` in place to the normalisation of the module docstring.

    :math:`\int|\psi|^2\rho_\infty = 1`, :math:`\int\psi w\rho_\infty > 0`, :math:`\psi^TM\phi = 1`.

    ``rho`` is ρ∞ (∫ρ∞ = 1); the pairing :math:`\int\psi\phi = \psi^TM\phi` (bilinear, no conjugate) uses
    the scheme's mass matrix ``M``, so that the discrete modes are exactly biorthogonal. The integrals
    weighted by ρ∞ use quadrature of degree 3p + 2 (p: the Lagrange degree). Where a Galerkin ρ∞
    undershoots so much that :math:`\int|\psi|^2\rho_\infty \le 0`, the norm weights with |ρ∞|.
    """
    msh = rho.function_space.mesh
    dim = msh.geometry.dim
    degree = 3 * rho.function_space.ufl_element().embedded_superdegree + 2
    mean, cov = moments(rho, msh, dim)
    x = ufl.SpatialCoordinate(msh)
    m = dolfinx.fem.Constant(msh, mean)  # runtime values: the forms are compiled once
    g = dolfinx.fem.Constant(msh, np.array(TILT[:dim]) / _spread(cov, msh))
    tilt = ufl.exp(sum(g[k] * (x[k] - m[k]) for k in range(dim)))
    for mode in modes:
        (ur, ui), (vr, vi) = mode.psi, mode.phi
        t = complex(integral(ur * tilt * rho, msh, degree), integral(ui * tilt * rho, msh, degree))
        square = integral((ur * ur + ui * ui) * rho, msh, degree)
        if square <= 0:  # a Galerkin ρ∞ that undershoots badly (a collapsed, unresolved density)
            square = integral((ur * ur + ui * ui) * abs(rho), msh, degree)
        norm = np.sqrt(square)
        _scale(ur, ui, (np.conj(t) / abs(t) if t else 1.0) / norm)
        Mvr, Mvi = M.createVecRight(), M.createVecRight()
        M.mult(vr.x.petsc_vec, Mvr)
        M.mult(vi.x.petsc_vec, Mvi)
        ur_, ui_ = ur.x.petsc_vec, ui.x.petsc_vec
        pairing = complex(ur_.dot(Mvr) - ui_.dot(Mvi), ur_.dot(Mvi) + ui_.dot(Mvr))
        _scale(vr, vi, 1.0 / pairing)
        Mvr.destroy()
        Mvi.destroy()


def _spread(cov: np.ndarray, msh: dolfinx.mesh.Mesh) -> np.ndarray:
    """Standard deviations of ρ∞, at least :data:`MIN_SPREAD` times the mesh's width (a collapsed ρ∞)."""
    x = msh.geometry.x[:, : len(cov)]
    lo, hi = x.min(axis=0, initial=np.inf), x.max(axis=0, initial=-np.inf)
    msh.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
    msh.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
    return np.maximum(np.sqrt(np.abs(np.diag(cov))), MIN_SPREAD * (hi - lo))


def _scale(re: dolfinx.fem.Function, im: dolfinx.fem.Function, c: complex) -> None:
    """(re + i·im) ← c·(re + i·im), in place."""
    a, b = re.x.array.copy(), im.x.array.copy()
    re.x.array[:] = c.real * a - c.imag * b
    im.x.array[:] = c.real * b + c.imag * a
