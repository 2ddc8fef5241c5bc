r"""Convergence of a ``[sweep]`` over the mesh: the runs' check errors against the mesh size, their orders.

A sweep varies the mesh when it lists ``domain.cells`` or ``domain.h`` (:data:`MESH_KEYS`). Run k then
has the mesh size

.. math:: h_k = (|\Omega_k| / N_k)^{1/d}

(:func:`mesh_size`: :math:`|\Omega|` the measured volume of the mesh, :math:`N` its number of cells,
:math:`d` its dimension; the edge of a cube of the mean cell volume, whatever the cell shape or degree).
Every check of the runs with a tolerance > 0 gives the error :math:`e_k = |v_k - r_k|` (value against
reference; for a check that measures an error against reference 0 this is the value itself), and
:func:`observed_order` fits :math:`e \approx C h^p`. Checks whose error is zero or at round-off
(:data:`ROUND_OFF`) in some run, is not finite, or is missing from a run have no order: they are named
under ``skipped``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MESH_KEYS", "ROUND_OFF", "convergence", "mesh_size", "observed_order", "varies_mesh"]

#: Sweep keys that change the mesh resolution.
MESH_KEYS = ("domain.cells", "domain.h")
#: An error at most ``ROUND_OFF·max(1, |reference|)`` is round-off, not discretisation error: the
#: solvers' fixed-point and linear tolerances are 1e-10 (relative).
ROUND_OFF = 1e-9


def varies_mesh(names: Iterable[str]) -> bool:
    """Whether sweep keys ``names`` change the mesh resolution (one of :data:`MESH_KEYS`)."""
    return any(name in MESH_KEYS for name in names)


def mesh_size(volume: float, cells: int, dim: int) -> float:
    r"""Mesh size :math:`h = (|\Omega| / N)^{1/d}` of ``cells`` cells filling ``volume`` in ``dim`` dims."""
    return float((volume / cells) ** (1.0 / dim))


def observed_order(h: Sequence[float], errors: Sequence[float]) -> tuple[float, float]:
    r"""Observed order :math:`p` of :math:`e \approx C h^p`: over all runs, and at the two finest meshes.

    Returns the least-squares slope of :math:`\log e` against :math:`\log h`, and
    :math:`\log(e_1/e_2) / \log(h_1/h_2)` for the two smallest :math:`h_1 > h_2`. Errors must be
    positive; NaN where fewer than two distinct mesh sizes are given.

    >>> [round(p, 6) for p in observed_order([0.4, 0.2, 0.1], [1.6e-2, 4e-3, 1e-3])]
    [2.0, 2.0]
    """
    x, y = np.log(np.asarray(h, float)), np.log(np.asarray(errors, float))
    order = np.argsort(x)
    x, y = x[order], y[order]
    if np.unique(x).size < 2:
        return float("nan"), float("nan")
    least_squares = np.polyfit(x, y, 1)[0]
    fine = np.flatnonzero(x > x[0])[0]  # the next-smallest distinct h
    return float(least_squares), float((y[fine] - y[0]) / (x[fine] - x[0]))


def _errors(summaries: Sequence[Mapping[str, Any]]) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Per check name (tolerance > 0, in every run): the errors |value − reference|; the others' reasons."""
    names = [c["name"] for c in summaries[0]["checks"] if c["tolerance"] > 0]
    found = [{c["name"]: c for c in s["checks"]} for s in summaries]
    errors: dict[str, list[float]] = {}
    skipped: dict[str, str] = {}
    for name in dict.fromkeys(names):
        if not all(name in checks for checks in found):
            skipped[name] = "not in every run"
            continue
        runs = [checks[name] for checks in found]
        e = [abs(c["value"] - c["reference"]) for c in runs]
        if not all(np.isfinite(e)):
            skipped[name] = "error not finite"
        elif any(ek <= ROUND_OFF * max(1.0, abs(c["reference"])) for ek, c in zip(e, runs, strict=True)):
            skipped[name] = "error zero or at round-off"
        else:
            errors[name] = e
    return errors, skipped


def convergence(h: Sequence[float], summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The convergence record of a mesh sweep: ``h``, per check its errors and orders, and ``skipped``.

    ``h`` and ``summaries`` are the runs' mesh sizes and summaries in run order. None with fewer than
    two distinct mesh sizes.
    """
    if np.unique(np.asarray(h, float)).size < 2:
        return None
    errors, skipped = _errors(summaries)
    checks = {}
    for name, e in errors.items():
        least_squares, finest = observed_order(h, e)
        checks[name] = {"errors": e, "order_least_squares": least_squares, "order_finest_pair": finest}
    return {
        "h": [float(v) for v in h],
        "h_definition": "(mesh volume / cells)^(1/d)",
        "checks": checks,
        "skipped": skipped,
    }
