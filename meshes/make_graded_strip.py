"""Write meshes/graded_strip.msh: the rectangle [u_lo, u_hi] x [-height, height] graded towards y = 0.

A structured mesh: columns of width (u_hi - u_lo)/columns; rows of height h_k = min(h_min * ratio**k,
h_max) away from y = 0 on either side (the last one shortened to end at +-height), each rectangle cut
into two right triangles, along the diagonal from its lower left to its upper right corner above y = 0
("right") or the other one ("left"), and mirrored below, so that the mesh is symmetric under
y -> -y. The line y = 0 is the invariant set of cases/rank_collapse.toml (two identical neurons,
docs/theory.md §5.4): there the noise normal to it vanishes like y^2 and the drift like y, so rows of
height ~ (ratio - 1)|y| keep the local Peclet number of the y-direction O(ratio - 1) at every scale
down to h_min, and a density collapsing onto the line is followed over log10(h_max/h_min) decades,
with cells much wider than they are high (the density varies along the line on the scale of the
columns). The line is inside the domain, not a wall: Monte Carlo paths near it are never tested
against a boundary (fpsolve/sde/walls.py), which a wall at y = 0 would make the most expensive part.
Boundary groups "xmin", "xmax", "ymin", "ymax" (as for a rectangle domain).
Arguments: u_lo, u_hi, height, columns, h_min, h_max, ratio, diagonal, name (positional, in this
order) and ``--out PATH`` (where to write the mesh instead of ``<name>.msh`` next to this script).
The .msh is not committed: fpsolve generates it on first use into its mesh cache by running
``python meshes/make_graded_strip.py --out <cache file>`` with the defaults (see meshes/README.md).
"""

import argparse
from pathlib import Path

import gmsh
import numpy as np


def rows(height: float, h_min: float, h_max: float, ratio: float) -> np.ndarray:
    """Row boundaries 0 = y_0 < y_1 < … < y_n = height above y = 0 (module docstring)."""
    y = [0.0]
    h = h_min
    while y[-1] + h < height:
        y.append(y[-1] + h)
        h = min(h * ratio, h_max)
    if height - y[-1] < 0.5 * h and len(y) > 1:  # merge a sliver into the previous row
        y.pop()
    y.append(height)
    return np.array(y)


def main(
    u_lo: float = 0.0,
    u_hi: float = 3.0,
    height: float = 1.5,
    columns: int = 50,
    h_min: float = 1e-11,
    h_max: float = 0.04,
    ratio: float = 1.2,
    diagonal: str = "right",
    name: str = "graded_strip",
    out: str | Path | None = None,
) -> Path:
    """Mesh the strip; save it to ``out`` (``<name>.msh`` next to this script)."""
    if diagonal not in ("right", "left"):
        raise ValueError(f"diagonal must be 'right' or 'left', got {diagonal!r}")
    target = Path(out) if out is not None else Path(__file__).parent / f"{name}.msh"
    x = np.linspace(u_lo, u_hi, int(columns) + 1)
    upper = rows(height, h_min, h_max, ratio)
    y = np.concatenate([-upper[:0:-1], upper])
    nx, ny = len(x), len(y)
    tag = np.arange(1, nx * ny + 1).reshape(ny, nx)  # node tag of (row j, column i)
    X, Y = np.meshgrid(x, y)
    coords = np.column_stack([X.ravel(), Y.ravel(), np.zeros(X.size)]).ravel()
    a, b, c, d = tag[:-1, :-1], tag[:-1, 1:], tag[1:, 1:], tag[1:, :-1]  # lower left, lower right, …
    rising = np.stack([a, b, c], -1), np.stack([a, c, d], -1)  # cut from lower left to upper right
    falling = np.stack([a, b, d], -1), np.stack([b, c, d], -1)
    above = (y[:-1] >= 0)[:, None, None]
    first, second = (rising, falling) if diagonal == "right" else (falling, rising)
    triangles = np.concatenate(
        [np.where(above, f, g).reshape(-1, 3) for f, g in zip(first, second, strict=True)]
    )
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add(name)
    surface = gmsh.model.addDiscreteEntity(2)
    gmsh.model.mesh.addNodes(2, surface, tag.ravel(), coords)
    gmsh.model.mesh.addElementsByType(surface, 2, [], triangles.ravel())  # 2: a 3-node triangle
    gmsh.model.addPhysicalGroup(2, [surface], 1, name="domain")
    sides = {"xmin": tag[:, 0], "xmax": tag[:, -1], "ymin": tag[0, :], "ymax": tag[-1, :]}
    for k, (side, nodes) in enumerate(sides.items(), start=1):
        curve = gmsh.model.addDiscreteEntity(1)
        gmsh.model.mesh.addElementsByType(curve, 1, [], np.column_stack([nodes[:-1], nodes[1:]]).ravel())
        gmsh.model.addPhysicalGroup(1, [curve], k, name=side)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(target))
    gmsh.finalize()
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "values", nargs="*", help="u_lo u_hi height columns h_min h_max ratio (numbers), then diagonal, name"
    )
    parser.add_argument("--out", type=Path, help="output .msh file (default: <name>.msh next to this script)")
    args = parser.parse_args()
    if len(args.values) > 9:
        parser.error(
            "at most 9 positional arguments: u_lo u_hi height columns h_min h_max ratio diagonal name"
        )
    numbers = [float(a) for a in args.values[:7]]
    if len(numbers) > 3:
        numbers[3] = int(numbers[3])
    main(*numbers, *args.values[7:9], out=args.out)
