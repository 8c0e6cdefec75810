"""Salt of a binary (liquid or polymer) electrolyte: dilute Nernst-Planck with
electroneutrality, for a z:z salt (physics/audit.md section 2; Newman &
Thomas-Alyea, Electrochemical Systems, ch. 11):

    (1 - h + eps) dc/dt = div((1 - h + eps) D grad c) - (1 - t+) S/(zF)

c the salt concentration (the unknown is c/c_b), D the ambipolar
diffusivity [electrolyte] diffusivity, t+ = D+/(D+ + D-) the cation
transference number, S = S_F the reaction's charge per volume and
time.  The ion diffusivities follow as D+ = D/(2(1 - t+)), D- = D/(2 t+), and
the conductivity sigma = z^2 F^2 (D+ + D-) c/(RT) (derived into
[electrolyte] conductivity at c_b, with provenance); the diffusion potential
-sigma_b (2 t+ - 1) RT/(zF) grad(c/c_b) is added to the ionic current.
Boundary: c = c_b at the reservoir, zero flux elsewhere.
Classical limits (tests): Sand's time pi D (zFc_b)^2 / (4 i^2 (1 - t+)^2) and
the limiting current 2 zFDc_b / ((1 - t+) L).
Results: the smallest c/c_b at the interface (nodes with 0.25 < eta <
0.75); the field salt_concentration (mol/m^3).
"""
import numpy as np
import ufl
from mpi4py import MPI

from ..constants import FARADAY, GAS_CONSTANT
from ..schema import Param, nonnegative, open_unit, positive, q
from ..blocks import Block, Field, Unknown, register
from .charge_transfer import deposition_source
from .ionic_conduction import IonicConduction
from .shared_keys import ELECTROLYTE_DIFFUSIVITY

PARAMS = {
    "mesh_adaptivity": {
        "concentration_jump": Param("number", 0.0, "refine where the salt concentration "
                                    "c/c_b of a binary electrolyte changes by more than this "
                                    "across a cell; 0: not used", check=nonnegative,
                                    bounds=(0.0, 1e6)),
    },
    "electrolyte": {
        "diffusivity": ELECTROLYTE_DIFFUSIVITY,
        "salt_concentration": q("1000 mol/m^3", "mol/m^3", "c_b, bulk salt concentration of "
                                "a binary electrolyte (the salt_transport block)", positive,
                                (1e-6, 1e5)),
        "salt_transference_number": Param("number", 0.4, "t+ of the binary electrolyte's "
                                          "cation (salt_transport block)", check=open_unit),
    },
    "solver": {
        "max_salt_update": Param("number", 0.5, "Newton step limiter: largest change of "
                                 "c/c_b per iteration (each node's change is clipped to it)",
                                 check=positive, bounds=(1e-6, 100.0)),
    },
}


def salt_conductivity(si):
    """sigma_b = z^2 F^2 (D+ + D-) c_b/(RT) (S/m) with D+ + D- = D/(2 t+ (1 - t+))."""
    e, z, T = si["electrolyte"], si["material"]["charge_number"], si["material"]["temperature"]
    t = e["salt_transference_number"]
    d_sum = e["diffusivity"] / (2 * t * (1 - t))
    return z * z * FARADAY ** 2 * d_sum * e["salt_concentration"] / (GAS_CONSTANT * T)


# c/c_b at the interface below which the salt counts as depleted: the
# reaction's cathodic rate is proportional to c^alpha_a, so c approaches 0
# only as the overpotential diverges (Sand's time)
DEPLETED = 1e-3


@register
class SaltTransport(Block):
    name = "salt_transport"
    order = 100
    params = PARAMS
    unknowns = (Unknown("salt", "1", update_limit="max_salt_update"),)
    requires = ("metal_fraction", "ionic_current")
    columns = ("interface_salt_ratio",)

    @classmethod
    def derive(cls, ctx):
        if not cls.selected(ctx.si):
            return []
        sigma = salt_conductivity(ctx.si)
        return ctx.derived("electrolyte", "conductivity", sigma, "S/m",
                           "z^2 F^2 (D+ + D-) c_b / (RT) of the binary electrolyte",
                           "salt_concentration")

    @classmethod
    def internal(cls, si, s):
        e, t = si["electrolyte"], si["electrolyte"]["salt_transference_number"]
        return {"D_salt": s.to_internal(e["diffusivity"], "m^2/s"),
                "t_plus": t,
                # c_s/c_b: mol of salt per mol of metal site volume
                "sites_per_salt": s.site_density / e["salt_concentration"]}

    def contributions(self):
        def diffusion_current(s, lev):
            sigma = IonicConduction.conductivity(s, lev)
            return -sigma * (2 * s.p["t_plus"] - 1) * ufl.grad(lev["salt"])
        return {"ionic_current": diffusion_current}

    def residual(self, s):
        p, c, w = s.p, s.u("salt"), s.test("salt")
        open_ = 1 - s.u("metal_fraction") + p["eps"]
        F = open_ * s.ddt(lambda lev: lev["salt"]) * w * s.dxl
        F += open_ * p["D_salt"] * ufl.inner(ufl.grad(c), ufl.grad(w)) * s.dx
        return F + (1 - p["t_plus"]) * p["sites_per_salt"] * deposition_source(s) * w * s.dxl

    def dirichlet(self, p):
        return [("salt", "reservoir", 1.0)]

    def adaptivity_fields(self):
        return {"salt": "concentration_jump"}

    def initial(self, p):
        return {"salt": lambda x: np.ones(x.shape[1])}

    def error_indicators(self, p, nodal):
        return {"salt": nodal["salt"]}

    def record(self, pb, integrals, t, dt):
        eta, salt = pb.field_values("eta"), pb.field_values("salt")
        near = np.abs(eta - 0.5) < 0.25
        local = salt[near].min(initial=np.inf)
        return {"interface_salt_ratio": pb.comm.allreduce(local, op=MPI.MIN)}

    def stop(self, row):
        if row["interface_salt_ratio"] <= DEPLETED:
            return (f"the salt is depleted at the interface (c/c_b <= {DEPLETED:g}: Sand's time "
                    "passed, or the current exceeds the limiting current)")
        return None

    def progress(self, row):
        return f"c/c_b at the interface = {row['interface_salt_ratio']:.3g}"

    def fields(self):
        return (Field("salt_concentration", "mol/m^3", lambda pb: pb.field_values("salt")
                      * pb.case.si["electrolyte"]["salt_concentration"]),)
