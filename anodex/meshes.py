"""`anodex mesh`: Gmsh meshes from the .geo sources of meshes/.

Each source is meshed in its own dimension with the gmsh Python module
(Debian's python3-gmsh, installed by `make setup`) and written next to it as
a .msh file (format 4.1), which `[geometry] kind = "mesh"` reads through
meshio.  Only the elements of physical groups are written, so a source
names its boundaries and its regions (meshes/README.md).
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class MeshingError(RuntimeError):
    pass


def sources(names=None) -> list:
    """The .geo files to mesh: the given ones, or all of meshes/."""
    if names:
        return [Path(n) for n in names]
    return sorted((ROOT / "meshes").glob("*.geo"))


def generate(geo: Path, out: Path | None = None) -> Path:
    """Mesh `geo`; returns the .msh written (default: beside it)."""
    try:
        import gmsh
    except ImportError:
        raise MeshingError("the gmsh Python module is not installed (`make setup` installs "
                           "Debian's python3-gmsh)") from None
    geo = Path(geo)
    if geo.suffix != ".geo" or not geo.is_file():
        raise MeshingError(f"{geo}: not a Gmsh .geo file")
    out = Path(out) if out else geo.with_suffix(".msh")
    gmsh.initialize(["gmsh", "-v", "2"])  # (errors and warnings only)
    try:
        gmsh.open(str(geo))
        gmsh.model.mesh.generate(gmsh.model.getDimension())
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.write(str(out))
    except Exception as e:  # gmsh raises plain Exceptions with its message
        raise MeshingError(f"{geo}: gmsh failed: {e}") from None
    finally:
        gmsh.finalize()
    return out
