"""The one place that knows about dolfinx versions.

Feature detection first; version checks only where behaviour differs
silently.  Everything else in anodex calls these helpers.
"""
from __future__ import annotations

import inspect

import dolfinx
import dolfinx.fem as fem
import dolfinx.fem.petsc  # noqa: F401  (explicit import needed from 0.6 on)
import numpy as np
import ufl
from petsc4py import PETSc

try:  # dolfinx >= 0.7
    scalar_type = dolfinx.default_scalar_type
except AttributeError:
    scalar_type = PETSc.ScalarType


def p1_space(mesh, components=None):
    """Continuous P1 space: scalar (components None) or with `components`
    interleaved unknowns per node."""
    shape = None if components is None else (components,)
    if hasattr(fem, "functionspace"):  # >= 0.8
        import basix.ufl
        return fem.functionspace(mesh, basix.ufl.element("Lagrange", mesh.basix_cell(), 1,
                                                         shape=shape))
    if shape is None:
        return fem.FunctionSpace(mesh, ("Lagrange", 1))
    el = ufl.VectorElement("Lagrange", mesh.ufl_cell(), 1, dim=components)
    return fem.FunctionSpace(mesh, el)


def dg0_space(mesh):
    """Piecewise-constant space: one value per cell."""
    if hasattr(fem, "functionspace"):  # >= 0.8
        import basix.ufl
        return fem.functionspace(mesh, basix.ufl.element("DG", mesh.basix_cell(), 0))
    return fem.FunctionSpace(mesh, ("DG", 0))


def assemble_cell_vector(form):
    """The local entries (owned and ghost, ghosts not summed into their
    owners) of a linear form assembled on a DG0 space, as a numpy array."""
    vector = fem.assemble_vector(form)
    return np.asarray(getattr(vector, "array", vector))


def cell_dofs(V):
    """Dofs of every local cell as a (cells, dofs per cell) array."""
    lst = V.dofmap.list
    if hasattr(lst, "array"):  # AdjacencyList up to 0.6
        return lst.array.reshape(-1, V.dofmap.dof_layout.num_dofs)
    return np.asarray(lst)


def geometry_dofmap(mesh):
    """Geometry nodes of every local cell, (cells, nodes per cell)."""
    g = mesh.geometry
    dofmap = g.dofmaps[0] if hasattr(g, "dofmaps") else g.dofmap  # 0.10: dofmap deprecated
    return np.asarray(dofmap.array if hasattr(dofmap, "array") else dofmap).reshape(
        mesh.topology.index_map(mesh.topology.dim).size_local
        + mesh.topology.index_map(mesh.topology.dim).num_ghosts, -1)


def petsc_vec(u):
    """The PETSc vector behind a Function."""
    return u.x.petsc_vec if hasattr(u.x, "petsc_vec") else u.vector


def collapse(subspace):
    """(collapsed space, indices into the parent's dof array)."""
    out = subspace.collapse()
    space, dofs = out if isinstance(out, tuple) else (out, None)
    return space, np.asarray(dofs, dtype=np.int64).reshape(-1)  # 0.11: shape (1, n)


def create_vector(V, form):
    """A ghosted PETSc vector for residuals of `form` (a linear form on V)."""
    first = next(iter(inspect.signature(fem.petsc.create_vector).parameters))
    return fem.petsc.create_vector(V if first == "V" else form)  # 0.11: takes the space


def solve_linear(a, L, bcs, petsc_options):
    """Solve the linear variational problem a = L; returns the Function.
    The options are removed afterwards: on 0.5.2 each LinearProblem puts
    them under a prefix of its own and never removes them (measured: 3 per
    set-up), and a test worker filled PETSc 3.18's table of 512 options
    (error 55)."""
    kw = {}
    if "petsc_options_prefix" in inspect.signature(fem.petsc.LinearProblem).parameters:
        kw["petsc_options_prefix"] = "anodex_linear_"  # required from 0.10 on
    problem = fem.petsc.LinearProblem(a, L, bcs=bcs, petsc_options=petsc_options, **kw)
    try:
        return problem.solve()
    finally:
        prefix = problem.solver.getOptionsPrefix() or ""
        opts = PETSc.Options()
        for key in petsc_options:
            if opts.hasName(prefix + key):
                opts.delValue(prefix + key)


_LIFT_KW = "alpha" if "alpha" in inspect.signature(fem.petsc.apply_lifting).parameters else "scale"
_SETBC_KW = "alpha" if "alpha" in inspect.signature(fem.petsc.set_bc).parameters else "scale"


