"""``[[claims]]``: the scientific statements a case exists for, each decided by one summary check.

A claim is a table of three strings: ``statement`` (what the case shows), ``source`` (the section of
docs/theory.md and the paper or equation it comes from) and ``check``, the exact name of the check in
``summary.json``'s ``checks`` that decides it (for a ``[sweep]``: a run's check with its ``[name=value]``
prefix, or a fit's check). After the run, :func:`resolve_claims` copies that check's value, reference,
tolerance and verdict into the claim; the runner writes the list as ``claims`` in ``summary.json``.
A claim whose check the run does not have is an error, never skipped. A claim adds no check of its own:
its check is one of the run's, so a failed claim is a failed check and ``fpsolve run`` exits with 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fpsolve.errors import CaseError
from fpsolve.log import report
from fpsolve.tables import check_keys, string

__all__ = ["CLAIM_KEYS", "Claim", "log_claims", "parse_claims", "resolve_claims"]

#: The keys of one ``[[claims]]`` table, all required.
FIELDS = ("statement", "source", "check")
CLAIM_KEYS = frozenset(FIELDS)
MAX_CLAIMS = 50


@dataclass(frozen=True)
class Claim:
    """One ``[[claims]]`` entry: a statement, where it comes from, and the name of the check deciding it."""

    statement: str
    source: str
    check: str


def parse_claims(value: Any) -> tuple[Claim, ...]:
    """The ``[[claims]]`` array: each table holds exactly ``statement``, ``source`` and ``check`` (strings).

    Raises :class:`~fpsolve.errors.CaseError` naming an unknown or missing key, a value that is not a
    non-empty string, or an array that is not one of tables.
    """
    if not isinstance(value, list) or not value or not all(isinstance(c, dict) for c in value):
        raise CaseError("[[claims]] must be a non-empty array of tables (statement, source, check)")
    if len(value) > MAX_CLAIMS:
        raise CaseError(f"{len(value)} claims: at most {MAX_CLAIMS} per case")
    claims = []
    for k, entry in enumerate(value):
        where = f"[[claims]] {k}"
        check_keys(entry, CLAIM_KEYS, where)
        missing = sorted(CLAIM_KEYS - set(entry))
        if missing:
            raise CaseError(f"{where}: missing key '{missing[0]}' (statement, source and check are required)")
        claims.append(Claim(*(string(entry[key], f"claims[{k}].{key}") for key in FIELDS)))
    return tuple(claims)


def resolve_claims(claims: Sequence[Claim], checks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each claim with the value, reference, tolerance and verdict of the one check named ``claim.check``.

    Rule: the check is found by its exact name among ``checks`` (the summary's ``{name, value,
    reference, tolerance, passed}`` records); none or more than one with that name raises
    :class:`~fpsolve.errors.CaseError`, which names the claim and suggests the closest check names.
    """
    out = []
    names = [c["name"] for c in checks]
    for k, claim in enumerate(claims):
        found = [c for c in checks if c["name"] == claim.check]
        if len(found) != 1:
            if found:
                why = f"{len(found)} checks of this run have that name"
            else:
                close = difflib.get_close_matches(claim.check, names, n=3, cutoff=0.5)
                hint = "; closest: " + " | ".join(repr(n) for n in close) if close else ""
                why = f"this run has no such check ({len(names)} checks{hint})"
            raise CaseError(f"claims[{k}] ({claim.statement!r}) names the check {claim.check!r}: {why}")
        (c,) = found
        out.append(
            {
                "statement": claim.statement,
                "source": claim.source,
                "check": claim.check,
                "value": c["value"],
                "reference": c["reference"],
                "tolerance": c["tolerance"],
                "passed": c["passed"],
            }
        )
    return out


def log_claims(records: Sequence[dict[str, Any]]) -> None:
    """One line per resolved claim: verdict, statement, FE value against the reference (rank 0)."""
    for r in records:
        mark = "ok  " if r["passed"] else "FAIL"
        report(
            f"  claim [{mark}] {r['statement']}: {r['value']:.6g} vs {r['reference']:.6g} "
            f"(tolerance {r['tolerance']:.2g}; {r['source']})"
        )
