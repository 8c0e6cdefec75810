"""The double layers of the two-potential model: a capacitance C_dl per
area between the electronic and the ionic conductor wherever they meet,
charged by a non-Faradaic current (Bard & Faulkner, Electrochemical
Methods, 2nd ed. (2001), sec. 1.2.2 and ch. 13: 10-40 uF/cm^2 on metal
electrodes; physics/review-2.md section 3):

    q_dl = -C_dl (phi_s - phi_e)     (per area, deposition sense: a layer
                                      charged towards plating potentials
                                      holds positive q_dl, as plated metal)

- on the bare collector (the electrode face, weighted by 1 - h there): a
  boundary current d(q_dl (1 - h))/dt leaves the electronic and enters the
  ionic equation (where metal spreads over the collector, the layer's charge
  there is released into the circuit), so the collector charges at I/C_dl under galvanostatic
  control until metal forms: the nucleation overshoot of galvanostatic
  plating; without it the potential of a bare collector was undetermined
  (review-2: +50 V after 10 s at 10 A/m^2, status "completed");
- on the metal surface (the diffuse interface, interface_weight), unless
  the interface_space_charge block gives that surface its own layer: q_dl
  joins interface_charge, whose rate is a current between the conductors
  (charge_transfer.charge_source) that deposits no metal.

The double-layer charge is zero at phi_s = phi_e (the M/M^z+ equilibrium
potential taken as the potential of zero charge; only its changes carry
current).  [double_layer] capacitance = 0 turns the block off.
Results: the charge held by the double layers per electrode area.
"""
from __future__ import annotations

from ..schema import nonnegative, q
from ..blocks import Block, register
from .charge_transfer import interface_weight

PARAMS = {
    "double_layer": {
        "capacitance": q("20 uF/cm^2", "F/m^2", "C_dl of the collector's and the metal's "
                         "surfaces against the electrolyte (two-potential model; typical of "
                         "metal electrodes: 10-40 uF/cm^2, Bard & Faulkner 2001 ch. 13); "
                         "0: no double layer", nonnegative, (0.0, 1e3)),
    },
}


@register
class DoubleLayer(Block):
    name = "double_layer"
    axisymmetric = True
    order = 160
    params = PARAMS
    requires = ("electrode_potential", "phi_e", "metal_fraction", "eta",
                "collector_surface_current")
    columns = ("double_layer_charge_C_m2",)
    # on the metal too, unless interface_space_charge owns that layer (set in
    # setup; anodex/model.py reads contributions() before, for their names only)
    on_metal = True

    @classmethod
    def selected(cls, si):
        """Part of every two-potential model (the charge_transfer block)
        unless its capacitance is 0."""
        return ("charge_transfer" in si["model"]["blocks"]
                and si["double_layer"]["capacitance"] > 0)

    @classmethod
    def internal(cls, si, s):
        return {"dl_capacitance": si["double_layer"]["capacitance"] * s.unit("V")
                / s.unit("C/m^2"),
                "dl_on_metal": "interface_space_charge" not in si["model"]["blocks"]}

    @staticmethod
    def charge_per_area(s, lev):
        """q_dl = -C_dl (phi_s - phi_e), internal charge per area."""
        return -s.p["dl_capacitance"] * (s.at("electrode_potential", lev) - lev["phi_e"])

    def setup(self, pb):
        self.on_metal = pb.p["dl_on_metal"]

    def contributions(self):
        def collector(s, lev):  # a rate: d(q_dl (1 - h))/dt on the collector (new level)
            return s.ddt(lambda lv: self.charge_per_area(s, lv) * (1 - s.at("metal_fraction", lv)))

        def stored(s, lev):  # per volume: spread over the interface
            return self.charge_per_area(s, lev) * interface_weight(lev["eta"], s.p["ell"])
        out = {"collector_surface_current": collector}
        if self.on_metal:
            out["interface_charge"] = stored
        return out

    def integrals(self, pb):
        s = pb.state
        charge = self.charge_per_area(s, s.levels[0])
        out = {"dl_collector": charge * (1 - s.u("metal_fraction")) * pb.ds["electrode"]}
        if self.on_metal:
            out["dl_metal"] = charge * interface_weight(s.u("eta"), s.p["ell"]) * pb.dxl
        return out

    def record(self, pb, integrals, t, dt):
        total = integrals["dl_collector"] + integrals.get("dl_metal", 0.0)
        return {"double_layer_charge_C_m2": pb.scales.to_si(total / pb.area, "C/m^2")}
