"""Voids at the metal | solid-electrolyte interface and the contact they
take (issue 38, parts 2 and 3; first model: voids as a coverage of the
diffuse interface, not yet a third phase field).

Vacancies beyond a supersaturation c_v (the metal_vacancies block's excess
c) condense into voids of height delta_v at the interface; creep of the
metal under its pressure closes them.  psi is the void volume per volume,
condensed on the metal's side of the interface, g = 2 h w (w = |grad eta|,
charge_transfer.interface_weight; the integral of g across the interface is
1, as of w), so the void volume per interface area V = int psi dn and the
covered share theta = V/delta_v do not depend on the diffuse interface's
width:

    d psi/dt = delta_v k (c - c_v)+ g (1 - theta)+ (h - psi)+/h - r psi,
    theta = psi/(delta_v g),   r = (3/2) rate0 ((3/(2n)) p_h/sigma0)^n,

k the rate at which the excess covers the interface, p_h the metal's
hydrostatic pressure and rate0, sigma0, n its Norton law (metal_mechanics).
r is the closure rate of a dilute void in a power-law creeping matrix under
pressure p_h (Budiansky, Hutchinson & Slutsky, in Mechanics of Solids,
Pergamon 1982, 13; the hydrostatic limit), so the pressure needed to keep
the interface open rises with the current.  The condensed vacancies leave
the metal_vacancies balance (vacancy_condensation), so vacancies and voids
together are the stripped atoms' vacancies; voids form only while they
leave metal sites (psi < h) and uncovered interface (theta < 1).  On the
metal's side the sites hold a full cover (theta = 1) while the interface
length l is at least delta_v; below, at most 0.91 (l = 0.75 delta_v) or
0.73 (l = delta_v/2) of the interface can be covered (on w itself, half
the voids fell where the sites are few: at most 0.53 at l = delta_v/2, 0.89
at l = 8 delta_v).  check() refuses a contact_loss_fraction the voids
cannot reach (coverage_ceiling).  Voids are
empty sites of the metal's lattice: a void closed by creep takes its sites
(-r psi, a contribution to site_creation, charge_transfer's metal balance),
so the metal collapses into it and the front recedes.

Nucleation ([voids] nucleation_rate J_v > 0): voids condense only at the
sites that hold one (VoidSites.on, 1 there).  The interface is divided
into nucleation sites: columns along x (the electrode's normal) over the
cells of a lattice of site_spacing in (y, z), the last cell closed at the
domain's end; a 1-D interface is one site.  After each accepted step, a
site holding interface nodes where the excess exceeds c_v and no void is
(theta < THETA_ON at all of its nodes) nucleates
with probability 1 - exp(-J_v dt), the draw a hash of (seed, step, the
site's centre) as for metal nuclei (metal_nucleation.decide): the same
voids on any number of ranks while they take the same steps.  A nucleus
is a coverage THETA_SEED taken from the node's excess vacancies (psi +=
dpsi, (h + eps) c -= dpsi: the vacancies and voids together are
unchanged); a node whose excess cannot give THETA_ON of it gets none.
Creep closes a void below
THETA_ON, and the site can nucleate again.  Column void_nuclei (sites
nucleated so far).

Voids take contact: the reaction's exchange current is i0 (1 - theta) (a
contribution to exchange_current_log_shift), so the current focuses where
the interface still touches, and the cell potential rises as contact is
lost.  Results: contact_fraction, 1 minus the interface-weighted mean of
theta; void_fraction, that mean; the void volume per electrode area;
interface_resistance_ohm_cm2, the interface's mean charge-transfer
overpotential over the reaction's current per electrode area (NaN at
rest, a reaction below 1e-6 of the exchange current).  The run
stops "contact lost" below [voids] contact_loss_fraction.  The field
void_fraction (psi).
"""
from __future__ import annotations

import math

import numpy as np
import ufl

from ..blocks import Block, Field, Unknown, register
from ..schema import Param, nonnegative, positive, q
from .charge_transfer import interface_weight, reaction_source
from .grand_potential import interpolation
from .phase_field import interface_length
from .metal_nucleation import decide
from .metal_vacancies import EPS

