"""Rank-aware logging: rank 0 logs at INFO, other ranks only at WARNING and above.

Every message fpsolve prints goes through :func:`get_logger`: progress at INFO, results (checks, where
the outputs are, the ``info`` report) at :data:`RESULT` — shown even with ``--quiet`` — on stdout;
warnings and errors on stderr.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from mpi4py import MPI

_CONFIGURED = False
#: Level of results: above INFO (progress), so ``--quiet`` keeps them.
RESULT = 25
logging.addLevelName(RESULT, "RESULT")


def configure(level: int = logging.INFO, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    """Attach one stream handler to the ``fpsolve`` logger, quiet on ranks other than 0.

    Parameters
    ----------
    level
        Level on rank 0; other ranks use ``max(level, WARNING)``.
    comm
        Communicator whose rank decides the level.
    """
    global _CONFIGURED
    logger = logging.getLogger("fpsolve")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    fmt = logging.Formatter("%(message)s" if comm.size == 1 else f"[{comm.rank}/{comm.size}] %(message)s")
    out = logging.StreamHandler(sys.stdout)
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.WARNING)
    for handler in (out, err):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    logger.setLevel(level if comm.rank == 0 else max(level, logging.WARNING))
    logger.propagate = False
    _CONFIGURED = True


def get_logger() -> logging.Logger:
    """Return the package logger, configuring it on first use."""
    if not _CONFIGURED:
        configure()
    return logging.getLogger("fpsolve")


def progress_bar(comm: MPI.Comm, enabled: bool) -> Any:
    """A rich progress bar on rank 0 (None elsewhere or when ``enabled`` is false)."""
    if not enabled or comm.rank != 0:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("t = {task.completed:.4g}"),
        TimeRemainingColumn(),
    )


def report(message: str) -> None:
    """Log a result line (level :data:`RESULT`: shown with ``--quiet`` too)."""
    get_logger().log(RESULT, message)
