"""A tracer that diffuses through the electrolyte and is consumed at the
electrode: the example block of docs/writing-a-block.md.

    dc/dt = div(D grad c)             in the domain
    D grad c . n = -k c               at the electrode (first-order reaction)
    c = c_b                           at the reservoir

Steady state in 1-D (electrode at x = 0, reservoir at x = L):
    c(x) = c_b (1 + k x / D) / (1 + k L / D),
consumed at the electrode at the rate k c(0) = k c_b / (1 + k L / D) per area.

This module lives in tests/ and touches nothing under solver/: importing it
registers the block.  Run as a script it runs a case with the block, so the
block works under mpirun like any other:
    mpirun -n 2 python -m mpi4py tests/tracer_block.py run CASE -o OUT
"""
import ufl

from anodex.blocks import Block, Field, Unknown, register
from anodex.schema import Param, nonnegative, positive, q

PARAMS = {
    "tracer": {
        "diffusivity": q("1e-12 m^2/s", "m^2/s", "D of the tracer", positive, (1e-30, 1e-3)),
        "rate_constant": q("1e-6 m/s", "m/s", "k: consumption at the electrode, flux k c",
                           nonnegative, (0.0, 1.0)),
        "reservoir_concentration": q("100 mol/m^3", "mol/m^3", "c_b, held at the reservoir",
                                     positive, (1e-12, 1e6)),
        "initial_concentration": Param("number", 0.0, "c at t = 0, as a fraction of c_b",
                                       check=nonnegative, bounds=(0.0, 1e3)),
    },
}


class Tracer(Block):
    name = "tracer"
    params = PARAMS
    unknowns = (Unknown("tracer", "mol/m^3"),)
    columns = ("tracer_amount_mol_m2", "tracer_consumption_mol_m2_s")

    @classmethod
    def internal(cls, si, s):
        """The case's SI values in internal units (anodex/scales.py)."""
        t = si["tracer"]
        c_b = s.to_internal(t["reservoir_concentration"], "mol/m^3")
        return {"tracer_D": s.to_internal(t["diffusivity"], "m^2/s"),
                "tracer_k": s.to_internal(t["rate_constant"], "m/s"),
                "tracer_c_b": c_b, "tracer_c_0": t["initial_concentration"] * c_b}

    def residual(self, s):
        p, c, v = s.p, s.u("tracer"), s.test("tracer")
        F = s.ddt(lambda lev: lev["tracer"]) * v * s.dxl
        F += p["tracer_D"] * ufl.inner(ufl.grad(c), ufl.grad(v)) * s.dx
        F += p["tracer_k"] * c * v * s.ds["electrode"]
        return F

    def dirichlet(self, p):
        return [("tracer", "reservoir", p["tracer_c_b"])]

    def initial(self, p):
        return {"tracer": lambda x: p["tracer_c_0"] + 0 * x[0]}

    def error_indicators(self, p, nodal):
        return {"tracer": nodal["tracer"] / p["tracer_c_b"]}

    def integrals(self, pb):
        s = pb.state
        return {"tracer_amount": s.u("tracer") * pb.dxl,
                "tracer_consumption": s.p["tracer_k"] * s.u("tracer") * s.ds["electrode"]}

    def record(self, pb, integrals, t, dt):
        s, area = pb.scales, pb.area
        return {"tracer_amount_mol_m2": s.to_si(integrals["tracer_amount"] / area, "mol/m^2"),
                "tracer_consumption_mol_m2_s": s.to_si(integrals["tracer_consumption"] / area,
                                                       "mol/(m^2*s)")}

    def fields(self):
        return (Field("tracer", "mol/m^3",
                      lambda pb: pb.scales.to_si(pb.field_values("tracer"), "mol/m^3")),)


register(Tracer)

if __name__ == "__main__":
    from anodex.cli import console
    console()
