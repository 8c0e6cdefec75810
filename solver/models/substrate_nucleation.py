"""Explicit stochastic nucleation of metal on a bare collector (the electrode
face x = 0), as the discrete nucleation of PRISMS-PF and MOOSE.

After every accepted step, each electrode facet ("site", area A: its length
times [nucleation] site_depth in 2-D, 1 m^2 in 1-D) nucleates with
probability P = 1 - exp(-J A dt), J the classical rate (solver/nucleation.py)
at the site's local overpotential

    eta_loc: the model's local_overpotential at the site

(the published model: (phi - ln(c_l / (2 c0))) RT/(zF), phi over its Nernst
rest, tests/test_electrodeposition.py; the two-potential model: the
charge-transfer overpotential phi_s - phi_e - (RT/zF) ln(c/c_b), which on a
bare blocking collector is the applied potential), cathodic only.  A site nucleates when its draw
u < P.  u is a hash of ([nucleation] seed, step number, the site's
coordinates), so the same seed gives the same nuclei on any number of ranks.
Sites on metal (eta > 1/2) do not nucleate.  The candidates are gathered on
every rank, sorted by position, and accepted in that order unless within
exclusion_distance of an earlier nucleus.  A nucleus is inserted as
eta = max(eta, (1 - tanh((r - R)/l))/2) with R = seed_factor x
max(r*, min_seed_radius); for hold_time it is re-imposed after every step.
Each nucleus is logged to nucleation.csv (time, position, radius, local
overpotential, rate, probability); the metal they add is the column
nucleated_mol_m2 (Faraday's law: metal grown - nucleated = charge / zF).
The block is part of a case when [nucleation] enabled = true.
"""
from __future__ import annotations

import math

import numpy as np

from .. import compat
from .. import nucleation as cnt
from ..noise import uniform_field
from ..schema import Param, nonnegative, open_angle, positive, q
from . import Block
from .phase_field import seeds_profile

LOG_COLUMNS = ["step", "t_s", "x_m", "y_m", "radius_m", "overpotential_V", "rate_1_m2_s",
               "probability"]


def decide(coords, probabilities, seed, step, size):
    """Which sites nucleate: u < P with u uniform in [0, 1) from the hash of
    (seed, step, coordinates); the same for a site on any partition."""
    u = 0.5 * (uniform_field(coords, seed, step, size) + 1.0)
    return u < probabilities



PARAMS = {
    "nucleation": {
        "enabled": Param("bool", False, "explicit stochastic nucleation on the electrode face "
                         "(a bare collector: needs [phase_field] boundary_values = false and "
                         "a model with a local overpotential); see "
                         "solver/models/substrate_nucleation.py"),
        "rate_prefactor": q("0 1/(m^2*s)", "1/(m^2*s)", "J0 in J = J0 exp(-dG*/(k_B T)) "
                            "(no seed gives one: supply it)", nonnegative, (0.0, 1e60)),
        "contact_angle": q("90 deg", "1", "theta of the nucleus on the collector, in (0, pi) "
                           "(\"60 deg\" or radians); wetting factor "
                           "f = (2 + cos)(1 - cos)^2/4", open_angle),
        "seed_factor": Param("number", 1.5, "an inserted nucleus has radius seed_factor x "
                             "max(r*, min_seed_radius)", check=lambda x: None if x > 1 else
                             "must be > 1 (a nucleus must be supercritical)", bounds=(1.0, 100.0)),
        "min_seed_radius": q("1 um", "m", "smallest radius a nucleus is inserted with (the "
                             "mesh must resolve it; r* is nanometres at typical overpotentials)",
                             positive, (1e-12, 1.0)),
        "exclusion_distance": q("2 um", "m", "no nucleus within this distance of another "
                                "(at least the cell size)", positive, (1e-12, 1.0)),
        "hold_time": q("0 s", "s", "a new nucleus is re-imposed (eta = max(eta, seed)) "
                       "after every step for this long", nonnegative, (0.0, 1e15)),
        "site_depth": q("0 m", "m", "2-D: a site (electrode facet of length a) has area "
                        "a x site_depth; 0: a (square patches)", nonnegative, (0.0, 1.0)),
        "seed": Param("int", 1, "random-number seed of the draws (hashed with the step "
                      "number and the site's coordinates: partition independent)",
                      check=nonnegative),
    },
}

