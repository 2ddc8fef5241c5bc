"""The claims table of docs/cases.md ("Claims") from the ``summary.json`` files of finished runs.

Run the cases first, then give their result directories (or summary files)::

    for c in exit_time_ball mass_concentration ...; do
        .venv/bin/fpsolve run cases/$c.toml -o /tmp/claims/$c --overwrite --quiet
    done
    .venv/bin/python bench/claims_table.py /tmp/claims/*/

One row per entry of each summary's ``claims`` (written by ``fpsolve run`` from the case's
``[[claims]]``): the statement, its source, the case, the deciding check, the FE value, the reference,
the tolerance and the verdict. Nothing is computed here; the numbers are the runs' own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def rows(summary: dict[str, Any]) -> list[list[str]]:
    """The table rows of one summary: one per claim, the numbers as the run wrote them."""
    return [
        [
            c["statement"],
            c["source"],
            f"`{summary['case']}`",
            f"`{c['check']}`",
            f"{c['value']:.6g}",
            f"{c['reference']:.6g}",
            f"{c['tolerance']:.3g}",
            "yes" if c["passed"] else "**no**",
        ]
        for c in summary.get("claims", [])
    ]


def main() -> None:
    """Print the markdown table for the summaries named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="result directories or summary.json files")
    args = parser.parse_args()
    header = ["claim", "source", "case", "check", "FE value", "reference", "tolerance", "passed"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for path in args.results:
        file = path / "summary.json" if path.is_dir() else path
        for row in rows(json.loads(file.read_text())):
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


if __name__ == "__main__":
    main()
