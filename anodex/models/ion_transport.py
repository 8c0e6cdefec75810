"""Ion transport in grand-potential form (Chen et al. 2015; Hong & Viswanathan 2018, docs/hong2018-units.md):

    dC(w, eta)/dt = div(Dm grad w + DN grad phi),
    C = -cl (1-h) - cs dv h,  Dm = -M0 (1-h)^2 cl,  DN = AA Dm (= Dm here).

Written in conservative form: the time difference acts on the metal content
C, whose chain rule is the published chi dw/dt + ft deta/dt.  Discretely this
conserves metal + ions exactly.  C is integrated with vertex quadrature
(mass lumping), which keeps w bounded where the metal makes chi ~ 5e-6.
Boundary: w = w_reservoir at the reservoir, zero flux elsewhere.

Derived value: the diffusivity, when an electrolyte is named or a
conductivity given, by Nernst-Einstein, D = sigma R T / (z^2 F^2 c), with c
the model's ion concentration at w = 0, c = c0 c_s / dv.  The migration flux
then carries the whole current at uniform concentration (a single-ion
conductor, t+ = 1, as the ceramic electrolytes are).
Results: the metal content (ions + metal) and the ions that entered through
the reservoir (mass balance: their changes agree); the field c (mol/m^3).
"""
import ufl

from ..constants import FARADAY, GAS_CONSTANT
from ..schema import Param, positive
from ..blocks import Block, Field, Unknown, register
from .grand_potential import (electrolyte_fraction, ion_concentration, ion_concentration_np,
                              lithium_content, published_numbers, reference_fraction)
from .phase_field import electrolyte_shape
from .shared_keys import ELECTROLYTE_CONDUCTIVITY, ELECTROLYTE_DIFFUSIVITY

RT_RANGE = (-100.0, 100.0)  # a chemical potential or energy offset in RT

PARAMS = {
    "electrolyte": {
        "conductivity": ELECTROLYTE_CONDUCTIVITY,
        "diffusivity": ELECTROLYTE_DIFFUSIVITY,
        "site_density_ratio": Param("number", 5.5, "dv: site density of the electrode over "
                                    "that of the electrolyte", check=positive,
                                    bounds=(1e-6, 1e6)),
    },
    "grand_potential": {
        "electrode_mu_offset": Param("number", -13.8, "es, in units of RT", bounds=RT_RANGE),
        "electrolyte_mu_offset": Param("number", 2.631, "el, in units of RT", bounds=RT_RANGE),
        "electrode_energy_offset": Param("number", 13.8, "us, in units of RT (recorded: the "
                                         "equations need only the offsets' differences "
                                         "through es and el)", bounds=RT_RANGE),
        "electrolyte_energy_offset": Param("number", 0.0695, "ul, in units of RT (recorded, "
                                           "as us)", bounds=RT_RANGE),
        "prefactor": Param("number", 1.0, "A, in units of RT", check=positive,
                           bounds=(1e-3, 1e3)),
    },
    "initial": {
        "chemical_potential": Param("number", 0.0, "w at t = 0, in units of RT",
                                    bounds=RT_RANGE),
    },
    "boundary": {
        "reservoir_chemical_potential": Param("number", 0.0, "w at x = length, in units of "
                                              "RT (0: the reference concentration c0)",
                                              bounds=RT_RANGE),
    },
    "solver": {
        "max_w_update": Param("number", 5.0, "limiter on w per iteration, in RT",
                              check=positive, bounds=(1e-6, 1000.0)),
    },
}


def nernst_einstein_diffusivity(sigma, T, z, c):
    """D = sigma R T / (z^2 F^2 c) (m^2/s) for conductivity sigma (S/m) carried
    by ions of charge z at concentration c (mol/m^3)."""
    return sigma * GAS_CONSTANT * T / (z ** 2 * FARADAY ** 2 * c)


def model_ion_concentration(si) -> float:
    """c = c0 c_s / dv (mol/m^3): the electrolyte's ion concentration at w = 0."""
    gp = si["grand_potential"]
    c0 = reference_fraction(gp["electrolyte_mu_offset"], gp["prefactor"])
    return c0 / (si["electrolyte"]["site_density_ratio"] * si["material"]["molar_volume"])


