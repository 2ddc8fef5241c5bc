"""PETSc option handling: flatten nested tables, push under a prefix, apply, then tidy up.

Precedence (lowest first): solver defaults < user options (case file / API) < command line.
Command-line options reach PETSc through ``petsc4py.init(argv)`` (see :mod:`fpsolve.cli`); they are
already in the global options database, so user options never overwrite them here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from petsc4py import PETSc

from fpsolve.errors import SolverOptionsError

Options = Mapping[str, Any]


def flatten(options: Options | None, parent: str = "") -> dict[str, Any]:
    """Flatten nested option tables: ``{"ksp": {"type": "gmres"}}`` → ``{"ksp_type": "gmres"}``.

    A value ``True`` or ``None`` stands for a flag option (set without value); ``False`` drops it.

    >>> flatten({"ksp": {"type": "gmres", "monitor": True}, "pc_type": "lu"})
    {'ksp_type': 'gmres', 'ksp_monitor': None, 'pc_type': 'lu'}
    """
    flat: dict[str, Any] = {}
    for key, value in (options or {}).items():
        name = f"{parent}_{key}" if parent else str(key)
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        elif value is True or value is None:
            flat[name] = None
        elif value is False:
            continue
        else:
            flat[name] = value
    return flat


def merged(defaults: Options, user: Options | None) -> dict[str, Any]:
    """Return ``defaults`` updated by the flattened ``user`` options."""
    out = flatten(defaults)
    out.update(flatten(user))
    return out


@contextmanager
def options_prefix(prefix: str, options: Options) -> Iterator[None]:
    """Push ``options`` under ``prefix`` for the duration of the block, then delete them.

    Options that are already in the database (from the command line) win and are left in place.
    """
    if not prefix:
        msg = "PETSc options prefix cannot be empty."
        raise ValueError(msg)
    db = PETSc.Options()
    pushed = []
    for key, value in options.items():
        full = f"{prefix}{key}"
        if db.hasName(full):
            continue
        db.setValue(full, "" if value is None else value)
        pushed.append(full)
    try:
        yield
    finally:
        for full in pushed:
            db.delValue(full)


def configure(obj: Any, prefix: str, options: Options, set_up: bool = False) -> None:
    """Set ``prefix`` on a PETSc object (KSP, TS, EPS, …) and call ``setFromOptions`` with ``options``.

    PETSc reads some options only when the object is set up: a factorisation package's (``mat_mumps_*``)
    and multigrid levels' (``mg_levels_*``, ``pc_gamg_*`` on each level) in ``PCSetUp``. ``set_up=True``
    calls ``setUp`` while the options are still in the database, so that these reach PETSc too; it
    needs the operators to be set. Objects set up later (a TS's inner KSP) must be used inside
    :func:`options_prefix` instead.
    """
    obj.setOptionsPrefix(prefix)
    with options_prefix(prefix, options), petsc_errors(prefix):
        obj.setFromOptions()
        if set_up:
            obj.setUp()


@contextmanager
def petsc_errors(prefix: str) -> Iterator[None]:
    """Turn a :class:`petsc4py.PETSc.Error` raised while options are read into one clear line.

    PETSc reports a bad option value (``ksp_rtol = "abc"``, ``pc_type = "nonexistent"``) as an error
    code with a multi-line trace on stderr: this names the options prefix and PETSc's error code.
    """
    try:
        yield
    except PETSc.Error as exc:
        lines = [ln.split("] ", 1)[-1] for ln in str(exc).strip().splitlines()[1:]]
        detail = lines[-1] if lines else f"PETSc error {exc.ierr}"
        options = {k: v for k, v in PETSc.Options().getAll().items() if k.startswith(prefix)}
        shown = ", ".join(f"-{k} {v}".strip() for k, v in sorted(options.items())) or "none"
        raise SolverOptionsError(
            f"PETSc rejected the options of solver {prefix!r}: {detail} (options: {shown})"
        ) from None
