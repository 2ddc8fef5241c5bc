"""A barrier that cannot hang: how ranks meet where an error may have struck only some of them."""

from __future__ import annotations

import os
import time

from mpi4py import MPI

__all__ = ["MPI_ERROR_WAIT", "barrier_within"]

#: Seconds a rank waits for the others at an error-path barrier (``FPSOLVE_MPI_ERROR_WAIT``, default 20).
MPI_ERROR_WAIT = float(os.environ.get("FPSOLVE_MPI_ERROR_WAIT", "20"))


def barrier_within(comm: MPI.Comm, seconds: float = MPI_ERROR_WAIT) -> bool:
    """Wait up to ``seconds`` for every rank of ``comm`` to arrive; True if they all did.

    A non-blocking barrier polled against a deadline: where only some ranks failed, the others are
    busy in another collective and a blocking ``Barrier`` would wait for ever. On False the caller
    must not enter further collectives with the missing ranks (the CLI then ends them all).
    """
    if comm.size == 1:
        return True
    request = comm.Ibarrier()
    deadline = time.monotonic() + seconds
    while not request.Test():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
