r"""Escape rate and quasi-stationary distribution (QSD): the principal eigenpair of the absorbing operator.

With the forward operator :math:`M\dot\rho + F\rho = 0` of a linear scheme and ρ = 0 on the absorbing
(Dirichlet) rows D, the slowest mode of the killed process solves

.. math::  F_{II}\,\nu = \lambda_1\, M_{L,II}\,\nu ,\qquad \nu \ge 0 ,

(lumped mass :math:`M_L = \mathrm{diag}(m_i)`, the weights of the exit-time solves of
:mod:`fpsolve.solvers.exit_time`): :math:`\lambda_1` is the escape rate and ν, normalised to
:math:`\sum_i m_i\nu_i = 1`, the QSD: the law of :math:`X_t` given :math:`\tau > t` for large t
(docs/theory.md §10). Three exact discrete identities follow from :math:`F^T T = m` (the mean exit
time, T = 0 on D), :math:`F^T u = 0` (a committor, u = 1 on a target part Γ) and zero column sums
of F (conservation):

.. math::
    \lambda_1\,E_\nu\tau = \lambda_1 \sum_i m_i\nu_iT_i = 1 ,\qquad
    P_\nu(X_\tau\in\Gamma) = \sum_i m_i\nu_iu_i = \frac{1}{\lambda_1}\sum_{i\in D\cap\Gamma} f_i ,\qquad
    f = -F\nu \text{ on } D ,

so :math:`f/\lambda_1` is the exit-location distribution on the boundary nodes (the normal flux of
the QSD), and the first identity checks the eigensolver against the linear solver.

Precision. SLEPc's shift-and-invert factorises :math:`F_{II}`; like a direct exit-time solve it
resolves :math:`1/\lambda_1` only while :math:`u\max_i(F_{ii}/m_i)/\lambda_1 \ll 1`
(:func:`fpsolve.solvers.anchored.precision_indicator`). The eigenvector stays accurate beyond that
(its error is set by the gap :math:`\lambda_2 - \lambda_1 = O(1)`, not by :math:`\lambda_1`), but
its exponentially small values next to D, and hence the flux f, do not: there
:attr:`QuasiStationary.resolved` is False and the rate must come from the anchored
:math:`E_\nu\tau` (:func:`qsd_mean_exit_time`), exit fractions from committors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import dolfinx
from mpi4py import MPI
from slepc4py import SLEPc

from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError, SolverDivergedError
from fpsolve.solvers.anchored import PRECISION_TOL, ROUNDOFF, rate_scale
from fpsolve.solvers.options import Options, configure, merged
from fpsolve.solvers.spectral import EPS_DEFAULTS

__all__ = ["QuasiStationary", "QuasiStationarySolver", "qsd_mean_exit_time"]


@dataclass
class QuasiStationary:
    r"""The principal eigenpair of the absorbing operator (module docstring).

    Attributes
    ----------
    rate
        λ₁ from the eigensolver.
    qsd
        ν with :math:`\sum_i m_i\nu_i = 1` (non-negative up to round-off for M-matrix schemes).
    exit_flux
        :math:`f_i/\lambda_1` on the absorbing nodes, 0 elsewhere: the exit-location distribution
        (sums to 1); meaningful only where ``resolved``.
    error
        SLEPc's relative backward error of the pair.
    indicator
        :math:`u\max_i(F_{ii}/m_i)/\lambda_1`; ``resolved`` iff it is below
        :data:`~fpsolve.solvers.anchored.PRECISION_TOL`.
    """

    rate: float
    qsd: dolfinx.fem.Function
    exit_flux: dolfinx.fem.Function
    error: float
    indicator: float

    @property
    def resolved(self) -> bool:
        """Whether λ₁ and the boundary flux are resolved in double precision."""
        return self.indicator <= PRECISION_TOL


class QuasiStationarySolver:
    r"""λ₁ and the QSD of a problem with absorbing parts (module docstring).

    Parameters
    ----------
    disc
        Discretisation with a linear forward matrix: ``"eafe"`` (its fitted matrix), ``"upwind"`` or
        ``"galerkin"`` (the last is not monotone: ν may dip below 0 at small noise).
    petsc_options, prefix
        SLEPc/PETSc options under ``prefix`` (``-<prefix>eps_*``, ``-<prefix>st_*``).
    """

    def __init__(
        self, disc: Discretisation, petsc_options: Options | None = None, prefix: str = "fpsolve_escape_"
    ) -> None:
        if not disc.problem.absorbing or disc.comm.allreduce(disc.bc_rows.size) == 0:
            raise ProblemError("an escape rate needs an absorbing boundary part the process can reach")
        if disc.scheme == "eafe":
            self.F = disc.method.A
        elif not disc.limited:
            self.F = disc.operator()
        else:
            raise ProblemError(
                f"the escape rate is an eigenvalue of a linear operator: scheme {disc.scheme!r} is limited "
                '(nonlinear); use "eafe" (recommended), "upwind" or "galerkin"'
            )
        self.disc, self.options, self.prefix = disc, petsc_options, prefix

    def solve(self) -> QuasiStationary:
        """The principal eigenpair; :class:`SolverDivergedError` if SLEPc does not converge it."""
        disc = self.disc
        rows = disc.bc_rows
        A = self.F.copy()
        A.zeroRowsColumns(rows, 1.0)
        M = A.duplicate()
        M.zeroEntries()
        weights = disc.lumped.copy()
        lo = weights.getOwnershipRange()[0]
        weights.array[rows - lo] = 0.0  # D: infinite eigenvalues, mapped to 0 by the shift-invert
        M.setDiagonal(weights)
        M.assemble()
        eps = SLEPc.EPS().create(disc.comm)
        eps.setOperators(A, M)
        eps.setProblemType(SLEPc.EPS.ProblemType.GNHEP)
        eps.setDimensions(nev=1)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_REAL)
        eps.setTarget(0.0)
        configure(eps, self.prefix, merged(EPS_DEFAULTS, self.options), set_up=True)
        eps.solve()
        if eps.getConverged() < 1:
            eps.destroy()
            raise SolverDivergedError(
                "SLEPc did not converge the principal eigenpair of the absorbing operator"
            )
        values = [eps.getEigenvalue(i) for i in range(eps.getConverged())]
        k = int(np.argmin([v.real for v in values]))
        rate = float(values[k].real)
        error = float(eps.computeError(k, SLEPc.EPS.ErrorType.BACKWARD))
        nu = disc.function("qsd")
        vi = nu.x.petsc_vec.duplicate()
        eps.getEigenpair(k, nu.x.petsc_vec, vi)
        for obj in (eps, vi, A, M, weights):
            obj.destroy()
        mass = disc.mass(nu)
        if mass == 0 or not np.isfinite(mass):
            raise SolverDivergedError(f"the principal eigenvector is not a distribution (λ₁ = {rate:.3g})")
        nu.x.petsc_vec.scale(1.0 / mass)
        nu.x.scatter_forward()
        flux = self._exit_flux(nu, rate)
        # λ₁ ≤ 0 happens only where round-off swamps it (a tiny rate): unresolved
        indicator = ROUNDOFF * rate_scale(self.F, disc.lumped) / rate if rate > 0 else np.inf
        return QuasiStationary(rate, nu, flux, error, indicator)

    def _exit_flux(self, nu: dolfinx.fem.Function, rate: float) -> dolfinx.fem.Function:
        r""":math:`-(F\nu)_i/\lambda_1` on the absorbing rows, 0 elsewhere."""
        disc = self.disc
        flux = disc.function("exit_flux")
        x = flux.x.petsc_vec
        self.F.mult(nu.x.petsc_vec, x)
        lo = x.getOwnershipRange()[0]
        on_d = np.zeros(x.getLocalSize(), dtype=bool)
        on_d[disc.bc_rows - lo] = True
        x.array[~on_d] = 0.0
        x.array[on_d] *= -1.0 / rate
        flux.x.scatter_forward()
        return flux


def qsd_mean_exit_time(disc: Discretisation, qsd: dolfinx.fem.Function, T: dolfinx.fem.Function) -> float:
    r""":math:`E_\nu\tau = \sum_i m_i\nu_iT_i` (ν normalised, T the anchored mean exit time): 1/λ₁ exactly."""
    local = float(np.dot(disc.lumped.array, qsd.x.petsc_vec.array * T.x.petsc_vec.array))
    return disc.comm.allreduce(local, op=MPI.SUM)
