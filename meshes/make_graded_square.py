"""Write meshes/graded_square.msh: the square [-half, half]^2 graded towards the origin.

Target size h(r) = min(max(grading * r, h_min), h_max), r = |x|: a geometric mesh around the
collapse point w = 0 of cases/stochastic_collapse*.toml, where the drift vanishes like r and the
noise like r^2, so the local Peclet number h|beta|/|K| ~ h/r stays O(grading) at every scale.
With line > 0 the size is further limited to max(grading * d, line * r, h_min) near the diagonals
w1 = +-w2 (d = distance to the nearer one): near w = 0 the noise is rank 1 along P w (P = [[0, 1],
[1, 0]]), so a = (w1 + w2)/sqrt(2) and b = (w1 - w2)/sqrt(2) follow da = a (kappa dt + sigma dW),
db = -b (kappa dt + sigma dW) with the same W, and |a b| = |a0 b0| exp(-sigma^2 t): the density
concentrates on the diagonals, transversally far below the radial scale r.
Boundary groups "xmin", "xmax", "ymin", "ymax" (as for a rectangle domain). Arguments: grading,
h_min, h_max, half, line, name (positional, in this order) and ``--out PATH`` (where to write the
mesh instead of ``<name>.msh`` next to this script).
The .msh is not committed: fpsolve generates it on first use into its mesh cache by running
``python meshes/make_graded_square.py --out <cache file>`` with the defaults (see meshes/README.md).
Run by hand with ``.venv/bin/python meshes/make_graded_square.py`` (gmsh from PyPI).
"""

import argparse
from pathlib import Path

import gmsh


def main(
    grading: float = 0.15,
    h_min: float = 0.0005,
    h_max: float = 0.02,
    half: float = 2.0,
    line: float = 0.02,
    name: str = "graded_square",
    out: str | Path | None = None,
) -> Path:
    """Mesh the square with the size field above; save it to ``out`` (``<name>.msh`` next to this script)."""
    target = Path(out) if out is not None else Path(__file__).parent / f"{name}.msh"
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add(name)
    square = gmsh.model.occ.addRectangle(-half, -half, 0.0, 2 * half, 2 * half)
    centre = gmsh.model.occ.addPoint(0.0, 0.0, 0.0)
    gmsh.model.occ.synchronize()
    gmsh.model.mesh.embed(0, [centre], 2, square)
    gmsh.model.addPhysicalGroup(2, [square], 1, name="domain")
    for k, (side, axis, value) in enumerate(
        [("xmin", 0, -half), ("xmax", 0, half), ("ymin", 1, -half), ("ymax", 1, half)], start=1
    ):
        tags = []
        for _, c in gmsh.model.getBoundary([(2, square)], oriented=False):
            box = gmsh.model.getBoundingBox(1, abs(c))
            if abs(box[axis] - value) < 1e-9 and abs(box[axis + 3] - value) < 1e-9:
                tags.append(abs(c))
        gmsh.model.addPhysicalGroup(1, tags, k, name=side)
    field = gmsh.model.mesh.field.add("MathEval")
    r = "Sqrt(x*x+y*y)"
    size = f"Min(Max({grading}*{r}, {h_min}), {h_max})"
    if line > 0:
        d = "Min(Fabs(x-y), Fabs(x+y))/Sqrt(2)"
        size = f"Min({size}, Max({grading}*{d}, {line}*{r}, {h_min}))"
    gmsh.model.mesh.field.setString(field, "F", size)
    gmsh.model.mesh.field.setAsBackgroundMesh(field)
    for opt in ("Mesh.MeshSizeFromPoints", "Mesh.MeshSizeFromCurvature", "Mesh.MeshSizeExtendFromBoundary"):
        gmsh.option.setNumber(opt, 0)
    gmsh.model.mesh.generate(2)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(target))
    gmsh.finalize()
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("values", nargs="*", help="grading h_min h_max half line (numbers), then name")
    parser.add_argument("--out", type=Path, help="output .msh file (default: <name>.msh next to this script)")
    args = parser.parse_args()
    if len(args.values) > 6:
        parser.error("at most 6 positional arguments: grading h_min h_max half line name")
    main(*(float(a) for a in args.values[:5]), *args.values[5:6], out=args.out)
