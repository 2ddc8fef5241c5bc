"""Shared matplotlib set-up of the figure modules: the Agg back end and saving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plt_agg", "save"]


def plt_agg() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg back end (off-screen, any rank count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, target: Path) -> Path:
    """Lay out, save (110 dpi) and close ``fig``; returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt_agg().close(fig)
    return target
