"""A space-charge layer under every point of the metal/electrolyte interface
of the two-potential model, as a sub-grid law (physics/audit.md section 3):
the layer (nm) is far thinner than the interface (um), so at each point it
is the equilibrium flat layer of the space_charge block, in closed form:

    sigma(psi) = sign(psi) sqrt(2 eps |int_0^psi rho dphi|)

(space_charge.semi_infinite_charge; Fermi-Dirac defects of [space_charge]).
The interfacial step is the rest step (potential_step) plus the local
phi_s - phi_e; with a Stern layer (stern_capacitance C_S) it splits into a
compact drop and the diffuse step psi_d, solved at every point with the rest
of the system (the unknown psi_d):

    C_S (potential_step + phi_s - phi_e - psi_d) = sigma(psi_d)

(without one, psi_d is the whole step).  The layer then acts on the model
in two ways:

- Frumkin's correction of the exchange current (Bard & Faulkner sec. 13.7;
  Bazant, Chu & Bayly, SIAM J. Appl. Math. 65, 1463, 2005), i0 the
  measured value at rest, the Nernst potential unchanged.  It depends on
  the defect that carries the transfer ([space_charge] transfer_carrier;
  review-2 section 5), through its occupancy theta at the reaction plane,
  the Fermi-Dirac value of the saturated layer (space_charge.theta), and
  the part of the step the transferring ion crosses:
      interstitial (the cation reduced from an interstitial):
          i0 -> i0 theta_i(psi_d)/theta_i(psi_rest) exp(alpha_c zf (psi_d - psi_rest))
      vacancy (the metal oxidised into a vacancy):
          i0 -> i0 theta_v(psi_d)/theta_v(psi_rest) exp(-alpha_a zf (psi_d - psi_rest))
  (f = F/RT).  In the dilute limit theta_i ~ e^(-zf psi), theta_v ~ e^(zf psi):
  exp(-(1 - alpha_c) zf dpsi) and exp(+alpha_c zf dpsi).  One factor for
  both branches holds for alpha_a + alpha_c = 1; other values are refused;
- its charging current: the electrode holds sigma(psi_d) per interface
  area, spread over the diffuse interface with its delta function
  (interface_weight), and the current between the two conductors is
  d(h - sigma w/(zF c_s))/dt: the same term leaves one potential equation
  and enters the other, so the charge is conserved;
- its resistance in series with the reaction: the layer's defects conduct
  kappa(x) instead of the bulk's kappa_b, so it adds the resistance of a
  length L_R(psi_d) = int (kappa_b/kappa - 1) dx of bulk electrolyte
  (space_charge.resistance_length; tabulated over the rest step +- 1 V at
  65 knots, interpolated in asinh(L_R/lambda)); the reaction sees the
  overpotential eta_ct + i_F L_R/sigma_e, the drop an unknown (layer_drop)
  solved with the rest.
Results: the layer's charge per electrode area (what the collector charge
holds besides the metal) and the interface-averaged diffuse step.
"""
from __future__ import annotations

import math

import numpy as np

import ufl

from ..schema import Param
from ..blocks import Block, Field, Unknown, register
from .charge_transfer import interface_weight
from .space_charge import (NumpyOps, SpaceCharge, UflOps, carrier_errors, carrier_inactive_keys,
                           permittivity_from_electrolyte, resistance_length, semi_infinite_charge,
                           theta)

PARAMS = {
    "space_charge": {
        "frumkin": Param("bool", True, "interface_space_charge: the diffuse step's Frumkin "
                         "factor on the exchange current"),
        "transfer_carrier": Param("choice", "interstitial", "interface_space_charge: the "
                                  "defect through which the metal ion crosses the interface "
                                  "(its reaction-plane occupancy sets Frumkin's factor): "
                                  "interstitial (a positive carrier) or vacancy (a negative "
                                  "one)", choices=("interstitial", "vacancy")),
        "layer_resistance": Param("bool", True, "interface_space_charge: the layer's "
                                  "resistance in series with the reaction"),
    },
}
KNOTS = 65  # of the resistance table, over the rest step +- 1 V


