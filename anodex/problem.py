"""One monolithic system assembled from the physics blocks of a case.

The Problem knows no physics: it asks each block for its unknowns,
quantities, residual, boundary and initial values and integrals
(anodex/models/).  All unknowns are continuous P1 fields interleaved in one blocked space (so
PETSc sees a block size and fieldsplit can separate them by component).
The time-difference weights (a0, a1, a2, 1/dt) are constants updated by the
stepper; BDF1 is (1, -1, 0), variable-step BDF2 with r = dt_n/dt_(n-1) is
((1+2r)/(1+r), -(1+r), r^2/(1+r)).
"""
from __future__ import annotations

import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from . import compat
from .geometry import (axis_cells, axisymmetric_measures, boundary_measures, build_mesh,
                       named_facets, named_regions)
from .blocks import State

QUADRATURE_DEGREE = 2  # explicit: UFL's estimate for the exponential terms explodes


def bc_value(value):
    """Dirichlet data of a block: a number, or a fem.Constant the block
    updates in time (before_solve)."""
    return value if isinstance(value, fem.Constant) else compat.scalar_type(value)


class Problem:
    def __init__(self, case, comm, mesh=None, exact=None, exact_state=State):
        """exact: optional manufactured solution, a callable (x, level) ->
        {unknown: UFL expression}; its residual, written against an
        `exact_state` (State, or a subclass with another time derivative), is
        subtracted (source terms) and it gives the Dirichlet data on the whole
        boundary."""
        self.case, self.comm = case, comm
        model = case.model
        self.scales, self.p = model.scales, model.p
        p = self.p
        self.blocks = model.instances()
        self.unknowns = model.unknowns
        unsupported = [u.name for u in self.unknowns if u.element != "P1"]
        if unsupported:
            raise NotImplementedError(f"unknowns {unsupported}: only P1 elements are built")
        self.names = [u.name for u in self.unknowns]
        self.index = {n: i for i, n in enumerate(self.names)}
        g, x0 = case.si["geometry"], self.scales.unit("m")
        self.mesh = mesh if mesh is not None else build_mesh(comm, g, x0)
        self.ndim = self.mesh.topology.dim
        self.facets = named_facets(self.mesh, g, x0)  # {name: local facets}
        self.regions = named_regions(self.mesh, g, x0)  # {name: local cells}
        self._measures(g["kind"] == "rectangle" and g["axisymmetric"])
        # electrode area in internal units (1 in 1-D: a point)
        self.area = comm.allreduce(fem.assemble_scalar(fem.form(
            fem.Constant(self.mesh, compat.scalar_type(1.0)) * self.ds["electrode"])), op=MPI.SUM)
        self._spaces()
        # residuals see the numeric parameters as Constants: the compiled
        # forms do not depend on their values, so every case of a sweep (and
        # every array task of a cluster job) reuses one JIT compilation
        self.coefficients = {k: fem.Constant(self.mesh, compat.scalar_type(v))
                             if isinstance(v, float) else v for k, v in p.items()}
        self.ddt_weights = tuple(fem.Constant(self.mesh, compat.scalar_type(v))
                                 for v in (1.0, -1.0, 0.0, 1.0))
        self.extrapolation_weights = tuple(fem.Constant(self.mesh, compat.scalar_type(v))
                                           for v in (1.0, 0.0))
        for b in self.blocks:
            b.setup(self)
        self.v = ufl.TestFunction(self.V)
        self.state = self._state([self.u, self.u_n, self.u_nm1], self.v)
        F = sum(b.residual(self.state) for b in self.blocks)
        if exact is not None:
            x = ufl.SpatialCoordinate(self.mesh)
            source = self._state(None, self.v, exact_state, [exact(x, k) for k in range(3)])
            F -= sum(b.residual(source) for b in self.blocks)
        self.F_ufl = F
        self.F = fem.form(F)
        floor = sum(b.newton_floor(self.state) for b in self.blocks)
        self.newton_floor = None if floor == 0 else fem.form(floor)
        self.J = fem.form(ufl.derivative(F, self.u, ufl.TrialFunction(self.V)))
        self.bcs = self._dirichlet(exact)
        self.integral_forms = {k: fem.form(f) for b in self.blocks
                               for k, f in b.integrals(self).items()}
        self._contour_setup()

    def _measures(self, axisymmetric):
        """ds (by boundary name), dx and the lumped dxl, weighted by r in an
        axisymmetric geometry, whose radius (internal units) and cells on
        the axis (a DG0 indicator) are kept (None otherwise)."""
        self.ds = boundary_measures(self.mesh, self.facets)
        self.dx = ufl.Measure("dx", domain=self.mesh, metadata={"quadrature_degree": QUADRATURE_DEGREE})
        self.dxl = compat.lumped_measure(self.mesh)
        self.radius = ufl.SpatialCoordinate(self.mesh)[1] if axisymmetric else None
        self.axis_cells = axis_cells(self.mesh) if axisymmetric else None
        if axisymmetric:
            self.dx, self.dxl, self.ds = axisymmetric_measures(self.mesh, self.dx, self.dxl,
                                                               self.ds)

    def _spaces(self):
        """V: the unknowns; Q: the scalar P1 space of one component."""
        # One unknown: a plain scalar space (a blocked space of one component
        # has no subspaces from dolfinx 0.8 on); several: interleaved.
        self.single = len(self.names) == 1
        self.V = compat.p1_space(self.mesh, None if self.single else len(self.names))
        self.u, self.u_n, self.u_nm1 = (fem.Function(self.V) for _ in range(3))
        # Q has its own dof layout; in the blocked array, component i of Q's
        # node j sits at bs*node + i.  (A separately built scalar space may be
        # numbered differently in parallel, so every nodal array goes through
        # this one map.)
        self.Q, first = self.component_space(0)
        self.sub_dofs = {n: first + i for n, i in self.index.items()}

    # ---- construction helpers ------------------------------------------------
    def sub(self, i):
        """The subspace of unknown number i."""
        return self.V if self.single else self.V.sub(i)

    def component(self, f, i):
        """UFL component i of a Function/Argument of V."""
        return f if self.single else f[i]

    def component_space(self, i):
        """(collapsed scalar space of unknown i, its dof indices in V's array)."""
        if self.single:
            im = self.V.dofmap.index_map
            return self.V, np.arange(im.size_local + im.num_ghosts, dtype=np.int64)
        return compat.collapse(self.V.sub(i))

    def _state(self, functions, v, kind=State, levels=None):
        """The State of the blocks' residuals: on the components of
        `functions` (u, u_n, u_nm1), or on given `levels` dicts."""
        if levels is None:
            levels = [{n: self.component(f, i) for n, i in self.index.items()} for f in functions]
        tests = {n: self.component(v, i) for n, i in self.index.items()}
        return kind(levels=levels, tests=tests, p=self.coefficients, dx=self.dx, dxl=self.dxl,
                    ddt_weights=self.ddt_weights, extrapolation_weights=self.extrapolation_weights,
                    ds=self.ds, quantities={k: f for b in self.blocks for k, f in b.quantities().items()},
                    contributions=self._contributions())

    def _contributions(self):
        out = {}
        for b in self.blocks:
            for name, f in b.contributions().items():
                out.setdefault(name, []).append(f)
        return out

    def _dirichlet(self, exact):
        fdim = self.ndim - 1
        bcs = []
        if exact is not None:  # manufactured solution: Dirichlet on the whole boundary
            import dolfinx.mesh as dmesh
            self.mesh.topology.create_connectivity(fdim, self.ndim)
            facets = dmesh.exterior_facet_indices(self.mesh.topology)
            self.exact_bc = {}
            for n, i in self.index.items():
                Vi, _ = self.component_space(i)
                g = fem.Function(Vi)
                self.exact_bc[n] = g
                if self.single:
                    bcs.append(fem.dirichletbc(g, fem.locate_dofs_topological(Vi, fdim, facets)))
                else:
                    dofs = fem.locate_dofs_topological((self.V.sub(i), Vi), fdim, facets)
                    bcs.append(fem.dirichletbc(g, dofs, self.V.sub(i)))
            return bcs
        self.dirichlet_at = {}
        for b in self.blocks:
            for name, where, value in b.dirichlet(self.p):
                sub = self.sub(self.index[name])
                dofs = fem.locate_dofs_topological(sub, fdim, self.facets[where])
                bcs.append(fem.dirichletbc(bc_value(value), dofs, sub))
                self.dirichlet_at[name, where] = bcs[-1]
        return bcs

    def switch_dirichlet(self, name, where, on):
        """Impose (on) or release `name`'s Dirichlet condition at boundary
        `where` from the next solve: a collector stepping between potential
        and current control."""
        bc = self.dirichlet_at[name, where]
        present = [i for i, b in enumerate(self.bcs) if b is bc]
        if on and not present:
            self.bcs.append(bc)
        elif present and not on:
            del self.bcs[present[0]]

    def indicator(self, name, where):
        """Vector function: 1 on `name`'s dofs at boundary `where`, else 0."""
        ind = fem.Function(self.V)
        dofs = fem.locate_dofs_topological(self.sub(self.index[name]), self.ndim - 1,
                                           self.facets[where])
        ind.x.array[dofs] = 1.0
        ind.x.scatter_forward()
        return ind

    def boundary_flux(self, name, where):
        """The flux of `name`'s equation out through boundary `where`, as a
        consistent (residual) flux: the residual tested with the indicator of
        the boundary's nodes, which equals the boundary flux."""
        return ufl.replace(self.F_ufl, {self.v: self.indicator(name, where)})

    # ---- initial state and history -----------------------------------------
    def set_initial(self):
        xq = self.Q.tabulate_dof_coordinates().T
        for b in self.blocks:
            for name, fn in b.initial(self.p).items():
                self.u.x.array[self.sub_dofs[name]] = fn(xq)
        self.u.x.scatter_forward()
        self.apply_bcs(self.u)
        for b in self.blocks:
            for unknown in b.unknowns:
                if unknown.quasi_static:
                    self._solve_quasi_static(b, unknown.name)
        for f in (self.u_n, self.u_nm1):
            f.x.array[:] = self.u.x.array

    def _solve_quasi_static(self, block, name):
        """Initial value of a quasi-static unknown: its block's residual
        without time-difference terms, linear in that unknown, with every other
        unknown frozen at its initial value."""
        trial, test = ufl.TrialFunction(self.Q), ufl.TestFunction(self.Q)
        frozen = {n: self.component(self.u, i) for n, i in self.index.items()}
        zero = tuple(fem.Constant(self.mesh, compat.scalar_type(0.0)) for _ in range(4))
        s = State(levels=[{**frozen, name: trial} for _ in range(3)], tests={name: test},
                  p=self.coefficients, dx=self.dx, dxl=self.dxl, ddt_weights=zero, ds=self.ds,
                  quantities={k: f for b in self.blocks for k, f in b.quantities().items()},
                  contributions=self._contributions(), initial_solve=True)
        F = block.residual(s)
        a, L = ufl.lhs(F), ufl.rhs(F)
        if L.empty():
            L = fem.Constant(self.mesh, compat.scalar_type(0.0)) * test * self.dx
        bcs = [fem.dirichletbc(bc_value(value),
                               fem.locate_dofs_topological(self.Q, self.ndim - 1, self.facets[where]),
                               self.Q)
               for unknown, where, value in block.dirichlet(self.p) if unknown == name]
        solution = compat.solve_linear(a, L, bcs, {
            "ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"})
        self.u.x.array[self.sub_dofs[name]] = solution.x.array
        self.u.x.scatter_forward()

    def apply_bcs(self, f):
        compat.set_bc(compat.petsc_vec(f), self.bcs, None, 1.0)
        f.x.scatter_forward()

    def set_time_weights(self, dt, dt_prev=None):
        """BDF1 (dt_prev None) or variable-step BDF2 weights, and the matching
        extrapolation weights (constant / linear)."""
        if dt_prev is None:
            a, b = (1.0, -1.0, 0.0), (1.0, 0.0)
        else:
            r = dt / dt_prev
            a = ((1 + 2 * r) / (1 + r), -(1 + r), r * r / (1 + r))
            b = (1 + r, -r)
        for c, val in zip(self.ddt_weights + self.extrapolation_weights, (*a, 1.0 / dt, *b)):
            c.value = val

    def vertex_dofs(self):
        """For each local mesh vertex, its dof in the scalar space Q."""
        mesh = self.mesh
        tdim = mesh.topology.dim
        mesh.topology.create_connectivity(tdim, 0)
        dofs = compat.cell_dofs(self.Q)
        c2v = mesh.topology.connectivity(tdim, 0).array.reshape(dofs.shape[0], -1)
        v2d = np.empty(mesh.topology.index_map(0).size_local
                       + mesh.topology.index_map(0).num_ghosts, dtype=np.int64)
        v2d[c2v.ravel()] = dofs.ravel()
        return v2d

    def scalar_function(self):
        """A new function on the scalar P1 space Q (a coefficient of a block)."""
        return fem.Function(self.Q)

    def field_values(self, name, f=None):
        """Owned+ghost nodal values of one unknown (internal units)."""
        return (f or self.u).x.array[self.sub_dofs[name]]

    def integrals(self):
        """Global values of the blocks' integrals (internal units)."""
        return {k: self.comm.allreduce(fem.assemble_scalar(f), op=MPI.SUM)
                for k, f in self.integral_forms.items()}

    def integral(self, name):
        return self.comm.allreduce(fem.assemble_scalar(self.integral_forms[name]), op=MPI.SUM)

    def _contour_setup(self):
        # edge endpoints as scalar-P1 dof indices, for contour_max_x
        self.mesh.topology.create_connectivity(1, 0)
        self.edges = self.vertex_dofs()[self.mesh.topology.connectivity(1, 0).array.reshape(-1, 2)]
        self.xdof = self.Q.tabulate_dof_coordinates()[:, 0]

    def contour_max_x(self, values, level):
        """Largest x where nodal `values` cross `level` along a mesh edge
        (linear interpolation), reduced over all ranks (-inf: nowhere)."""
        ea, eb = values[self.edges[:, 0]], values[self.edges[:, 1]]
        cross = (ea - level) * (eb - level) <= 0
        cross &= ea != eb
        xa, xb = self.xdof[self.edges[cross, 0]], self.xdof[self.edges[cross, 1]]
        t = (level - ea[cross]) / (eb[cross] - ea[cross])
        local = (xa + t * (xb - xa)).max(initial=-np.inf)
        return self.comm.allreduce(local, op=MPI.MAX)