CONTACT_FLOOR = 1e-6  # 1 - theta floored in ln(1 - theta): a covered node passes 1e-6 of i0
SITES_FLOOR = 1e-3  # h in (h - psi)/h floored: where no metal is, nothing condenses
WEIGHT_FLOOR = 1e-3  # g in theta = psi/(delta_v g) floored at 1e-3/l (g peaks near 0.6/l)
THETA_SEED = 1e-2  # the coverage a void nucleus starts with
THETA_ON = 1e-3  # below this coverage no void is there (condensation off, a site can nucleate)
SEED_BAND = 1e-3  # a site's interface nodes: eta (1 - eta) above this
REST_CURRENT = 1e-6  # a reaction below this share of i0: at rest, no interface resistance (NaN)

PARAMS = {
    "voids": {
        "nucleation_excess": Param("number", 0.01, "c_v: the vacancies' excess site fraction "
                                   "above which they condense into voids at the interface",
                                   check=positive, bounds=(1e-9, 1.0)),
        "condensation_rate": q("1 1/s", "1/s", "k: the rate at which the excess above c_v "
                               "covers the interface with voids (d theta/dt = k (c - c_v))",
                               positive, (1e-12, 1e12)),
        "void_height": q("1 um", "m", "delta_v: the height of the voids at the interface; a void "
                         "volume V per interface area covers V/delta_v of it (an assumption: "
                         "no measured value is used; give yours)", positive, (1e-12, 1.0)),
        "nucleation_rate": q("0 1/s", "1/s", "J_v: voids nucleate stochastically, a site (a "
                             "column along x over a cell of the site_spacing lattice in y, z) "
                             "whose interface is supersaturated "
                             "(excess above c_v) with probability 1 - exp(-J_v dt) per step, "
                             "and condense only where they have; 0: they condense wherever "
                             "the excess exceeds c_v", nonnegative, (0.0, 1e12)),
        "site_spacing": q("1 um", "m", "the spacing of the void nucleation sites (a lattice, so "
                          "the draws depend on neither the mesh nor the partition)",
                          positive, (1e-12, 1.0)),
        "seed": Param("int", 1, "random-number seed of the void nucleation draws",
                      check=nonnegative),
        "contact_loss_fraction": Param("number", 0.5, "the run stops \"contact lost\" when "
                                       "the contact fraction falls below this (0: never); voids "
                                       "must be able to cover 1 minus it (see void_height)",
                                       bounds=(0.0, 1.0)),
    },
}


def coverage_ceiling(ell: float, void_height: float) -> float:
    """The largest share of the interface voids of height delta_v can cover
    when they must stay within the metal's sites: int min(g, h/delta_v) dx
    across the equilibrium profile eta = (1 - tanh(x/l))/2 (g = 2 h w)."""
    x = np.linspace(-12.0, 12.0, 24001) * ell
    e = 0.5 * (1 - np.tanh(x / ell))
    h = interpolation(e)
    g = 2 * h * 2 * e * (1 - e) / ell
    return float(np.sum(np.minimum(g, h / void_height)) * (x[1] - x[0]))


