"""Output: a results directory that never clobbers user data, and the files of an analysis' result.

Fields go to one XDMF/HDF5 time series per analysis (:mod:`fpsolve.output.fields`: ``<kind>.xdmf``
with every field at every time, written collectively); tables and summaries are CSV/JSON from rank 0.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mpi4py import MPI

import fpsolve
from fpsolve.errors import FpsolveError
from fpsolve.output.fields import write_series
from fpsolve.parallel import barrier_within


class OutputError(FpsolveError):
    """The output directory cannot be used (holds files fpsolve did not write, not writable, …)."""


#: The file that marks a directory as an fpsolve result and lists every file that run wrote.
MANIFEST = ".fpsolve-manifest.json"


def _read_manifest(directory: Path) -> list[str] | None:
    """The files listed by ``directory``'s manifest, or None where there is no valid manifest."""
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return files


def _inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if that stays inside ``root`` (no absolute paths, no ``..``), else None."""
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return root / rel


class ResultDirectory:
    """A results directory that is written atomically and never loses a file fpsolve did not write.

    Everything is written to a hidden staging directory beside ``target``; :meth:`commit` lists the
    files in a manifest (:data:`MANIFEST`) and moves them into ``target``. Rules:

    * ``target`` does not exist, or is an empty directory: the result is moved there.
    * ``target`` holds an earlier fpsolve result (a manifest) and ``overwrite`` is set: exactly the
      files of the old manifest are replaced; anything else there (the user's notes) is kept.
    * Otherwise the run is refused before anything is computed or created (:class:`OutputError`).

    A run that fails leaves ``target`` as it was and removes the staging directory
    (:meth:`discard`). All file-system decisions are taken on rank 0 and broadcast, so every rank
    raises the same error.

    Parameters
    ----------
    target
        The directory the results end up in.
    overwrite
        Replace an earlier fpsolve result in ``target``.
    comm
        The communicator of the run.
    """

    def __init__(self, target: str | Path, overwrite: bool, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
        self.comm = comm
        self.target = Path(target)
        self.overwrite = overwrite
        staging: list[str] = []
        _collective(comm, lambda: (self._check(), staging.append(self._stage())))
        self.path = Path(comm.bcast(staging[0] if staging else None, root=0))

    def _check(self) -> None:
        out = self.target
        if out.exists() and not out.is_dir():
            raise OutputError(f"output path {out} exists and is not a directory")
        if not out.exists() or not any(out.iterdir()):
            return
        if _read_manifest(out) is None:
            raise OutputError(
                f"output directory {out} is not empty and holds no fpsolve result "
                f"(no {MANIFEST}); nothing there is touched: choose another directory with -o"
            )
        if not self.overwrite:
            raise OutputError(
                f"output directory {out} holds an earlier result (use --overwrite to replace it)"
            )

    def _stage(self) -> str:
        parent = self.target.resolve().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            return tempfile.mkdtemp(prefix=f".{self.target.resolve().name}.partial-", dir=parent)
        except OSError as exc:
            raise OutputError(f"cannot create output directory {self.target}: {exc}") from None

    def __enter__(self) -> ResultDirectory:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def files(self) -> list[str]:
        """The files written so far, relative to the staging directory (rank 0)."""
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file())

    def commit(self) -> Path:
        """Write the manifest and move the result into ``target``; returns ``target``."""
        self.comm.Barrier()  # every rank has closed its files
        _collective(self.comm, self._commit)
        return self.target

    def _commit(self) -> None:
        files = self.files()
        manifest = {"fpsolve": fpsolve.__version__, "run_id": uuid.uuid4().hex, "files": files}
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        out = self.target
        try:
            if not out.exists() or (out.is_dir() and not any(out.iterdir())):
                if out.exists():
                    out.rmdir()
                os.replace(self.path, out)
                return
            old = _read_manifest(out)
            if old is None or not self.overwrite:  # changed since the run started
                raise OutputError(f"{out} changed during the run; the results are kept in {self.path}")
            ours = {f for f in old if _inside(out, f) is not None} | {MANIFEST}
            clash = [f for f in files if f not in ours and (out / f).exists()]
            if clash:
                raise OutputError(
                    f"{out / clash[0]} is not a file of the earlier result; "
                    f"the results are kept in {self.path}"
                )
            for f in sorted(ours):
                target = out / f
                if target.is_file() or target.is_symlink():
                    target.unlink()
            for f in [*files, MANIFEST]:
                (out / f).parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.path / f, out / f)
            _remove_empty_dirs(out, {str(Path(f).parent) for f in ours})
            shutil.rmtree(self.path)
        except OSError as exc:
            raise OutputError(f"cannot move the results into {out}: {exc}; they are in {self.path}") from None

    def discard(self) -> None:
        """Remove the staging directory (a failed run); ``target`` is untouched.

        The ranks meet with a bounded wait (:func:`fpsolve.parallel.barrier_within`): an error raised on
        some ranks only must reach the CLI's error handler, which ends every rank, instead of hanging
        here while the others sit in another collective. Then the staging directory may stay behind.
        """
        if barrier_within(self.comm) and self.comm.rank == 0:
            shutil.rmtree(self.path, ignore_errors=True)
        barrier_within(self.comm)  # gone for every rank when this returns (unless some rank is missing)


def _remove_empty_dirs(root: Path, relative: set[str]) -> None:
    """Remove the directories ``root/d`` (d in ``relative``) that are empty now, deepest first."""
    for d in sorted(relative, key=lambda r: -len(Path(r).parts)):
        path = _inside(root, d)
        if path is not None and path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def add_to_manifest(directory: Path, files: Sequence[Path], comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Record ``files`` (written into an existing result, e.g. by ``fpsolve plot``) in its manifest."""
    if comm.rank == 0:
        listed = _read_manifest(directory)
        if listed is not None:
            data = json.loads((directory / MANIFEST).read_text())
            new = {str(Path(f).resolve().relative_to(directory.resolve())) for f in files}
            data["files"] = sorted(set(listed) | new)
            (directory / MANIFEST).write_text(json.dumps(data, indent=1) + "\n")
    comm.Barrier()


def _collective(comm: MPI.Comm, action: Any) -> None:
    """Run ``action`` on rank 0; every rank raises the :class:`OutputError` it raised."""
    error = None
    if comm.rank == 0:
        try:
            action()
        except OutputError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"output directory: {exc}"
    error = comm.bcast(error, root=0)
    if error:
        raise OutputError(error)


def write_json(path: Path, data: dict[str, Any], comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Write ``data`` as indented JSON from rank 0."""
    if comm.rank == 0:
        Path(path).write_text(json.dumps(data, indent=2, default=float) + "\n")
    comm.Barrier()


def write_csv(path: Path, rows: Sequence[dict[str, float]], comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Write ``rows`` (same keys) as CSV with a header, from rank 0."""
    if comm.rank == 0:
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    comm.Barrier()


def write_result(directory: Path, kind: str, result: Any, comm: MPI.Comm = MPI.COMM_WORLD) -> list[str]:
    """Write an analysis result's fields (``<kind>.xdmf`` + ``.h5``) and figure data (``<kind>_figure.npz``).

    ``result`` is an :class:`fpsolve.analyses.base.Result`; returns the name of the field file
    (an empty list where the result has no fields).
    """
    names = []
    if result.fields:
        series = [(s.name, s.frames) for s in result.fields]
        names.append(write_series(Path(directory) / f"{kind}.xdmf", series, comm))
    if result.figure_data and comm.rank == 0:
        np.savez_compressed(Path(directory) / f"{kind}_figure.npz", **result.figure_data)
    comm.Barrier()
    return names
