"""Write meshes/graded_interval.msh: the interval [0, length] graded geometrically towards 0.

Cell k (from 0) has the length h_k = min(h_min * ratio**k, h_max), the last one shortened to end at
``length``. Near a point where the noise vanishes like x^2 and the drift like x (the quartic well of
cases/chen_quartic_well.toml, docs/theory.md §5.1) the local Peclet number h|beta|/K ~ h/x is then
O(ratio - 1) at every scale down to h_min, and a density that collapses onto 0 (or is singular there,
like x^(2 mu/zeta^2 - 2)) is followed over log10(h_max/h_min) decades by about
log(h_max/h_min)/log(ratio) cells. Boundary groups "xmin" (x = 0) and "xmax" (as for an interval domain).
Arguments: length, h_min, h_max, ratio, name (positional, in this order) and ``--out PATH`` (where to
write the mesh instead of ``<name>.msh`` next to this script).
The .msh is not committed: fpsolve generates it on first use into its mesh cache by running
``python meshes/make_graded_interval.py --out <cache file>`` with the defaults (see meshes/README.md).
"""

import argparse
from pathlib import Path

import gmsh
import numpy as np


def nodes(length: float, h_min: float, h_max: float, ratio: float) -> np.ndarray:
    """Node coordinates 0 = x_0 < x_1 < … < x_n = length with the cell lengths of the module docstring."""
    x = [0.0]
    h = h_min
    while x[-1] + h < length:
        x.append(x[-1] + h)
        h = min(h * ratio, h_max)
    if length - x[-1] < 0.5 * h and len(x) > 1:  # merge a sliver into the previous cell
        x.pop()
    x.append(length)
    return np.array(x)


def main(
    length: float = 8.0,
    h_min: float = 1e-40,
    h_max: float = 0.02,
    ratio: float = 1.05,
    name: str = "graded_interval",
    out: str | Path | None = None,
) -> Path:
    """Mesh the interval; save it to ``out`` (``<name>.msh`` next to this script)."""
    target = Path(out) if out is not None else Path(__file__).parent / f"{name}.msh"
    x = nodes(length, h_min, h_max, ratio)
    n = len(x)
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add(name)
    left, right = gmsh.model.addDiscreteEntity(0), gmsh.model.addDiscreteEntity(0)
    line = gmsh.model.addDiscreteEntity(1, -1, [left, right])
    tags = np.arange(1, n + 1)
    coords = np.column_stack([x, np.zeros(n), np.zeros(n)]).ravel()
    gmsh.model.mesh.addNodes(1, line, tags[1:-1], coords[3:-3])
    gmsh.model.mesh.addNodes(0, left, [tags[0]], coords[:3])
    gmsh.model.mesh.addNodes(0, right, [tags[-1]], coords[-3:])
    gmsh.model.mesh.addElementsByType(left, 15, [1], [tags[0]])  # 15: a point
    gmsh.model.mesh.addElementsByType(right, 15, [2], [tags[-1]])
    segments = np.column_stack([tags[:-1], tags[1:]]).ravel()
    gmsh.model.mesh.addElementsByType(line, 1, np.arange(3, n + 2), segments)  # 1: a 2-node line
    gmsh.model.addPhysicalGroup(1, [line], 1, name="domain")
    gmsh.model.addPhysicalGroup(0, [left], 1, name="xmin")
    gmsh.model.addPhysicalGroup(0, [right], 2, name="xmax")
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(target))
    gmsh.finalize()
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("values", nargs="*", help="length h_min h_max ratio (numbers), then name")
    parser.add_argument("--out", type=Path, help="output .msh file (default: <name>.msh next to this script)")
    args = parser.parse_args()
    if len(args.values) > 5:
        parser.error("at most 5 positional arguments: length h_min h_max ratio name")
    main(*(float(a) for a in args.values[:4]), *args.values[4:5], out=args.out)
