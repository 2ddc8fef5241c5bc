"""Test configuration: the same suite runs serially and under ``mpiexec -n 2``.

* ``@pytest.mark.serial`` tests (subprocess launches, file inspection) are skipped in parallel.
* ``tmp_out`` is a directory created on rank 0 and shared by all ranks.
* Destructors of PETSc objects may be collective: collect garbage and synchronise after each test.
"""

from __future__ import annotations

import gc
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpi4py import MPI

import fpsolve  # noqa: F401  (orders dolfinx_solver before mpi4py/petsc4py)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``serial`` tests when running on more than one rank."""
    if MPI.COMM_WORLD.size > 1:
        skip = pytest.mark.skip(reason="serial-only test")
        for item in items:
            if "serial" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _collective_teardown() -> Iterator[None]:
    yield
    gc.collect()
    MPI.COMM_WORLD.Barrier()


@pytest.fixture
def tmp_out() -> Iterator[Path]:
    """A fresh directory shared by all ranks."""
    comm = MPI.COMM_WORLD
    path = tempfile.mkdtemp(prefix="fpsolve-test-") if comm.rank == 0 else None
    path = comm.bcast(path, root=0)
    yield Path(path)
    comm.Barrier()
