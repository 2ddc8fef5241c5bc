"""Figure of a mesh ``[sweep]`` (rank 0, matplotlib): check errors against the mesh size, log-log."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from itertools import cycle
from pathlib import Path
from typing import Any

import numpy as np

from fpsolve.output.style import plt_agg, save

__all__ = ["convergence_figure"]


def convergence_figure(target: Path, record: Mapping[str, Any], title: str) -> Path:
    """Error |value − reference| of each check against h, with its observed orders; skipped checks named.

    A dashed O(h²) guide runs at half the lowest curve's finest error (the order of the L² error of P1
    elements), and the y axis says "relative L² error" where every check shown is one.

    ``record`` is the sweep summary's ``convergence`` entry (:mod:`fpsolve.cases.convergence`): ``h``,
    ``h_definition``, ``checks`` (name → ``errors``, ``order_least_squares``, ``order_finest_pair``)
    and ``skipped`` (name → reason).
    """
    plt = plt_agg()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    h = np.asarray(record["h"], float)
    order = np.argsort(h)
    for (name, curve), marker in zip(record["checks"].items(), cycle("osd^v<>p"), strict=False):
        label = (
            f"{name}\norder {curve['order_least_squares']:.2f} (least squares), "
            f"{curve['order_finest_pair']:.2f} (finest pair)"
        )
        ax.loglog(h[order], np.asarray(curve["errors"], float)[order], f"{marker}-", label=label)
    if record["checks"]:
        lowest = min(np.asarray(c["errors"], float)[order][0] for c in record["checks"].values())
        guide = 0.5 * lowest * (h[order] / h[order][0]) ** 2
        ax.loglog(h[order], guide, "k--", lw=0.8, label="O(h²) guide")
        ax.legend(fontsize=8, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no check has an error above round-off", ha="center", transform=ax.transAxes)
        ax.set_xscale("log")
    ax.set_xlabel(f"h = {record['h_definition']}")
    relative = record["checks"] and all("rel. L2 error" in name for name in record["checks"])
    ax.set_ylabel("relative L² error" if relative else "error |value − reference| of each check")
    ax.grid(True, which="both", alpha=0.3)
    if record["skipped"]:
        note = "; ".join(f"{name} ({why})" for name, why in record["skipped"].items())
        ax.annotate(
            textwrap.fill(f"not shown: {note}", 110),
            xy=(0.0, -0.13),
            xycoords="axes fraction",
            va="top",
            fontsize=8,
        )
    ax.set_title(f"{title}: convergence over the mesh")
    return save(fig, target)
