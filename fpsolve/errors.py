"""Exception hierarchy: every error a user can cause is an :class:`FpsolveError`."""

from __future__ import annotations


class FpsolveError(Exception):
    """Base class of all errors fpsolve raises on purpose (bad input, failed solves)."""


class ProblemError(FpsolveError):
    """The mathematical problem is ill-posed: non-PSD Q, negative ε², unknown boundary part."""


class MeshError(FpsolveError):
    """A mesh could not be built or read."""


class SolverDivergedError(FpsolveError):
    """A PETSc/SLEPc solver did not converge; the message carries PETSc's reason."""


class CaseError(FpsolveError):
    """The case file is malformed: unknown key, wrong type or bad expression."""


class SolverOptionsError(FpsolveError):
    """PETSc/SLEPc refused an option (a bad value, an unknown type): bad input, not a failed solve."""