@register
class InterfaceVoids(Block):
    name = "interface_voids"
    axisymmetric = True
    order = 175
    params = PARAMS
    unknowns = (Unknown("void_fraction", "1"),)
    provides = ("vacancy_condensation",)
    requires = ("eta", "vacancy_excess", "hydrostatic_pressure", "metal_fraction",
                "charge_transfer_overpotential")
    columns = ("contact_fraction", "void_fraction", "void_volume_m3_m2",
               "interface_resistance_ohm_cm2", "void_nuclei")
    checkpoint_state = ("nuclei",)
    checkpoint_defaults = {"nuclei": 0}
    stochastic = False  # set in setup: [voids] nucleation_rate > 0

    @classmethod
    def check(cls, si, given):
        if si["metal"]["creep_reference_rate"] == 0:
            return ["[metal] creep_reference_rate: 0 (an elastic metal) closes no void; the "
                    "interface_voids block needs the metal's creep law"]
        v, ell = si["voids"], interface_length(si["phase_field"])
        if v["nucleation_rate"] > 0 and si["geometry"]["axisymmetric"]:
            # (a site would be a ring whose chance to nucleate grows with r)
            return ["[voids] nucleation_rate: stochastic void sites are patches of a flat "
                    "interface; in [geometry] axisymmetric they would be rings: use a "
                    "rectangle or a box, or nucleation_rate = 0 (voids condense everywhere "
                    "above the excess)"]
        most = coverage_ceiling(ell, v["void_height"])
        if v["contact_loss_fraction"] > 0 and 1 - v["contact_loss_fraction"] > 0.95 * most:
            return [f"[voids] contact_loss_fraction: {v['contact_loss_fraction']:g} asks voids "
                    f"to cover {1 - v['contact_loss_fraction']:.3g} of the interface, but voids "
                    f"{v['void_height'] * 1e6:.3g} um high fit at most {most:.3g} of an "
                    f"interface of length {ell * 1e6:.3g} um (the metal's sites there); raise "
                    "[phase_field] interface_length to at least void_height, or raise "
                    "contact_loss_fraction"]
        return []

    @classmethod
    def warnings(cls, si):
        """Voids higher than the interface is long cannot cover its middle:
        the reaction leaks past them (docs/mechanics.md)."""
        v, ell = si["voids"], interface_length(si["phase_field"])
        if ell >= v["void_height"]:
            return []
        return [f"[voids] void_height: voids {v['void_height'] * 1e6:.3g} um high on an "
                f"interface of length {ell * 1e6:.3g} um fit in the metal's sites over at most "
                f"{coverage_ceiling(ell, v['void_height']):.3g} of it, so the reaction goes on "
                "past a void's middle; set [phase_field] interface_length to at least "
                "void_height for voids that block the interface"]

    @classmethod
    def inactive_keys(cls, si):
        if si["voids"]["nucleation_rate"] == 0:
            return [("voids", ("site_spacing", "seed"), "[voids] nucleation_rate = 0")]
        return []

    @classmethod
    def internal(cls, si, s):
        v = si["voids"]
        return {"void_c": v["nucleation_excess"],
                "void_k": s.to_internal(v["condensation_rate"], "1/s"),
                "void_height": s.to_internal(v["void_height"], "m"),
                "void_J": s.to_internal(v["nucleation_rate"], "1/s"),
                "void_spacing": s.to_internal(v["site_spacing"], "m")}

    def quantities(self):
        def condensation(s, lev):
            # delta_v k (c - c_v)+ g (1 - theta)+ (h - psi)+/h, g = 2 h w
            c, h, psi = lev["vacancy_excess"], s.at("metal_fraction", lev), lev["void_fraction"]
            sites = ufl.max_value(h - psi, 0.0) / (h + SITES_FLOOR)
            theta = self.covered(s, lev)
            rate = (s.p["void_height"] * s.p["void_k"] * ufl.max_value(c - s.p["void_c"], 0.0)
                    * self.metal_side(s, lev) * ufl.max_value(1 - theta, 0.0) * sites)
            if self.stochastic:  # only at the sites where a void has nucleated
                rate = rate * self.sites.on
            return rate
        return {"vacancy_condensation": condensation}

    @staticmethod
    def metal_side(s, lev):
        """g = 2 h w: the interface's delta function on the metal's side."""
        return 2 * s.at("metal_fraction", lev) * interface_weight(lev["eta"], s.p["ell"])

    def covered(self, s, lev):
        """theta = psi/(delta_v g): the share of the interface the voids cover, at most 1."""
        g = self.metal_side(s, lev) + WEIGHT_FLOOR / s.p["ell"]
        return ufl.min_value(lev["void_fraction"] / (s.p["void_height"] * g), 1.0)

    def contributions(self):
        def contact(s, lev):  # i0 (1 - theta)
            return ufl.ln(ufl.max_value(1 - self.covered(s, lev), CONTACT_FLOOR))

        def closing(s, lev):  # a void closed by creep takes its sites: -r psi
            return -self.closure_rate(s, lev) * lev["void_fraction"]
        return {"exchange_current_log_shift": contact, "site_creation": closing}

    def closure_rate(self, s, lev):
        """r = (3/2) rate0 ((3/(2n)) p_h/sigma0)^n (internal 1/time); 0 in tension."""
        p = s.p
        pressure = ufl.max_value(s.at("hydrostatic_pressure", lev), 0.0)
        return 1.5 * p["mech_rate0"] * (1.5 / p["mech_n"] * pressure / p["mech_sigma0"]) ** p["mech_n"]

    def residual(self, s):
        psi, w = s.u("void_fraction"), s.test("void_fraction")
        lev = s.levels[0]
        F = s.ddt(lambda lv: lv["void_fraction"]) * w * s.dxl
        F -= s.at("vacancy_condensation", lev) * w * s.dxl
        return F + self.closure_rate(s, lev) * psi * w * s.dxl

    def initial(self, p):
        return {"void_fraction": lambda x: np.zeros(x.shape[1])}

    def setup(self, pb):
        self.contact_loss = pb.case.si["voids"]["contact_loss_fraction"]
        self.seed = pb.case.si["voids"]["seed"]
        self.stochastic = pb.case.si["voids"]["nucleation_rate"] > 0
        self.nuclei = 0
        if self.stochastic:
            self.sites = VoidSites(pb)

    def before_solve(self, pb, t0, t1):
        if self.stochastic:
            self.sites.switch_on(pb)

    def after_step(self, pb, step, t, dt, row):
        """Void nucleation (J_v > 0): each supersaturated site without a
        void draws u < 1 - exp(-J_v dt); the interface nodes of a site that
        nucleates get a nucleus of coverage THETA_SEED, taken from their
        excess vacancies.  True if any did (collective)."""
        if not self.stochastic:
            return False
        born = self.sites.nucleate(pb, step, dt, self.seed)
        self.nuclei += born
        return born > 0

    def error_indicators(self, p, nodal):
        return {"void_fraction": nodal["void_fraction"]}

    def integrals(self, pb):
        s = pb.state
        weight = interface_weight(s.u("eta"), pb.p["ell"])
        return {"void_weighted": self.covered(s, s.levels[0]) * weight * pb.dxl,
                "void_volume": s.u("void_fraction") * pb.dxl,
                "void_reaction": reaction_source(s) * pb.dxl}

    def record(self, pb, integrals, t, dt):
        # (the interface's weight and mean overpotential: charge_transfer's integrals)
        w, sc = integrals["interface_weight"], pb.scales
        mean = integrals["void_weighted"] / w if w > 0 else 0.0
        # the interface's mean overpotential over the reaction's current per area
        eta_ct = sc.to_si(integrals["weighted_overpotential"] / w, "V") if w > 0 else math.nan
        current = sc.to_si(integrals["void_reaction"] / pb.area, "A/m^2")
        # (at rest, a reaction below 1e-6 of the exchange current: no resistance to read)
        at_rest = abs(current) < REST_CURRENT * sc.to_si(float(pb.p["i0"]), "A/m^2")
        resistance = math.nan if at_rest else abs(eta_ct / current) * 1e4
        return {"contact_fraction": 1.0 - mean, "void_fraction": mean,
                "void_volume_m3_m2": integrals["void_volume"] / pb.area * sc.length,
                "interface_resistance_ohm_cm2": resistance, "void_nuclei": self.nuclei}

    def stop(self, row):
        if row["contact_fraction"] < self.contact_loss:
            return (f"contact lost: the metal touches the electrolyte on "
                    f"{row['contact_fraction']:.3g} of the interface (< contact_loss_fraction "
                    f"{self.contact_loss:g})")
        return None

    def progress(self, row):
        return f"contact {row['contact_fraction']:.3g}"

    def fields(self):
        return (Field("void_fraction", "1", lambda pb: pb.field_values("void_fraction")),)