@register
class IonTransport(Block):
    name = "ion_transport"
    order = 10
    in_default_model = True
    params = PARAMS
    unknowns = (Unknown("w", "RT", update_limit="max_w_update"),)
    provides = ("concentration_ratio", "local_overpotential")
    requires = ("eta", "metal_fraction", "phi")
    columns = ("metal_content_mol_m2", "ion_inflow_mol_m2")
    checkpoint_state = ("inflow",)

    @classmethod
    def derive(cls, ctx):
        si = ctx.si
        if ctx.electrolyte is None and ("electrolyte", "conductivity") not in ctx.given:
            return []
        c = model_ion_concentration(si)
        D = nernst_einstein_diffusivity(si["electrolyte"]["conductivity"],
                                        si["material"]["temperature"],
                                        si["material"]["charge_number"], c)
        ctx.put("electrolyte", "diffusivity", D, f"{D!r} m^2/s",
                f"derived: Nernst-Einstein D = sigma R T / (z^2 F^2 c), c = {c:.5g} mol/m^3")
        return []

    @classmethod
    def internal(cls, si, s):
        gp, el = si["grand_potential"], si["electrolyte"]
        return {
            "M0": s.to_internal(el["diffusivity"], "m^2/s"),
            "dv": el["site_density_ratio"],
            "es": gp["electrode_mu_offset"], "el": gp["electrolyte_mu_offset"],
            "A": gp["prefactor"],
            "c0": reference_fraction(gp["electrolyte_mu_offset"], gp["prefactor"]),
            "w_initial": si["initial"]["chemical_potential"],
            "w_reservoir": si["boundary"]["reservoir_chemical_potential"],
        }

    def setup(self, pb):
        self.inflow = 0.0

    def quantities(self):
        # c/c0: the ion concentration over its value at w = 0
        # local_overpotential: phi - ln(c_l / (2 c0)), phi over the Nernst rest
        # of the published model (tests/test_electrodeposition.py): what a
        # site on the collector sees (metal_nucleation)
        return {"concentration_ratio":
                lambda s, lev: ion_concentration(lev["w"], lev["eta"], s.p) / s.p["c0"],
                "local_overpotential":
                lambda s, lev: lev["phi"] - ufl.ln(electrolyte_fraction(lev["w"], s.p) / (2 * s.p["c0"]))}

    def residual(self, s):
        p, w, v = s.p, s.u("w"), s.test("w")
        Dm = p["M0"] * (1 - s.u("metal_fraction")) ** 2 * electrolyte_fraction(w, p)
        F = s.ddt(lambda lev: lithium_content(lev["w"], lev["eta"], p)) * v * s.dxl
        F += Dm * ufl.inner(ufl.grad(w) + ufl.grad(s.u("phi")), ufl.grad(v)) * s.dx
        return F

    def newton_floor(self, s):
        """The electrolyte's storage, chi_ref a0/dt per lumped node volume,
        chi_ref = c0 (1 - c0) / A (dC/dw at w = 0).  In the metal chi ~ 1e-6
        and J_ii of w fell to ~1e-9, so F_i / J_ii measured the roundoff of a
        nearly free w: the Hong case gave up at t = 71 s, at every dt, with
        eta and phi converged to 1e-13 and w's estimate at 300-3000 RT at
        eta = 0.996 (measured).  Floored, the estimate is the ion-content
        error divided by the electrolyte's chi, as it was in the electrolyte."""
        p = s.p
        a0, _, _, inv_dt = s.ddt_weights
        chi_ref = p["c0"] * (1 - p["c0"]) / p["A"]
        return a0 * inv_dt * chi_ref * s.test("w") * s.dxl

    def dirichlet(self, p):
        return [("w", "reservoir", p["w_reservoir"])]

    def initial(self, p):
        return {"w": lambda x: p["w_initial"] + 0 * x[0]}

    def error_indicators(self, p, nodal):
        # the concentration, not w: w drops ~13 RT where a node turns metal
        return {"c/c0": ion_concentration_np(nodal["w"], nodal["eta"], p) / p["c0"]}

    def conserved(self):
        return {"metal_content": ("w", electrolyte_shape)}

    def integrals(self, pb):
        st = pb.state
        return {"metal_content": lithium_content(st.u("w"), st.u("eta"), st.p) * pb.dxl,
                "ion_flux_reservoir": pb.boundary_flux("w", "reservoir")}

    def record(self, pb, integrals, t, dt):
        # electrolyte-site units -> mol/m^2 of electrode: c_s x0 / dv per unit
        to_mol = pb.scales.unit("mol/m^2") / pb.p["dv"] / pb.area
        self.inflow += integrals["ion_flux_reservoir"] * to_mol * dt
        return {"metal_content_mol_m2": integrals["metal_content"] * to_mol,
                "ion_inflow_mol_m2": self.inflow}

    def fields(self):
        def concentration(pb):
            c = ion_concentration_np(pb.field_values("w"), pb.field_values("eta"), pb.p)
            return pb.scales.to_si(c / pb.p["dv"], "mol/m^3")  # (electrolyte sites: c_s/dv)
        return (Field("c", "mol/m^3", concentration),)

    def metadata(self, pb):
        return {"published_form": published_numbers(pb.case.si, pb.scales, pb.p)}