def resistance_table(p, volt) -> dict:
    """Internal parameters of L_R(psi): knots psi_j over the rest diffuse step
    +- 1 V (volt: the SI value of one internal volt), asinh(L_R/lambda) at
    them, lambda the bulk Debye length."""
    rest, scale = p["isc_rest"], math.sqrt(p["sc_screening"])
    knots = rest + np.linspace(-1.0, 1.0, KNOTS) / volt
    values = np.arcsinh([resistance_length(p, k) / scale for k in knots])
    out = {"isc_R_scale": scale}
    for j, (k, v) in enumerate(zip(knots, values)):
        out[f"isc_R_knot_{j}"], out[f"isc_R_value_{j}"] = float(k), float(v)
    return out


def piecewise_linear(p, x):
    """The table's interpolant at x (UFL), extrapolated linearly beyond it."""
    def slope(j):
        return ((p[f"isc_R_value_{j + 1}"] - p[f"isc_R_value_{j}"])
                / (p[f"isc_R_knot_{j + 1}"] - p[f"isc_R_knot_{j}"]))
    value = p["isc_R_value_0"] + slope(0) * (x - p["isc_R_knot_0"])
    for j in range(1, KNOTS - 1):
        value = value + (slope(j) - slope(j - 1)) * ufl.max_value(x - p[f"isc_R_knot_{j}"], 0.0)
    return value


def rest_diffuse_step(p) -> float:
    """psi_d at rest (internal): the Stern balance at the rest step, by bisection."""
    step = p["sc_step"]
    if not p["sc_stern"]:
        return step

    def balance(psi):
        return p["sc_stern_capacitance"] * (step - psi) - float(semi_infinite_charge(p, psi, NumpyOps))
    lo, hi = min(0.0, step), max(0.0, step)  # balance(lo) >= 0 >= balance(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if balance(mid) > 0 else (lo, mid)
    return 0.5 * (lo + hi)


