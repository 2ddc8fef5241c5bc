"""Relaxation figure: the FE gap, the time-stepped rate and the exact gap are named apart and visible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fpsolve.output.relaxation_figures import relaxation_figure


def _record() -> dict[str, Any]:
    t = np.linspace(0.0, 8.0, 41)
    gap, dt = 0.9871, 0.02
    rate = np.log(1 + dt * gap) / dt
    record: dict[str, Any] = {"t": t, "gap": gap, "step_rate": rate, "gap_exact": 1.0, "dt": dt}
    record |= {"scheme": "eafe", "method": "beuler", "rates": {}}
    for key, p in (("relative_entropy", 2), ("l1_distance", 1), ("chi_squared", 2)):
        record[key] = np.exp(-p * rate * t)
        fit = {"points": 21, "window": [4.0, 8.0], "intercept": 0.0, "rate": p * rate, "ratio": 1.0}
        record["rates"][key] = fit | {"power": p, "predicted": p * rate}
    record["relative_entropy_exact"] = np.exp(-2 * t)
    return record


def test_the_three_rates_are_named_apart_and_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def keep(fig: Any, target: Path) -> Path:
        seen["fig"] = fig
        return target

    monkeypatch.setattr("fpsolve.output.relaxation_figures.save", keep)
    relaxation_figure(Path("relaxation.png"), _record(), "toy")
    left, right = seen["fig"].axes[:2]
    names = [text.get_text() for text in right.get_legend().get_texts()]
    assert [n.split(" = ")[0] for n in names[3:]] == ["λ₁ʰ", "r", "γ"]  # one symbol per rate
    assert all("λ₁" not in n for n in (text.get_text() for text in left.get_legend().get_texts()))
    lo, hi = right.get_ylim()
    assert lo < 0.977 and hi > 1.0 and hi - lo < 0.5  # the 0.023 between them is visible
    assert "backward Euler" in seen["fig"].get_suptitle()
