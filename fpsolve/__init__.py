r"""fpsolve: finite-element Fokker–Planck solvers for the SDE model of SGD.

.. math::  \partial_t \rho = \nabla\cdot(\varepsilon^2 \nabla\cdot(Q\rho) + \rho\nabla L)

This is the one place that imports ``dolfinx_solver`` (the PyPI binary wheel of DOLFINx), which must
run before ``dolfinx``/``petsc4py`` are imported. Where DOLFINx comes from conda or the official Docker
image the module does not exist and nothing needs to be done.

PETSc itself is *not* imported here, so that :mod:`fpsolve.cli` can hand command-line PETSc options to
``petsc4py.init`` before the first ``from petsc4py import PETSc``.
"""

from __future__ import annotations

try:  # binary-wheel stack: orders mpi4py ahead of the compiled bindings
    import dolfinx_solver  # noqa: F401
except ModuleNotFoundError:  # conda / Docker: dolfinx is a system install
    pass

__version__ = "0.1.0"

__all__ = ["__version__"]
