"""Training data of an SGD model: named columns of N samples, inline or from a CSV/NPZ file.

The ``[data]`` table of a case holds either ``columns`` (a table ``name = [v_1, …, v_N]``) or
``file`` (a ``.csv`` with a header row of column names, or an ``.npz`` of 1-D arrays), resolved
relative to the case file's folder (cases keep their files under ``cases/data/``). Every column must
be a finite 1-D array of the same length N ≥ 2. Errors name the file, the column and the problem.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fpsolve.errors import ProblemError
from fpsolve.tables import check_keys

Columns = dict[str, npt.NDArray[np.float64]]
KEYS = {"columns", "file"}


class DataError(ProblemError):
    """The data set is missing, unreadable or ill-shaped."""


def load_data(table: Mapping[str, Any], base: Path) -> Columns:
    """Columns of the ``[data]`` table; ``base`` is the folder relative file names start from.

    >>> load_data({"columns": {"a": [1, 2], "t": [0.5, 1.0]}}, Path("."))["t"].tolist()
    [0.5, 1.0]
    """
    check_keys(table, KEYS, "[data]", DataError)
    if ("columns" in table) == ("file" in table):
        raise DataError("[data] needs exactly one of 'columns' (inline arrays) or 'file' (CSV/NPZ)")
    if "columns" in table:
        raw = table["columns"]
        if not isinstance(raw, dict) or not raw:
            raise DataError("data.columns must be a table of name = [numbers]")
        return _checked({k: _column(v, f"data.columns.{k}") for k, v in raw.items()}, "data.columns")
    name = table["file"]
    if not isinstance(name, str) or not name:
        raise DataError("data.file must be a file name")
    path = Path(name) if Path(name).is_absolute() else base / name
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    if path.suffix == ".csv":
        return _checked(_read_csv(path), str(path))
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                cols = {k: _column(npz[k], f"{path}:{k}") for k in npz.files}
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read {path}: {exc}") from None
        return _checked(cols, str(path))
    raise DataError(f"data file {path} must be .csv or .npz")


def _read_csv(path: Path) -> Columns:
    try:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r and not r[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if len(rows) < 2:
        raise DataError(f"{path}: need a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    for k, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise DataError(f"{path}: row {k} has {len(r)} values, the header has {len(header)}")
    try:
        values = np.array([[float(v) for v in r] for r in rows[1:]])
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
    return {h: _column(values[:, j], f"{path}:{h}") for j, h in enumerate(header)}


def _column(value: Any, where: str) -> npt.NDArray[np.float64]:
    if isinstance(value, list) and not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise DataError(f"{where} must be a list of numbers")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{where} must be a list of numbers") from None
    if arr.ndim != 1:
        raise DataError(f"{where} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{where} has non-finite values")
    return arr


def _checked(cols: Columns, where: str) -> Columns:
    for name in cols:
        if not name.isidentifier():
            raise DataError(f"{where}: column name {name!r} is not an identifier")
    sizes = {k: len(v) for k, v in cols.items()}
    if len(set(sizes.values())) != 1:
        raise DataError(f"{where}: columns have different lengths {sizes}")
    n = next(iter(sizes.values()))
    if n < 2 or not math.isfinite(n):
        raise DataError(f"{where}: need at least 2 samples, got {n}")
    return cols
