"""Explicit stochastic nucleation of metal on a bare collector (the electrode
face x = 0), as the discrete nucleation of PRISMS-PF and MOOSE.

After every accepted step, each electrode facet ("site", area A: its length
times [nucleation] site_depth in 2-D, 1 m^2 in 1-D) nucleates with
probability P = 1 - exp(-J A dt), J the classical rate (solver/nucleation.py)
at the site's local overpotential

    eta_loc = (phi - ln(c_l / (2 c0))) RT/(zF)

(the Nernst rest potential of the phase-field model, tests/
test_electrodeposition.py), cathodic only.  A site nucleates when its draw
u < P.  u is a hash of ([nucleation] seed, step number, the site's
coordinates), so the same seed gives the same nuclei on any number of ranks.
Sites on metal (eta > 1/2) do not nucleate.  The candidates are gathered on
every rank, sorted by position, and accepted in that order unless within
exclusion_distance of an earlier nucleus.  A nucleus is inserted as
eta = max(eta, (1 - tanh((r - R)/l))/2) with R = seed_factor x
max(r*, min_seed_radius); for hold_time it is re-imposed after every step.
Each nucleus is logged to nucleation.csv (time, position, radius, local
overpotential, rate, probability).
"""
from __future__ import annotations

import math

import numpy as np
from . import nucleation as cnt
from .models.grand_potential import logistic_np
from .models.phase_field import seeds_profile
from .noise import uniform_field

LOG_COLUMNS = ["step", "t_s", "x_m", "y_m", "radius_m", "overpotential_V", "rate_1_m2_s",
               "probability"]


def decide(coords, probabilities, seed, step, size):
    """Which sites nucleate: u < P with u uniform in [0, 1) from the hash of
    (seed, step, coordinates); the same for a site on any partition."""
    u = 0.5 * (uniform_field(coords, seed, step, size) + 1.0)
    return u < probabilities


class SubstrateNucleation:
    def __init__(self, pb, case):
        self.pb, self.comm = pb, pb.comm
        si, s = case.si, pb.scales
        self.cfg = si["nucleation"]
        self.gamma = si["metal"]["surface_energy"]
        self.vm, self.z, self.T = s.molar_volume, s.z, s.temperature
        self.x0 = s.length
        mesh = pb.mesh
        fdim = mesh.topology.dim - 1
        mesh.topology.create_connectivity(fdim, 0)
        facets = pb.facets["electrode"]
        facets = facets[facets < mesh.topology.index_map(fdim).size_local]  # owned: each once
        f2v = mesh.topology.connectivity(fdim, 0)
        v2d = pb.vertex_dofs()
        self.site_dofs = np.array([v2d[f2v.links(f)] for f in facets], dtype=np.int64).reshape(
            len(facets), fdim + 1)  # a facet has fdim + 1 vertices (point or segment)
        xq = pb.Q.tabulate_dof_coordinates()
        corners = xq[self.site_dofs]
        self.sites = corners.mean(axis=1)  # internal units
        if fdim == 0:
            self.areas = np.ones(len(facets))  # 1-D: per m^2 of electrode
        else:
            length = np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1) * self.x0
            depth = self.cfg["site_depth"] or None
            self.areas = length * (depth if depth else length)
        self.nuclei = []  # [(x, y, R, t_inserted)], internal units, the same on every rank
        self.log_rows = []

    # ---- state for checkpoints ------------------------------------------
    def state(self):
        return {"nuclei": np.array(self.nuclei, dtype=float).reshape(-1, 4)}

    def restore(self, state):
        self.nuclei = [tuple(r) for r in np.asarray(state.get("nuclei", []), float).reshape(-1, 4)]

    # ---- the draw ---------------------------------------------------------
    def _site_values(self, name):
        return self.pb.field_values(name)[self.site_dofs].mean(axis=1)

    def overpotential(self):
        """Local overpotential (V) at each owned site."""
        p, s = self.pb.p, self.pb.scales
        c_l = logistic_np((self._site_values("w") - p["el"]) / p["A"])
        return (self._site_values("pot") - np.log(c_l / (2 * p["c0"]))) * s.potential

    def after_step(self, step, t, dt) -> bool:
        """Draw and insert this step's nuclei (collective; t, dt internal), log
        them in log_rows (SI); True if eta was changed (new or held nuclei)."""
        cfg, s = self.cfg, self.pb.scales
        eta_site = self._site_values("eta")
        over = self.overpotential()
        J = np.array([cnt.rate(cfg["rate_prefactor"], self.gamma, self.vm, self.z, o, self.T,
                               cfg["contact_angle"]) if o < 0 else 0.0 for o in over])
        P = -np.expm1(-J * self.areas * dt * s.time)
        hit = decide(self.sites, P, cfg["seed"], step, self.pb.p["length"]) & (eta_site < 0.5)
        local = [(*self.sites[i, :2], over[i], J[i], P[i]) for i in np.flatnonzero(hit)]
        candidates = sorted(c for part in self.comm.allgather(local) for c in part)
        l_int = self.pb.p["interface_width"]
        excl = cfg["exclusion_distance"] / self.x0
        new = []
        for x, y, o, j, prob in candidates:
            if any(math.hypot(x - n[0], y - n[1]) < excl for n in self.nuclei + new):
                continue
            r_star = cnt.critical_radius(self.gamma, self.vm, self.z, o) / self.x0
            R = cfg["seed_factor"] * max(r_star, cfg["min_seed_radius"] / self.x0)
            new.append((x, y, R, t))
            self.log_rows.append({"step": step, "t_s": t * s.time, "x_m": x * self.x0,
                                  "y_m": y * self.x0, "radius_m": R * self.x0,
                                  "overpotential_V": o, "rate_1_m2_s": j, "probability": prob})
        self.nuclei += new
        held = [n for n in self.nuclei if t - n[3] <= cfg["hold_time"] / s.time]
        if held:
            self._impose(held, l_int)
        return bool(held)

    def _impose(self, nuclei, width):
        pb = self.pb
        xq = pb.Q.tabulate_dof_coordinates().T
        dofs = pb.sub_dofs["eta"]
        seeds = [(x, y, R) for x, y, R, _ in nuclei]
        pb.u.x.array[dofs] = np.maximum(pb.u.x.array[dofs], seeds_profile(xq, seeds, width))
        pb.u.x.scatter_forward()
