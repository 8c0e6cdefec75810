"""Stochastic nucleation of metal on a bare collector (the electrode face
x = 0) of the two-potential model, with every nucleus paid for by the
circuit (physics/review-2.md section 4).

A 2-D case is a slice of thickness d ([nucleation] slice_thickness, one
atom by default): a site is an electrode facet of length a and area a d,
and a nucleus is a line of length d, a circular segment of contact angle
theta in the plane (solver/nucleation.py: r* = gamma V_m/(zF|eta|),
dG* = f2(theta) pi gamma^2 V_m d/(zF|eta|), f2 = (theta - sin cos)/pi).

1. Birth.  After every accepted step each bare site (eta < 1/2 there, and
   no metal within the footprint of a nucleus grown to insertion_radius
   plus l) draws
   u < P = 1 - exp(-J a d dt), J the classical rate at the site's
   local_overpotential (cathodic only).  u is a hash of (seed, step, the
   site's coordinates): the same nuclei on any number of ranks.  Candidates
   are taken in order of position, and refused within
   max(exclusion_distance, 2 x footprint of an inserted nucleus) of
   another: nuclei never overlap.
2. Growth below the mesh.  A nucleus is born at seed_factor x r* (about a
   nanometre) and grows as a sharp cap of fixed contact angle by the
   reaction at its own overpotential,
       dm/dt = S(R) i_F(eta_loc + gamma V_m/(zF R)) V_m/(zF),
   m the cap's metal, S its wetted surface (Butler-Volmer of [reaction],
   Gibbs-Thomson with the curvature 1/R of the line nucleus; eta_loc the
   flat overpotential phi_s - phi_e - ln(c/c_b) on its site's facet,
   implicit in the step's Newton solve; R frozen over a step).  Its current
   (and, in its first step, the metal of its birth) is drawn through the
   circuit: a current per area on its site's facet
   (collector_surface_current), out of the ionic and into the electronic
   conductor.  Under galvanostatic control it is part of the set current.
   m follows the current by the step's own BDF weights, as the collector
   charge does.
3. Insertion.  At insertion_radius (which the mesh resolves) it enters the
   phase field as a cap of contact angle theta, centred at x = -R cos theta,
   eta = max(eta, cap), with the radius chosen (secant) so that the
   phase field gains exactly the metal the circuit paid for.  A nucleus
   that metal from elsewhere covers first stops growing; its metal stays
   counted (subgrid_metal_mol_m2).  At an insertion, and wherever a nucleus
   stops growing (covered, dissolved), the stepper restarts its history:
   the inserted metal is in the past of the next step, and the collector
   charge's BDF recursion no longer carries a current the nucleus takes.
4. Shape.  theta sets the rate, the metal a nucleus holds at a radius and
   the cap it enters the phase field as.  From there the phase field meets
   the collector at 90 degrees (its zero-flux condition): the Allen-Cahn
   wetting condition n.grad eta = cos theta 2 eta (1 - eta)/l was tried and
   did not hold theta (a half-disc at rest at 120 deg kept dewetting past it,
   H/b = 4.5 against tan 60 = 1.73 after 400 s; at 60 deg past 0.577 to
   0.454): with the curvature counter-term and the multiplier, nothing
   stops the contact line once it moves (docs/nucleation.md).

Columns: nucleated_mol_m2 (metal that entered the phase field as nuclei),
subgrid_metal_mol_m2 (metal in nuclei below the mesh), nuclei (born so far,
less the dissolved).
Log: nucleation.csv, a row per event of a nucleus: born (with the
overpotential, rate and probability of its draw), inserted (into the phase
field), covered (by metal from elsewhere, below the mesh) or dissolved
(below the mesh, when the overpotential fell under its Gibbs-Thomson
shift); radius_m is its radius then.
"""
from __future__ import annotations

import math

import dolfinx.fem as fem
import numpy as np
import ufl
from mpi4py import MPI

from .. import compat
from .. import nucleation as cnt
from ..constants import FARADAY
from ..noise import uniform_field
from ..schema import Param, nonnegative, open_angle, positive, q
from . import Block
from .charge_transfer import butler_volmer, electrochemical_overpotential
from .phase_field import seeds_profile

LOG_COLUMNS = ["event", "step", "t_s", "x_m", "y_m", "radius_m", "overpotential_V",
               "rate_1_m2_s", "probability"]
# columns of the nuclei array (every rank holds all of them)
X, Y, METAL, PREVIOUS, DEBT, BORN, STATE = range(7)
GROWING, INSERTED, COVERED = 0, 1, 2


