"""Stochastic nucleation of metal in the two-potential model, every nucleus
paid for by the circuit (physics/review-2.md section 4): on the bare
collector (the electrode face x = 0, heterogeneous, contact angle theta)
and, where [nucleation] sites asks for it, inside the electrolyte
(homogeneous: a free disc or sphere), where only the electrons the
electrolyte conducts can feed it (Han et al., Nat. Energy 4 (2019) 187).
Written for 2-D below; on a box (3-D) a collector site is a face of area A
(P = 1 - exp(-J A dt)), a bulk site a cell of volume V, a nucleus a
spherical cap or sphere (r* = 2 gamma V_m/(zF|eta|), the 3-D barrier,
Gibbs-Thomson 2 gamma V_m/(zF R)), and there is no slice.

A 2-D case is a slice of thickness d ([nucleation] slice_thickness, one
atom by default).  A collector site is an electrode facet of length a (area
a d); a bulk site is an electrolyte cell of area A not touching the
electrode (volume A d).  A nucleus is a line of length d: on the collector
a circular segment of contact angle theta, in the bulk a full disc
(nucleation_theory.py: r* = gamma V_m/(zF|eta|),
dG* = f2 pi gamma^2 V_m d/(zF|eta|), f2 = (theta - sin cos)/pi on the
collector, 1 in the bulk).

1. Birth.  After every accepted step each bare site (eta < 1/2 there, and
   no metal within the footprint of a nucleus grown to insertion_radius
   plus l) draws u < P = 1 - exp(-J a d dt) on the collector (J per area,
   rate_prefactor, at the site's local_overpotential), u < P =
   1 - exp(-J A d dt) in the bulk (J per volume,
   electrolyte_rate_prefactor, at the flat overpotential
   phi_s - phi_e - ln(c/c_b) of the cell); cathodic only.  u is a hash of
   (seed, step, the site's coordinates): the same nuclei on any number of
   ranks.  Candidates are taken in order of position, and refused within
   max(exclusion_distance, 2 x footprint of an inserted nucleus) of
   another: nuclei never overlap.
2. Growth below the mesh.  A nucleus is born at seed_factor x r* (about a
   nanometre) and grows as a sharp cap (disc) by the reaction at its own
   overpotential,
       dm/dt = S(R) i_F(eta_loc + gamma V_m/(zF R)) V_m/(zF),
   m its metal, S its wetted surface (Butler-Volmer of [reaction],
   Gibbs-Thomson with the curvature 1/R of the line nucleus; eta_loc the
   flat overpotential on its site, implicit in the step's Newton solve; R
   frozen over a step).  Its current (and, in its first step, the metal of
   its birth) is drawn through the circuit, out of the ionic and into the
   electronic conductor: per area on its site's facet
   (collector_surface_current), or per volume in its cell
   (nucleus_volume_current, part of charge_transfer's charge source; it
   deposits no phase-field metal).  In the bulk the electrons come through
   the electrolyte ([electrolyte] electronic_conductivity): in an insulator
   phi_s at the nucleus follows phi_e, its birth metal dissolves again
   within the step and it stalls.
   Under galvanostatic control the current is part of the set current.  m
   follows the current by the step's own BDF weights, as the collector
   charge does.  With R frozen a dissolving nucleus does not slow as it
   empties: a step that would take it below zero is retaken shorter
   (shorter_step), leaving it at half its stall threshold (below: at
   dt_min the step is kept).
3. Insertion.  At insertion_radius (which the mesh resolves) it enters the
   phase field: a cap of contact angle theta centred at x = -R cos theta,
   or a disc at its site, eta = max(eta, cap), with the radius chosen
   (secant) so that the phase field gains exactly the metal the circuit
   paid for.  A nucleus that metal from elsewhere covers first stops
   growing; its metal stays counted (subgrid_metal_mol_m2).  At an
   insertion, and wherever a nucleus stops growing (covered, stalled),
   the stepper restarts its history: the inserted metal is in the past of
   the next step, and the collector charge's BDF recursion no longer
   carries a current the nucleus takes.
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
less the stalled), bulk_nuclei (those of them born in the electrolyte).
Log: nucleation.csv, a row per event of a nucleus: born (with the
overpotential, rate and probability of its draw; the rate per area on the
collector, rate_1_m2_s, per volume in the electrolyte, rate_1_m3_s),
inserted (into the phase field), covered (by metal from elsewhere, below the mesh) or stalled
(dissolved below the critical radius of its birth, 1/seed_factor of its
birth radius: its reaction stops, as its Gibbs-Thomson shift would grow
without bound, and the residue the circuit left in it stays counted);
radius_m is its radius then, site "collector" or "electrolyte".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import dolfinx.fem as fem
import numpy as np
import ufl
from mpi4py import MPI

from .. import compat
from . import nucleation_theory as cnt
from ..constants import FARADAY
from ..noise import uniform_field
from ..schema import Param, nonnegative, open_angle, positive, q
from ..blocks import Block, register
from .charge_transfer import butler_volmer, electrochemical_overpotential
from .phase_field import seeds_profile

LOG_COLUMNS = ["event", "step", "t_s", "site", "x_m", "y_m", "z_m", "radius_m", "overpotential_V",
               "rate_1_m2_s", "rate_1_m3_s", "probability"]
RATE_COLUMNS = ("rate_1_m2_s", "rate_1_m3_s")  # a draw's rate: per area on the collector,
# per volume in the electrolyte
# columns of the nuclei array (every rank holds all of them)
X, Y, METAL, PREVIOUS, DEBT, BORN, STATE, KIND, SEED, Z = range(10)
GROWING, INSERTED, COVERED, STALLED = 0, 1, 2, 3
COLLECTOR, BULK = 0, 1
SITE_NAMES = ("collector", "electrolyte")
SITES = {"collector": (COLLECTOR,), "electrolyte": (BULK,), "both": (COLLECTOR, BULK)}


def decide(coords, probabilities, seed, step, size):
    """Which sites nucleate: u < P with u uniform in [0, 1) from the hash of
    (seed, step, coordinates); the same for a site on any partition."""
    u = 0.5 * (uniform_field(coords, seed, step, size) + 1.0)
    return u < probabilities


PARAMS = {
    "nucleation": {
        "enabled": Param("bool", False, "stochastic nucleation of metal, each nucleus paid for "
                         "by the circuit (two-potential model, rectangle or box; see "
                         "anodex/models/metal_nucleation.py)"),
        "sites": Param("choice", "collector", "where nuclei form: on the bare collector "
                       "(heterogeneous, contact_angle), inside the electrolyte (homogeneous, "
                       "fed by its electronic conductivity) or both",
                       choices=tuple(SITES)),
        "rate_prefactor": q("0 1/(m^2*s)", "1/(m^2*s)", "collector: J0 in J = J0 "
                            "exp(-dG*/(k_B T)) per area (no seed gives one: supply it)",
                            nonnegative, (0.0, 1e80)),
        "electrolyte_rate_prefactor": q("0 1/(m^3*s)", "1/(m^3*s)", "electrolyte: J0 per "
                                        "volume of the homogeneous rate (no seed gives one: "
                                        "supply it)", nonnegative, (0.0, 1e100)),
        "contact_angle": q("90 deg", "1", "theta of a nucleus on the collector, in (0, pi) "
                           "(\"60 deg\" or radians): the barrier's factor "
                           "f2 = (theta - sin cos)/pi and the shape of the cap", open_angle),
        "slice_thickness": q(None, "m", "d: a 2-D case is a slice this thick; a site has area "
                             "a d (a: its facet's length) or volume A d (A: its cell's area) "
                             "and a nucleus is a line of length d (barrier proportional to "
                             "d); default: one atom, (V_m/N_A)^(1/3)", positive, (1e-12, 1.0)),
        "seed_factor": Param("number", 1.5, "a nucleus is born at seed_factor x r*",
                             check=lambda x: None if x > 1 else
                             "must be > 1 (a nucleus must be supercritical)", bounds=(1.0, 100.0)),
        "insertion_radius": q("1 um", "m", "a nucleus grows below the mesh until this radius, "
                              "then enters the phase field (at least the cell size)",
                              positive, (1e-12, 1.0)),
        "exclusion_distance": q("2 um", "m", "no nucleus within this distance of another "
                                "(nor within twice an inserted nucleus's footprint)",
                                positive, (1e-12, 1.0)),
        "seed": Param("int", 1, "random-number seed of the draws (hashed with the step "
                      "number and the site's coordinates: partition independent)",
                      check=nonnegative),
    },
}
COLLECTOR_KEYS, BULK_KEYS = ("rate_prefactor", "contact_angle"), ("electrolyte_rate_prefactor",)


@dataclass
class SiteSet:
    """The sites of one kind on a rank (internal units): the owned ones that
    draw (centre, Q dofs, size: facet length or cell area) and every local
    cell holding one (for the current of a nucleus), with its centre and size."""
    kind: int
    centres: np.ndarray
    nodes: np.ndarray
    sizes: np.ndarray
    cells: np.ndarray
    cell_centres: np.ndarray
    cell_sizes: np.ndarray

    def local_cells(self, centre):
        """Indices (into cells) of the local cells of the site at this centre."""
        return np.flatnonzero(np.all(np.abs(self.cell_centres - centre) < MATCH, axis=1))


MATCH = 1e-9  # internal length: a site's centre is the same to round-off on every rank


def snap(centres):
    """Centres on a grid of MATCH: the same bits on every partition (a mean's
    round-off depends on the order of a cell's nodes), so that candidates
    sort alike and positions log alike."""
    return np.round(centres / MATCH) * MATCH


def measure(points):
    """Length, area or volume of simplices or of axis-aligned quadrilaterals
    and hexahedra (the built-in meshes) from their corners' coordinates,
    (n, corners, dim): |det|/dim! of a simplex, the bounding box's otherwise."""
    n, corners, dim = points.shape
    if corners == dim + 1:
        edges = points[:, 1:] - points[:, :1]
        return np.abs(np.linalg.det(edges)) / math.factorial(dim) if dim > 1 else \
            np.abs(edges[:, 0, 0])
    return np.prod(points.max(axis=1) - points.min(axis=1), axis=1)


@register
class MetalNucleation(Block):
    name = "metal_nucleation"
    order = 60
    params = PARAMS
    requires = ("eta", "local_overpotential", "collector_surface_current",
                "nucleus_volume_current")
    columns = ("nucleated_mol_m2", "subgrid_metal_mol_m2", "nuclei", "bulk_nuclei")
    checkpoint_state = ("nuclei", "nucleated")
    log_file, log_columns = "nucleation.csv", LOG_COLUMNS

    @classmethod
    def selected(cls, si):
        return si["nucleation"]["enabled"]

    @classmethod
    def check(cls, si, given):
        errors = []
        on_collector = COLLECTOR in SITES[si["nucleation"]["sites"]]
        if on_collector and si["phase_field"]["boundary_values"]:
            errors.append("[nucleation] sites on the collector: needs [phase_field] "
                          "boundary_values = false (a bare collector: eta is not held at 1 on "
                          "the electrode)")
        if "charge_transfer" not in si["model"]["blocks"] or not {
                "electronic_conduction", "ionic_conduction"} <= set(si["model"]["blocks"]):
            errors.append("[nucleation] enabled: needs the two-potential model ([model] blocks "
                          "with charge_transfer, electronic_conduction, ionic_conduction): its "
                          "collector blocks the ions, so a nucleus is paid for by the "
                          "circuit (the published model's collector is an ideal electrode)")
        if si["geometry"]["kind"] not in ("rectangle", "box"):
            errors.append("[nucleation] enabled: on a built-in rectangle or box only (a nucleus "
                          "is a cap on the electrode's facets or a nucleus in a cell: 1-D has "
                          "no caps)")
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
        warnings = [f"[nucleation] {key} = 0 with sites = \"{cfg['sites']}\": nothing can "
                    f"nucleate {where}; give the rate's prefactor J0"
                    for kind, key, where in ((COLLECTOR, "rate_prefactor", "on the collector"),
                                             (BULK, "electrolyte_rate_prefactor",
                                              "inside the electrolyte"))
                    if kind in SITES[cfg["sites"]] and cfg[key] == 0]
        return errors, warnings

    @classmethod
    def inactive_keys(cls, si):
        cfg = si["nucleation"]
        if not cfg["enabled"]:
            return [("nucleation", tuple(k for k in PARAMS["nucleation"] if k != "enabled"),
                     "[nucleation] enabled = false")]
        kinds = SITES[cfg["sites"]]
        out = []
        if si["geometry"]["kind"] == "box":
            out.append(("nucleation", ("slice_thickness",), "a 3-D geometry (no slice)"))
        if COLLECTOR not in kinds:
            out.append(("nucleation", COLLECTOR_KEYS, f"[nucleation] sites = \"{cfg['sites']}\""))
        if BULK not in kinds:
            out.append(("nucleation", BULK_KEYS, f"[nucleation] sites = \"{cfg['sites']}\""))
        return out

    def setup(self, pb):
        self.pb, self.comm = pb, pb.comm
        si, s = pb.case.si, pb.scales
        self.cfg = dict(si["nucleation"])
        self.gamma = si["metal"]["surface_energy"]
        self.vm, self.z, self.T = s.molar_volume, s.z, s.temperature
        self.theta = self.cfg["contact_angle"]
        self.dim = pb.mesh.topology.dim
        # a 2-D case is a slice of this thickness; 3-D: none (a factor 1)
        self.slice = ((self.cfg["slice_thickness"] or cnt.atomic_diameter(self.vm))
                      if self.dim == 2 else 1.0)
        kinds = SITES[self.cfg["sites"]]
        self.sets = [self._collector_sites(pb) if COLLECTOR in kinds else None,
                     self._bulk_sites(pb) if BULK in kinds else None]
        self.prefactors = (self.cfg["rate_prefactor"], self.cfg["electrolyte_rate_prefactor"])
        self.nuclei = np.zeros((0, 10))
        self.nucleated = 0.0  # mol/m^2 that entered the phase field as nuclei
        self.pending = np.zeros(0)  # this step's growth of each nucleus (SI metal)
        self.attempt_growth = None  # the growing nuclei's growth in this attempt at a step
        self.log_rows = []
        self.local = None  # the overpotentials on Q, made at the first draw
        cells = compat.dg0_space(pb.mesh)
        # per cell: the growing nucleus's wetted surface per site size and the
        # current paying its birth metal, on the collector and in the bulk,
        # and its capillary shift
        self.surface, self.birth, self.volume_surface, self.volume_birth, self.shift = (
            fem.Function(cells) for _ in range(5))
        self.growth_form = None

    def angle(self, kind):
        """The contact angle of a nucleus of this kind (None: a free disc)."""
        return self.theta if kind == COLLECTOR else None

    def _collector_sites(self, pb):
        """The electrode facets: the owned ones draw; every local one's cell
        carries the current of the nucleus at its site."""
        mesh = pb.mesh
        fdim = mesh.topology.dim - 1
        mesh.topology.create_connectivity(fdim, 0)
        mesh.topology.create_connectivity(fdim, fdim + 1)
        facets = pb.facets["electrode"]
        f2v, f2c = mesh.topology.connectivity(fdim, 0), mesh.topology.connectivity(fdim, fdim + 1)
        v2d = pb.vertex_dofs()
        xq = pb.Q.tabulate_dof_coordinates()
        corners = len(f2v.links(facets[0])) if len(facets) else fdim + 1
        nodes = np.array([v2d[f2v.links(f)] for f in facets],
                         dtype=np.int64).reshape(len(facets), corners)
        centres = snap(xq[nodes].mean(axis=1))
        cells = np.array([f2c.links(f)[0] for f in facets], dtype=np.int64)
        sizes = measure(xq[nodes][:, :, 1:fdim + 1])  # (the electrode is the face x = 0)
        owned = facets < mesh.topology.index_map(fdim).size_local  # each site once
        return SiteSet(COLLECTOR, centres[owned], nodes[owned], sizes[owned], cells,
                       centres, sizes)

    def _bulk_sites(self, pb):
        """The cells that touch no electrode facet: the owned ones draw; every
        local one (ghosts too) carries the current of the nucleus it holds."""
        mesh = pb.mesh
        tdim = mesh.topology.dim
        mesh.topology.create_connectivity(tdim - 1, tdim)
        f2c = mesh.topology.connectivity(tdim - 1, tdim)
        nodes = compat.cell_dofs(pb.Q)
        xq = pb.Q.tabulate_dof_coordinates()
        touching = {c for f in pb.facets["electrode"] for c in f2c.links(f)}
        cells = np.array([c for c in range(len(nodes)) if c not in touching], dtype=np.int64)
        centres = snap(xq[nodes[cells]].mean(axis=1))
        sizes = measure(xq[nodes[cells]][:, :, :tdim])
        owned = cells < mesh.topology.index_map(tdim).size_local
        return SiteSet(BULK, centres[owned], nodes[cells][owned], sizes[owned], cells, centres,
                       sizes)

    # ---- the reaction of a nucleus below the mesh -----------------------------
    def _cells(self, k):
        """(site set, indices into its local cells) of nucleus k's site."""
        sites = self.sets[int(self.nuclei[k, KIND])]
        return sites, sites.local_cells(self.nuclei[k, [X, Y, Z]])

    def before_solve(self, pb, t0, t1):
        """Each growing nucleus's surface per site size, capillary shift
        (dim - 1) gamma V_m/(zF R) and the current paying its birth metal
        within [t0, t1], on its site's cell (R frozen over the step)."""
        s = pb.scales
        dt = s.to_si(t1 - t0, "s")
        zf = self.z * FARADAY
        unit = s.to_si(1.0, "m")  # SI length of an internal length
        self.attempt_growth = None
        for f in (self.surface, self.birth, self.volume_surface, self.volume_birth, self.shift):
            f.x.array[:] = 0.0
        for k in np.flatnonzero(self.nuclei[:, STATE] == GROWING):
            sites, at = self._cells(k)
            if not len(at):
                continue
            cells, size = sites.cells[at], sites.cell_sizes[at[0]]
            kind = int(self.nuclei[k, KIND])
            surface, birth = ((self.surface, self.birth) if kind == COLLECTOR
                              else (self.volume_surface, self.volume_birth))
            R = cnt.cap_radius(self.nuclei[k, METAL], self.angle(kind), self.dim)
            surface.x.array[cells] = cnt.cap_size(R / unit, self.angle(kind), self.dim)[1] / size
            self.shift.x.array[cells] = s.to_internal(
                (self.dim - 1) * self.gamma * self.vm / (zf * R), "V")
            # A (per m of slice in 2-D) over an internal area, per internal size
            amps = self.nuclei[k, DEBT] * zf / (self.vm * dt)
            birth.x.array[cells] = s.to_internal(amps / unit ** (self.dim - 1), "A/m^2") / size

    def _reaction(self, s, lev, surface):
        """The reaction of the nuclei below the mesh per site size: surface
        per size x Butler-Volmer at the flat overpotential plus the
        capillary shift (internal; deposition positive)."""
        eta_ct = electrochemical_overpotential(s, lev) + self.shift
        return surface * butler_volmer(s, lev, eta_ct)

    def _growth(self, pb, dt, growing):
        """The metal each growing nucleus (indices) gained in the step just taken (SI): its time
        difference, by the step's own BDF weights (as the metal of the phase
        field and the collector charge), equals V_m/(zF) x the current its
        reaction passed on its site (the measures of the residuals)."""
        if self.growth_form is None:
            tau = ufl.TestFunction(self.surface.function_space)
            lev = pb.state.levels[0]
            self.growth_form = fem.form(
                self._reaction(pb.state, lev, self.surface) * tau * pb.ds["electrode"]
                + self._reaction(pb.state, lev, self.volume_surface) * tau * pb.dxl)
        per_cell = compat.assemble_cell_vector(self.growth_form)
        s = pb.scales
        local = np.zeros(len(growing))
        for i, k in enumerate(growing):
            sites, at = self._cells(k)
            local[i] = per_cell[sites.cells[at]].sum()
        total = self.comm.allreduce(local, op=MPI.SUM)
        # internal current density x internal area -> A (per m of slice in 2-D)
        amps = s.to_si(total, "A/m^2") * s.to_si(1.0, "m") ** (self.dim - 1)
        a0, a1, a2 = (float(c.value) for c in pb.ddt_weights[:3])
        m, before = self.nuclei[growing, METAL], self.nuclei[growing, PREVIOUS]
        grown = amps * s.to_si(dt, "s") * self.vm / (self.z * FARADAY)
        return (grown - a1 * m - a2 * before) / a0 - m

    def shorter_step(self, pb, dt):
        """A growing nucleus must not dissolve past zero within a step (its
        radius is frozen over the step, so its reaction does not slow as
        it empties: a galvanostatic strip drew 50 C/m^2 of metal that was
        not there, measured): the dt that leaves it at half its stall
        threshold, where it stalls (from the step's own rate)."""
        growing = np.flatnonzero(self.nuclei[:, STATE] == GROWING)
        if not len(growing):
            return None
        m = self.nuclei[growing, METAL]
        growth = self._growth(pb, dt, growing)
        self.attempt_growth = growth  # (record's, if the step is accepted)
        target = 0.5 * self.nuclei[growing, SEED] / self.cfg["seed_factor"] ** self.dim
        over = m + growth < 0
        if not over.any():
            return None
        return dt * float(np.min((m[over] - target[over]) / -growth[over]))

    def contributions(self):
        return {"collector_surface_current":
                lambda s, lev: self._reaction(s, lev, self.surface) + self.birth,
                "nucleus_volume_current":
                lambda s, lev: self._reaction(s, lev, self.volume_surface) + self.volume_birth}

    # ---- after a step: grow, cover, insert, draw -----------------------------
    def _site_table(self, values):
        """(kind, x, y, z, value) of every site of every rank, from the owned
        sites' values (a list by kind), sorted by kind and position."""
        rows = [np.column_stack([np.full(len(v), sites.kind), sites.centres, v])
                for sites, v in zip(self.sets, values) if sites is not None]
        table = np.vstack(self.comm.allgather(np.vstack(rows)))
        return table[np.lexsort((table[:, 1], table[:, 3], table[:, 2], table[:, 0]))]

    def _overpotentials(self):
        """(site-draw, flat) overpotentials on Q (internal): the collector
        draws at local_overpotential, the bulk at the flat overpotential."""
        pb = self.pb
        if self.local is None:
            self.local, self.flat = pb.scalar_function(), pb.scalar_function()
            self.local_expr = compat.compiled_expression(pb.state.u("local_overpotential"), pb.Q)
            self.flat_expr = compat.compiled_expression(
                electrochemical_overpotential(pb.state, pb.state.levels[0]), pb.Q)
        self.local.interpolate(self.local_expr)
        self.flat.interpolate(self.flat_expr)
        return self.local.x.array, self.flat.x.array

    def after_step(self, pb, step, t, dt, row):
        """Commit the step's growth; nuclei that metal covered stop, those at
        insertion_radius enter the phase field; draw this step's births
        (collective; t, dt internal).  True if eta was changed or a nucleus
        stopped growing (the time scheme then restarts its history)."""
        if len(self.pending) == len(self.nuclei) and len(self.nuclei):
            self.nuclei[:, PREVIOUS] = self.nuclei[:, METAL]
            self.nuclei[:, METAL] += self.pending
            self.nuclei[self.nuclei[:, STATE] == GROWING, DEBT] = 0.0
        # below the critical radius of its birth a nucleus has dissolved: it
        # stalls, its reaction off (its Gibbs-Thomson shift grows without
        # bound as R -> 0) and what metal the circuit left in it (the residue
        # of a step, or an overshoot below zero) stays counted
        small = self.nuclei[:, SEED] / self.cfg["seed_factor"] ** self.dim
        stall = (self.nuclei[:, STATE] == GROWING) & (self.nuclei[:, METAL] < small)
        self.nuclei[stall, STATE] = STALLED
        for n in self.nuclei[stall]:
            self._log("stalled", step, t, n)
        # a nucleus that stops growing leaves the BDF history of the charge:
        # the stepper restarts (BDF1 next) whenever one does
        stopped = bool(stall.any())
        eta = pb.field_values("eta")
        table = self._site_table([eta[sites.nodes].mean(axis=1) if sites is not None else None
                                  for sites in self.sets])  # (kind, x, y, z, eta)
        for k in np.flatnonzero(self.nuclei[:, STATE] == GROWING):
            row = self._row(table, self.nuclei[k])
            if table[row, 4] > 0.5:
                self.nuclei[k, [STATE, PREVIOUS]] = COVERED, self.nuclei[k, METAL]
                self._log("covered", step, t, self.nuclei[k])
                stopped = True
        insert = [k for k in np.flatnonzero(self.nuclei[:, STATE] == GROWING)
                  if cnt.cap_radius(self.nuclei[k, METAL], self.angle(int(self.nuclei[k, KIND])),
                                    self.dim) >= self.cfg["insertion_radius"]]
        for k in insert:
            entered = self._insert(self.nuclei[k])
            self.nucleated += entered / self.vm / self._electrode_area()
            self._log("inserted", step, t, self.nuclei[k])
            left = self.nuclei[k, METAL] - entered  # (a cap stalled in metal already there)
            state = INSERTED if left < 1e-9 * self.nuclei[k, METAL] else COVERED
            self.nuclei[k, [METAL, PREVIOUS, STATE]] = left, left, state
        self._draw(step, t, dt, table)
        return bool(insert) or stopped

    @staticmethod
    def _row(table, nucleus):
        """The row of the site table at a nucleus's site."""
        d = np.abs(table[:, :4] - nucleus[[KIND, X, Y, Z]]).sum(axis=1)
        return int(np.argmin(d))

    def _draw(self, step, t, dt, table):
        """This step's births on bare sites, in order of position, none within
        the exclusion distance of another nucleus (a stalled one is no
        longer there) or over metal."""
        cfg, s = self.cfg, self.pb.scales
        kinds = [k for k in (COLLECTOR, BULK) if self.sets[k] is not None]
        reach = max(cnt.footprint(cfg["insertion_radius"], self.angle(k)) for k in kinds)
        spacing = s.to_internal(max(cfg["exclusion_distance"], 2 * reach), "m")
        reach, ell = s.to_internal(reach, "m"), self.pb.p["ell"]
        metal = table[table[:, 4] > 0.5, 1:4]
        for kind, x, y, z, o, j, prob in self._candidates(step, dt):
            others = self.nuclei[self.nuclei[:, STATE] != STALLED][:, [X, Y, Z]]
            if (np.any(np.linalg.norm(others - (x, y, z), axis=1) < spacing)
                    or np.any(np.linalg.norm(metal - (x, y, z), axis=1) < reach + ell)):
                continue
            kind = int(kind)
            r0 = cfg["seed_factor"] * cnt.critical_radius(self.gamma, self.vm, self.z, o,
                                                          dim=self.dim)
            m0, _ = cnt.cap_size(r0, self.angle(kind), self.dim)
            self.nuclei = np.vstack([self.nuclei, [x, y, m0, m0, m0, t, GROWING, kind, m0, z]])
            self._log("born", step, t, self.nuclei[-1], r0, overpotential_V=o,
                      probability=prob, **{RATE_COLUMNS[kind]: j})

    def _log(self, event, step, t, nucleus, radius=None, **draw):
        """A row of nucleation.csv (SI; radius None: from the nucleus's metal)."""
        s, kind = self.pb.scales, int(nucleus[KIND])
        if radius is None:  # (0 for the deficit of a nucleus that overshot below zero)
            radius = cnt.cap_radius(max(nucleus[METAL], 0.0), self.angle(kind), self.dim)
        self.log_rows.append({"event": event, "step": step, "t_s": s.to_si(t, "s"),
                              "site": SITE_NAMES[kind], "x_m": s.to_si(nucleus[X], "m"),
                              "y_m": s.to_si(nucleus[Y], "m"), "z_m": s.to_si(nucleus[Z], "m"),
                              "radius_m": radius, **draw})

    def _candidates(self, step, dt):
        """(kind, x, y, z, overpotential, rate, probability) of the sites that
        draw a nucleus this step, gathered from every rank and sorted by kind
        and position."""
        cfg, s = self.cfg, self.pb.scales
        eta = self.pb.field_values("eta")
        overpotentials = self._overpotentials()
        local = []
        for sites in self.sets:
            if sites is None:
                continue
            kind = sites.kind
            over = s.to_si(overpotentials[kind][sites.nodes].mean(axis=1), "V")
            J = np.array([cnt.rate(self.prefactors[kind], self.gamma, self.vm, self.z, o, self.T,
                                   self.angle(kind), dim=self.dim,
                                   length=self.slice if self.dim == 2 else None)
                          if o < 0 else 0.0 for o in over])
            # a facet's area or a cell's volume (SI; times the slice in 2-D)
            size = sites.sizes * s.to_si(1.0, "m") ** (self.dim - (kind == COLLECTOR))
            P = -np.expm1(-J * size * self.slice * s.to_si(dt, "s"))
            bare = eta[sites.nodes].mean(axis=1) < 0.5
            hit = decide(sites.centres, P, cfg["seed"], step, self.pb.p["length"]) & bare
            local += [(kind, *sites.centres[i], over[i], J[i], P[i])
                      for i in np.flatnonzero(hit)]
        return sorted(c for part in self.comm.allgather(local) for c in part)

    def _insert(self, nucleus):
        """eta = max(eta, cap of radius R): on the collector centred at
        x = -R cos theta, in the bulk a disc at the site, with R such that
        the metal grows by the nucleus's metal (secant on R).  Returns the
        metal (SI) that entered the phase field: all of it, or less where
        the cap's growth stalls in metal already there."""
        pb, s = self.pb, self.pb.scales
        angle = self.angle(int(nucleus[KIND]))
        xq = pb.Q.tabulate_dof_coordinates().T
        dofs = pb.sub_dofs["eta"]
        before, start = pb.integral("metal_volume"), pb.u.x.array[dofs].copy()
        area = s.to_si(1.0, "m") ** self.dim  # SI volume of an internal one (2-D: per slice)
        target = nucleus[METAL] / area

        def excess(R):
            x = nucleus[X] if angle is None else -R * math.cos(angle)
            cap = (x, nucleus[Y], nucleus[Z], R)
            pb.u.x.array[dofs] = np.maximum(start, seeds_profile(xq, [cap], pb.p["ell"]))
            pb.u.x.scatter_forward()
            return pb.integral("metal_volume") - before - target
        r_a = s.to_internal(cnt.cap_radius(nucleus[METAL], angle, self.dim), "m")
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

    def _electrode_area(self):
        """The electrode's SI area (2-D: its length, the metal being per m of slice)."""
        return self.pb.area * self.pb.scales.to_si(1.0, "m") ** (self.dim - 1)

    def metadata(self, pb):
        return {"nucleation_seed": self.cfg["seed"]}

    def record(self, pb, integrals, t, dt):
        """nucleated: in the phase field; subgrid: in nuclei below the mesh,
        with this step's growth (committed after the row is written)."""
        growing = np.flatnonzero(self.nuclei[:, STATE] == GROWING)
        self.pending = np.zeros(len(self.nuclei))
        if len(growing) and dt > 0:
            self.pending[growing] = (self._growth(pb, dt, growing) if self.attempt_growth is None
                                     else self.attempt_growth)
        self.attempt_growth = None
        below = (self.nuclei[:, METAL] + self.pending)[self.nuclei[:, STATE] != INSERTED].sum()
        per_area = 1 / self.vm / self._electrode_area()
        alive = self.nuclei[:, STATE] != STALLED
        return {"nucleated_mol_m2": self.nucleated, "subgrid_metal_mol_m2": below * per_area,
                "nuclei": float(np.count_nonzero(alive)),
                "bulk_nuclei": float(np.count_nonzero(alive & (self.nuclei[:, KIND] == BULK)))}
