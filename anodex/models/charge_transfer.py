"""Charge transfer at the metal/electrolyte interface of the two-potential
model, confined to the diffuse interface, with Gibbs-Thomson capillarity
(physics/audit.md section 2: Chadwick et al., J. Electrochem. Soc. 165
(2018) C633 for the structure; Zhang, Chadwick & Voorhees, arXiv:2311.03563
for the overpotential with capillarity).

Overpotential (internal units: RT/(zF)):

    eta_ct = phi_s - phi_e - ln(c/c_b) + gamma V_m K / RT

phi_s, phi_e the electronic and ionic potentials, c/c_b the salt over its
bulk value (1 for a single-ion solid electrolyte), K the curvature of the
metal (positive for a convex deposit; the interface_curvature block, absent
in 1-D), gamma = sqrt(2 kappa W)/6 the interface energy of the phase field.
Reference: phi_e = 0 at the reservoir, the potential of an M/M^z+ electrode
at the bulk concentration, so eta_ct = 0 is equilibrium.

Kinetics ([reaction] kinetics; one function of eta_ct, so Marcus and
Marcus-Hush-Chidsey rates can be added as further choices):

    butler_volmer:  i_F = i0 (c/c_b)^alpha_a [exp(-alpha_c eta_ct) - exp(alpha_a eta_ct)]

(deposition positive; for alpha_a + alpha_c = 1 the cathodic branch is
first order in c and the rest potential is Nernst's).

Order-parameter equation: the phase_field block's Allen-Cahn terms, plus

    d eta/dt += (i_F V_m/(zF) + M kappa K) |grad eta| + lambda 2 eta (1 - eta)/l

(|grad eta| regularised and faded out in the bulk phases: interface_weight;
its integral across the interface is 1 whatever the profile's width).  The
first term moves a flat front at v = i_F V_m/(zF) (Faraday); the second
(Sun & Beckermann, J. Comput. Phys. 220 (2007) 626) cancels the phase
field's own curvature motion, so the Allen-Cahn mobility M only keeps the
profile and capillarity enters through i_F alone: the classical critical
radius gamma V_m/(zF|eta|) is the model's.

The reaction is the only source of metal.  The charge it hands across is

    S_F = (zF/V_m) i_F V_m/(zF) h'(eta) |grad eta|      (reaction_source)

(h'(eta) |grad eta| = |grad h| also integrates to 1 across the interface),
the source of the electronic and the sink of the ionic current.  The metal
follows it through the local Lagrange multiplier lambda (a velocity, the
unknown metal_multiplier; conservative Allen-Cahn, Rubinstein & Sternberg,
IMA J. Appl. Math. 48 (1992) 249, Brassel & Bretin, Math. Methods Appl.
Sci. 34 (2011) 1157, here with a multiplier field instead of a number):

    dh/dt - (V_m/zF) S_F = div(D grad lambda) - delta lambda/l,
    D = l (4 eta (1 - eta) + 1e-6)

with zero flux at every boundary.  Integrated over the domain the
divergence vanishes, so the metal changes exactly by the reaction's charge
(delta = 1e-12 keeps lambda defined where there is no interface; it
carries 1e-12 of lambda's integral).  D confines the multiplier's flux to
the interface: the relaxation may reshape the profile across it, about l,
but passes no metal through the bulk phases from one interface to another
(1e-6 of the interface's D there).  A film
at rest stays, a stripped film thins only by the reaction, and the
relaxation's own motion (a profile meeting a wall, a film thinner than the
interface, a nucleus not yet at its profile) is paid back on the spot
instead of being counted as current (review-2 section 1: a 0.6 um film on
LLZO at 0 V dissolved in 70 s while the collector passed -150 A/m^2).
Results: the interface-averaged overpotential (weight interface_weight).
"""
import math

import numpy as np
import ufl
from mpi4py import MPI

from .. import compat
from ..schema import Param, open_unit, positive, q
from ..blocks import Block, Unknown, register
from .grand_potential import capped_exp, clamp01, dh
from .phase_field import interface_length

PARAMS = {
    "reaction": {
        "kinetics": Param("choice", "butler_volmer", "rate law of the charge transfer",
                          choices=("butler_volmer",)),
        "exchange_current_density": q("10 A/m^2", "A/m^2", "i0 at the bulk salt "
                                      "concentration (no seed gives one: supply a measured "
                                      "value for the interface)", positive, (1e-12, 1e8)),
        "cathodic_transfer_coefficient": Param("number", 0.5, "alpha_c", check=open_unit),
        "anodic_transfer_coefficient": Param("number", 0.5, "alpha_a", check=open_unit),
        "gibbs_thomson": Param("bool", True, "capillarity in the overpotential, "
                               "gamma V_m K/(zF) (2-D and 3-D; needs the interface_curvature "
                               "block)"),
    },
}


