"""PETSc options reach the linear solver, including those that PETSc reads only at set-up time.

A factorisation package's options (``mat_mumps_*``) and the multigrid levels' options (``mg_levels_*``)
are read in ``PCSetUp``, after ``setFromOptions``; :func:`fpsolve.solvers.linear.make_ksp` sets the
KSP up while the user's options are in the database. Before that was so, these options were dropped
without a word.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import dolfinx
import dolfinx.fem.petsc
import ufl
from mpi4py import MPI
from petsc4py import PETSc

from fpsolve.solvers.linear import make_ksp, solve


@pytest.fixture
def matrix() -> Iterator[PETSc.Mat]:
    """P1 matrix of ``(∇u, ∇v) + (u, v)`` on a 16 × 16 unit square (nonsingular, SPD)."""
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 16, 16)  # alive while A is used
    V = dolfinx.fem.functionspace(msh, ("Lagrange", 1))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    A = dolfinx.fem.petsc.assemble_matrix(
        dolfinx.fem.form((ufl.inner(ufl.grad(u), ufl.grad(v)) + u * v) * ufl.dx)
    )
    A.assemble()
    yield A
    A.destroy()


def test_mumps_options_reach_the_factorisation(matrix: PETSc.Mat) -> None:
    A = matrix
    ksp = make_ksp(A, "test_linear_mumps_", {"mat_mumps_icntl_7": 5, "mat_mumps_icntl_14": 40}, 2)
    factor = ksp.getPC().getFactorMatrix()
    assert factor.getMumpsIcntl(7) == 5
    assert factor.getMumpsIcntl(14) == 40
    assert not PETSc.Options().hasName("test_linear_mumps_mat_mumps_icntl_7")  # removed after use
    ksp.destroy()


def test_multigrid_level_options_reach_the_smoothers(matrix: PETSc.Mat) -> None:
    A = matrix
    options = {
        "ksp_type": "fgmres",
        "ksp_rtol": 1e-10,
        "pc_type": "gamg",
        "mg_levels_ksp_type": "gmres",
        "mg_levels_pc_type": "jacobi",
    }
    ksp = make_ksp(A, "test_linear_gamg_", options, 2)
    pc = ksp.getPC()
    levels = pc.getMGLevels()
    assert levels >= 2
    for level in range(1, levels):
        smoother = pc.getMGSmoother(level)
        assert smoother.getType() == "gmres"
        assert smoother.getPC().getType() == "jacobi"
    b = A.createVecLeft()
    b.set(1.0)
    x = A.createVecRight()
    solve(ksp, b, x, "test solve")
    r = b.duplicate()
    A.mult(x, r)
    r.axpy(-1.0, b)
    assert r.norm() < 1e-9 * b.norm()
    assert np.isfinite(x.norm())
    ksp.destroy()


def test_default_ordering_is_amf_in_two_dimensions_only(matrix: PETSc.Mat) -> None:
    A = matrix
    orderings = {}
    for dim in (2, 3):
        ksp = make_ksp(A, f"test_linear_order{dim}_", None, dim)
        orderings[dim] = ksp.getPC().getFactorMatrix().getMumpsIcntl(7)
        ksp.destroy()
    assert orderings == {2: 2, 3: 7}  # 7: MUMPS chooses
