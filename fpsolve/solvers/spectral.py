r"""Eigenvalues of the Fokker–Planck operator near zero (SLEPc shift-and-invert).

.. math::  A x = \lambda M x ,

with :math:`M\dot\rho + A\rho = 0`, so the modes decay as :math:`e^{-\lambda t}`: :math:`\lambda_0 = 0`
(eigenvector ρ∞), :math:`\operatorname{Re}\lambda_1` is the spectral gap (asymptotic mixing rate). For
an OU process :math:`dX = -A_d X dt + \ldots` the spectrum is :math:`\{\sum_i n_i\lambda_i(A_d)\}`
independent of (controllable) Q (Metafune–Pallara–Priola), the exact test of this module.

Linear schemes only: ``galerkin`` (consistent mass) or ``upwind`` (lumped mass, the positive
M-matrix pair). Krylov–Schur with ``ST`` SINVERT at a target slightly below 0 (MUMPS inner solves);
every ``-<prefix>eps_*``/``st_*`` option passes through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import dolfinx
from slepc4py import SLEPc

from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError, SolverDivergedError
from fpsolve.solvers.options import Options, configure, merged

EPS_DEFAULTS: dict[str, object] = {
    "eps_type": "krylovschur",
    "eps_tol": 1e-10,
    "st_type": "sinvert",
    "st_ksp_type": "preonly",
    "st_pc_type": "lu",
    "st_pc_factor_mat_solver_type": "mumps",
}


@dataclass
class Spectrum:
    """Eigenvalues (ascending real part), backward errors and the 0-mode normalised to ∫ρ = 1."""

    eigenvalues: np.ndarray
    rho: dolfinx.fem.Function
    errors: np.ndarray


class SpectralSolver:
    r"""The ``nev`` eigenvalues of :math:`Ax = \lambda Mx` nearest to a target just below 0.

    Parameters
    ----------
    disc
        Discretisation with ``scheme`` ``"galerkin"`` or ``"upwind"`` and no absorbing parts.
    nev
        Number of eigenpairs.
    target
        Shift; must not be an eigenvalue (default −1e−3).
    petsc_options, prefix
        SLEPc/PETSc options under ``prefix``.
    """

    def __init__(
        self,
        disc: Discretisation,
        nev: int = 4,
        target: float = -1e-3,
        petsc_options: Options | None = None,
        prefix: str = "fpsolve_spectral_",
    ) -> None:
        if disc.limited:
            raise ProblemError(
                "the AFC-limited scheme is nonlinear; compute spectra with scheme 'galerkin', 'upwind' or "
                "'eafe' (on a mesh where it is an M-matrix)"
            )
        if disc.problem.absorbing:
            raise ProblemError("spectral solver: absorbing boundaries are not supported yet")
        self.disc, self.nev, self.target = disc, nev, target
        self.options, self.prefix = petsc_options, prefix

    def solve(self) -> Spectrum:
        """Compute the eigenpairs; raises :class:`SolverDivergedError` if fewer than ``nev`` converge."""
        disc = self.disc
        if disc.scheme == "galerkin":
            M = disc.M
        else:
            M = disc.M.duplicate()
            M.zeroEntries()
            M.setDiagonal(disc.lumped)
            M.assemble()
        eps = SLEPc.EPS().create(disc.comm)
        eps.setOperators(disc.operator(), M)
        eps.setProblemType(SLEPc.EPS.ProblemType.GNHEP)
        eps.setDimensions(nev=self.nev)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_REAL)
        eps.setTarget(self.target)
        configure(eps, self.prefix, merged(EPS_DEFAULTS, self.options), set_up=True)
        eps.solve()
        nconv = eps.getConverged()
        if nconv < self.nev:
            raise SolverDivergedError(f"SLEPc converged {nconv} of {self.nev} eigenpairs")
        values = np.array([eps.getEigenvalue(i) for i in range(nconv)])
        errors = np.array([eps.computeError(i, SLEPc.EPS.ErrorType.BACKWARD) for i in range(nconv)])
        order = np.argsort(values.real)[: self.nev]
        rho = disc.function("rho")
        vr, vi = disc.operator().createVecs()
        eps.getEigenpair(int(order[0]), vr, vi)
        vr.copy(rho.x.petsc_vec)
        rho.x.array[:] /= disc.mass(rho)
        rho.x.scatter_forward()
        eps.destroy()
        return Spectrum(values[order], rho, errors[order])