GRADIENT_FLOOR = 1e-4  # delta l of the regularised |grad eta|
BAND = 1e-4  # eta (1 - eta) below which the weight fades: the bulk phases


def interface_weight(eta, ell):
    """|grad eta|, regularised as sqrt(|grad eta|^2 + delta^2) - delta with
    delta = 1e-4/l: the delta function of the interface, whose integral
    across it is 1 whatever the profile's width, so a widened profile
    cannot carry more reaction.  It fades to 0 where eta (1 - eta) < 1e-4
    (the bulk phases; 1e-4 of the integral): there the curvature is noise,
    and the counter-term and the reaction acting on it grew the order
    parameter inside the metal of 2-D runs to 1.6 (measured)."""
    g = ufl.grad(eta)
    delta = GRADIENT_FLOOR / ell
    return (ufl.sqrt(ufl.inner(g, g) + delta * delta) - delta) * interface_band(eta, BAND)


def profile_weight(eta, ell):
    """2 eta (1 - eta)/l: |grad eta| of the equilibrium profile, as a
    function of eta alone, so the multiplier also acts where the gradient
    vanishes (a film's crest at a wall, thinner than the profile)."""
    e = clamp01(eta)
    return 2 * e * (1 - e) / ell


def interface_band(eta, floor):
    """1 across the interface, fading to 0 where eta (1 - eta) < floor."""
    e = clamp01(eta)
    return ufl.min_value(1.0, e * (1 - e) / floor)


MULTIPLIER_SPREAD = 1.0  # the multiplier's diffusivity across the interface, in units of l
BULK_SPREAD = 1e-6  # the same in the bulk phases, relative: metal is not passed through them
MULTIPLIER_SCREENING = 1e-12  # delta: lambda's decay term, in units of 1/l


def reaction_source(s):
    """S_F = i_F h'(eta) |grad eta| (internal units: zF/V_m per time): the
    charge the reaction transfers from the electrolyte to the metal per
    volume, at the new time level; 0 in the initial solve of a quasi-static
    unknown (no step yet)."""
    if s.initial_solve:
        return 0.0
    eta = s.u("eta")
    return s.u("faradaic_current") * dh(eta) * interface_weight(eta, s.p["ell"])


def deposition_source(s):
    """The current that deposits metal per volume: the reaction's S_F plus
    that of nuclei below the mesh inside the electrolyte
    (nucleus_volume_current, metal_nucleation; their metal is counted below
    the mesh, not in the phase field)."""
    if s.contributions.get("nucleus_volume_current") and not s.initial_solve:
        return reaction_source(s) + s.u("nucleus_volume_current")
    return reaction_source(s)


def charge_source(s):
    """The current from the ionic into the electronic conductor per volume:
    deposition_source plus the charging of any layer a block adds to
    interface_charge (interface_space_charge, sei)."""
    if not s.contributions.get("interface_charge"):
        return deposition_source(s)
    return deposition_source(s) + s.ddt(lambda lev: s.at("interface_charge", lev))


# the metal is depleted below this fraction of the interface length per
# electrode area (the stop of a stripping run)
DEPLETED = 0.01
SALT_FLOOR = 1e-12  # c/c_b in the kinetics: a Newton iterate may overshoot below 0


def salt_ratio(s, lev):
    """c/c_b in the kinetics, floored at SALT_FLOOR (1: a single-ion electrolyte)."""
    if "salt" not in lev:
        return 1.0
    return ufl.max_value(lev["salt"], SALT_FLOOR)


def optional(s, name, lev, default):
    """Unknown or quantity `name` on the level dict, or `default` when no
    selected block provides it (the salt of a single-ion electrolyte, the
    curvature in 1-D)."""
    return s.at(name, lev) if name in lev or name in s.quantities else default


def electrochemical_overpotential(s, lev):
    """phi_s - phi_e - ln(c/c_b): the overpotential of a flat surface."""
    return s.at("electrode_potential", lev) - lev["phi_e"] - ufl.ln(salt_ratio(s, lev))


def butler_volmer(s, lev, eta_ct):
    """i_F = i0 (c/c_b)^alpha_a [exp(-alpha_c eta_ct) - exp(alpha_a eta_ct)]
    (internal), i0 times the factor of exchange_current_log_shift (Frumkin)."""
    p = s.p
    rate = capped_exp(-p["alpha_c"] * eta_ct) - capped_exp(p["alpha_a"] * eta_ct)
    i0 = p["i0"] * salt_ratio(s, lev) ** p["alpha_a"]
    if "exchange_current_log_shift" in s.contributions:  # (e.g. Frumkin's factor)
        i0 = i0 * ufl.exp(s.at("exchange_current_log_shift", lev))
    return i0 * rate


