"""Charge conservation (Chen et al. 2015; Hong & Viswanathan 2018, docs/hong2018-units.md):

    div(sigma grad phi) = ft2 dh(eta)/dt,  sigma = S1 h + S2 (1-h).

In internal units ft2 = 1.  The source is the time difference of h(eta)
(the published input writes d eta/dt; both agree for a translating front,
and with h the charge balance matches the metal content of IonTransport
exactly: Faraday's law holds discretely).
Boundary: phi = applied at the electrode, reservoir value at the reservoir.
Quantities: conductivity (sigma) and overpotential (phi, the local
potential of the published model).
Results: the current through the electrode and the reservoir (consistent
residual fluxes of this equation, per electrode area; cathodic deposition
gives a positive sum) and their time integral, the charge; the field phi (V).
"""
import ufl

from ..schema import q
from .shared_keys import ELECTRODE_CONDUCTIVITY, ELECTROLYTE_CONDUCTIVITY, POTENTIAL_JUMP
from ..blocks import Block, Field, Unknown, register

PARAMS = {
    "electrode": {"conductivity": ELECTRODE_CONDUCTIVITY},
    "electrolyte": {"conductivity": ELECTROLYTE_CONDUCTIVITY},
    "mesh_adaptivity": {"potential_jump": POTENTIAL_JUMP},
    "boundary": {
        "applied_potential": q("-0.45 V", "V", "electrode potential at x = 0", bounds=(-20.0, 20.0)),
        "reservoir_potential": q("0 V", "V", "potential at x = length", bounds=(-20.0, 20.0)),
    },
}


@register
class Potential(Block):
    name = "potential"
    order = 40
    in_default_model = True
    params = PARAMS
    unknowns = (Unknown("phi", "V", elliptic=True, quasi_static=True),)
    provides = ("conductivity", "overpotential")
    requires = ("metal_fraction",)
    columns = ("electrode_current_A_m2", "reservoir_current_A_m2", "charge_C_m2")
    checkpoint_state = ("charge",)

    @classmethod
    def internal(cls, si, s):
        return {"sigma_electrode": s.to_internal(si["electrode"]["conductivity"], "S/m"),
                "sigma_electrolyte": s.to_internal(si["electrolyte"]["conductivity"], "S/m"),
                "phi_applied": s.to_internal(si["boundary"]["applied_potential"], "V"),
                "phi_reservoir": s.to_internal(si["boundary"]["reservoir_potential"], "V")}

    def setup(self, pb):
        self.charge = 0.0

    def quantities(self):
        def conductivity(s, lev):
            h = s.at("metal_fraction", lev)
            return s.p["sigma_electrode"] * h + s.p["sigma_electrolyte"] * (1 - h)
        return {"conductivity": conductivity, "overpotential": lambda s, lev: lev["phi"]}

    def residual(self, s):
        phi, v = s.u("phi"), s.test("phi")
        F = s.u("conductivity") * ufl.inner(ufl.grad(phi), ufl.grad(v)) * s.dx
        F += s.ddt(lambda lev: s.at("metal_fraction", lev)) * v * s.dxl
        return F

    def dirichlet(self, p):
        return [("phi", "electrode", p["phi_applied"]), ("phi", "reservoir", p["phi_reservoir"])]

    def adaptivity_fields(self):
        return {"phi": "potential_jump"}

    def initial(self, p):
        # a start only: being quasi-static, phi is solved for at t = 0
        return {"phi": lambda x: p["phi_reservoir"] + 0 * x[0]}

    def integrals(self, pb):
        return {f"current_{where}": pb.boundary_flux("phi", where)
                for where in ("electrode", "reservoir")}

    def record(self, pb, integrals, t, dt):
        unit = pb.scales.unit("A/m^2") / pb.area
        ie, ir = integrals["current_electrode"] * unit, integrals["current_reservoir"] * unit
        self.charge += (ie + ir) * pb.scales.to_si(dt, "s")
        return {"electrode_current_A_m2": ie, "reservoir_current_A_m2": ir,
                "charge_C_m2": self.charge}

    def fields(self):
        return (Field("phi", "V", lambda pb: pb.scales.to_si(pb.field_values("phi"), "V")),)
