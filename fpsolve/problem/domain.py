"""Domain descriptions (pure data, no DOLFINx): built-in shapes and gmsh mesh files.

Each shape names its boundary parts so that boundary conditions can refer to them:

=============  ==========================================================
shape          boundary parts
=============  ==========================================================
Interval       ``xmin``, ``xmax``
Rectangle      ``xmin``, ``xmax``, ``ymin``, ``ymax``
Box            ``xmin``, ``xmax``, ``ymin``, ``ymax``, ``zmin``, ``zmax``
Disk, Ball     ``boundary``
MeshFile       the names of the file's physical groups of dimension d−1
=============  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpsolve.errors import MeshError

AXIS_PARTS = (("xmin", "xmax"), ("ymin", "ymax"), ("zmin", "zmax"))


#: Smallest width of a box side, relative to max(1, |lo|): thinner boxes leave no floating-point room.
MIN_WIDTH = 1e-9


@dataclass(frozen=True)
class Cuboid:
    """Axis-aligned interval (d = 1), rectangle (d = 2) or box (d = 3) ``[lo, hi]`` with ``cells`` per axis.

    Simplex cells (intervals, triangles, tetrahedra). In 2-D ``diagonal`` picks how squares are split
    ("right", "left", "crossed", … as in DOLFINx); "right" gives a Delaunay mesh.
    """

    lo: tuple[float, ...]
    hi: tuple[float, ...]
    cells: tuple[int, ...]
    diagonal: str = "right"

    def __post_init__(self) -> None:
        d = len(self.lo)
        if not (1 <= d <= 3 and len(self.hi) == d and len(self.cells) == d):
            msg = f"a box needs lo, hi and cells of one length 1–3, got {self.lo}, {self.hi}, {self.cells}"
            raise MeshError(msg)
        widths = [h - lo for lo, h in zip(self.lo, self.hi, strict=True)]
        if not all(w > MIN_WIDTH * max(1.0, abs(lo)) for w, lo in zip(widths, self.lo, strict=True)):
            msg = (
                f"box bounds must satisfy lo < hi with a width above {MIN_WIDTH:g} (relative to |lo|) "
                f"on every axis, got lo={self.lo} hi={self.hi}"
            )
            raise MeshError(msg)
        if any(int(n) < 1 for n in self.cells):
            msg = f"cells must be positive integers, got {self.cells}"
            raise MeshError(msg)

    @property
    def dim(self) -> int:
        """Spatial dimension."""
        return len(self.lo)

    def bounding_box(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(lower corner, upper corner)."""
        return self.lo, self.hi

    @property
    def parts(self) -> tuple[str, ...]:
        """Boundary part names."""
        return tuple(p for axis in AXIS_PARTS[: self.dim] for p in axis)


@dataclass(frozen=True)
class Sphere:
    """Disk (d = 2) or ball (d = 3) of ``radius`` about ``center``, meshed by gmsh with size ``h``."""

    center: tuple[float, ...]
    radius: float
    h: float

    def __post_init__(self) -> None:
        if len(self.center) not in (2, 3):
            msg = f"a disk/ball needs a centre with 2 or 3 coordinates, got {self.center}"
            raise MeshError(msg)
        if not (self.radius > 0 and 0 < self.h < self.radius):
            msg = f"need radius > 0 and 0 < h < radius, got radius={self.radius}, h={self.h}"
            raise MeshError(msg)

    @property
    def dim(self) -> int:
        """Spatial dimension."""
        return len(self.center)

    def bounding_box(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(lower corner, upper corner)."""
        return tuple(c - self.radius for c in self.center), tuple(c + self.radius for c in self.center)

    @property
    def parts(self) -> tuple[str, ...]:
        """Boundary part names."""
        return ("boundary",)


@dataclass(frozen=True)
class MeshFile:
    """A gmsh ``.msh`` file; boundary parts are its named physical groups of dimension d − 1."""

    path: Path
    dim: int

    def __post_init__(self) -> None:
        p = Path(self.path)
        # a generated mesh (meshes/README.md) is built on first use by the make_<stem>.py beside it
        if not p.is_file() and not (p.parent / f"make_{p.stem}.py").is_file():
            msg = f"mesh file not found: {self.path}"
            raise MeshError(msg)

    def bounding_box(self) -> None:
        """Unknown before the mesh is read (checks then run on the mesh itself)."""
        return None


Domain = Cuboid | Sphere | MeshFile
