"""Command line: ``fpsolve demo``; PETSc options (``-fpsolve_stationary_ksp_monitor`` …) pass through.

Arguments fpsolve does not know and that start with ``-`` are handed to ``petsc4py.init`` before
PETSc is imported, so they take precedence over every default and case-file option. User errors
(:class:`~fpsolve.errors.FpsolveError`) print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import fpsolve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fpsolve",
        description="Finite-element Fokker–Planck solvers for SGD. Extra -options go to PETSc.",
    )
    parser.add_argument("--version", action="version", version=f"fpsolve {fpsolve.__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve the 2-D anisotropic OU demo problem and check it")
    demo.add_argument("-o", "--output", type=Path, default=Path("out/demo"), help="output directory")
    demo.add_argument("--overwrite", action="store_true", help="replace an earlier fpsolve result there")
    demo.add_argument("--cells", type=int, default=64, help="cells per side (default 64)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fpsolve`` console script."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args, extra = parser.parse_known_args(args_in)
    stray = [a for a in extra if not a.startswith("-")]
    petsc_args = [a for a in extra if a not in stray]
    if stray and not petsc_args:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")

    import petsc4py

    petsc4py.init([sys.argv[0], *extra])

    from mpi4py import MPI

    from fpsolve.errors import FpsolveError
    from fpsolve.log import configure

    configure(logging.WARNING if args.quiet else logging.INFO)
    try:
        if args.command == "demo":
            from fpsolve import demo

            summary = demo.run(args.output, args.overwrite, args.cells)
            return 0 if all(c["passed"] for c in summary["checks"]) else 1
    except FpsolveError as exc:
        if MPI.COMM_WORLD.rank == 0:
            print(f"fpsolve: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