def decide(coords, probabilities, seed, step, size):
    """Which sites nucleate: u < P with u uniform in [0, 1) from the hash of
    (seed, step, coordinates); the same for a site on any partition."""
    u = 0.5 * (uniform_field(coords, seed, step, size) + 1.0)
    return u < probabilities


PARAMS = {
    "nucleation": {
        "enabled": Param("bool", False, "stochastic nucleation on the bare collector, each "
                         "nucleus paid for by the circuit (two-potential model, 2-D rectangle; "
                         "see solver/models/substrate_nucleation.py)"),
        "rate_prefactor": q("0 1/(m^2*s)", "1/(m^2*s)", "J0 in J = J0 exp(-dG*/(k_B T)) "
                            "(no seed gives one: supply it)", nonnegative, (0.0, 1e80)),
        "contact_angle": q("90 deg", "1", "theta of a nucleus on the collector, in (0, pi) "
                           "(\"60 deg\" or radians): the barrier's factor "
                           "f2 = (theta - sin cos)/pi and the shape of the cap", open_angle),
        "slice_thickness": q(None, "m", "d: a 2-D case is a slice this thick; a site has area "
                             "a d (a: its facet's length) and a nucleus is a line of length "
                             "d (barrier proportional to d); default: one atom, "
                             "(V_m/N_A)^(1/3)", positive, (1e-12, 1.0)),
        "seed_factor": Param("number", 1.5, "a nucleus is born at seed_factor x r*",
                             check=lambda x: None if x > 1 else
                             "must be > 1 (a nucleus must be supercritical)", bounds=(1.0, 100.0)),
        "insertion_radius": q("1 um", "m", "a nucleus grows below the mesh until this radius, "
                              "then enters the phase field (at least the interface length)",
                              positive, (1e-12, 1.0)),
        "exclusion_distance": q("2 um", "m", "no nucleus within this distance of another "
                                "(nor within twice an inserted nucleus's footprint)",
                                positive, (1e-12, 1.0)),
        "seed": Param("int", 1, "random-number seed of the draws (hashed with the step "
                      "number and the site's coordinates: partition independent)",
                      check=nonnegative),
    },
}