class VoidSites:
    """The nucleation sites of interface_voids: columns along x (the
    electrode's normal) over the cells of a lattice of site_spacing in
    (y, z), the last cell of each direction closed at the domain's end; a
    1-D interface is one site.  `on` (a nodal function) is 1 at every node
    of a site that holds a void (coverage THETA_ON or more at any of its
    interface nodes): the condensation's switch, recomputed from the last
    accepted state before every step (so a restart needs nothing more)."""

    def __init__(self, pb):
        p = pb.p
        coords = pb.Q.tabulate_dof_coordinates()[:, :pb.mesh.geometry.dim]
        top = np.max(pb.comm.allgather(coords.max(axis=0, initial=-np.inf)), axis=0)
        last = np.maximum(np.ceil(top / p["void_spacing"] - 1e-6) - 1, 0)
        # (+1e-6: a node on a cell's edge joins the upper cell on every
        # partition, whose tabulated coordinates differ in the last bit; the
        # domain's far end belongs to the last cell)
        self.site = np.minimum(np.floor(coords / p["void_spacing"] + 1e-6), last)
        self.site[:, 0] = 0.0
        self.centres = (self.site + 0.5) * p["void_spacing"]
        # one integer per site (its cell's index in the lattice), for lookups
        self.key = np.ravel_multi_index(self.site.astype(np.int64).T, (last + 1).astype(np.int64))
        self.on = pb.scalar_function()

    @staticmethod
    def _nodal(pb, f=None):
        """h, c, psi at the nodes (of u, or of f), the interface nodes and
        the psi of a nucleus there (THETA_SEED delta_v g)."""
        p, eta = pb.p, pb.field_values("eta", f)
        e = np.clip(eta, 0.0, 1.0)
        h = interpolation(e)
        seed = THETA_SEED * p["void_height"] * 2 * h * 2 * e * (1 - e) / p["ell"]
        return (h, pb.field_values("vacancy_excess", f), pb.field_values("void_fraction", f),
                eta * (1 - eta) > SEED_BAND, seed)

    def _sites_where(self, pb, mask):
        """The sites (over all ranks) that hold a node where mask is true."""
        local = set(np.unique(self.key[mask]).tolist())
        return set().union(*pb.comm.allgather(local))

    def _nodes_of(self, sites):
        return np.isin(self.key, np.fromiter(sites, dtype=np.int64, count=len(sites)))

    def switch_on(self, pb):
        """on = 1 at the sites holding a void in the last accepted state."""
        h, c, psi, band, seed = self._nodal(pb, pb.u_n)
        voided = self._sites_where(pb, band & (psi >= THETA_ON / THETA_SEED * seed) & (seed > 0))
        self.on.x.array[:] = self._nodes_of(voided)
        return voided

    def nucleate(self, pb, step, dt, seed_number):
        """This step's nucleations (after the step is accepted: u is the
        state); the number of sites that nucleated."""
        p = pb.p
        voided = self.switch_on(pb)
        h, c, psi, band, seed = self._nodal(pb)
        storage = h + EPS
        # a node nucleates where its excess gives at least THETA_ON of cover
        enough = band & (storage * (c - p["void_c"]) >= THETA_ON / THETA_SEED * seed) & (seed > 0)
        candidates = self._sites_where(pb, enough) - voided
        if not candidates:
            return 0
        draw = decide(self.centres, -np.expm1(-p["void_J"] * dt), seed_number, step, p["length"])
        hit = enough & draw & self._nodes_of(candidates)
        moved = np.where(hit, np.minimum(seed, storage * (c - p["void_c"])), 0.0)
        born = self._sites_where(pb, hit)
        if born:
            for name, values in (("void_fraction", psi + moved),
                                 ("vacancy_excess", c - moved / storage)):
                pb.u.x.array[pb.sub_dofs[name]] = values
            pb.u.x.scatter_forward()
        return len(born)

