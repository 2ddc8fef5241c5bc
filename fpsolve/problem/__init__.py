"""The mathematical problem, in sympy and numpy only: loss, noise covariance, domain, closed forms.

Nothing here knows about meshes or PETSc; :mod:`fpsolve.discretisation` turns a
:class:`~fpsolve.problem.fokker_planck.FokkerPlanckProblem` into matrices.
"""
