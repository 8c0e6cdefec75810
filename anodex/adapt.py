"""Adaptive meshes (docs/adaptivity.md): every `interval` steps, and as soon
as a field leaves the refined band, the mesh is rebuilt from the coarse base
mesh of [geometry] (triangles or tetrahedra), refined `levels` times where
the blocks' fields vary too much across a cell, and the state is carried over.

Refinement: at each level, the fields of the old mesh are evaluated at the
vertices of the current one; a cell is split (Plaza edge bisection, the
mesh redistributed) where some block's field changes across it by more than
its threshold (Block.adaptivity_fields: the phase field by interface_jump,
so that at least 0.8/interface_jump cells span the interface's 10-90 %
width), and so are the cells around those (buffer_layers).  Building from
the base mesh each time is what coarsens: a region the interface has left
is no longer refined.

Transfer: the new nodal values are the old P1 fields evaluated at the new
nodes (exact where the new mesh refines the old one; interpolation where it
coarsens; nodal_values: dolfinx's non-matching interpolation from 0.9 on,
point evaluation on 0.5.2), then each block's conserved amounts (Block.conserved) are restored,
each by the nodal weights its block gives:
the metal (lumped integral of h(eta), Faraday's left side) by
eta += s 4 eta (1 - eta), confined to the interface where interpolation
errs, and the SEI's amount (its charge) by the same change of its
thickness; the metal content of ions and metal by w += s (1 - eta), over the
electrolyte (see restore()); s is one number per amount, such that the
amount is what it was on the old mesh to 1e-13 relative.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from . import compat


def global_point_values(f, points, comm):
    """f at `points` (this rank's, N x 3), whichever rank holds them: all
    points go to every rank, each evaluates where its cells hold them, the
    largest (the only finite) value wins.  O(total points) per rank."""
    counts = comm.allgather(len(points))
    everywhere = np.vstack(comm.allgather(np.asarray(points).reshape(-1, 3)))

    def evaluate(at):
        values = compat.point_values(f, at)
        local = np.ascontiguousarray(np.where(np.isnan(values), -np.inf, values))
        out = np.empty_like(local)
        comm.Allreduce(local, out, op=MPI.MAX)  # (the buffer form: elementwise)
        return out
    values = evaluate(everywhere)
    missing = np.isinf(values[:, 0])  # the same on every rank
    if missing.any():  # on the boundary, between the cells' tolerances: nudge inwards
        x = f.function_space.mesh.geometry.x
        lo, hi = np.empty(3), np.empty(3)
        comm.Allreduce(np.ascontiguousarray(x.min(axis=0)), lo, op=MPI.MIN)
        comm.Allreduce(np.ascontiguousarray(x.max(axis=0)), hi, op=MPI.MAX)
        moved = everywhere[missing] + 1e-9 * (0.5 * (lo + hi) - everywhere[missing])
        values[missing] = evaluate(moved)
    if np.isinf(values).any():
        raise RuntimeError(f"mesh adaptation: {int(np.isinf(values[:, 0]).sum())} new nodes lie "
                           "outside the old mesh")
    start = sum(counts[:comm.rank])
    return values[start:start + len(points)]


def nodal_values(f, V, comm):
    """f, a P1 function on another mesh of the same domain, at the nodes of
    P1 space V: the array of a Function on V (owned and ghost nodes).  By
    dolfinx's interpolation between non-matching meshes where it has one
    (0.9 on); else by global_point_values, which costs O(total nodes) per
    rank (0.5.2)."""
    g = compat.interpolate_nonmatching(f, V)
    if g is not None:
        return g.x.array
    return global_point_values(f, V.tabulate_dof_coordinates(), comm).ravel()


def scalar_field(pb, name):
    """Unknown `name` of pb as a Function of the scalar space Q."""
    from dolfinx import fem
    f = fem.Function(pb.Q)
    f.x.array[:] = pb.field_values(name)
    return f


class Adaptor:
    """The base mesh and the rules ([mesh_adaptivity]) of one run."""

    def __init__(self, case, comm):
        from .geometry import build_mesh
        self.cfg, self.comm = case.si["mesh_adaptivity"], comm
        x0 = case.model.scales.unit("m")
        self.base = build_mesh(comm, case.si["geometry"], x0, simplex=True)
        self.adaptations, self.seconds = 0, 0.0  # (wall seconds spent adapting)
        self.cell_name = {2: "triangle", 3: "tetrahedron"}[self.base.topology.dim]
        # the finest cells' longest edge: the base cells' halved `levels` times
        g, tdim = case.si["geometry"], self.base.topology.dim
        base = np.array([g[k] for k in ("length", "height", "depth")[:tdim]]) / np.array(
            g["cells"][:tdim]) / x0
        self.finest = float(np.linalg.norm(base)) / 2 ** self.cfg["levels"]
        self._sized = (None, None)  # (problem, its cells coarser than the finest)

    def thresholds(self, pb) -> dict:
        """{unknown: the largest change across a cell}, of the model's blocks."""
        out = {}
        for b in pb.blocks:
            for name, key in b.adaptivity_fields().items():
                if self.cfg[key] > 0:
                    out[name] = self.cfg[key]
        return out

    def front_escaped(self, pb) -> bool:
        """Has a field left the refined band since the last adaptation: does
        it change by more than its threshold across a cell coarser than the
        finest (1 % margin)?  Cheap (local values, no point evaluation); the
        run adapts at once when it has (steps are sized by the front's
        accuracy, not by the band, so interval steps can carry the front
        out of it: the Hong case at dt = 0.4 s then failed every solve)."""
        if self._sized[0] is not pb:  # (once per mesh, not every step)
            owned = pb.mesh.topology.index_map(pb.ndim).size_local
            cells = compat.cell_dofs(pb.Q)[:owned]
            x = pb.Q.tabulate_dof_coordinates()[cells]  # (cells, vertices, 3)
            size = np.max([np.linalg.norm(x[:, i] - x[:, j], axis=1)
                           for i in range(x.shape[1]) for j in range(i)], axis=0)
            self._sized = (pb, cells[size > 1.01 * self.finest])
        coarse = self._sized[1]
        escaped = False
        for name, limit in self.thresholds(pb).items():
            values = pb.field_values(name)[coarse]
            escaped |= bool((np.ptp(values, axis=1) > limit).any()) if len(values) else False
        return self.comm.allreduce(escaped, op=MPI.LOR)

    def refine(self, pb, levels=None):
        """The base mesh refined where pb's fields change by more than their
        thresholds across a cell (evaluated at each level's vertices)."""
        self._sized = (None, None)  # (pb's mesh is being replaced: let it be freed)
        limits = self.thresholds(pb)
        fields = {name: scalar_field(pb, name) for name in limits}
        mesh = self.base
        for _ in range(self.cfg["levels"] if levels is None else levels):
            marked = self.marked_cells(mesh, fields, limits)
            if not self.comm.allreduce(len(marked), op=MPI.SUM):
                break
            mesh = compat.refine(mesh, marked)
        return mesh

    def marked_cells(self, mesh, fields, limits):
        """Local cells across which a field changes by more than its limit,
        grown by buffer_layers layers of neighbours (across ranks: the same
        cells on any partition)."""
        from dolfinx import fem
        from petsc4py import PETSc
        Q = compat.p1_space(mesh)
        owned = mesh.topology.index_map(mesh.topology.dim).size_local
        cells = compat.cell_dofs(Q)[:owned]
        marked = np.zeros(owned, dtype=bool)
        for name, f in fields.items():
            values = nodal_values(f, Q, self.comm)
            marked |= np.ptp(values[cells], axis=1) > limits[name]
        touched = fem.Function(Q)
        vec = compat.petsc_vec(touched)
        for _ in range(self.cfg["buffer_layers"]):
            touched.x.array[:] = 0.0
            touched.x.array[cells[marked].ravel()] = 1.0
            vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            vec.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
            marked |= (touched.x.array[cells] > 0).any(axis=1)
        return np.flatnonzero(marked).astype(np.int32)


def conserved(pb) -> dict:
    """{integral: (unknown, weight)} of every block's conserved amounts
    (Block.conserved)."""
    return {k: v for b in pb.blocks for k, v in b.conserved().items()}


def transfer(old, new):
    """The state of Problem `old` onto Problem `new`: the current level (also
    u_n, the same after an accepted step) and u_(n-1), so BDF2 goes on; the
    blocks' conserved amounts (the metal, the ions, the SEI) restored
    (module docstring), the same nodal change made to u_(n-1) (the step's
    time difference is kept)."""
    new.u.x.array[:] = nodal_values(old.u, new.V, old.comm)
    new.u_nm1.x.array[:] = nodal_values(old.u_nm1, new.V, old.comm)
    before = new.u.x.array.copy()
    amounts = {k: old.integral(k) for k in conserved(new)}
    for _ in range(2):  # (an amount may depend on an unknown restored after it: eta)
        for integral, (unknown, weight) in conserved(new).items():
            restore(new, integral, unknown, weight, amounts[integral])
    new.u_nm1.x.array[:] += new.u.x.array - before
    new.u_n.x.array[:] = new.u.x.array


def restore(pb, integral, unknown, weight, target, rtol=1e-13):
    """unknown += s w(x), with s such that integral equals target; w =
    weight(pb), the nodal weights the block that conserves the amount gives
    (Block.conserved: where a correction belongs).  The amount grows
    monotonically with s, so s is bracketed (steps doubling from 1e-6) and
    then found by the Illinois method.  Raises if it cannot be."""
    dofs = pb.sub_dofs[unknown]
    shape = weight(pb)
    where = weight.__name__
    start = pb.u.x.array[dofs].copy()

    def misfit(s):
        pb.u.x.array[dofs] = start + s * shape
        return pb.integral(integral) - target
    tol = rtol * max(abs(target), 1e-300)
    f0 = misfit(0.0)
    if abs(f0) <= tol:
        return
    a, fa, b, fb, step = 0.0, f0, None, None, 1e-6
    for _ in range(60):  # bracket: the amount grows with s
        trial = -step if f0 > 0 else step
        ft = misfit(trial)
        if np.sign(ft) != np.sign(f0):
            b, fb = trial, ft
            break
        a, fa, step = trial, ft, 2 * step
    if b is None:
        raise RuntimeError(f"mesh adaptation: cannot restore {integral} ({target:.6g}) by "
                           f"changing {unknown} over the {where}")
    for _ in range(200):  # Illinois
        c = b - fb * (b - a) / (fb - fa)
        fc = misfit(c)
        if abs(fc) <= tol:
            return
        if np.sign(fc) != np.sign(fb):
            a, fa = b, fb
        else:
            fa /= 2
        b, fb = c, fc
    raise RuntimeError(f"mesh adaptation: {integral} restored only to {abs(fc):.3g} of "
                       f"{abs(target):.6g}")