# KSP reason when the preconditioner failed (e.g. a MUMPS factorization):
# DIVERGED_PCSETUP_FAILED up to petsc4py 3.18, DIVERGED_PC_FAILED after
_KSP = PETSc.KSP.ConvergedReason
KSP_PC_FAILED = getattr(_KSP, "DIVERGED_PC_FAILED", None) or _KSP.DIVERGED_PCSETUP_FAILED


def apply_lifting(b, a, bcs, x0, factor):
    fem.petsc.apply_lifting(b, a, bcs=bcs, x0=x0, **{_LIFT_KW: factor})


def set_bc(b, bcs, x0, factor):
    fem.petsc.set_bc(b, bcs, x0, **{_SETBC_KW: factor})


def cell_size(f):
    """The cell size h of the mesh of the UFL expression f, as a UFL
    expression: the cell diameter over sqrt(d) (the edge of a square or
    cubic cell).  UFL's topological_dimension became a property (sid)."""
    domain = ufl.domain.extract_unique_domain(f)
    dim = domain.topological_dimension
    return ufl.CellDiameter(domain) / (dim() if callable(dim) else dim) ** 0.5


def lumped_measure(mesh):
    """Vertex quadrature (mass lumping): Gauss-Lobatto-Legendre of degree 1
    on intervals, quadrilaterals and hexahedra, the vertex rule on triangles
    and tetrahedra; one point on each vertex."""
    cell = mesh.topology.cell_type.name
    rule = "vertex" if cell in ("triangle", "tetrahedron") else "GLL"
    return ufl.Measure("dx", domain=mesh, metadata={"quadrature_rule": rule, "quadrature_degree": 1})


def create_interval(comm, n, extent):
    return dolfinx.mesh.create_interval(comm, n, extent)


def create_rectangle(comm, corners, n, simplex=False):
    """Quadrilaterals, or triangles (simplex: what refine() can split)."""
    cell = dolfinx.mesh.CellType.triangle if simplex else dolfinx.mesh.CellType.quadrilateral
    return dolfinx.mesh.create_rectangle(comm, corners, n, cell_type=cell)


def create_box(comm, corners, n, simplex=False):
    """Hexahedra, or tetrahedra (simplex)."""
    cell = dolfinx.mesh.CellType.tetrahedron if simplex else dolfinx.mesh.CellType.hexahedron
    return dolfinx.mesh.create_box(comm, corners, n, cell_type=cell)


def refine(mesh, cells):
    """The mesh with the local `cells` (and what conformity needs) split by
    edge bisection (Plaza), redistributed over the ranks.  0.5-0.8 return
    the mesh, 0.9 on a tuple whose first entry it is."""
    tdim = mesh.topology.dim
    mesh.topology.create_entities(1)
    mesh.topology.create_connectivity(tdim, 1)
    edges = dolfinx.mesh.compute_incident_entities(
        mesh.topology if _TOPOLOGY_FIRST else mesh, np.asarray(cells, dtype=np.int32), tdim, 1)
    out = dolfinx.mesh.refine(mesh, edges)
    return out[0] if isinstance(out, tuple) else out


_TOPOLOGY_FIRST = "topology" in str(inspect.signature(dolfinx.mesh.compute_incident_entities))


def cells_of_vertices(mesh, vertices):
    """The local cells that have one of the local `vertices`."""
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(0, tdim)
    return dolfinx.mesh.compute_incident_entities(
        mesh.topology if _TOPOLOGY_FIRST else mesh, np.asarray(vertices, dtype=np.int32), 0, tdim)


