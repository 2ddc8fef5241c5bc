"""The anchored (renewal) form of backward solves: exit times far beyond what a direct LU resolves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fpsolve import testing
from fpsolve.solvers.anchored import PRECISION_TOL, ROUNDOFF, precision_indicator


# 1-D double well L = x⁴/4 − x²/2 (ΔL = 1/4), reflecting at −2, absorbing at the saddle, eafe, 256 cells.
# Measured relative errors of T(−1) against the double integral: 2.0e-4 (ΔL/ε² = 20), 4.1e-4 (40),
# 1.0e-3 (100, T = 1.3e43). The direct solve of the same matrix gave −1.3e-5, −1.00 (T < 0) and no
# answer: round-off of the generator's diagonal (≈ u·max B_ii/m_i ≈ 1e-12 per unit time) swamps the
# escape rate 1/T.
@pytest.mark.parametrize(("ratio", "measured"), [(20, 2.0e-4), (40, 4.1e-4), (100, 1.0e-3)])
def test_double_well_exit_time_far_beyond_double_precision(ratio: float, measured: float) -> None:
    err = testing.double_well_error(0.25 / ratio, 256, "eafe")
    assert abs(err) < 1.5 * measured, err


def test_second_order_at_large_barrier() -> None:
    # ΔL/ε² = 40: 4.07e-4 (256 cells) → 2.54e-5 (1024): order 2.00; the error is the scheme's alone
    coarse, fine = (abs(testing.double_well_error(0.25 / 40, n, "eafe")) for n in (256, 1024))
    assert np.log2(coarse / fine) / 2 > 1.9, (coarse, fine)


def test_precision_indicator_scales_with_the_solution() -> None:
    from petsc4py import PETSc

    x = PETSc.Vec().createSeq(3)
    x.setValues([0, 1, 2], [1.0, -4.0, 2.0])
    assert precision_indicator(x, 10.0) == pytest.approx(ROUNDOFF * 40.0)
    assert PRECISION_TOL < 1e-2


@pytest.fixture(scope="module")
def rotated_meshes(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    from mpi4py import MPI

    folder = MPI.COMM_WORLD.bcast(
        str(tmp_path_factory.mktemp("rotated")) if MPI.COMM_WORLD.rank == 0 else None
    )
    meshes = {h: Path(folder) / f"box_{h}.msh" for h in (0.02, 0.01)}
    for h, path in meshes.items():
        testing.rotated_box(2, h, path)
    return meshes


# Rotated double well (testing.rotated_double_well), ΔL/ε² = 20, Q aligned with a frame at 0.5 rad to
# the axes, unstructured mesh. Measured relative errors of T at the minimum (bench/small_noise.py):
# eigenvalue ratio 4: −1.58e-1 (h = 0.02), −4.26e-2 (0.01), order 1.89; rank 1: −2.74e-1, −7.92e-2,
# order 1.79. Before the anchored form the same eafe matrix stalled in the limiter (ΔL/ε² = 20).
@pytest.mark.parametrize(("q_perp", "measured"), [(0.25, (0.158, 0.0426)), (0.0, (0.274, 0.0792))])
def test_rotated_well_converges_with_anisotropic_and_rank_one_noise(
    rotated_meshes: dict[float, Path], q_perp: float, measured: tuple[float, float]
) -> None:
    from fpsolve.discretisation.mesh import build_mesh
    from fpsolve.discretisation.operators import Discretisation
    from fpsolve.discretisation.points import point_values
    from fpsolve.solvers.exit_time import ExitTimeSolver

    exact = testing.rotated_double_well_exit_time(20)
    errors = []
    for path in rotated_meshes.values():
        p = testing.rotated_double_well(2, 20, q_perp, path)
        disc = Discretisation(p, build_mesh(p.domain), scheme="eafe")
        T = ExitTimeSolver(disc).solve()
        assert disc.minimum(T) >= 0.0
        fe = float(point_values(T, -testing.rotated_frame(2)[:1])[0])
        errors.append(abs(fe / exact - 1))
    assert errors[0] < 1.2 * measured[0] and errors[1] < 1.2 * measured[1], errors
    assert np.log2(errors[0] / errors[1]) > 1.6, errors
