r"""Transient Fokker–Planck evolution :math:`M\dot\rho + A\rho = 0` (absorbing rows: :math:`\rho = 0`).

Two integrators:

``method="beuler"`` (default)
    Backward Euler with fixed step ``dt`` in the discretisation's scheme:

    * ``galerkin``: :math:`(M + \Delta t A)\rho^{n+1} = M\rho^n`;
    * ``upwind`` and (M-matrix) ``eafe``: :math:`(M_L + \Delta t A_L)\rho^{n+1} = M_L\rho^n` — so
      :math:`\rho^{n+1} \ge 0` unconditionally;
    * ``afc`` (and :attr:`~fpsolve.discretisation.operators.Discretisation.limited` ``eafe``, with its
    fitted A):
      linearised FEM-FCT (Kuzmin): the upwind step gives :math:`\rho^L`, the Galerkin step
      :math:`\rho^H`; the antidiffusive fluxes
      :math:`f_{ij} = m_{ij}(\Delta\rho^H_i - \Delta\rho^H_j) + \Delta t\,d_{ij}(\rho^H_i - \rho^H_j)`
      (:math:`\Delta\rho^H = \rho^H - \rho^n`) turn :math:`\rho^L` into :math:`\rho^H` exactly; Zalesak's
      limiter scales them so that :math:`\rho_i = \rho^L_i + m_i^{-1}\sum_j\alpha_{ij}f_{ij}` stays within
      the local bounds of :math:`\rho^L` (hence :math:`\ge 0`), with exact mass conservation.

``method="ts"``
    PETSc TS on the Galerkin pair :math:`(M, A)` or the upwind pair :math:`(M_L, A_L)`, problem type
    LINEAR, adaptive BDF2 by default; every ``-<prefix>ts_*`` option passes through.

Both record mass :math:`\sum_i m_i\rho_i`, :math:`\min\rho` and :math:`\max\rho` after every step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

import dolfinx
from petsc4py import PETSc

from fpsolve.discretisation.afc import zalesak_fct
from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import ProblemError, SolverDivergedError
from fpsolve.log import get_logger
from fpsolve.solvers.linear import make_ksp, solve
from fpsolve.solvers.options import Options, merged, options_prefix

METHODS = ("beuler", "ts")

TS_DEFAULTS: dict[str, object] = {
    "ts_type": "bdf",
    "ts_bdf_order": 2,
    "ts_adapt_type": "basic",
    "ts_rtol": 1e-5,
    "ts_atol": 1e-8,
    "ts_max_snes_failures": -1,
    "snes_type": "ksponly",
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
}


#: Ratio between consecutive step-size levels of the adaptive ``ts`` integrator (see :func:`dt_level`).
LEVEL_RATIO = 2.0**0.5


def dt_level(dt: float, dt0: float) -> float:
    r"""The largest level :math:`\Delta t_0\,r^k \le \Delta t` (k an integer, r = :data:`LEVEL_RATIO`).

    PETSc's adaptive controller proposes a new step after every step; taken as is, each step has its own
    :math:`\Delta t`, so the matrix :math:`A + \sigma M` (σ ∝ 1/Δt) of the linearly implicit step changes
    and is factorised again: one LU per step. Rounded down to these levels, a step is never longer than
    the controller allows (the error stays within its tolerance), and Δt changes only when the proposal
    crosses a level: the factorisation is reused for every step in between.
    """
    k = np.floor(np.log(dt / dt0) / np.log(LEVEL_RATIO) + 1e-9)
    return float(dt0 * LEVEL_RATIO**k)


@dataclass(frozen=True)
class StepRecord:
    """Diagnostics after one time step."""

    t: float
    dt: float
    mass: float
    min: float
    max: float


class TransientSolver:
    """Time integration of the discretised Fokker–Planck equation.

    Parameters
    ----------
    disc
        The discretisation.
    dt
        Time step (``beuler``) or initial time step (``ts``).
    method
        ``"beuler"`` or ``"ts"`` (see module docstring).
    petsc_options
        Options under ``prefix`` (linear solvers, or the TS/SNES/KSP for ``ts``).
    prefix
        PETSc options prefix.
    levels
        ``ts`` only: round every adaptive step down to a level of :func:`dt_level` (default), so that
        the factorisation of the implicit system is reused until the step size changes level. False
        takes PETSc's proposals as they are (one factorisation per step).

    Attributes
    ----------
    factorisations
        ``ts``: the number of distinct implicit matrices factorised in the last :meth:`run`.
    """

    def __init__(
        self,
        disc: Discretisation,
        dt: float,
        method: str = "beuler",
        petsc_options: Options | None = None,
        prefix: str = "fpsolve_transient_",
        levels: bool = True,
    ) -> None:
        if method not in METHODS:
            raise ProblemError(f"unknown time integrator {method!r}; choose one of {METHODS}")
        if not dt > 0:
            raise ProblemError(f"time step must be positive, got {dt}")
        if method == "ts" and disc.limited:
            msg = "the FCT limiter needs method 'beuler'; use scheme 'galerkin' or 'upwind' with PETSc TS"
            raise ProblemError(msg)
        self.disc = disc
        self.dt = float(dt)
        self.method = method
        self.options = petsc_options
        self.prefix = prefix
        self.levels = levels
        self.factorisations = 0
        self.history: list[StepRecord] = []
        self.on_step: Callable[[StepRecord], None] | None = None
        self._ksp: dict[tuple[str, float], PETSc.KSP] = {}
        n = disc.V.dofmap.index_map.size_local
        self._m = disc.lumped.getArray(readonly=True)[:n].copy()
        if disc.limited:
            self._mij = disc.graph.entries(disc.M)

    # -- public --------------------------------------------------------------------------------

    def run(self, rho: dolfinx.fem.Function, times: Sequence[float], t0: float = 0.0) -> Iterator[float]:
        """Advance ``rho`` in place, yielding each output time of ``times`` once ``rho`` holds it."""
        if any(b <= a for a, b in zip([t0, *times], times, strict=False)):
            raise ProblemError(f"output times must increase from t0 = {t0}: {list(times)}")
        self._apply_bc(rho)
        if self.method == "ts":
            yield from self._run_ts(rho, times, t0)
            return
        t = t0
        for t_out in times:
            while t < t_out - 1e-12 * max(1.0, abs(t_out)):
                dt = min(self.dt, t_out - t)
                if t_out - (t + dt) < 1e-9 * self.dt:
                    dt = t_out - t
                self._step(rho, dt)
                t = t_out if abs(t + dt - t_out) < 1e-12 * max(1.0, abs(t_out)) else t + dt
                self._record(rho, t, dt)
            yield t_out

    # -- backward Euler / FCT ------------------------------------------------------------------

    def _system(self, kind: str, dt: float) -> PETSc.KSP:
        key = (kind, dt)
        if key not in self._ksp:
            disc = self.disc
            if kind == "low":
                S = disc.A_L.copy()
                S.scale(dt)
                diag = S.getDiagonal()
                diag.array[:] += self._m
                S.setDiagonal(diag)
            else:
                S = disc.A.copy()
                S.scale(dt)
                S.axpy(1.0, disc.M, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
            S.zeroRowsColumns(disc.bc_rows, 1.0)
            self._ksp[key] = make_ksp(S, f"{self.prefix}{kind}_", self.options, disc.problem.dim)
        return self._ksp[key]

    def _step(self, rho: dolfinx.fem.Function, dt: float) -> None:
        disc = self.disc
        u = rho.x.petsc_vec
        lo = u.getOwnershipRange()[0]
        rows = disc.bc_rows - lo
        if disc.scheme != "galerkin":
            rhs = u.duplicate()
            rhs.array[:] = self._m * u.array
            rhs.array[rows] = 0.0
            u_low = u.duplicate()
            solve(self._system("low", dt), rhs, u_low, "low-order step")
        if disc.scheme == "galerkin" or disc.limited:
            rhs_h = u.duplicate()
            disc.M.mult(u, rhs_h)
            rhs_h.array[rows] = 0.0
            u_high = u.duplicate()
            solve(self._system("high", dt), rhs_h, u_high, "Galerkin step")
        if disc.scheme != "galerkin" and not disc.limited:
            u_low.copy(u)
        elif disc.scheme == "galerkin":
            u_high.copy(u)
        else:
            g = disc.graph
            du = u_high - u
            du_own = du.array[g.rows]
            uh_own = u_high.array[g.rows]
            f = self._mij * (du_own - g.at_columns(du)) + dt * disc.d * (uh_own - g.at_columns(u_high))
            f[~g.offdiag] = 0.0
            ul_cols = g.at_columns(u_low)
            f[f * (ul_cols - u_low.array[g.rows]) > 0] = 0.0  # prelimiting: drop diffusive fluxes
            corr = zalesak_fct(g, f, u_low, self._m, [u_low, u], rows)
            corr[rows] = 0.0
            u.array[:] = u_low.array + corr / self._m
        rho.x.scatter_forward()

    # -- PETSc TS ------------------------------------------------------------------------------

    def _run_ts(self, rho: dolfinx.fem.Function, times: Sequence[float], t0: float) -> Iterator[float]:
        disc = self.disc
        if disc.scheme == "galerkin":
            mass, op = disc.M.copy(), disc.A.copy()
        else:
            mass = disc.M.duplicate()
            mass.zeroEntries()
            mass.setDiagonal(disc.lumped)
            mass.assemble()
            op = disc.A_L.copy()
        mass.zeroRowsColumns(disc.bc_rows, 1.0)
        op.zeroRowsColumns(disc.bc_rows, 0.0)
        jac = op.duplicate(copy=True)
        tmp = rho.x.petsc_vec.duplicate()

        def ifunction(ts: PETSc.TS, t: float, u: PETSc.Vec, udot: PETSc.Vec, f: PETSc.Vec) -> None:
            mass.mult(udot, f)
            op.multAdd(u, f, f)

        shifts: list[float] = []

        def ijacobian(
            ts: PETSc.TS, t: float, u: PETSc.Vec, udot: PETSc.Vec, shift: float, J: PETSc.Mat, P: PETSc.Mat
        ) -> None:
            if shifts and shift == shifts[-1]:
                return  # J = A + shift M is unchanged: PETSc keeps its factorisation
            shifts.append(shift)
            op.copy(J, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
            J.axpy(shift, mass, structure=PETSc.Mat.Structure.SUBSET_NONZERO_PATTERN)

        last = [t0]

        def monitor(ts: PETSc.TS, step: int, t: float, u: PETSc.Vec) -> None:
            if step > 0 and t > last[0]:  # (a new solve starts with a monitor call at the same time)
                u.copy(rho.x.petsc_vec)
                rho.x.scatter_forward()
                self._record(rho, t, t - last[0])
            last[0] = t

        regular = [self.dt]

        def poststep(ts: PETSc.TS) -> None:
            proposal = ts.getTimeStep()
            if 2 * proposal < ts.getMaxTime() - ts.getTime():  # near the output time PETSc matches it
                regular[0] = dt_level(proposal, self.dt)
                ts.setTimeStep(regular[0])

        ts = PETSc.TS().create(disc.comm)
        ts.setProblemType(PETSc.TS.ProblemType.LINEAR)
        ts.setIFunction(ifunction, tmp)
        ts.setIJacobian(ijacobian, jac, jac)
        ts.setTime(t0)
        ts.setTimeStep(self.dt)
        ts.setMaxSteps(10**9)
        ts.setExactFinalTime(PETSc.TS.ExactFinalTime.MATCHSTEP)
        ts.setMonitor(monitor)
        if self.levels:
            ts.setPostStep(poststep)
        ts.setOptionsPrefix(self.prefix)
        u = rho.x.petsc_vec.copy()
        # the TS's inner KSP reads some options (mat_mumps_*, mg_levels_*) when set up inside ts.solve
        try:
            with options_prefix(self.prefix, merged(TS_DEFAULTS, self.options)):
                ts.setFromOptions()
                for t_out in times:
                    ts.setMaxTime(t_out)
                    ts.setTimeStep(regular[0])  # not the short step that matched the last output time
                    ts.solve(u)
                    reason = ts.getConvergedReason()
                    if reason < 0:
                        raise SolverDivergedError(
                            f"PETSc TS diverged at t = {ts.getTime():.6g} (reason {reason})"
                        )
                    if abs(ts.getTime() - t_out) > 1e-10 * max(1.0, abs(t_out)):
                        raise SolverDivergedError(
                            f"PETSc TS stopped at t = {ts.getTime():.6g} before the output time {t_out:g} "
                            f"(reason {reason}, {ts.getStepNumber()} steps; see -{self.prefix}ts_max_steps)"
                        )
                    u.copy(rho.x.petsc_vec)
                    rho.x.scatter_forward()
                    yield t_out
            self.factorisations = len(shifts)
        finally:
            ts.destroy()
            for obj in (mass, op, jac, tmp, u):
                obj.destroy()

    # -- bookkeeping ---------------------------------------------------------------------------

    def _apply_bc(self, rho: dolfinx.fem.Function) -> None:
        u = rho.x.petsc_vec
        u.array[self.disc.bc_rows - u.getOwnershipRange()[0]] = 0.0
        rho.x.scatter_forward()

    def _record(self, rho: dolfinx.fem.Function, t: float, dt: float) -> None:
        disc = self.disc
        rec = StepRecord(t, dt, disc.mass(rho), disc.minimum(rho), disc.maximum(rho))
        self.history.append(rec)
        if self.on_step is not None:
            self.on_step(rec)
        get_logger().debug(f"t = {t:.6g}  dt = {dt:.3g}  mass = {rec.mass:.15g}  min = {rec.min:.3e}")

    def destroy(self) -> None:
        """Free the factorisations."""
        for ksp in self._ksp.values():
            ksp.getOperators()[0].destroy()
            ksp.destroy()
        self._ksp.clear()