class SubstrateNucleation(Block):
    name = "substrate_nucleation"
    params = PARAMS
    requires = ("eta", "local_overpotential", "collector_surface_current")
    columns = ("nucleated_mol_m2", "subgrid_metal_mol_m2", "nuclei")
    checkpoint_state = ("nuclei", "nucleated")
    log_file, log_columns = "nucleation.csv", LOG_COLUMNS

    @classmethod
    def selected(cls, si):
        return si["nucleation"]["enabled"]

    @classmethod
    def check(cls, si, given):
        errors = []
        if si["phase_field"]["boundary_values"]:
            errors.append("[nucleation] enabled: needs [phase_field] boundary_values = false "
                          "(a bare collector: eta is not held at 1 on the electrode)")
        if "charge_transfer" not in si["model"]["blocks"]:
            errors.append("[nucleation] enabled: needs the two-potential model ([model] blocks "
                          "with charge_transfer, electronic_conduction, ionic_conduction): its "
                          "collector blocks the ions, so a nucleus is paid for by the "
                          "circuit (the published model's collector is an ideal electrode)")
        if si["geometry"]["kind"] != "rectangle":
            errors.append("[nucleation] enabled: on a built-in 2-D rectangle only (a nucleus is "
                          "a cap on the electrode's facets; 1-D has no caps, 3-D caps are not "
                          "built)")
        if si["metal"]["surface_energy"] is None:
            errors.append("[nucleation] enabled: needs [metal] surface_energy (or a "
                          "[material] metal from the library)")
        return errors

    @classmethod
    def resolution_checks(cls, si, mesh):
        cfg, cell = si["nucleation"], mesh.max_cell_size()
        errors = []
        if cfg["exclusion_distance"] < cell:
            errors.append(f"[nucleation] exclusion_distance: {cfg['exclusion_distance'] * 1e6:.3g}"
                          f" um is below the cell size {cell * 1e6:.3g} um; use at least the "
                          "cell size")
        if cfg["insertion_radius"] < cell:
            errors.append(f"[nucleation] insertion_radius: {cfg['insertion_radius'] * 1e6:.3g} "
                          f"um is below the cell size {cell * 1e6:.3g} um: the mesh cannot "
                          "hold the nucleus; use at least the cell size")
        return errors, []

    @classmethod
    def inactive_keys(cls, si):
        if si["nucleation"]["enabled"]:
            return []
        return [("nucleation", tuple(k for k in PARAMS["nucleation"] if k != "enabled"),
                 "[nucleation] enabled = false")]

    def setup(self, pb):
        self.pb, self.comm = pb, pb.comm
        si, s = pb.case.si, pb.scales
        self.cfg = dict(si["nucleation"])
        self.gamma = si["metal"]["surface_energy"]
        self.vm, self.z, self.T = s.molar_volume, s.z, s.temperature
        self.theta = self.cfg["contact_angle"]
        self.slice = self.cfg["slice_thickness"] or cnt.atomic_diameter(self.vm)
        self._sites(pb)
        self.nuclei = np.zeros((0, 7))
        self.nucleated = 0.0  # mol/m^2 that entered the phase field as nuclei
        self.pending = np.zeros(0)  # this step's growth of each nucleus (SI metal)
        self.log_rows = []
        self.local = None  # the local overpotential on Q, made at the first draw
        cells = compat.dg0_space(pb.mesh)
        self.surface, self.shift, self.birth = (fem.Function(cells) for _ in range(3))
        self.growth_form = None

    def _sites(self, pb):
        """The owned electrode facets: their nodes, centres and lengths; and
        for every local electrode facet its cell and centre (the current of
        a nucleus goes to its site's cell on every rank that has it)."""
        mesh, s = pb.mesh, pb.scales
        fdim = mesh.topology.dim - 1
        mesh.topology.create_connectivity(fdim, 0)
        mesh.topology.create_connectivity(fdim, fdim + 1)
        facets = pb.facets["electrode"]
        f2v, f2c = mesh.topology.connectivity(fdim, 0), mesh.topology.connectivity(fdim, fdim + 1)
        v2d = pb.vertex_dofs()
        xq = pb.Q.tabulate_dof_coordinates()
        nodes = np.array([v2d[f2v.links(f)] for f in facets], dtype=np.int64).reshape(len(facets), 2)
        centres = xq[nodes].mean(axis=1)
        self.facet_cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int64)
        self.facet_y = centres[:, 1]
        self.facet_lengths = s.to_si(np.abs(xq[nodes[:, 1], 1] - xq[nodes[:, 0], 1]), "m")
        owned = facets < mesh.topology.index_map(fdim).size_local  # each site once
        self.site_dofs, self.sites = nodes[owned], centres[owned]
        self.lengths = self.facet_lengths[owned]

    # ---- the reaction of a nucleus below the mesh -----------------------------
    def _cells(self, k):
        """The local cells at nucleus k's site (0 or 1 on a rank)."""
        return self.facet_cells[self.facet_y == self.nuclei[k, Y]]

    def before_solve(self, pb, t0, t1):
        """Each growing nucleus's surface per site length, capillary shift
        gamma V_m/(zF R) and the current paying its birth metal within
        [t0, t1], on its site's cell (R frozen over the step)."""
        s = pb.scales
        dt = s.to_si(t1 - t0, "s")
        zf = self.z * FARADAY
        for f in (self.surface, self.shift, self.birth):
            f.x.array[:] = 0.0
        for k in np.flatnonzero(self.nuclei[:, STATE] == GROWING):
            cells = self._cells(k)
            if not len(cells):
                continue
            length = self.facet_lengths[self.facet_cells == cells[0]][0]
            R = cnt.cap_radius(self.nuclei[k, METAL], self.theta, 2)
            self.surface.x.array[cells] = cnt.cap_size(R, self.theta, 2)[1] / length
            self.shift.x.array[cells] = s.to_internal(self.gamma * self.vm / (zf * R), "V")
            self.birth.x.array[cells] = s.to_internal(
                self.nuclei[k, DEBT] * zf / (self.vm * dt * length), "A/m^2")

    def _reaction(self, s, lev):
        """The reaction of the nuclei below the mesh per site area: surface
        per length x Butler-Volmer at the flat overpotential plus the
        capillary shift (internal; deposition positive)."""
        eta_ct = electrochemical_overpotential(s, lev) + self.shift
        return self.surface * butler_volmer(s, lev, eta_ct)

    def _growth(self, pb, dt):
        """Each nucleus's metal grown in the step just taken (SI): its time
        difference, by the step's own BDF weights (as the metal of the phase
        field and the collector charge), equals V_m/(zF) x the current its
        reaction passed on its site's facet."""
        if self.growth_form is None:
            tau = ufl.TestFunction(self.surface.function_space)
            self.growth_form = fem.form(self._reaction(pb.state, pb.state.levels[0]) * tau
                                        * pb.ds["electrode"])
        per_cell = compat.assemble_cell_vector(self.growth_form)
        s = pb.scales
        local = np.array([per_cell[self._cells(k)].sum() for k in range(len(self.nuclei))])
        total = self.comm.allreduce(local, op=MPI.SUM) if len(local) else local
        # internal current density x internal length -> A per m of slice
        amps = s.to_si(total, "A/m^2") * s.to_si(1.0, "m")
        a0, a1, a2 = (float(c.value) for c in pb.ddt_weights[:3])
        m, before = self.nuclei[:, METAL], self.nuclei[:, PREVIOUS]
        grown = amps * s.to_si(dt, "s") * self.vm / (self.z * FARADAY)
        return (grown - a1 * m - a2 * before) / a0 - m

    def contributions(self):
        return {"collector_surface_current":
                lambda s, lev: self._reaction(s, lev) + self.birth}

    # ---- after a step: grow, cover, insert, draw -----------------------------
    def _all_sites(self, name_values):
        """(y, values...) of every site of every rank, sorted by y."""
        table = np.vstack(self.comm.allgather(np.column_stack([self.sites[:, 1], *name_values])))
        return table[np.argsort(table[:, 0], kind="stable")]

    def overpotential(self):
        """Local overpotential (V) at each owned site: the charge-transfer
        overpotential phi_s - phi_e - ln(c/c_b) at the site's nodes."""
        pb = self.pb
        if self.local is None:
            self.local = pb.scalar_function()
            self.local_expr = compat.compiled_expression(pb.state.u("local_overpotential"), pb.Q)
        self.local.interpolate(self.local_expr)
        return pb.scales.to_si(self.local.x.array[self.site_dofs].mean(axis=1), "V")

    def after_step(self, pb, step, t, dt):
        """Commit the step's growth; nuclei that metal covered stop, those at
        insertion_radius enter the phase field; draw this step's births
        (collective; t, dt internal).  True if eta was changed or a nucleus
        stopped growing (the time scheme then restarts its history)."""
        s = pb.scales
        if len(self.pending) == len(self.nuclei) and len(self.nuclei):
            self.nuclei[:, PREVIOUS] = self.nuclei[:, METAL]
            self.nuclei[:, METAL] += self.pending
            self.nuclei[self.nuclei[:, STATE] == GROWING, DEBT] = 0.0
        gone = (self.nuclei[:, METAL] <= 0) & (self.nuclei[:, STATE] == GROWING)
        for n in self.nuclei[gone]:
            self._log("dissolved", step, t, n, 0.0)
        self.nuclei = self.nuclei[~gone]
        # a nucleus that stops growing leaves the BDF history of the charge:
        # the stepper restarts (BDF1 next) whenever one does
        stopped = bool(gone.any())
        eta_site = pb.field_values("eta")[self.site_dofs].mean(axis=1)
        table = self._all_sites([eta_site])  # (y, eta) of every site
        growing = np.flatnonzero(self.nuclei[:, STATE] == GROWING)
        at = np.searchsorted(table[:, 0], self.nuclei[growing, Y])
        for k in growing[table[at, 1] > 0.5]:
            self.nuclei[k, [STATE, PREVIOUS]] = COVERED, self.nuclei[k, METAL]
            self._log("covered", step, t, self.nuclei[k])
            stopped = True
        insert = [k for k in growing if self.nuclei[k, STATE] == GROWING
                  and cnt.cap_radius(self.nuclei[k, METAL], self.theta, 2)
                  >= self.cfg["insertion_radius"]]
        for k in insert:
            entered = self._insert(self.nuclei[k])
            self.nucleated += entered / self.vm / s.to_si(pb.area, "m")
            self._log("inserted", step, t, self.nuclei[k])
            left = self.nuclei[k, METAL] - entered  # (a cap stalled in metal already there)
            state = INSERTED if left < 1e-9 * self.nuclei[k, METAL] else COVERED
            self.nuclei[k, [METAL, PREVIOUS, STATE]] = left, left, state
        self._draw(step, t, dt, table)
        return bool(insert) or stopped

    def _draw(self, step, t, dt, table):
        """This step's births on bare sites, in order of position, none within
        the exclusion distance of another nucleus or over metal."""
        cfg, s = self.cfg, self.pb.scales
        reach = cnt.footprint(cfg["insertion_radius"], self.theta)
        spacing = s.to_internal(max(cfg["exclusion_distance"], 2 * reach), "m")
        reach, ell = s.to_internal(reach, "m"), self.pb.p["ell"]
        metal_y = table[table[:, 1] > 0.5, 0]
        for x, y, o, j, prob in self._candidates(step, dt):
            taken = self.nuclei[:, Y]
            if np.any(np.abs(taken - y) < spacing) or np.any(np.abs(metal_y - y) < reach + ell):
                continue
            r0 = cfg["seed_factor"] * cnt.critical_radius(self.gamma, self.vm, self.z, o, dim=2)
            m0, _ = cnt.cap_size(r0, self.theta, 2)
            self.nuclei = np.vstack([self.nuclei, [x, y, m0, m0, m0, t, GROWING]])
            self._log("born", step, t, self.nuclei[-1], r0, overpotential_V=o, rate_1_m2_s=j,
                      probability=prob)

    def _log(self, event, step, t, nucleus, radius=None, **draw):
        """A row of nucleation.csv (SI; radius None: from the nucleus's metal)."""
        s = self.pb.scales
        if radius is None:
            radius = cnt.cap_radius(nucleus[METAL], self.theta, 2)
        self.log_rows.append({"event": event, "step": step, "t_s": s.to_si(t, "s"),
                              "x_m": s.to_si(nucleus[X], "m"), "y_m": s.to_si(nucleus[Y], "m"),
                              "radius_m": radius, **draw})

    def _candidates(self, step, dt):
        """(x, y, overpotential, rate, probability) of the sites that draw a
        nucleus this step, gathered from every rank and sorted by position."""
        cfg, s = self.cfg, self.pb.scales
        eta_site = self.pb.field_values("eta")[self.site_dofs].mean(axis=1)
        over = self.overpotential()
        J = np.array([cnt.rate(cfg["rate_prefactor"], self.gamma, self.vm, self.z, o, self.T,
                               self.theta, dim=2, length=self.slice) if o < 0 else 0.0
                      for o in over])
        P = -np.expm1(-J * self.lengths * self.slice * s.to_si(dt, "s"))
        hit = decide(self.sites, P, cfg["seed"], step, self.pb.p["length"]) & (eta_site < 0.5)
        local = [(*self.sites[i, :2], over[i], J[i], P[i]) for i in np.flatnonzero(hit)]
        return sorted(c for part in self.comm.allgather(local) for c in part)

    def _insert(self, nucleus):
        """eta = max(eta, cap of radius R centred at x = -R cos theta) with R
        such that the metal grows by the nucleus's metal (secant on R).
        Returns the metal (SI) that entered the phase field: all of it, or
        less where the cap's growth stalls in metal already there."""
        pb, s = self.pb, self.pb.scales
        xq = pb.Q.tabulate_dof_coordinates().T
        dofs = pb.sub_dofs["eta"]
        before, start = pb.integral("metal_volume"), pb.u.x.array[dofs].copy()
        area = s.to_si(1.0, "m") ** 2  # SI area of an internal unit area (2-D slice)
        target = nucleus[METAL] / area

        def excess(R):
            cap = (-R * math.cos(self.theta), nucleus[Y], 0.0, R)
            pb.u.x.array[dofs] = np.maximum(start, seeds_profile(xq, [cap], pb.p["ell"]))
            pb.u.x.scatter_forward()
            return pb.integral("metal_volume") - before - target
        r_a = s.to_internal(cnt.cap_radius(nucleus[METAL], self.theta, 2), "m")
        r_b, f_a = 1.05 * r_a, excess(r_a)
        best = (abs(f_a), r_a)
        for _ in range(30):
            f_b = excess(r_b)
            best = min(best, (abs(f_b), r_b))
            if abs(f_b) <= 1e-9 * target or f_b == f_a:
                break
            r_a, r_b, f_a = r_b, max(r_b - f_b * (r_b - r_a) / (f_b - f_a), 0.5 * r_b), f_b
        if abs(f_b) > 1e-9 * target:  # not matched: the closest cap
            f_b = excess(best[1])
            if f_b > 0:  # too much: the history's metal only
                pb.u.x.array[dofs] = start
                pb.u.x.scatter_forward()
                f_b = -target
        return (f_b + target) * area

    def metadata(self, pb):
        return {"nucleation_seed": self.cfg["seed"]}

    def record(self, pb, integrals, t, dt):
        """nucleated: in the phase field; subgrid: in nuclei below the mesh,
        with this step's growth (committed after the row is written)."""
        growing = self.nuclei[:, STATE] == GROWING
        self.pending = np.zeros(len(self.nuclei))
        if growing.any() and dt > 0:
            self.pending[growing] = self._growth(pb, dt)[growing]
        below = (self.nuclei[:, METAL] + self.pending)[self.nuclei[:, STATE] != INSERTED].sum()
        per_area = 1 / self.vm / pb.scales.to_si(pb.area, "m")
        return {"nucleated_mol_m2": self.nucleated, "subgrid_metal_mol_m2": below * per_area,
                "nuclei": float(len(self.nuclei))}
