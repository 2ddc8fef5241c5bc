"""The ``figure`` sub-table of the density analyses: colour scale, loss contours, curves and points.

::

    [[analysis]]
    type = "transient"
    ...
    [analysis.figure]
    colour_scale = "auto"        # or "linear", "log", "asinh" (fpsolve.output.scales)
    loss_contours = true         # contours of the case's loss L under the density
    curves = [{ zero = "u*v - 1", label = "minimum manifold uv = 1" }]
    points = [{ at = [1.0, 1.0], label = "balanced point" }]
    collapse = { at = [0.0, 0.0], radius = 0.02 }   # figures/<kind>_collapse.png

The case schema parses each ``zero`` expression in the case's coordinate names
(:func:`fpsolve.problem.expressions.parse_expression`, never ``eval``) before the analysis sees it.
:meth:`FigureKeys.data` evaluates L and the curves on a :data:`GRID`² grid over the mesh's bounding
box and returns the arrays of ``<kind>_figure.npz`` that :mod:`fpsolve.output.overlays` draws.
``collapse`` asks for ``figures/<kind>_collapse.png``: the mass P(|x − at| ≤ r) against r at every
written time and P(|x − at| ≤ radius) against t (:func:`fpsolve.output.density_figures.collapse_figure`).
All of them are drawn on 2-D densities only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import sympy as sp

from mpi4py import MPI

from fpsolve.discretisation.operators import Discretisation
from fpsolve.errors import CaseError
from fpsolve.output.scales import SCALES
from fpsolve.problem.fokker_planck import FokkerPlanckProblem
from fpsolve.tables import boolean, check_keys, number, string, vector

__all__ = ["GRID", "KEYS", "FigureKeys"]

#: Keys of the ``figure`` sub-table.
KEYS = frozenset({"colour_scale", "loss_contours", "curves", "points", "collapse"})
#: Grid points per side for the loss and the curves.
GRID = 301


@dataclass(frozen=True)
class FigureKeys:
    """What a density figure shows beyond ρ and J (module docstring)."""

    colour_scale: str = "auto"
    loss_contours: bool = False
    curves: tuple[tuple[sp.Expr, str], ...] = ()
    points: tuple[tuple[tuple[float, ...], str], ...] = ()
    collapse: tuple[tuple[float, ...], float] | None = None

    @classmethod
    def parse(cls, table: Any, where: str, problem: FokkerPlanckProblem) -> Self:
        """Validate ``table`` (the analysis' ``figure`` value; absent: the defaults)."""
        if table is None:
            return cls()
        if not isinstance(table, Mapping):
            raise CaseError(f"{where} must be a table")
        check_keys(table, KEYS, where)
        scale = string(table.get("colour_scale", "auto"), f"{where}.colour_scale")
        if scale not in SCALES:
            raise CaseError(f"{where}.colour_scale must be one of {', '.join(SCALES)}, got {scale!r}")
        loss = boolean(table.get("loss_contours", False), f"{where}.loss_contours")
        if loss and problem.loss is None:
            raise CaseError(f"{where}.loss_contours: the case has no loss (it gives a drift)")
        curves = tuple(
            (_expression(c, f"{where}.curves[{i}]"), _label(c, f"{where}.curves[{i}]"))
            for i, c in enumerate(_list(table.get("curves", []), f"{where}.curves"))
        )
        points = tuple(
            (_point(p, f"{where}.points[{i}]", problem.dim), _label(p, f"{where}.points[{i}]"))
            for i, p in enumerate(_list(table.get("points", []), f"{where}.points"))
        )
        collapse = (
            _collapse(table["collapse"], f"{where}.collapse", problem.dim) if "collapse" in table else None
        )
        if (loss or curves or points or collapse) and problem.dim != 2:
            raise CaseError(f"{where}: loss contours, curves, points and collapse are drawn in 2-D only")
        return cls(scale, loss, curves, points, collapse)

    def data(self, disc: Discretisation) -> dict[str, np.ndarray]:
        """The figure-file arrays (collective: the bounding box; the values on rank 0, empty elsewhere)."""
        problem = disc.problem
        out: dict[str, np.ndarray] = {"colour_scale": np.array(self.colour_scale)}
        if self.points:
            out["points"] = np.array([p for p, _ in self.points])
            out["point_labels"] = np.array([label for _, label in self.points])
        if self.collapse is not None:
            out["collapse_at"], out["collapse_radius"] = (
                np.array(self.collapse[0]),
                np.array(self.collapse[1]),
            )
        if not (self.loss_contours or self.curves):
            return out
        xg = disc.msh.geometry.x[:, :2]
        lo, hi = np.empty(2), np.empty(2)
        disc.comm.Allreduce(xg.min(axis=0, initial=np.inf), lo, op=MPI.MIN)
        disc.comm.Allreduce(xg.max(axis=0, initial=-np.inf), hi, op=MPI.MAX)
        if disc.comm.rank != 0:
            return {}
        out["grid_x"], out["grid_y"] = (np.linspace(lo[i], hi[i], GRID) for i in range(2))
        gx, gy = np.meshgrid(out["grid_x"], out["grid_y"])
        pts = np.column_stack([gx.ravel(), gy.ravel()])
        if self.loss_contours:
            out["loss"] = problem.numpy("loss")(pts.T).reshape(gx.shape)
        if self.curves:
            values = [np.broadcast_to(problem.numpy_function(e)(pts), len(pts)) for e, _ in self.curves]
            out["curves"] = np.array(values).reshape(len(self.curves), *gx.shape)
            out["curve_labels"] = np.array([label for _, label in self.curves])
        return out


def _list(value: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise CaseError(f"{where} must be a list of tables")
    return value


def _expression(item: Mapping[str, Any], where: str) -> sp.Expr:
    check_keys(item, {"zero", "label"}, where)
    value = item.get("zero")
    if not isinstance(value, sp.Expr):
        raise CaseError(f"{where}.zero must be an expression of the coordinates")
    return value


def _point(item: Mapping[str, Any], where: str, dim: int) -> tuple[float, ...]:
    check_keys(item, {"at", "label"}, where)
    return vector(item.get("at"), f"{where}.at", dim)


def _collapse(item: Any, where: str, dim: int) -> tuple[tuple[float, ...], float]:
    if not isinstance(item, Mapping):
        raise CaseError(f"{where} must be a table {{ at = [...], radius = r }}")
    check_keys(item, {"at", "radius"}, where)
    return vector(item.get("at"), f"{where}.at", dim), number(item.get("radius"), f"{where}.radius", True)


def _label(item: Mapping[str, Any], where: str) -> str:
    return string(item.get("label"), f"{where}.label")
