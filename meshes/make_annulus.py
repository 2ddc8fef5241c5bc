"""Write meshes/annulus.msh: the annulus 0.3 < r < 1 with boundary groups "inner" and "outer".

Run with ``.venv/bin/python meshes/make_annulus.py`` (gmsh from PyPI); the .msh is committed.
"""

from pathlib import Path

import gmsh


def main(h: float = 0.1) -> None:
    """Mesh the annulus with target size ``h`` and save it next to this script."""
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("annulus")
    outer = gmsh.model.occ.addDisk(0, 0, 0, 1.0, 1.0)
    inner = gmsh.model.occ.addDisk(0, 0, 0, 0.3, 0.3)
    (surface,), _ = gmsh.model.occ.cut([(2, outer)], [(2, inner)])
    gmsh.model.occ.synchronize()
    curves = gmsh.model.getBoundary([surface], oriented=False)
    radius = {c[1]: max(abs(v) for v in gmsh.model.getBoundingBox(1, c[1])) for c in curves}
    gmsh.model.addPhysicalGroup(2, [surface[1]], 1, name="domain")
    gmsh.model.addPhysicalGroup(1, [c for c, r in radius.items() if r > 0.5], 1, name="outer")
    gmsh.model.addPhysicalGroup(1, [c for c, r in radius.items() if r <= 0.5], 2, name="inner")
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", h)
    gmsh.model.mesh.generate(2)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(Path(__file__).with_name("annulus.msh")))
    gmsh.finalize()


if __name__ == "__main__":
    main()
