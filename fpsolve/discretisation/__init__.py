"""From a symbolic problem to finite elements: meshes, UFL forms, schemes, assembled operators, functionals.

Depends on :mod:`fpsolve.problem` only (and DOLFINx/PETSc).
"""
