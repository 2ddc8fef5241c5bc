"""Output: a results directory that never clobbers user data, and collective VTK field files.

Fields are written with :class:`dolfinx.io.VTKFile` (``.pvd`` + one ``.pvtu``/``.vtu`` set per time),
readable by ParaView and by ``pyvista.read``; every rank writes its piece, one ``.pvd`` per field
whatever the rank count.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dolfinx
import dolfinx.io
from mpi4py import MPI

from fpsolve.errors import FpsolveError


class OutputError(FpsolveError):
    """The output directory cannot be used (exists and is not empty, not writable, …)."""


def prepare_output_dir(path: str | Path, overwrite: bool, comm: MPI.Comm = MPI.COMM_WORLD) -> Path:
    """Create ``path`` for results; refuse an existing non-empty directory unless ``overwrite``.

    With ``overwrite`` only the files fpsolve writes are replaced: the directory is emptied only if it
    holds an earlier fpsolve ``summary.json`` or ``validation.json`` (it is then a previous result),
    otherwise it is refused.
    Decided on rank 0 and broadcast, so every rank raises the same error.
    """
    out = Path(path)
    error = None
    if comm.rank == 0:
        try:
            if out.exists() and not out.is_dir():
                error = f"output path {out} exists and is not a directory"
            elif out.exists() and any(out.iterdir()):
                if not overwrite:
                    error = f"output directory {out} exists and is not empty (use --overwrite to replace it)"
                elif not any((out / f).is_file() for f in ("summary.json", "validation.json")):
                    error = (
                        f"refusing to overwrite {out}: it does not hold an fpsolve result (no summary.json)"
                    )
                else:
                    shutil.rmtree(out)
            if error is None:
                out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            error = f"cannot create output directory {out}: {exc}"
    error = comm.bcast(error, root=0)
    if error:
        raise OutputError(error)
    return out


class FieldWriter:
    """Collective writer of one finite-element field over time, as ``<dir>/<name>.pvd``."""

    def __init__(self, directory: Path, function: dolfinx.fem.Function, name: str | None = None) -> None:
        self.function = function
        fname = Path(directory) / f"{name or function.name}.pvd"
        self._file = dolfinx.io.VTKFile(function.function_space.mesh.comm, fname, "w")
        self.path = fname

    def write(self, t: float = 0.0) -> None:
        """Append the current values at time ``t``."""
        self._file.write_function(self.function, t)

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def write_fields(directory: Path, functions: Sequence[dolfinx.fem.Function], t: float = 0.0) -> list[Path]:
    """Write each function once to ``<directory>/<function.name>.pvd``; returns the paths."""
    paths = []
    for f in functions:
        w = FieldWriter(directory, f)
        w.write(t)
        w.close()
        paths.append(w.path)
    return paths


def write_json(path: Path, data: dict[str, Any], comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Write ``data`` as indented JSON from rank 0."""
    if comm.rank == 0:
        Path(path).write_text(json.dumps(data, indent=2, default=float) + "\n")
    comm.Barrier()
