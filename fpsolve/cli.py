"""Command line: ``fpsolve run | validate | info | plot | demo``; PETSc options pass through.

Arguments fpsolve does not know and that start with ``-`` (``-fpsolve_stationary_ksp_monitor``, …)
are handed to ``petsc4py.init`` before PETSc is imported, so they take precedence over every default
and case-file option. User errors (:class:`~fpsolve.errors.FpsolveError`: bad case file, bad
expression, non-PSD Q, missing mesh, diverged solver, occupied output directory) print one line on
stderr and exit with status 2; a run whose checks fail exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import fpsolve

#: The case ``fpsolve demo`` runs (also ``cases/ou_anisotropic_2d.toml``, a link to it).
DEMO_CASE = Path(str(files("fpsolve.cases") / "ou_anisotropic_2d.toml"))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"fpsolve: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fpsolve",
        description="Finite-element Fokker–Planck solvers for SGD. Extra -options go to PETSc.",
    )
    parser.add_argument("--version", action="version", version=f"fpsolve {fpsolve.__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors, no progress bar"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="solve a case file: fields, summary.json, figures")
    run.add_argument("case", type=Path)
    run.add_argument("-o", "--output", type=Path, default=None, help="output directory (default: the case's)")
    run.add_argument("--overwrite", action="store_true", help="replace an earlier fpsolve result there")
    run.add_argument("-q", "--quiet", action="store_true", dest="quiet_run", help="as the global --quiet")
    val = sub.add_parser("validate", help="compare the case's FE answers with Monte Carlo paths")
    val.add_argument("case", type=Path)
    val.add_argument(
        "-o", "--output", type=Path, default=None, help="output directory (default: <case dir>_validation)"
    )
    val.add_argument("--overwrite", action="store_true", help="replace an earlier fpsolve result there")
    info = sub.add_parser("info", help="parsed problem, mesh size, PSD check of Q, cell Péclet numbers")
    info.add_argument("case", type=Path)
    plot = sub.add_parser("plot", help="figures from the outputs in DIR (no re-solve)")
    plot.add_argument("directory", type=Path)
    demo = sub.add_parser("demo", help="run the packaged case ou_anisotropic_2d.toml and check it")
    demo.add_argument("-o", "--output", type=Path, default=Path("out/demo"), help="output directory")
    demo.add_argument("--overwrite", action="store_true", help="replace an earlier fpsolve result there")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fpsolve`` console script."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args, extra = parser.parse_known_args(args_in)
    stray = [a for a in extra if not a.startswith("-")]
    if stray and len(stray) == len(extra):
        parser.error(f"unrecognized arguments: {' '.join(stray)}")

    import petsc4py

    petsc4py.init([sys.argv[0], *extra])

    from mpi4py import MPI

    from fpsolve.errors import FpsolveError
    from fpsolve.log import configure

    quiet = args.quiet or getattr(args, "quiet_run", False)
    configure(logging.WARNING if quiet else logging.INFO)
    comm = MPI.COMM_WORLD
    try:
        return _dispatch(args, quiet, comm)
    except FpsolveError as exc:
        if comm.rank == 0:
            print(f"fpsolve: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, quiet: bool, comm: object) -> int:
    from fpsolve.cases.commands import plot_directory, run_case
    from fpsolve.cases.info import case_info
    from fpsolve.cases.schema import load_case
    from fpsolve.cases.validate import validate_case
    from fpsolve.log import get_logger

    log = get_logger()
    if args.command == "plot":
        for path in plot_directory(args.directory):
            log.info(str(path))
        return 0
    case = load_case(DEMO_CASE if args.command == "demo" else args.case)
    if args.command == "info":
        report = case_info(case)
        for key, value in report.items():
            log.info(f"{key:28s} {json.dumps(value, ensure_ascii=False)}")
        return 0
    if args.command == "validate":
        return 0 if validate_case(case, args.output, args.overwrite)["passed"] else 1
    summary = run_case(case, args.output, args.overwrite, progress=not quiet)
    return 0 if all(c["passed"] for c in summary["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
