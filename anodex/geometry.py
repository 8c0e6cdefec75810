"""Meshes: built-in (interval, rectangle, box) or read from a file, and the
named boundaries the blocks refer to.

Built-in meshes put the electrode on the face x = 0 and the electrolyte
reservoir on the face x = length: an interval (1-D), a rectangle of
quadrilaterals (2-D) or a box of hexahedra (3-D).  ``kind = "mesh"`` reads
a Gmsh ``.msh`` (or an XDMF file written by meshio) through meshio: one
first-order cell type (triangles, quadrilaterals, tetrahedra or
hexahedra), coordinates in units of ``[geometry] unit``, and physical
groups that name the boundaries ("electrode", "reservoir" by default:
``[geometry] electrode`` and ``reservoir`` give other names), further
boundaries and interior interfaces (walls, grain boundaries) and regions
(grains).  An XDMF file keeps no group names: its groups are named by their
tag numbers (electrode = "1").  x is the growth direction: the electrode
faces +x.

``mesh_info`` describes a mesh without building it (counts, extent, cell
sizes): the case checks and the memory estimate run on it before anything
is computed.  ``build_mesh`` makes the dolfinx mesh in internal units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

DIMENSION = {"interval": 1, "rectangle": 2, "box": 3}
# the faces of the built-in shapes, by name: x = 0 and x = length, y = 0 and
# y = height, z = 0 and z = depth (as many as the shape has dimensions)
FACES = ("electrode", "reservoir", "bottom", "top", "front", "back")
# meshio cell type -> (dolfinx cell name, topological dimension, vertex order
# dolfinx expects, as indices into Gmsh's order)
CELLS = {"triangle": ("triangle", 2, [0, 1, 2]), "quad": ("quadrilateral", 2, [0, 1, 3, 2]),
         "tetra": ("tetrahedron", 3, [0, 1, 2, 3]),
         "hexahedron": ("hexahedron", 3, [0, 1, 3, 2, 4, 5, 7, 6])}
FACETS = {"triangle": "line", "quad": "line", "tetra": "triangle", "hexahedron": "quad"}
TOPOLOGICAL_DIM = {"vertex": 0, "line": 1, "triangle": 2, "quad": 2, "tetra": 3, "hexahedron": 3}
_LATTICE = 1e-7  # facets and cells are matched by centroids quantised to this x extent


class MeshError(ValueError):
    """A mesh file that cannot be used (the message says why and what would do)."""


@dataclass
class MeshFile:
    """A mesh file's content in metres: one cell type, its cells, and the
    physical groups ({name: vertex indices of the group's facets or cells})."""
    path: Path
    cell_type: str  # meshio name
    points: np.ndarray  # (nodes, gdim), m
    cells: np.ndarray  # (cells, vertices), Gmsh order
    facet_groups: dict = field(default_factory=dict)
    cell_groups: dict = field(default_factory=dict)

    @property
    def dim(self):
        return CELLS[self.cell_type][1]

    def on_boundary(self, group: str) -> bool:
        """Every facet of the facet group lies in one cell only (an exterior
        boundary, not an interface such as grain boundaries)."""
        cells_of = {}
        for c, vertices in enumerate(self.cells):
            for v in vertices:
                cells_of.setdefault(int(v), set()).add(c)
        return all(len(set.intersection(*(cells_of[int(v)] for v in facet))) == 1
                   for facet in self.facet_groups[group])


def _groups(mesh, block_type):
    """{physical group name: connectivity} of the cell blocks of `block_type`."""
    names = {(int(tag), int(dim)): name for name, (tag, dim) in mesh.field_data.items()}
    out = {}
    for block, tag in zip(mesh.cells, mesh.cell_data.get("gmsh:physical", [])):
        if block.type != block_type:
            continue
        tag = np.asarray(tag).ravel()
        for t in np.unique(tag):
            # a group without a name (XDMF keeps none) is named by its tag number
            name = names.get((int(t), TOPOLOGICAL_DIM[block_type]), str(int(t)))
            out.setdefault(name, []).append(block.data[tag == t])
    return {k: np.concatenate(v) for k, v in out.items()}


@lru_cache(maxsize=8)
def _read(path: str, mtime: float, unit: float) -> MeshFile:
    import contextlib
    import io

    import meshio
    said = io.StringIO()
    try:
        # meshio prints (and on some files calls sys.exit): keep both in hand
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            mesh = meshio.read(path)
    except (Exception, SystemExit) as e:  # all mean "cannot read this"
        why = " ".join(said.getvalue().split()) or f"{type(e).__name__}: {e}"
        raise MeshError(f"{path}: cannot read the mesh ({why[:200]}); a Gmsh .msh or an "
                        "XDMF mesh is expected") from None
    kinds = {b.type for b in mesh.cells}
    top = max((CELLS[k][1] for k in kinds & set(CELLS)), default=0)
    used = sorted(k for k in kinds & set(CELLS) if CELLS[k][1] == top)
    unusable = sorted(k for k in kinds if k not in CELLS and k not in ("vertex", "line"))
    if unusable or len(used) > 1:
        raise MeshError(f"{path}: cell types {sorted(used + unusable)}; the solver needs one "
                        "first-order cell type: triangles, quadrilaterals, tetrahedra or "
                        "hexahedra (in Gmsh: recombine all surfaces or none, order 1)")
    if not used:
        raise MeshError(f"{path}: no 2-D or 3-D cells (it has {sorted(kinds)}); first-order "
                        "triangles, quadrilaterals, tetrahedra or hexahedra are needed")
    (cell_type,) = used
    cells = np.concatenate([b.data for b in mesh.cells if b.type == cell_type])
    gdim = CELLS[cell_type][1]
    return MeshFile(Path(path), cell_type, mesh.points[:, :gdim] * unit, cells,
                    _groups(mesh, FACETS[cell_type]), _groups(mesh, cell_type))


def read_mesh_file(path, unit: float) -> MeshFile:
    """The mesh file (cached while unchanged); MeshError if unusable."""
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError as e:
        raise MeshError(f"{path}: no such mesh file ({e.strerror}); `anodex mesh` makes the "
                        "meshes of meshes/*.geo") from None
    if not p.is_file():
        raise MeshError(f"{path}: not a file (a mesh is a .msh or .xdmf file)")
    return _read(str(p), mtime, unit)


@dataclass
class MeshInfo:
    """What the checks need to know of a mesh before it is built (SI units)."""
    dim: int
    cells: int
    nodes: int
    extent: tuple  # (length, height, depth), m
    uniform_size: float = 0.0  # built-in meshes: the largest cell side (m)
    centroids_x: np.ndarray = None  # a mesh file: x of each cell's centroid
    sizes: np.ndarray = None  # a mesh file: the largest side of each cell's bounding box

    def max_cell_size(self, x_lo=-math.inf, x_hi=math.inf) -> float:
        """The largest cell whose centroid lies in [x_lo, x_hi] (all cells if none do)."""
        if self.sizes is None:
            return self.uniform_size
        inside = (self.centroids_x >= x_lo) & (self.centroids_x <= x_hi)
        return float(self.sizes[inside].max() if inside.any() else self.sizes.max())


    def electrode_cell_size(self, depth) -> float:
        """The largest cell whose centroid lies within `depth` of x = 0, or the
        cell nearest to x = 0 if none does."""
        if self.sizes is None:
            return self.uniform_size
        inside = self.centroids_x <= depth
        return float(self.sizes[inside].max() if inside.any()
                     else self.sizes[np.argmin(self.centroids_x)])


def mesh_file(g) -> MeshFile:
    return read_mesh_file(g["file"], g["unit"])


def mesh_info(g) -> MeshInfo:
    """MeshInfo of a [geometry] section (SI values)."""
    if g["kind"] == "mesh":
        m = mesh_file(g)
        corners = m.points[m.cells]
        extent = np.ptp(m.points, axis=0)
        # a cell's size: the largest side of its bounding box
        return MeshInfo(m.dim, len(m.cells), len(m.points), tuple(extent) + (0.0,) * (3 - m.dim),
                        centroids_x=corners[:, :, 0].mean(axis=1),
                        sizes=np.ptp(corners, axis=1).max(axis=1))
    if g["kind"] == "point":  # the 0-D SEI mode: one state, no mesh
        return MeshInfo(0, 1, 1, (0.0, 0.0, 0.0))
    dim = DIMENSION[g["kind"]]
    extent = (g["length"], g["height"], g["depth"])[:dim]
    h = max(e / n for e, n in zip(extent, g["cells"]))
    info = MeshInfo(dim, math.prod(g["cells"]), math.prod(n + 1 for n in g["cells"]),
                    tuple(extent) + (0.0,) * (3 - dim), uniform_size=h)
    if g.get("first_cell"):  # graded in x: one entry per column of cells
        x = graded_nodes(g["length"], g["cells"][0], g["first_cell"])
        across = max([e / n for e, n in zip(extent[1:], g["cells"][1:])] + [0.0])
        info.centroids_x, info.sizes = 0.5 * (x[1:] + x[:-1]), np.maximum(np.diff(x), across)
    return info


def grading_ratio(length, cells, first_cell) -> float:
    """r of the geometric cell sizes first_cell * r^i (i < cells) that sum to
    length; GeometryError if beyond [1/e, e] (a grading no mesh should have)."""
    def total(log_r):
        r = math.exp(log_r)
        return first_cell * cells if abs(log_r) < 1e-12 else first_cell * math.expm1(cells * log_r) / (r - 1)
    hi = min(1.0, 700.0 / cells)  # (no overflow)
    lo = -hi
    if not total(lo) <= length <= total(hi):
        raise MeshError(f"[geometry] first_cell: {first_cell:.3g} m cannot start {cells} cells "
                        f"over {length:.3g} m with a growth ratio within "
                        f"[{math.exp(lo):.3g}, {math.exp(hi):.3g}] per cell; "
                        f"between {total(lo):.3g} m and {total(hi):.3g} m of length would do "
                        "(or change the cell count)")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if total(mid) < length else (lo, mid)
    return math.exp(0.5 * (lo + hi))


def graded_nodes(length, cells, first_cell) -> np.ndarray:
    """The cells + 1 node positions 0 ... length of a geometric grading."""
    r = grading_ratio(length, cells, first_cell)
    x = np.concatenate([[0.0], np.cumsum(first_cell * r ** np.arange(cells))])
    return x * (length / x[-1])


# ---- building (dolfinx from here on) -------------------------------------------

def build_mesh(comm, g, x0, simplex=False):
    """The dolfinx mesh of a [geometry] section, in internal units (x0 metres);
    simplex: triangles or tetrahedra for the built-in rectangle and box."""
    from . import compat
    if g["kind"] == "mesh":
        m = mesh_file(g) if comm.rank == 0 else None
        name, _, order = CELLS[m.cell_type] if m else (None, None, None)
        name, order, gdim = comm.bcast((name, order, m.points.shape[1] if m else None), root=0)
        cells = m.cells[:, order].astype(np.int64) if m else np.zeros((0, len(order)), np.int64)
        x = m.points / x0 if m else np.zeros((0, gdim))
        return compat.create_mesh(comm, cells, x, name, gdim)
    extent = [g[key] / x0 for key in ("length", "height", "depth")[:DIMENSION[g["kind"]]]]
    if g["kind"] == "interval":
        mesh = compat.create_interval(comm, g["cells"][0], [0.0, extent[0]])
    elif g["kind"] == "rectangle":
        mesh = compat.create_rectangle(comm, [np.zeros(2), np.array(extent)], g["cells"], simplex)
    else:
        mesh = compat.create_box(comm, [np.zeros(3), np.array(extent)], g["cells"], simplex)
    if g.get("first_cell"):  # the uniform nodes i L/n moved to the graded ones
        n = g["cells"][0]
        graded = graded_nodes(g["length"], n, g["first_cell"]) / x0
        x = mesh.geometry.x
        x[:, 0] = np.interp(x[:, 0], np.linspace(0.0, extent[0], n + 1), graded)
    return mesh


def face_names(g) -> list:
    """The boundary names a case can use: a built-in shape's FACES (2 per
    dimension), a mesh file's facet groups on its boundary (its electrode
    and reservoir groups named so; interior interfaces are not faces)."""
    if g["kind"] != "mesh":
        return list(FACES[:2 * DIMENSION.get(g["kind"], 0)])
    m = mesh_file(g)
    alias = {g["electrode"]: "electrode", g["reservoir"]: "reservoir"}
    return [alias.get(k, k) for k in m.facet_groups if m.on_boundary(k)]


def named_facets(mesh, g, x0) -> dict:
    """{boundary or interface name: local facet indices}: the faces of a
    built-in shape (FACES), or the facet groups of a mesh file with the
    [geometry] electrode and reservoir groups named "electrode" and
    "reservoir"."""
    from dolfinx import mesh as dmesh
    fdim = mesh.topology.dim - 1
    if g["kind"] != "mesh":
        extent = [g[k] / x0 for k in ("length", "height", "depth")[:mesh.topology.dim]]
        tol = 1e-8 * extent[0]
        faces = {}
        for axis, far in enumerate(extent):
            for name, at in zip(FACES[2 * axis:2 * axis + 2], (0.0, far)):
                faces[name] = dmesh.locate_entities_boundary(
                    mesh, fdim, lambda x, a=axis, v=at: np.isclose(x[a], v, atol=tol))
        return faces
    groups = _file_groups(mesh.comm, g, x0, "facet_groups")
    found = _match(mesh, fdim, groups, g)
    return {("electrode" if k == g["electrode"] else "reservoir" if k == g["reservoir"] else k): v
            for k, v in found.items()}


def named_regions(mesh, g, x0) -> dict:
    """{region name: local cell indices} of a mesh file's cell groups."""
    if g["kind"] != "mesh":
        return {}
    return _match(mesh, mesh.topology.dim, _file_groups(mesh.comm, g, x0, "cell_groups"), g)


def _file_groups(comm, g, x0, which):
    """{name: centroids (internal units)} of a file's groups, on every rank."""
    groups = None
    if comm.rank == 0:
        m = mesh_file(g)
        groups = {k: m.points[v].mean(axis=1) / x0 for k, v in getattr(m, which).items()}
    return comm.bcast(groups, root=0)


def _keys(points, size):
    q = np.round(np.asarray(points) / (_LATTICE * size)).astype(np.int64)
    q = np.ascontiguousarray(np.pad(q, ((0, 0), (0, 3 - q.shape[1]))))
    return q.view(np.dtype((np.void, 24))).ravel()


def _match(mesh, dim, groups, g):
    """Local entities of dimension `dim` whose centroids are a group's; every
    entity of a group must be found once (owned) across the ranks."""
    from dolfinx import mesh as dmesh
    from mpi4py import MPI
    mesh.topology.create_entities(dim)
    mesh.topology.create_connectivity(dim, mesh.topology.dim)  # (midpoints need it from 0.9)
    imap = mesh.topology.index_map(dim)
    local = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    size = float(np.ptp(mesh.geometry.x, axis=0).max())
    size = mesh.comm.allreduce(size, op=MPI.MAX)
    keys = _keys(dmesh.compute_midpoints(mesh, dim, local)[:, :mesh.geometry.dim], size)
    out = {}
    for name, centroids in groups.items():
        wanted = np.sort(_keys(centroids, size))
        where = np.clip(np.searchsorted(wanted, keys), 0, len(wanted) - 1)
        hit = local[wanted[where] == keys]
        owned = mesh.comm.allreduce(int((hit < imap.size_local).sum()), op=MPI.SUM)
        if owned != len(centroids):
            raise MeshError(f"{g['file']}: group '{name}': {owned} of its {len(centroids)} "
                            "entities found in the mesh (the group is not made of the mesh's "
                            "own facets or cells)")
        out[name] = hit
    return out


def boundary_measures(mesh, facets: dict) -> dict:
    """{name: ds restricted to that boundary} for the groups on the boundary
    (interior interfaces are left out: they would need dS, which no block uses
    yet, and a mesh partitioned with shared facets)."""
    import ufl
    from dolfinx import mesh as dmesh
    fdim = mesh.topology.dim - 1
    mesh.topology.create_connectivity(fdim, mesh.topology.dim)
    from mpi4py import MPI
    exterior = set(dmesh.exterior_facet_indices(mesh.topology).tolist())
    ids, entities, values = {}, [], []
    owned = mesh.topology.index_map(fdim).size_local
    for name, f in facets.items():  # (by the owned facets, on all ranks together)
        if mesh.comm.allreduce(all(int(i) in exterior for i in f if i < owned), op=MPI.LAND):
            ids[name] = len(ids) + 1
            entities.append(f)
            values.append(np.full(len(f), ids[name], dtype=np.int32))
    entities = np.concatenate(entities).astype(np.int32) if entities else np.zeros(0, np.int32)
    values = np.concatenate(values) if values else np.zeros(0, np.int32)
    entities, first = np.unique(entities, return_index=True)  # (a corner facet: its first name)
    tags = dmesh.meshtags(mesh, fdim, entities, values[first])
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=tags)
    return {name: ds(i) for name, i in ids.items()}


class RadialMeasure:
    """A measure that weights every integrand by r (an axisymmetric geometry:
    the volume and surface elements are 2 pi r dx and 2 pi r ds; the 2 pi
    cancels from every balance and every per-area result).  `f * m` is
    `f * r * measure`; m(...) restricts as the measure does."""

    def __init__(self, measure, r):
        self.measure, self.r = measure, r

    def __rmul__(self, integrand):
        return (integrand * self.r) * self.measure

    def __call__(self, *args, **kwargs):
        return RadialMeasure(self.measure(*args, **kwargs), self.r)

    def ufl_domain(self):
        return self.measure.ufl_domain()


def axisymmetric_measures(mesh, dx, dxl, ds: dict):
    """(dx, dxl, {name: ds}) weighted by the radius r = y.  The lumped
    (vertex) measure gives each node of a cell its share of the exact
    r-weighted mass, the integral of r phi_i over the cell (row-sum
    lumping): at the vertex, r/3 + 2 r_c/3 on a rectangle's cells (r_c the
    cell's centroid radius; bilinear phi_i, r linear).  Vertex quadrature
    with r itself would leave a node on the axis without mass; the centroid
    radius alone (before) gave it 3/2 of its share, and the row of nodes on
    the axis drifted from the rest (a flat front's void fraction 0.152
    there against 0.142, measured)."""
    import ufl
    from dolfinx import fem

    from . import compat
    r = ufl.SpatialCoordinate(mesh)[1]
    centroid = fem.Function(compat.dg0_space(mesh))
    centroid.interpolate(lambda x: x[1])
    return (RadialMeasure(dx, r), RadialMeasure(dxl, (r + 2 * centroid) / 3),
            {name: RadialMeasure(m, r) for name, m in ds.items()})


def axis_cells(mesh):
    """A DG0 indicator of the cells of an axisymmetric mesh that have a
    vertex on its axis (y = 0)."""
    from dolfinx import fem
    from dolfinx import mesh as dmesh

    from . import compat
    indicator = fem.Function(compat.dg0_space(mesh))
    on_axis = dmesh.locate_entities(mesh, 0, lambda x: np.abs(x[1]) < 1e-10)
    dofmap = indicator.function_space.dofmap
    for cell in compat.cells_of_vertices(mesh, on_axis):
        indicator.x.array[dofmap.cell_dofs(cell)] = 1.0
    indicator.x.scatter_forward()
    return indicator
