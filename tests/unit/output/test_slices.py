"""Orthogonal slices of a 3-D field: each plane in the right coordinates, with the field's values."""

from __future__ import annotations

import numpy as np
import pytest

from fpsolve.output.slices import draw_planes, planes
from fpsolve.output.style import plt_agg


def _box_grid() -> object:
    """A tetrahedral grid of [−1, 1] × [−2, 2] × [−0.5, 0.5] with f = x + 2y + 3z at its points."""
    import pyvista

    box = pyvista.ImageData(dimensions=(9, 9, 5), spacing=(0.25, 0.5, 0.25), origin=(-1, -2, -0.5))
    grid = box.triangulate()
    x, y, z = np.asarray(grid.points).T
    grid.point_data["f"] = x + 2 * y + 3 * z
    return grid


def test_planes_cut_through_the_centre_in_the_other_two_coordinates() -> None:
    centre = (0.1, -0.3, 0.2)
    cuts = planes(_box_grid(), centre, ["f"])
    assert [c.normal for c in cuts] == [0, 1, 2]
    assert [c.axes for c in cuts] == [(1, 2), (0, 2), (0, 1)]
    for cut in cuts:
        assert cut.at == pytest.approx(centre[cut.normal])
        coords = {cut.axes[0]: cut.tri.x, cut.axes[1]: cut.tri.y, cut.normal: np.full(len(cut.tri.x), cut.at)}
        exact = coords[0] + 2 * coords[1] + 3 * coords[2]  # f is linear: exact on the cut
        assert cut.values["f"] == pytest.approx(exact, abs=1e-5)  # single-precision points
    assert np.ptp(cuts[2].tri.y) == pytest.approx(4.0)  # the z-plane spans y ∈ [−2, 2]


def test_draw_planes_names_the_axes_and_says_when_not_to_scale() -> None:
    cuts = planes(_box_grid(), (0.0, 0.0, 0.0), ["f"])
    plt = plt_agg()
    fig, axes = plt.subplots(1, 3)
    box = (np.array([-1.0, -2.0, -0.5]), np.array([1.0, 2.0, 0.5]))
    scaled = draw_planes(fig, axes, cuts, "f", ["u", "v", "w"], box, True, "f")
    assert [(a.get_xlabel(), a.get_ylabel()) for a in axes] == [("v", "w"), ("u", "w"), ("u", "v")]
    assert [a.get_title() for a in axes] == ["u = 0", "v = 0", "w = 0"]
    assert not scaled  # the (v, w) window is 4 × 1: a strip, drawn stretched
    plt.close(fig)