def interpolate_nonmatching(f, V):
    """f, a function on another mesh of the same domain, interpolated into V
    (a new Function), or None where dolfinx has no interpolation between
    non-matching meshes (before 0.9; the caller then evaluates f at V's
    nodes with point_values).  Each rank sends its nodes only to the ranks
    whose cells hold them."""
    if not hasattr(fem, "create_interpolation_data"):  # >= 0.9
        return None
    imap = V.mesh.topology.index_map(V.mesh.topology.dim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    data = fem.create_interpolation_data(V, f.function_space, cells, padding=NONMATCHING_PADDING)
    g = fem.Function(V)
    g.interpolate_nonmatching(f, cells, data)
    g.x.scatter_forward()
    return g


# (bounding boxes grown by this much, in mesh units, so that nodes on the
# domain's boundary, rounded off the old mesh's cells, are still found)
NONMATCHING_PADDING = 1e-9


def point_values(f, points):
    """Values (N x value size) of the Function f at the points (N x 3, on
    every rank the same or not), where this rank's cells hold them, NaN
    elsewhere: the slow, version-proof path of interpolation between
    non-matching meshes (0.5.2 has no interpolate_nonmatching)."""
    import dolfinx.geometry as dg
    mesh = f.function_space.mesh
    tdim = mesh.topology.dim
    tree = dg.bb_tree(mesh, tdim) if hasattr(dg, "bb_tree") else dg.BoundingBoxTree(mesh, tdim)
    points = np.ascontiguousarray(points, dtype=np.float64)
    candidates = dg.compute_collisions_points(tree, points) if hasattr(
        dg, "compute_collisions_points") else dg.compute_collisions(tree, points)
    colliding = dg.compute_colliding_cells(mesh, candidates, points)
    size = f.function_space.dofmap.index_map_bs
    out = np.full((len(points), size), np.nan)
    found = [(i, colliding.links(i)[0]) for i in range(len(points)) if len(colliding.links(i))]
    if found:
        rows, cells = (np.array(v) for v in zip(*found))
        out[rows] = f.eval(points[rows], cells.astype(np.int32)).reshape(len(rows), size)
    return out


def create_mesh(comm, cells, x, cell_name, gdim):
    """A mesh of first-order Lagrange geometry from cells (dolfinx vertex
    order) and points x, given on any ranks (dolfinx distributes them)."""
    if hasattr(fem, "functionspace"):  # >= 0.8: basix elements
        import basix.ufl
        domain = ufl.Mesh(basix.ufl.element("Lagrange", cell_name, 1, shape=(gdim,)))
    else:
        domain = ufl.Mesh(ufl.VectorElement("Lagrange", ufl.Cell(cell_name, geometric_dimension=gdim), 1))
    order = list(inspect.signature(dolfinx.mesh.create_mesh).parameters)
    if order[2] == "x":  # up to 0.9: (comm, cells, x, domain)
        return dolfinx.mesh.create_mesh(comm, cells, x, domain)
    return dolfinx.mesh.create_mesh(comm, cells, domain, x)  # 0.10 on: (comm, cells, e, x)


def xdmf_file(comm, path, mode="w"):
    return dolfinx.io.XDMFFile(comm, str(path), mode)


def has_vtx() -> bool:
    """dolfinx built with ADIOS2 and its VTX writer: Debian 13 (0.9) and
    unstable (0.11) here, not Debian 12 (0.5.2)."""
    return bool(getattr(dolfinx.common, "has_adios2", False)) and hasattr(dolfinx.io, "VTXWriter")


def vtx_unavailable() -> str | None:
    """Why this dolfinx cannot write VTX files, or None if it can."""
    if has_vtx():
        return None
    return f"this dolfinx ({dolfinx.__version__}) was built without ADIOS2, so it has no VTX writer"


def vtx_file(comm, path, functions):
    """A VTX (ADIOS2 BP) file of P1 functions on one mesh, read by ParaView's
    ADIOS2 VTX reader; each rank writes its own part (no gather).  The mesh
    is written once where the writer can reuse it (0.9+)."""
    policy = getattr(dolfinx.io, "VTXMeshPolicy", None)
    kw = {} if policy is None else {"mesh_policy": policy.reuse}
    return dolfinx.io.VTXWriter(comm, str(path), functions, **kw)


def versions() -> dict:
    """Versions of the FEniCSx / PETSc / MPI stack."""
    import basix
    import ffcx
    import mpi4py
    import petsc4py
    from mpi4py import MPI
    out = {
        "dolfinx": dolfinx.__version__,
        "basix": basix.__version__,
        "ufl": getattr(ufl, "__version__", "unknown"),
        "ffcx": ffcx.__version__,
        "petsc": ".".join(map(str, PETSc.Sys.getVersion())),
        "petsc4py": petsc4py.__version__,
        "mpi4py": mpi4py.__version__,
        "mpi_library": MPI.Get_library_version().splitlines()[0].strip(),
        "adios2": dolfinx.common.has_adios2 if hasattr(dolfinx.common, "has_adios2") else False,
    }
    return out


def jit_cache_dir():
    """Where FFCx/dolfinx JIT-compiled forms are cached."""
    try:
        from dolfinx import jit
        opts = getattr(jit, "DOLFINX_DEFAULT_JIT_OPTIONS", None) or getattr(jit, "DOLFINX_DEFAULT_JIT_PARAMETERS", {})
        entry = opts.get("cache_dir")
        return entry[0] if isinstance(entry, tuple) else entry
    except Exception:  # pragma: no cover - informational only
        return "unknown"


def compiled_expression(expr, V):
    """A UFL expression compiled for interpolation into space V (reusable:
    its constants and coefficients are read at each interpolation)."""
    pts = V.element.interpolation_points
    return fem.Expression(expr, pts() if callable(pts) else pts)


def interpolate_expression(f, expr):
    """Interpolate a UFL expression into Function f."""
    f.interpolate(compiled_expression(expr, f.function_space))
