r"""fpsolve: finite-element Fokker–Planck solvers for the SDE model of SGD.

.. math::  \partial_t \rho = \nabla\cdot(\varepsilon^2 \nabla\cdot(Q\rho) + \rho\nabla L)

The public API, ``import fpsolve as fp``::

    x, y = fp.coordinates(2)
    problem = fp.Problem(2, Q, eps2, fp.Cuboid((-1, -1), (1, 1), (64, 64)), loss=(x**2 + 2 * y**2) / 2)
    disc = fp.discretise(problem)                       # scheme="afc" by default
    rho = fp.StationarySolver(disc).solve().rho
    J = disc.current(rho)

Names are resolved on first use (PEP 562), so that ``import fpsolve`` stays light and the command
line can hand PETSc options to ``petsc4py.init`` before PETSc is imported.

This is the one place that imports ``dolfinx_solver`` (the PyPI binary wheel of DOLFINx), which must
run before ``dolfinx``/``petsc4py`` are imported. Where DOLFINx comes from conda or the official Docker
image the module does not exist and nothing needs to be done.

The package is layered, imports going one way only (checked by ``lint-imports``, see pyproject.toml):
:mod:`fpsolve.problem` → :mod:`fpsolve.discretisation` → :mod:`fpsolve.solvers` →
:mod:`fpsolve.analyses` → :mod:`fpsolve.cases` → :mod:`fpsolve.cli`; :mod:`fpsolve.sde` needs only
``problem``; :mod:`fpsolve.output` holds no numerics.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

try:  # binary-wheel stack: orders mpi4py ahead of the compiled bindings
    import dolfinx_solver  # noqa: F401
except ModuleNotFoundError:  # conda / Docker: dolfinx is a system install
    pass

try:  # the one version source is pyproject.toml, through the installed metadata
    __version__ = importlib.metadata.version("fpsolve")
except importlib.metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"

#: public name → module that defines it
_EXPORTS = {
    "Problem": "fpsolve.problem.fokker_planck:FokkerPlanckProblem",
    "FokkerPlanckProblem": "fpsolve.problem.fokker_planck",
    "coordinates": "fpsolve.problem.fokker_planck",
    "gaussian_density": "fpsolve.problem.fokker_planck",
    "eps2_from_sgd": "fpsolve.problem.fokker_planck",
    "Cuboid": "fpsolve.problem.domain",
    "Sphere": "fpsolve.problem.domain",
    "MeshFile": "fpsolve.problem.domain",
    "build_mesh": "fpsolve.discretisation.mesh",
    "Discretisation": "fpsolve.discretisation.operators",
    "discretise": "fpsolve.discretisation.operators",
    "SCHEMES": "fpsolve.discretisation.schemes",
    "StationarySolver": "fpsolve.solvers.stationary",
    "TransientSolver": "fpsolve.solvers.transient",
    "ExitTimeSolver": "fpsolve.solvers.exit_time",
    "SourceSolver": "fpsolve.solvers.boundary_value",
    "SpectralSolver": "fpsolve.solvers.spectral",
    "EulerMaruyama": "fpsolve.sde.montecarlo",
    "simulate_moments": "fpsolve.sde.montecarlo",
    "exit_times": "fpsolve.sde.montecarlo",
    "ANALYSES": "fpsolve.analyses",
    "load_case": "fpsolve.cases.schema",
    "parse_case": "fpsolve.cases.schema",
    "run_case": "fpsolve.cases.commands",
    "validate_case": "fpsolve.cases.validate",
    "plot_directory": "fpsolve.cases.commands",
    "FpsolveError": "fpsolve.errors",
    "CaseError": "fpsolve.errors",
    "ProblemError": "fpsolve.errors",
    "MeshError": "fpsolve.errors",
    "SolverDivergedError": "fpsolve.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fpsolve' has no attribute {name!r}")
    module, _, attr = _EXPORTS[name].partition(":")
    value = getattr(_import(module), attr or name)
    globals()[name] = value
    return value


def _import(module: str) -> Any:
    """Import ``module``; a missing DOLFINx/PETSc stack gets an install hint instead of a bare error."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in STACK:
            raise ModuleNotFoundError(f"{exc} — {INSTALL_HINT}", name=exc.name) from exc
        raise


#: The compiled stack fpsolve runs on, and how to get it.
STACK = ("dolfinx", "petsc4py", "slepc4py", "mpi4py", "basix", "ufl", "ffcx")
INSTALL_HINT = (
    "fpsolve needs DOLFINx 0.11 with PETSc/SLEPc: `pip install 'fpsolve[wheel]'` (the PyPI binary stack), "
    "or `conda env create -f environment.yml` (conda-forge), or the image of docker/Dockerfile"
)


def __dir__() -> list[str]:
    return sorted(__all__)
