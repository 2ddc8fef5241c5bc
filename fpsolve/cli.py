"""Command line: ``fpsolve run | validate | info | plot | demo``; PETSc options pass through.

PETSc options carry an fpsolve solver prefix (``-fpsolve_stationary_ksp_monitor``, …; or are one of
PETSc's global options such as ``-log_view``) and are handed to ``petsc4py.init`` before PETSc is
imported, so they take precedence over every default and case-file option; any other unknown
argument (``--ovewrite``) is a usage error before anything is solved.

Exit status, with one line on stderr (from rank 0 under MPI): 0 all checks passed; 1 a check failed or
a solve failed (:class:`~fpsolve.errors.SolverDivergedError`); 2 bad input or usage (any other
:class:`~fpsolve.errors.FpsolveError`: bad case file or expression, non-PSD Q, missing mesh, occupied
output directory, …); 3 an internal error (a bug: ``--debug`` shows the traceback); 130 interrupted.
An error on some MPI ranks only ends every rank (``MPI_Abort``) instead of leaving them waiting.
The only function-local imports of the package are here: PETSc must not be imported before
``petsc4py.init`` has the command line's options.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import fpsolve

#: The case ``fpsolve demo`` runs (also ``cases/ou_anisotropic_2d.toml``, a link to it).
DEMO_CASE = Path(str(files("fpsolve.cases") / "ou_anisotropic_2d.toml"))
#: Seconds a rank that ends every rank waits after printing its error: mpiexec's I/O forwarding may
#: drop a line still in flight when ``MPI_Abort`` kills the processes (seen with MPICH's hydra).
ABORT_GRACE = 1.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse's own convention)
        self.exit(2, f"fpsolve: error: {message}\n" if _launcher_rank() == 0 else None)


def _launcher_rank() -> int:
    """MPI rank from the launcher (MPI is not imported yet): one message, not one per rank."""
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fpsolve",
        description="Finite-element Fokker–Planck solvers for SGD. Extra -options go to PETSc.",
    )
    parser.add_argument("--version", action="version", version=f"fpsolve {fpsolve.__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output (results and errors still shown)"
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="solve a case file: fields, summary.json, figures")
    run.add_argument("case", type=Path)
    run.add_argument("-o", "--output", type=Path, default=None, help="output directory (default: the case's)")
    run.add_argument("--overwrite", action="store_true", help="replace an earlier fpsolve result there")
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
    for sub_parser in (run, val, info, plot, demo):
        sub_parser.add_argument(
            "-q", "--quiet", action="store_true", dest="quiet_run", help="as the global --quiet"
        )
    for sub_parser in (run, val, plot, demo):
        sub_parser.add_argument(
            "--format",
            type=_formats,
            default=("png",),
            metavar="FMT[,FMT]",
            help="figure formats, any of png,pdf,svg (default png)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fpsolve`` console script; returns the exit status (see module docstring)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_in  # anywhere on the line, before or after the command
    parser = _parser()
    args, extra = parser.parse_known_args([a for a in args_in if a != "--debug"])
    args.debug = debug
    petsc_args = _petsc_arguments(parser, extra)

    try:
        import petsc4py
    except ModuleNotFoundError as exc:
        print(f"fpsolve: error: {exc.name} is missing — {fpsolve.INSTALL_HINT}", file=sys.stderr)
        return 2
    petsc4py.init([sys.argv[0], *petsc_args])
    from petsc4py import PETSc

    PETSc.Sys.pushErrorHandler("python")  # PETSc errors become exceptions with their message, no trace dump

    from mpi4py import MPI

    from fpsolve.log import RESULT, configure

    quiet = args.quiet or getattr(args, "quiet_run", False)
    configure(RESULT if quiet else logging.INFO)
    comm = MPI.COMM_WORLD
    try:
        return _dispatch(args, quiet, comm)
    except BaseException as exc:  # noqa: BLE001  (every failure becomes one line and an exit status)
        return _failed(comm, exc, args.debug)


#: PETSc's global options that take no solver prefix and may be given on the command line.
PETSC_GLOBAL = (
    "log_view",
    "log_trace",
    "help",
    "info",
    "options_left",
    "options_view",
    "malloc_debug",
    "malloc_dump",
    "on_error_abort",
    "version",
    "mat_view",
    "vec_view",
    "memory_view",
)
#: The options prefixes of fpsolve's PETSc/SLEPc objects (``-<prefix><option>``).
PETSC_PREFIXES = (
    "fpsolve_stationary_",
    "fpsolve_transient_",
    "fpsolve_exit_time_",
    "fpsolve_source_",
    "fpsolve_spectral_",
)


def _petsc_arguments(parser: argparse.ArgumentParser, extra: list[str]) -> list[str]:
    """The arguments for PETSc; anything else is a usage error (exit 2) that names it.

    An option for PETSc is ``-<fpsolve prefix><option> [value]`` or one of :data:`PETSC_GLOBAL`: a
    mistyped fpsolve flag (``--ovewrite``) or an option no fpsolve solver reads (``-ksp_type``) is
    refused before anything is solved, never forwarded to be ignored.
    """
    for k, arg in enumerate(extra):
        if arg.startswith("--"):
            parser.error(f"unknown option {arg} (see fpsolve {{run,validate,info,plot,demo}} --help)")
        if arg.startswith("-") and not _is_number(arg):
            name = arg[1:].split("=", 1)[0]
            if name not in PETSC_GLOBAL and not name.startswith(PETSC_PREFIXES):
                parser.error(
                    f"unknown option {arg}: PETSc options need a solver prefix, "
                    f"-<prefix><option> with <prefix> one of {', '.join(PETSC_PREFIXES)}"
                )
        elif k == 0 or not extra[k - 1].startswith("-") or _is_number(extra[k - 1]):
            parser.error(f"unrecognized argument: {arg}")
    return extra


def _is_number(arg: str) -> bool:
    try:
        float(arg)
    except ValueError:
        return False
    return True


def _failed(comm: Any, exc: BaseException, debug: bool) -> int:
    """One line on stderr and the exit status of ``exc``; under MPI no rank is left waiting.

    Exit status: 2 bad input (:class:`~fpsolve.errors.FpsolveError`), 1 a failed solve
    (:class:`~fpsolve.errors.SolverDivergedError`), 3 an internal error (any other exception; the
    traceback with ``--debug``), 130 an interrupt. Under MPI the failing rank waits up to
    :data:`fpsolve.parallel.MPI_ERROR_WAIT` seconds for every rank to fail the same way (a collective
    error: rank 0 prints); if they do not (an error on some ranks only), it prints and calls
    ``MPI_Abort``.
    """
    from fpsolve.errors import FpsolveError, SolverDivergedError

    if isinstance(exc, SolverDivergedError):
        code, kind = 1, "error"
    elif isinstance(exc, FpsolveError):
        code, kind = 2, "error"
    elif isinstance(exc, KeyboardInterrupt):
        code, kind = 130, "interrupted"
    elif isinstance(exc, TimeoutError) and "JIT" in str(exc):  # FFCx: a killed earlier compile left a lock
        code, kind = 2, "error"
    else:
        code, kind = 3, "internal error"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if code == 3:
        text = f"{type(exc).__name__}: {text} (please report it; --debug shows the traceback)"
    message = f"fpsolve: {kind}: {text}"
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if comm.size == 1:
        print(message, file=sys.stderr, flush=True)
        return code
    from fpsolve.parallel import barrier_within

    if not barrier_within(comm):  # the other ranks are busy elsewhere: end them all
        print(f"{message} [rank {comm.rank}]", file=sys.stderr, flush=True)
        time.sleep(ABORT_GRACE)  # mpiexec forwards the line before MPI_Abort kills the I/O proxies
        comm.Abort(code)
    if comm.rank == 0:
        print(message, file=sys.stderr, flush=True)
    return code


def _dispatch(args: argparse.Namespace, quiet: bool, comm: object) -> int:
    from fpsolve.output.style import figure_formats

    with figure_formats(getattr(args, "format", ("png",))):
        return _command(args, quiet)


def _command(args: argparse.Namespace, quiet: bool) -> int:
    from fpsolve.cases.commands import plot_directory, run_case
    from fpsolve.cases.info import case_info
    from fpsolve.cases.schema import load_case
    from fpsolve.cases.validate import validate_case
    from fpsolve.log import report

    if args.command == "plot":
        for path in plot_directory(args.directory):
            report(str(path))
        return 0
    case = load_case(DEMO_CASE if args.command == "demo" else args.case)
    if args.command == "info":
        for key, value in case_info(case).items():
            report(f"{key:28s} {_shorten(json.dumps(value, ensure_ascii=False))}")
        return 0
    if args.command == "validate":
        return 0 if validate_case(case, args.output, args.overwrite)["passed"] else 1
    summary = run_case(case, args.output, args.overwrite, progress=not quiet)
    return 0 if all(c["passed"] for c in summary["checks"]) else 1


def _formats(text: str) -> tuple[str, ...]:
    from fpsolve.output.style import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis and the full length (long expressions)."""
    return text if len(text) <= limit else f"{text[: limit - 30]} … ({len(text)} characters)"


if __name__ == "__main__":
    sys.exit(main())
