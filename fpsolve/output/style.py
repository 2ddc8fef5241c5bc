"""Shared matplotlib set-up of the figure modules: the Agg back end, and saving in the chosen formats.

The formats (``fpsolve run/validate/plot --format png,pdf,svg``) are set once per command with
:func:`figure_formats`; :func:`save` writes every figure in each of them, and :func:`written` lists
the files a list of figures became.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "FORMATS",
    "TO_SCALE",
    "figure_formats",
    "parse_formats",
    "plain_log_ticks",
    "plt_agg",
    "save",
    "to_scale",
    "written",
]

#: Formats a figure can be saved in (matplotlib's vector and raster back ends).
FORMATS = ("png", "pdf", "svg")
_formats: tuple[str, ...] = ("png",)
#: Maps of a domain are drawn with equal axes where its longer side is at most this many times the
#: shorter one; a longer strip is drawn to fill the panel, with "axes not to scale" on the figure.
TO_SCALE = 3.0


def parse_formats(text: str) -> tuple[str, ...]:
    """``"png,pdf"`` → ``("png", "pdf")``; ValueError naming an unknown format."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(
            f"unknown figure format {', '.join(unknown) or repr(text)} (choose from {', '.join(FORMATS)})"
        )
    return formats


@contextmanager
def figure_formats(formats: Sequence[str]) -> Iterator[None]:
    """Save figures in ``formats`` (the first is the one figure lists name) inside this block."""
    global _formats
    before, _formats = _formats, tuple(formats)
    try:
        yield
    finally:
        _formats = before


def plt_agg() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg back end (off-screen, any rank count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, target: Path) -> Path:
    """Lay out, save (110 dpi for raster formats) in every chosen format and close ``fig``.

    ``target``'s suffix is replaced by each format's; returns the path in the first format.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if not fig.get_constrained_layout():
        fig.tight_layout()
    paths = [target.with_suffix(f".{fmt}") for fmt in _formats]
    for path in paths:
        fig.savefig(path, dpi=110)
    plt_agg().close(fig)
    return paths[0]


def written(figures: Sequence[Path]) -> list[Path]:
    """Every file the figures ``figures`` (as :func:`save` returned them) were saved as."""
    files = (q for p in figures for q in (p, *(p.with_suffix(f".{fmt}") for fmt in _formats)))
    return [p for p in dict.fromkeys(files) if p.is_file()]


def to_scale(width: float, height: float) -> bool:
    """Whether a ``width`` × ``height`` domain is drawn with equal axes (sides within :data:`TO_SCALE`)."""
    return max(width, height) <= TO_SCALE * min(width, height)


def plain_log_ticks(ax: Any, which: str = "y") -> None:
    """Label the log ``which`` axis of ``ax`` with plain numbers (0.02, 0.05, 0.1, …), not 2×10⁻².

    Decades always; 2 and 5 times a decade too where the axis spans less than two decades (it would
    otherwise have one label or none). Call after plotting: it reads the axis' limits.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    axis = ax.yaxis if which == "y" else ax.xaxis
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(plain)
    if 0 < lo < hi < 100 * lo:
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(plain)
    else:
        axis.set_minor_formatter(NullFormatter())