@register
class InterfaceSpaceCharge(Block):
    name = "interface_space_charge"
    order = 140
    params = PARAMS
    unknowns = (Unknown("psi_d", "V", update_limit="max_layer_potential_update"),
                Unknown("layer_drop", "V", update_limit="max_layer_potential_update"))
    requires = ("eta", "electrode_potential", "phi_e", "interface_charge",
                "exchange_current_log_shift", "charge_transfer_overpotential", "faradaic_current")
    form_keys = (("space_charge", "carriers"), ("space_charge", "frumkin"),
                 ("space_charge", "layer_resistance"), ("space_charge", "transfer_carrier"))
    reads_keys_of = ("space_charge", "defect_transport", "charge_transfer")
    columns = ("interface_layer_charge_C_m2", "diffuse_layer_step_V")

    @classmethod
    def check(cls, si, given):
        if "space_charge" in si["model"]["blocks"]:
            return ["[model] blocks: space_charge resolves a layer, interface_space_charge puts "
                    "one under a deposition model's interface; select one of them"]
        errors, sc, r = carrier_errors(si), si["space_charge"], si["reaction"]
        alphas = r["anodic_transfer_coefficient"] + r["cathodic_transfer_coefficient"]
        if sc["frumkin"] and abs(alphas - 1) > 1e-12:
            errors.append(f"[reaction] anodic_transfer_coefficient, cathodic_transfer_coefficient: "
                          f"Frumkin's factor on i0 holds for alpha_a + alpha_c = 1 (got {alphas:g}); "
                          "make them sum to 1 or set [space_charge] frumkin = false")
        if sc["carriers"] == "single":
            positive = sc["carrier_charge_number"] > 0
            if positive != (sc["transfer_carrier"] == "interstitial"):
                errors.append(f"[space_charge] transfer_carrier: \"{sc['transfer_carrier']}\" "
                              f"needs a {'positive' if not positive else 'negative'} carrier, but "
                              f"the single carrier has carrier_charge_number = "
                              f"{sc['carrier_charge_number']}; use \""
                              f"{'interstitial' if positive else 'vacancy'}\"")
        return errors

    @classmethod
    def derive(cls, ctx):
        if cls.selected(ctx.si):
            permittivity_from_electrolyte(ctx)
        return []

    @classmethod
    def inactive_keys(cls, si):
        return carrier_inactive_keys(si) + [
            ("space_charge", ("ramp_time",), "interface_space_charge: the step is the interface's")]

    @classmethod
    def internal(cls, si, s):
        p = SpaceCharge.internal(si, s)
        p["isc_to_model_charge"] = p["sc_charge_unit_C_m2"] / s.unit("C/m^2")
        p["isc_rest"] = rest_diffuse_step(p)
        p["isc_frumkin"] = 1.0 if si["space_charge"]["frumkin"] else 0.0
        sc = si["space_charge"]
        vacancy = sc["transfer_carrier"] == "vacancy"
        p["isc_transfer"] = "minus" if vacancy and sc["carriers"] == "frenkel_pair" else "plus"
        # the part of the step the transferring ion crosses: alpha_c for an
        # interstitial reduced, -alpha_a for the metal oxidised into a vacancy
        p["isc_crossed"] = (-si["reaction"]["anodic_transfer_coefficient"] if vacancy
                            else si["reaction"]["cathodic_transfer_coefficient"])
        p["isc_ln_theta_rest"] = math.log(float(theta(p, p["isc_transfer"], p["isc_rest"], 0.0,
                                                      NumpyOps)))
        p["isc_resistance"] = si["space_charge"]["layer_resistance"]
        if p["isc_resistance"]:
            p.update(resistance_table(p, s.unit("V")))
        return p

    @staticmethod
    def step(s, lev):
        """The whole interfacial step: rest step + phi_s - phi_e (internal V)."""
        return s.p["sc_step"] + s.at("electrode_potential", lev) - lev["phi_e"]

    def residual(self, s):
        p, psi, v = s.p, s.u("psi_d"), s.test("psi_d")
        drop, q = s.u("layer_drop"), s.test("layer_drop")
        if p["isc_resistance"]:  # drop = i_F L_R(psi)/sigma_e
            length = p["isc_R_scale"] * ufl.sinh(piecewise_linear(p, psi))
            F = (drop - s.u("faradaic_current") * length / p["sigma_ionic"]) * q * s.dxl
        else:
            F = drop * q * s.dxl
        if not p["sc_stern"]:
            return F + (psi - self.step(s, s.levels[0])) * v * s.dxl
        stored = semi_infinite_charge(p, psi, UflOps) / p["sc_stern_capacitance"]
        return F + (psi + stored - self.step(s, s.levels[0])) * v * s.dxl

    def contributions(self):
        def stored_charge(s, lev):  # -sigma w, in the model's charge per volume
            p = s.p
            return (-p["isc_to_model_charge"] * semi_infinite_charge(p, lev["psi_d"], UflOps)
                    * interface_weight(lev["eta"], p["ell"]))
        def frumkin(s, lev):  # ln of Frumkin's factor on i0
            p, psi = s.p, lev["psi_d"]
            plane = ufl.ln(theta(p, p["isc_transfer"], psi, 0.0, UflOps)) - p["isc_ln_theta_rest"]
            return p["isc_frumkin"] * (plane + p["isc_crossed"] * (psi - p["isc_rest"]))
        return {"interface_charge": stored_charge, "exchange_current_log_shift": frumkin,
                # the reaction's overpotential behind the layer (i_F > 0 deposits)
                "charge_transfer_overpotential": lambda s, lev: lev["layer_drop"]}

    def initial(self, p):
        return {"psi_d": lambda x: np.full(x.shape[1], p["isc_rest"]),
                "layer_drop": lambda x: np.zeros(x.shape[1])}

    def integrals(self, pb):
        s = pb.state
        weight = interface_weight(s.u("eta"), s.p["ell"])
        return {"isc_charge": semi_infinite_charge(s.p, s.u("psi_d"), UflOps) * weight * pb.dxl,
                "isc_weight": weight * pb.dxl, "isc_step": s.u("psi_d") * weight * pb.dxl}

    def record(self, pb, integrals, t, dt):
        w = integrals["isc_weight"]
        return {"interface_layer_charge_C_m2": pb.p["sc_charge_unit_C_m2"] * integrals["isc_charge"] / pb.area,
                "diffuse_layer_step_V": pb.scales.to_si(integrals["isc_step"] / w, "V") if w > 0 else math.nan}

    def fields(self):
        return tuple(Field(n, "V", lambda pb, n=n: pb.scales.to_si(pb.field_values(n), "V"))
                     for n in ("psi_d", "layer_drop"))
