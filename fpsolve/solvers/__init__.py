"""Solvers: stationary density, transient evolution (FCT and PETSc TS)."""
