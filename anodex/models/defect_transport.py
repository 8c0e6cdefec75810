"""Transport of the space-charge block's defects (Poisson-Nernst-Planck with
lattice saturation; physics/audit.md section 3):

    dn/dt = div(D n grad(mu) / kT),    mu = q w,

n = alpha N / (1 + A exp(q (phi - w)/kT)) the occupancy of space_charge.py,
q = s z e the defect's charge, w its electrochemical potential per charge.
The mobility D n/kT is the dilute one (Nernst-Einstein), so the flux is
-D (grad n / (1 - n/(alpha N)) + n q grad(phi)/kT): Fick's law with the
site-exclusion factor, and the equilibrium (w uniform) is the space-charge
block's Fermi-Dirac profile.  Storage on the vertices (lumped), BDF in time.

Boundary: blocking at the electrode (no defect crosses it); the reservoir
is the bulk in equilibrium, w = 0.  Initial: the bulk everywhere (w = 0,
phi = 0); the space-charge block ramps the step over its ramp_time.
Results: each carrier's amount per electrode area and its flux in at the
reservoir (consistent flux), 1/m^2 and 1/(m^2 s).
"""
from __future__ import annotations

import numpy as np
import ufl

from ..schema import positive, q
from ..blocks import Block, Field, Unknown, register
from .space_charge import SIGNS, UflOps, carrier_names, theta

PARAMS = {
    "space_charge": {
        "diffusivity_plus": q("1e-14 m^2/s", "m^2/s", "D of the positive defect of a pair, "
                              "or of the single carrier: their transport (defect_transport) "
                              "and the layer's conductivity (its resistance)", positive,
                              (1e-30, 1e-3)),
        "diffusivity_minus": q("1e-14 m^2/s", "m^2/s", "D of the negative defect of a pair",
                               positive, (1e-30, 1e-3)),
    },
}


@register
class DefectTransport(Block):
    name = "defect_transport"
    order = 130
    params = PARAMS
    unknowns = tuple(Unknown(f"w_{name}", "V", update_limit="max_layer_potential_update")
                     for name in SIGNS)
    requires = ("phi_sc",)
    columns = ("amount_plus_m2", "amount_minus_m2", "influx_plus_m2_s", "influx_minus_m2_s")

    @classmethod
    def check(cls, si, given):
        if "space_charge" not in si["model"]["blocks"]:
            return ["[model] blocks: defect_transport moves the defects of space_charge; "
                    "name both"]
        return []

    @classmethod
    def derive(cls, ctx):
        """A tighter Newton tolerance unless the case gives one: the Jacobi-scaled
        test |J_ii^-1 F_i| < tol weighs a vertex's defect balance by its
        diffusion D dt/h^2, >> 1 on nanometre cells, so at the generic 1e-6 the
        defects delivered through the reservoir missed the space charge by 0.7 %
        (300 cells) to 2.3 % (600); at 1e-9 by 4e-5 and 1e-5 (measured)."""
        if cls.selected(ctx.si) and ("solver", "newton_tolerance") not in ctx.given:
            ctx.put("solver", "newton_tolerance", 1e-9, 1e-9,
                    "derived: defect_transport conserves its defects at this tolerance")
        return []

    @classmethod
    def inactive_keys(cls, si):
        if si["space_charge"]["carriers"] == "single":
            return [("space_charge", ("diffusivity_minus",), "carriers = \"single\"")]
        return []

    @classmethod
    def internal(cls, si, s):
        sc = si["space_charge"]
        return {"tr_D_plus": s.to_internal(sc["diffusivity_plus"], "m^2/s"),
                "tr_D_minus": s.to_internal(sc["diffusivity_minus"], "m^2/s")}

    def setup(self, pb):
        self.carriers = carrier_names(pb.p)

    def residual(self, s):
        p, F = s.p, 0
        for name in SIGNS:
            w, v = s.u(f"w_{name}"), s.test(f"w_{name}")
            if name not in self.carriers:  # (a single carrier: w_minus is not a defect's)
                F += w * v * s.dxl
                continue
            sign = SIGNS[name] if len(self.carriers) == 2 else 1.0

            def occupancy(lev, name=name):
                return theta(p, name, lev["phi_sc"], lev[f"w_{name}"], UflOps)
            # q grad(w)/kT in internal units: sign * sc_u * grad(w)
            mobility = p[f"tr_D_{name}"] * occupancy(s.levels[0]) * sign * p["sc_u"]
            F += s.ddt(occupancy) * v * s.dxl + mobility * ufl.inner(ufl.grad(w), ufl.grad(v)) * s.dx
        return F

    def dirichlet(self, p):
        return [(f"w_{name}", "reservoir", 0.0) for name in SIGNS]

    def initial(self, p):
        return {f"w_{name}": (lambda x: np.zeros(x.shape[1])) for name in SIGNS}

    def integrals(self, pb):
        s = pb.state
        out = {}
        for name in SIGNS:
            out[f"tr_amount_{name}"] = (theta(s.p, name, s.u("phi_sc"), s.u(f"w_{name}"), UflOps)
                                        * pb.dxl) if name in self.carriers else 0 * s.u("phi_sc") * pb.dxl
            out[f"tr_influx_{name}"] = pb.boundary_flux(f"w_{name}", "reservoir")
        return out

    def record(self, pb, integrals, t, dt):
        N, x0, t0 = pb.case.si["space_charge"]["site_density"], pb.scales.unit("m"), pb.scales.unit("s")
        return {**{f"amount_{n}_m2": N * x0 * integrals[f"tr_amount_{n}"] / pb.area for n in SIGNS},
                **{f"influx_{n}_m2_s": N * x0 / t0 * integrals[f"tr_influx_{n}"] / pb.area
                   for n in SIGNS}}

    def fields(self):
        return tuple(Field(f"w_{name}", "V", lambda pb, name=name:
                           pb.scales.to_si(pb.field_values(f"w_{name}"), "V")) for name in SIGNS)
