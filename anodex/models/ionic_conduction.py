"""Ionic conduction in the electrolyte of the two-potential model
(physics/audit.md section 2):

    div i_e = -S,    i_e = -(1 - h + eps_i) sigma_e grad phi_e + i_diffusion

S = zF/V_m dh/dt the charge the reaction takes out of the electrolyte
(charge_source).  Single-ion solid electrolyte (no salt block): sigma_e
is [electrolyte] conductivity and i_diffusion = 0.  Binary electrolyte (the
salt_transport block): sigma_e = sigma_b c/c_b and i_diffusion =
-(1 - h + eps) sigma_b (2 t+ - 1) RT/(zF) grad(c/c_b) (dilute Nernst-Planck,
the diffusion potential; the salt block contributes it to ionic_current).
A crack or grain boundary along x ([electrolyte] crack_conductivity_ratio
r != 1): sigma_e (1 + (r - 1) chi(y)), chi a strip of crack_width centred at
crack_center, with tanh edges a tenth of the width wide: a heterogeneous
solid electrolyte that focuses (r > 1) or shields (r < 1) the current.
Boundary: phi_e = 0 at the reservoir (the reference: an M/M^z+ electrode at
the bulk concentration); blocking elsewhere, also at the collector, so a
bare collector passes only the charging current of its double layer and
the current of nuclei too small for the mesh (collector_surface_current:
the double_layer and metal_nucleation blocks).
Results: the current entering at the reservoir (consistent flux, per
electrode area, deposition positive) and the same current from the
gradient of phi_e on the reservoir face (the P1 flux -i_e.n: it converges
with the mesh and is computed independently of the residual, so its time
integral is an independent measure of the charge delivered); the field
phi_e (V).
"""
import numpy as np
import ufl

from ..schema import Param, positive, q
from ..blocks import Block, Field, Unknown, register
from .charge_transfer import charge_source, optional
from .shared_keys import ELECTROLYTE_CONDUCTIVITY, POTENTIAL_JUMP


PARAMS = {
    "mesh_adaptivity": {"potential_jump": POTENTIAL_JUMP},
    "electrolyte": {
        "conductivity": ELECTROLYTE_CONDUCTIVITY,
        "regularization": Param("number", 1e-3, "eps_i of (1 - h + eps_i) sigma_e: the ionic "
                                "conductivity left in the metal (it keeps phi_e defined; with "
                                "1e-6 its Newton residual stalled at 5e-9 from round-off)",
                                check=positive, bounds=(1e-9, 1.0)),
        "crack_conductivity_ratio": Param("number", 1.0, "conductivity in a strip along x (a "
                                          "crack or grain boundary) over the bulk's; 1: none",
                                          check=positive, bounds=(1e-6, 1e6)),
        "crack_width": q("1 um", "m", "width of that strip", positive, (1e-12, 1.0)),
        "crack_center": q(None, "m", "y of the strip's centre (default: half the height)",
                          bounds=(-1.0, 1.0)),
    },
}


def crack_profile(y, center, width):
    """chi(y): 1 inside the strip |y - center| < width/2, 0 outside, tanh edges
    of width/10."""
    edge = width / 10
    return 0.5 * (ufl.tanh((y - center + width / 2) / edge)
                  - ufl.tanh((y - center - width / 2) / edge))


@register
class IonicConduction(Block):
    name = "ionic_conduction"
    axisymmetric = True
    order = 90
    params = PARAMS
    form_keys = (("electrolyte", "crack_conductivity_ratio"),)
    unknowns = (Unknown("phi_e", "V", elliptic=True, quasi_static=True),)
    provides = ("ionic_current",)
    requires = ("metal_fraction",)
    columns = ("reservoir_current_A_m2", "reservoir_current_from_gradient_A_m2")

    @classmethod
    def check(cls, si, given):
        if si["electrolyte"]["crack_conductivity_ratio"] != 1 and si["geometry"]["kind"] == "interval":
            return ["[electrolyte] crack_conductivity_ratio: a crack is a strip across y; it "
                    "needs a 2-D or 3-D geometry (kind = \"interval\" is 1-D)"]
        if si["electrolyte"]["crack_conductivity_ratio"] != 1 and si["geometry"]["axisymmetric"]:
            return ["[electrolyte] crack_conductivity_ratio: in [geometry] axisymmetric the strip "
                    "at y = crack_center would be a tube about the axis, not a crack; use a "
                    "flat rectangle or a box (or ratio 1)"]
        return []

    @classmethod
    def inactive_keys(cls, si):
        if si["electrolyte"]["crack_conductivity_ratio"] == 1:
            return [("electrolyte", ("crack_width", "crack_center"),
                     "crack_conductivity_ratio is 1")]
        return []

    @classmethod
    def internal(cls, si, s):
        e, g = si["electrolyte"], si["geometry"]
        center = e["crack_center"] if e["crack_center"] is not None else g["height"] / 2
        return {"sigma_ionic": s.to_internal(e["conductivity"], "S/m"),
                "eps_ionic": e["regularization"],
                "crack": e["crack_conductivity_ratio"] != 1,
                "crack_ratio": e["crack_conductivity_ratio"],
                "crack_center": s.to_internal(center, "m"),
                "crack_width": s.to_internal(e["crack_width"], "m")}

    @staticmethod
    def conductivity(s, lev):
        """(1 - h + eps_i) sigma_e, times the crack's factor where there is one."""
        p = s.p
        sigma = (1 - s.at("metal_fraction", lev) + p["eps_ionic"]) * p["sigma_ionic"]
        if p["crack"]:
            y = ufl.SpatialCoordinate(s.dx.ufl_domain())[1]
            chi = crack_profile(y, p["crack_center"], p["crack_width"])
            sigma = sigma * (1 + (p["crack_ratio"] - 1) * chi)
        return sigma

    def quantities(self):
        def ionic_current(s, lev):
            return (-self.conductivity(s, lev) * optional(s, "salt", lev, 1.0)
                    * ufl.grad(lev["phi_e"]))
        return {"ionic_current": ionic_current}

    def residual(self, s):
        q = s.test("phi_e")
        F = -ufl.inner(s.u("ionic_current"), ufl.grad(q)) * s.dx + charge_source(s) * q * s.dxl
        if s.contributions.get("collector_surface_current") and not s.initial_solve:
            F += s.u("collector_surface_current") * q * s.ds["electrode"]
        return F

    def dirichlet(self, p):
        return [("phi_e", "reservoir", 0.0)]

    def adaptivity_fields(self):
        return {"phi_e": "potential_jump"}

    def initial(self, p):
        return {"phi_e": lambda x: np.zeros(x.shape[1])}

    def integrals(self, pb):
        n = ufl.FacetNormal(pb.mesh)
        return {"reservoir_current": pb.boundary_flux("phi_e", "reservoir"),
                "reservoir_gradient_current": -ufl.inner(pb.state.u("ionic_current"), n)
                * pb.ds["reservoir"]}

    def record(self, pb, integrals, t, dt):
        def si(name):
            return pb.scales.to_si(integrals[name] / pb.area, "A/m^2")
        return {"reservoir_current_A_m2": si("reservoir_current"),
                "reservoir_current_from_gradient_A_m2": si("reservoir_gradient_current")}

    def fields(self):
        return (Field("phi_e", "V", lambda pb: pb.scales.to_si(pb.field_values("phi_e"), "V")),)
