"""Heat conduction: the example block of docs/writing-a-block.md.

    rho c_p dT/dt = div(k grad T) + q        in the domain
    k grad T . n  = q_s                      on the heated boundary (into the domain)
    T             = T_c                      on the cooled boundary
    k grad T . n  = 0                        on every other boundary

The case names both boundaries ([heat] heated_boundary, cooled_boundary):
any face of the geometry ("electrode", "reservoir", "bottom", "top",
"front", "back", or a mesh file's facet groups).

Steady state between the faces x = 0 (heated) and x = L (cooled), the closed
form the example case is checked against (a 1-D profile: the other faces are
insulated):
    T(x) = T_c + q_s (L - x) / k + q (L^2 - x^2) / (2 k),
    T(0) = T_c + q_s L / k + q L^2 / (2 k),
    mean = T_c + q_s L / (2 k) + q L^2 / (3 k).

Installation is one file: copy this module into anodex/models/ (or publish
it in a package with an entry point of the group anodex.blocks, e.g.
`heat = "my_package.heat"`), and [heat] is a section of anodex's case files.
"""
import ufl

from anodex.blocks import Block, Field, Unknown, register
from anodex.schema import Param, nonnegative, positive, q

PARAMS = {
    "heat": {
        "conductivity": q("1 W/(m*K)", "W/(m*K)", "k: thermal conductivity", positive,
                          (1e-6, 1e4)),
        "heat_capacity": q("2e6 J/(m^3*K)", "J/(m^3*K)", "rho c_p: volumetric heat capacity",
                           positive, (1.0, 1e8)),
        "source": q("0 W/m^3", "W/m^3", "q: heat generated per volume (Joule heating, say)",
                    nonnegative, (0.0, 1e15)),
        "heated_boundary": Param("face", "electrode", "the boundary the heat flux enters by"),
        "heat_flux": q("1e4 W/m^2", "W/m^2", "q_s: the heat flux into the domain there",
                       bounds=(-1e9, 1e9)),
        "cooled_boundary": Param("face", "reservoir", "the boundary held at cooled_temperature"),
        "cooled_temperature": q("300 K", "K", "T_c", positive, (1.0, 5000.0)),
    },
}


@register
class Heat(Block):
    name = "heat"
    params = PARAMS
    unknowns = (Unknown("temperature", "K"),)
    columns = ("heated_temperature_K", "mean_temperature_K")

    @classmethod
    def check(cls, si, given):
        h = si["heat"]
        if h["heated_boundary"] == h["cooled_boundary"]:
            return [f"[heat] heated_boundary: the same boundary as cooled_boundary "
                    f"(\"{h['cooled_boundary']}\"); a boundary has one condition"]
        return []

    @classmethod
    def internal(cls, si, s):
        """The case's SI values in internal units: temperatures in units of
        [material] temperature, the rest from their dimensions."""
        h = si["heat"]
        return {"heat_k": s.to_internal(h["conductivity"], "W/(m*K)"),
                "heat_rho_c": s.to_internal(h["heat_capacity"], "J/(m^3*K)"),
                "heat_q": s.to_internal(h["source"], "W/m^3"),
                "heat_q_s": s.to_internal(h["heat_flux"], "W/m^2"),
                "heat_T_c": s.to_internal(h["cooled_temperature"], "K"),
                "heat_heated": h["heated_boundary"], "heat_cooled": h["cooled_boundary"]}

    def residual(self, s):
        p, T, v = s.p, s.u("temperature"), s.test("temperature")
        F = p["heat_rho_c"] * s.ddt(lambda lev: lev["temperature"]) * v * s.dxl
        F += p["heat_k"] * ufl.inner(ufl.grad(T), ufl.grad(v)) * s.dx
        F -= p["heat_q"] * v * s.dx + p["heat_q_s"] * v * s.ds[p["heat_heated"]]
        return F

    def dirichlet(self, p):
        return [("temperature", p["heat_cooled"], p["heat_T_c"])]

    def initial(self, p):
        return {"temperature": lambda x: p["heat_T_c"] + 0 * x[0]}

    def error_indicators(self, p, nodal):
        return {"temperature": nodal["temperature"]}

    def integrals(self, pb):
        T, one = pb.state.u("temperature"), ufl.as_ufl(1.0)
        heated = pb.ds[pb.p["heat_heated"]]
        return {"heat_T_heated": T * heated, "heat_heated_area": one * heated,
                "heat_T_total": T * pb.dx, "heat_volume": one * pb.dx}

    def record(self, pb, integrals, t, dt):
        kelvin = pb.scales.unit("K")
        return {"heated_temperature_K": kelvin * integrals["heat_T_heated"]
                / integrals["heat_heated_area"],
                "mean_temperature_K": kelvin * integrals["heat_T_total"] / integrals["heat_volume"]}

    def fields(self):
        return (Field("temperature", "K",
                      lambda pb: pb.scales.to_si(pb.field_values("temperature"), "K")),)


if __name__ == "__main__":  # run a case with the block from here: python heat.py run CASE
    from anodex.cli import console
    console()