class SubstrateNucleation(Block):
    name = "substrate_nucleation"
    params = PARAMS
    requires = ("eta", "local_overpotential")
    columns = ("nucleated_mol_m2",)
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
        from . import registered
        chosen = [b for b in registered() if b.name in si["model"]["blocks"]]
        if not any("local_overpotential" in b.provides for b in chosen):
            offer = [b.name for b in registered() if "local_overpotential" in b.provides]
            errors.append("[nucleation] enabled: needs a model block that gives the local "
                          f"overpotential of the collector ({' or '.join(offer)})")
        if si["geometry"]["kind"] in ("box", "mesh"):
            errors.append("[nucleation] enabled: on built-in 1-D and 2-D meshes only (the "
                          "sites are the electrode's facets of the interval or rectangle)")
        if si["metal"]["surface_energy"] is None:
            errors.append("[nucleation] enabled: needs [metal] surface_energy (or a "
                          "[material] metal from the library)")
        return errors

    @classmethod
    def resolution_checks(cls, si, mesh):
        distance, cell_size = si["nucleation"]["exclusion_distance"], mesh.max_cell_size()
        if distance < cell_size:
            return [f"[nucleation] exclusion_distance: {distance * 1e6:.3g} um is below the "
                    f"cell size {cell_size * 1e6:.3g} um; use at least the cell size"], []
        return [], []

    @classmethod
    def inactive_keys(cls, si):
        if si["nucleation"]["enabled"]:
            return []
        return [("nucleation", tuple(k for k in PARAMS["nucleation"] if k != "enabled"),
                 "[nucleation] enabled = false")]

    def setup(self, pb):
        self.pb, self.comm = pb, pb.comm
        si, s = pb.case.si, pb.scales
        self.cfg = si["nucleation"]
        self.gamma = si["metal"]["surface_energy"]
        self.vm, self.z, self.T = s.molar_volume, s.z, s.temperature
        self.scales = s
        self._sites(pb)
        self.nuclei = np.zeros((0, 4))  # rows (x, y, R, t_inserted), internal units, every rank
        self.nucleated = 0.0  # mol/m^2 of metal inserted as nuclei
        self.log_rows = []
        self.local = None  # the local overpotential on Q, made at the first draw

    def _sites(self, pb):
        """The owned electrode facets: their nodes, centres and areas."""
        mesh = pb.mesh
        fdim = mesh.topology.dim - 1
        mesh.topology.create_connectivity(fdim, 0)
        facets = pb.facets["electrode"]
        facets = facets[facets < mesh.topology.index_map(fdim).size_local]  # owned: each once
        f2v = mesh.topology.connectivity(fdim, 0)
        v2d = pb.vertex_dofs()
        self.site_dofs = np.array([v2d[f2v.links(f)] for f in facets], dtype=np.int64).reshape(
            len(facets), fdim + 1)  # a facet has fdim + 1 vertices (point or segment)
        corners = pb.Q.tabulate_dof_coordinates()[self.site_dofs]
        self.sites = corners.mean(axis=1)  # internal units
        if fdim == 0:
            self.areas = np.ones(len(facets))  # 1-D: per m^2 of electrode
        else:
            length = self.scales.to_si(np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1), "m")
            depth = self.cfg["site_depth"] or None
            self.areas = length * (depth if depth else length)

    # ---- the draw ---------------------------------------------------------
    def _site_values(self, name):
        return self.pb.field_values(name)[self.site_dofs].mean(axis=1)

    def overpotential(self):
        """Local overpotential (V) at each owned site: the model's
        local_overpotential (the Nernst-corrected potential of the published
        model; the charge-transfer overpotential phi_s - phi_e - ln(c/c_b) of
        the two-potential model) at the site's nodes."""
        pb = self.pb
        if self.local is None:
            self.local = pb.scalar_function()
            self.local_expr = compat.compiled_expression(pb.state.u("local_overpotential"), pb.Q)
        self.local.interpolate(self.local_expr)
        return pb.scales.to_si(self.local.x.array[self.site_dofs].mean(axis=1), "V")

    def _candidates(self, step, dt):
        """(x, y, overpotential, rate, probability) of the sites that draw a
        nucleus this step, gathered from every rank and sorted by position."""
        cfg, s = self.cfg, self.pb.scales
        eta_site = self._site_values("eta")
        over = self.overpotential()
        J = np.array([cnt.rate(cfg["rate_prefactor"], self.gamma, self.vm, self.z, o, self.T,
                               cfg["contact_angle"]) if o < 0 else 0.0 for o in over])
        P = -np.expm1(-J * self.areas * s.to_si(dt, "s"))
        hit = decide(self.sites, P, cfg["seed"], step, self.pb.p["length"]) & (eta_site < 0.5)
        local = [(*self.sites[i, :2], over[i], J[i], P[i]) for i in np.flatnonzero(hit)]
        return sorted(c for part in self.comm.allgather(local) for c in part)

    def after_step(self, pb, step, t, dt):
        """Draw and insert this step's nuclei (collective; t, dt internal), log
        them in log_rows (SI); True if eta was changed (new or held nuclei)."""
        cfg, s = self.cfg, pb.scales
        excl = s.to_internal(cfg["exclusion_distance"], "m")
        new = []
        for x, y, o, j, prob in self._candidates(step, dt):
            if any(math.hypot(x - n[0], y - n[1]) < excl for n in [*self.nuclei, *new]):
                continue
            r_star = cnt.critical_radius(self.gamma, self.vm, self.z, o)
            R = s.to_internal(cfg["seed_factor"] * max(r_star, cfg["min_seed_radius"]), "m")
            new.append((x, y, R, t))
            self.log_rows.append({"step": step, "t_s": s.to_si(t, "s"), "x_m": s.to_si(x, "m"),
                                  "y_m": s.to_si(y, "m"), "radius_m": s.to_si(R, "m"),
                                  "overpotential_V": o, "rate_1_m2_s": j, "probability": prob})
        self.nuclei = np.vstack([self.nuclei, np.array(new, dtype=float).reshape(-1, 4)])
        held = [n for n in self.nuclei if t - n[3] <= s.to_internal(cfg["hold_time"], "s")]
        if held:
            before = pb.integral("metal_volume")
            self._impose(held)
            self.nucleated += s.to_si((pb.integral("metal_volume") - before) / pb.area, "mol/m^2")
        return bool(held)

    def _impose(self, nuclei):
        pb = self.pb
        xq = pb.Q.tabulate_dof_coordinates().T
        dofs = pb.sub_dofs["eta"]
        seeds = [(x, y, 0.0, R) for x, y, R, _ in nuclei]
        width = pb.p["interface_width"]
        pb.u.x.array[dofs] = np.maximum(pb.u.x.array[dofs], seeds_profile(xq, seeds, width))
        pb.u.x.scatter_forward()

    def metadata(self, pb):
        return {"nucleation_seed": self.cfg["seed"]}

    def record(self, pb, integrals, t, dt):
        return {"nucleated_mol_m2": self.nucleated}
