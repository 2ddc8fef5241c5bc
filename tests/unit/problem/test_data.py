"""Data sets of SGD models: inline columns, CSV and NPZ files, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mpi4py import MPI

from fpsolve.problem.data import DataError, load_data

CASES = Path(__file__).resolve().parents[3] / "cases"


def test_inline_columns() -> None:
    cols = load_data({"columns": {"a": [1, 2.5], "t": [0, 1]}}, Path("."))
    assert list(cols) == ["a", "t"]
    np.testing.assert_array_equal(cols["a"], [1.0, 2.5])


def test_shipped_csv() -> None:
    cols = load_data({"file": "data/linear_regression_2d.csv"}, CASES)
    assert sorted(cols) == ["a1", "a2", "t"] and len(cols["t"]) == 4
    A = np.stack([cols["a1"], cols["a2"]], axis=1)
    # the case's Hessian H = mean a aᵀ has eigenvalues 0.2 and 2 (8-digit data: 1e-8 round-off)
    np.testing.assert_allclose(np.linalg.eigvalsh(A.T @ A / 4), [0.2, 2.0], atol=1e-7)


def _tmp(name: str) -> Path:
    comm = MPI.COMM_WORLD
    import tempfile

    d = tempfile.mkdtemp() if comm.rank == 0 else None
    return Path(comm.bcast(d, root=0)) / name


def test_npz_file() -> None:
    path = _tmp("d.npz")
    if MPI.COMM_WORLD.rank == 0:
        np.savez(path, x=np.array([1.0, 2.0, 3.0]), y=np.array([0.0, 1.0, 0.0]))
    MPI.COMM_WORLD.Barrier()
    cols = load_data({"file": str(path)}, Path("."))
    np.testing.assert_array_equal(cols["y"], [0.0, 1.0, 0.0])


@pytest.mark.parametrize(
    ("table", "content", "message"),
    [
        ({"file": "nope.csv"}, None, "not found"),
        ({"file": "d.csv"}, "a,t\n1,2\n3\n", "row 3 has 1 values"),
        ({"file": "d.csv"}, "a,t\n1,x\n", "could not convert"),
        ({"file": "d.csv"}, "a,t\n1,2\n", "at least 2 samples"),
        ({"file": "d.txt"}, "a\n1\n2\n", "must be .csv or .npz"),
        ({"columns": {"a": [1, 2], "t": [1, 2, 3]}}, None, "different lengths"),
        ({"columns": {"a": [[1, 2], [3, 4]]}}, None, "must be a list of numbers"),
        ({"columns": {"a": [1, 2]}, "file": "d.csv"}, None, "exactly one of"),
        ({"columns": {"a": [1, 2]}, "extra": 1}, None, "unknown key 'extra'"),
    ],
)
def test_bad_data_is_a_one_line_error(table: dict, content: str | None, message: str) -> None:
    base = _tmp("x").parent
    if content is not None and MPI.COMM_WORLD.rank == 0:
        (base / table["file"]).write_text(content)
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(DataError, match=message) as info:
        load_data(table, base)
    assert "\n" not in str(info.value)


def test_two_dimensional_npz_array_is_rejected() -> None:
    path = _tmp("bad.npz")
    if MPI.COMM_WORLD.rank == 0:
        np.savez(path, x=np.ones((2, 2)))
    MPI.COMM_WORLD.Barrier()
    with pytest.raises(DataError, match="one-dimensional"):
        load_data({"file": str(path)}, Path("."))
