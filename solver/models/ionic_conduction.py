"""Ionic conduction in the electrolyte of the two-potential model
(physics/audit.md section 2):

    div i_e = -S,    i_e = -(1 - h + eps) sigma_e grad phi_e + i_diffusion

S = zF/V_m dh/dt the charge the reaction takes out of the electrolyte
(deposition_source).  Single-ion solid electrolyte (no salt block): sigma_e
is [electrolyte] conductivity and i_diffusion = 0.  Binary electrolyte (the
salt_transport block): sigma_e = sigma_b c/c_b and i_diffusion =
-(1 - h + eps) sigma_b (2 t+ - 1) RT/(zF) grad(c/c_b) (dilute Nernst-Planck,
the diffusion potential; the salt block contributes it to ionic_current).
Boundary: phi_e = 0 at the reservoir (the reference: an M/M^z+ electrode at
the bulk concentration); blocking elsewhere, also at the collector, so a
bare collector passes no ionic current.
Results: the current entering at the reservoir (consistent flux, per
electrode area, deposition positive); the field phi_e (V).
"""
import numpy as np
import ufl

from . import Block, Field, Unknown
from .charge_transfer import deposition_source, optional


class IonicConduction(Block):
    name = "ionic_conduction"
    unknowns = (Unknown("phi_e", "V", elliptic=True, quasi_static=True),)
    provides = ("ionic_current",)
    requires = ("metal_fraction",)
    columns = ("reservoir_current_A_m2",)

    @classmethod
    def internal(cls, si, s):
        return {"sigma_ionic": s.to_internal(si["electrolyte"]["conductivity"], "S/m")}

    def quantities(self):
        def ionic_current(s, lev):
            p = s.p
            sigma = (1 - s.at("metal_fraction", lev) + p["eps"]) * p["sigma_ionic"]
            return -sigma * optional(s, "salt", lev, 1.0) * ufl.grad(lev["phi_e"])
        return {"ionic_current": ionic_current}

    def residual(self, s):
        q = s.test("phi_e")
        return (-ufl.inner(s.u("ionic_current"), ufl.grad(q)) * s.dx
                + deposition_source(s) * q * s.dxl)

    def dirichlet(self, p):
        return [("phi_e", "reservoir", 0.0)]

    def initial(self, p):
        return {"phi_e": lambda x: np.zeros(x.shape[1])}

    def integrals(self, pb):
        return {"reservoir_current": pb.boundary_flux("phi_e", "reservoir")}

    def record(self, pb, integrals, t, dt):
        return {"reservoir_current_A_m2": pb.scales.to_si(integrals["reservoir_current"] / pb.area,
                                                          "A/m^2")}

    def fields(self):
        return (Field("phi_e", "V", lambda pb: pb.scales.to_si(pb.field_values("phi_e"), "V")),)