def metal_depleted(row, si) -> str | None:
    """Why the metal counts as used up (less than DEPLETED l per electrode
    area left, by the row's deposit_thickness_m), or None; a bare
    collector (nothing left to strip, 0) is not depleted."""
    ell, left = interface_length(si["phase_field"]), row.get("deposit_thickness_m", 0.0)
    if not 0 < left < DEPLETED * ell:
        return None
    return (f"metal depleted: {left * 1e9:.3g} nm of metal per electrode area left while "
            f"stripping (below {DEPLETED:g} of the interface length {ell * 1e6:.3g} um)")


@register
class ChargeTransfer(Block):
    name = "charge_transfer"
    axisymmetric = True
    order = 70
    params = PARAMS
    unknowns = (Unknown("metal_multiplier", "m/s", multiplier=True),)
    requires = ("eta", "metal_fraction", "electrode_potential", "phi_e")
    provides = ("charge_transfer_overpotential", "faradaic_current", "local_overpotential",
                "interface_charge", "exchange_current_log_shift", "interface_velocity",
                "nucleus_volume_current")
    form_keys = (("reaction", "kinetics"), ("reaction", "gibbs_thomson"))
    columns = ("interface_overpotential_V", "current_focusing")

    @classmethod
    def check(cls, si, given):
        dim = {"interval": 1, "rectangle": 2, "box": 3}.get(si["geometry"]["kind"], 2)
        if (dim > 1 and si["reaction"]["gibbs_thomson"]
                and "interface_curvature" not in si["model"]["blocks"]):
            return ["[model] blocks: the charge_transfer block with [reaction] gibbs_thomson "
                    "= true needs the interface_curvature block in 2-D and 3-D (add it, or "
                    "set gibbs_thomson = false)"]
        return []

    @classmethod
    def resolution_checks(cls, si, mesh):
        """A film or seed on the collector thinner than 2 l: its profile
        cannot reach eta = 1 at the collector (eta = 0.98 there at 2 l).  The
        multiplier keeps its metal, but its profile is not the tanh the
        interface length describes."""
        ell, ini = interface_length(si["phase_field"]), si["initial"]
        if ini["kind"] == "front":
            size, what = ini["interface_position"], "[initial] interface_position"
        elif ini["kind"] == "seeds" and ini["seed_placement"] in ("corner", "electrode"):
            size, what = ini["seed_radius"], "[initial] seed_radius"
        else:
            return [], []
        if size >= 2 * ell:
            return [], []
        return [], [f"{what} {size * 1e6:.3g} um: the metal on the collector is thinner than "
                    f"twice the interface length ([phase_field] interface_length "
                    f"{ell * 1e6:.3g} um); it keeps its metal, but its profile cannot reach "
                    "eta = 1 and its front is not where a sharp interface would put it "
                    "(use an interface length below half the thickness)"]

    @classmethod
    def internal(cls, si, s):
        r, pf = si["reaction"], si["phase_field"]
        gamma = math.sqrt(2 * pf["gradient_coefficient"] * pf["barrier_height"]) / 6
        return {"i0": s.to_internal(r["exchange_current_density"], "A/m^2"),
                "alpha_c": r["cathodic_transfer_coefficient"],
                "alpha_a": r["anodic_transfer_coefficient"],
                "capillarity": s.to_internal(gamma, "J/m^3") / s.unit("m")
                if r["gibbs_thomson"] else 0.0,
                "ell": s.to_internal(math.sqrt(2 * pf["gradient_coefficient"]
                                               / pf["barrier_height"]), "m")}

    def quantities(self):
        def overpotential(s, lev):
            return (electrochemical_overpotential(s, lev)
                    + s.p["capillarity"] * optional(s, "curvature", lev, 0.0))

        def current(s, lev):
            return butler_volmer(s, lev, s.at("charge_transfer_overpotential", lev))

        def velocity(s, lev):  # the front's normal speed (internal m/s), deposition > 0
            return s.at("faradaic_current", lev) + lev["metal_multiplier"]
        # local_overpotential: what a site of the collector sees (nucleation);
        # interface_charge: charge stored at the interface per volume (none of
        # its own; layers add theirs); exchange_current_log_shift: ln of a
        # factor on i0; nucleus_volume_current: the reaction of nuclei
        # below the mesh in the electrolyte per volume (none of its own)
        return {"charge_transfer_overpotential": overpotential, "faradaic_current": current,
                "local_overpotential": overpotential,
                "interface_charge": lambda s, lev: 0.0,
                "exchange_current_log_shift": lambda s, lev: 0.0,
                "interface_velocity": velocity,
                "nucleus_volume_current": lambda s, lev: 0.0}

    def residual(self, s):
        p, eta, v = s.p, s.u("eta"), s.test("eta")
        multiplier, q = s.u("metal_multiplier"), s.test("metal_multiplier")
        weight = interface_weight(eta, p["ell"])
        rate = s.u("faradaic_current")
        curvature = optional(s, "curvature", s.levels[0], None)
        if curvature is not None:
            rate = rate + p["L"] * p["kappa"] * curvature
        F = -(rate * weight + multiplier * profile_weight(eta, p["ell"])) * v * s.dxl
        # the metal changes by the reaction alone, up to the multiplier's flux;
        # site_creation: sites the reaction leaves or that vanish locally
        # (metal_vacancies, interface_voids; 0 without): the metal's sites h
        # then change by the reaction's atoms plus these, its atoms (h less
        # vacancies and voids) by the reaction's alone
        F += (s.ddt(lambda lev: s.at("metal_fraction", lev)) - reaction_source(s)
              - optional(s, "site_creation", s.levels[0], 0.0)) * q * s.dxl
        spread = MULTIPLIER_SPREAD * p["ell"] * (2 * profile_weight(eta, 1.0) + BULK_SPREAD)
        F += spread * ufl.inner(ufl.grad(multiplier), ufl.grad(q)) * s.dx
        return F + MULTIPLIER_SCREENING / p["ell"] * multiplier * q * s.dxl

    def newton_floor(self, s):
        """The multiplier's stiffness across an interface, l/h^2 per lumped
        node volume: in the bulk phases its diagonal is 1e-6 of that
        (BULK_SPREAD), and F_i / J_ii there measured the round-off of a
        nearly free lambda, not an error of the metal."""
        h = compat.cell_size(s.u("metal_multiplier"))
        return MULTIPLIER_SPREAD * s.p["ell"] / (h * h) * s.test("metal_multiplier") * s.dxl

    def initial(self, p):
        return {"metal_multiplier": lambda x: np.zeros(x.shape[1])}

    def setup(self, pb):
        self.pb = pb
        self.local_current = None  # i_F at the nodes (current_focusing; made on first use)

    def stop(self, row):
        """Stripping has run out of metal (metal_depleted) while the
        collector strips: a battery tester's end of discharge; the cell
        potential is rising steeply by then.  Under a [protocol] it ends
        the stripping step instead, and the protocol goes on
        (electronic_conduction)."""
        if self.pb.case.si["protocol"]["steps"] or row["collector_current_A_m2"] >= 0:
            return None
        return metal_depleted(row, self.pb.case.si)

    def integrals(self, pb):
        s = pb.state
        weight = interface_weight(s.u("eta"), s.p["ell"])
        return {"interface_weight": weight * pb.dxl,
                "weighted_overpotential": s.u("charge_transfer_overpotential") * weight * pb.dxl,
                "weighted_current_magnitude": abs(s.u("faradaic_current")) * weight * pb.dxl}

    def record(self, pb, integrals, t, dt):
        w = integrals["interface_weight"]
        eta_ct = integrals["weighted_overpotential"] / w if w > 0 else math.nan
        return {"interface_overpotential_V": pb.scales.to_si(eta_ct, "V"),
                "current_focusing": self.current_focusing(pb, integrals)}

    def current_focusing(self, pb, integrals):
        """max |i_F| over the interface's middle (0.28 < eta < 0.72) over its
        mean |i_F| (weighted by the interface's delta function): 1 on a
        uniform front; where voids or a dendrite's tip take the current, how
        much more the hottest spot carries.  NaN with no current."""
        mean = integrals["weighted_current_magnitude"] / integrals["interface_weight"] \
            if integrals["interface_weight"] > 0 else 0.0
        if self.local_current is None:
            self.local_current = pb.scalar_function()
            self.local_current_expr = compat.compiled_expression(pb.state.u("faradaic_current"),
                                                                 pb.Q)
        self.local_current.interpolate(self.local_current_expr)
        eta = pb.field_values("eta")
        middle = eta * (1 - eta) > 0.2
        local = np.abs(self.local_current.x.array[middle]).max(initial=0.0)
        peak = pb.comm.allreduce(local, op=MPI.MAX)
        return peak / mean if mean > 0 else math.nan
