"""Rank-aware logging: rank 0 logs at INFO, other ranks only at WARNING and above.

Every message fpsolve prints goes through :func:`get_logger`: progress at INFO, results (checks, where
the outputs are, the ``info`` report) at :data:`RESULT` — shown even with ``--quiet`` — on stdout;
warnings and errors on stderr.
"""

from __future__ import annotations

import logging
import sys
import time
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


#: Seconds between two plain progress lines (when stdout is no terminal).
INTERVAL = 10.0


class Progress:
    """Progress of a run on rank 0: a live bar on a terminal, plain periodic lines otherwise.

    Under ``mpiexec`` or in a log file stdout is no terminal and a live bar would show nothing until
    the end; then one line (what, step, t or count of total, the fields given to :meth:`update`, ETA)
    is written every ``interval`` seconds and at the end.
    """

    def __init__(
        self,
        description: str,
        total: float,
        interval: float | None = None,
        unit: str = "t",
        summary: bool = True,
    ) -> None:
        self.description, self.total, self.unit = description, float(total), unit
        self.interval = INTERVAL if interval is None else interval
        self.summary = summary
        self.lines = 0
        self.start = time.monotonic()
        self.last = self.start
        self.steps = 0
        self.done = 0.0
        self.fields: dict[str, float] = {}
        self._bar: Any = None
        self._task: Any = None
        if sys.stdout.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn(unit + " = {task.completed:.4g}"),
                TimeRemainingColumn(),
            )

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
        elif exc[0] is None and self.steps and (self.summary or self.lines):
            self._line()

    def update(self, done: float, **fields: float) -> None:
        """Record progress ``done`` (of ``total``) and the current diagnostics."""
        self.steps += 1
        self.done, self.fields = float(done), fields
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
        elif time.monotonic() - self.last >= self.interval:
            self._line()

    def _line(self) -> None:
        self.lines += 1
        self.last = now = time.monotonic()
        elapsed = now - self.start
        frac = self.done / self.total if self.total > 0 else 1.0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        extra = "".join(f", {k} {v:.6g}" for k, v in self.fields.items())
        get_logger().info(
            f"{self.description}: step {self.steps}, {self.unit} = {self.done:.6g} of {self.total:.6g} "
            f"({100 * frac:.0f} %){extra}, elapsed {elapsed:.0f} s, ETA {eta:.0f} s"
        )


def progress_bar(
    comm: MPI.Comm, enabled: bool, description: str, total: float, unit: str = "t", summary: bool = True
) -> Any:
    """A :class:`Progress` on rank 0 (None elsewhere, when ``enabled`` is false, or under ``--quiet``).

    ``summary``: write a closing line at the end even if the run was too short for a periodic one.
    """
    if not enabled or comm.rank != 0 or get_logger().getEffectiveLevel() > logging.INFO:
        return None
    return Progress(description, total, unit=unit, summary=summary)


def report(message: str) -> None:
    """Log a result line (level :data:`RESULT`: shown with ``--quiet`` too)."""
    get_logger().log(RESULT, message)
