"""Butler-Volmer reaction term of the phase-field equation (Chen et al. 2015):

    d eta/dt += -Ls h'(eta) [exp((1-alpha) phi) - (c/c0) exp(-alpha phi)]

phi in RT/(zF) (so the published AA = nF/RT is 1 here), c/c0 the ion
concentration over its value at w = 0 (the quantity concentration_ratio).
The overpotential is the local potential, as in the published model (the
quantity overpotential, to which other blocks may add).

Derived value: Ls from an exchange current density.  A flat front moves at
v = -3 l Ls Rbar (Rbar: the Butler-Volmer bracket averaged with weight h',
tests/test_electrodeposition.py), so the current zF c_s v has the prefactor
i0 = 3 z F c_s l Ls, Ls = i0 V_m / (3 z F l).
"""
from ..constants import FARADAY
from ..schema import Param, nonnegative, open_unit, positive, q
from ..blocks import Block, register
from .grand_potential import capped_exp, dh
from .phase_field import interface_length

PARAMS = {
    "phase_field": {
        "reaction_rate_constant": q("1e-3 1/s", "1/s", "Ls, Butler-Volmer kinetic "
                                    "coefficient of the phase-field equation", nonnegative,
                                    (0.0, 1e20)),
        "exchange_current_density": q(None, "A/m^2", "i0, instead of reaction_rate_constant: "
                                      "Ls = i0 / (3 z F c_s l), from the flat-front velocity "
                                      "v = 3 l Ls (BV bracket) (tests/test_electrodeposition.py)",
                                      positive, (1e-20, 1e8)),
        "transfer_coefficient": Param("number", 0.5, "alpha, cathodic charge-transfer "
                                      "coefficient", check=open_unit),
    },
}


def reaction_rate_from_exchange_current(i0, z, molar_volume, ell):
    """Ls = i0 V_m / (3 z F l) (1/s)."""
    return i0 * molar_volume / (3 * z * FARADAY * ell)


@register
class ButlerVolmer(Block):
    name = "butler_volmer"
    order = 30
    in_default_model = True
    params = PARAMS
    requires = ("eta", "overpotential", "concentration_ratio")

    @classmethod
    def derive(cls, ctx):
        si = ctx.si
        i0 = si["phase_field"]["exchange_current_density"]
        if i0 is None:
            return []
        Ls = reaction_rate_from_exchange_current(i0, si["material"]["charge_number"],
                                                 si["material"]["molar_volume"],
                                                 interface_length(si["phase_field"]))
        return ctx.derived("phase_field", "reaction_rate_constant", Ls, "1/s",
                           "exchange_current_density / (3 z F c_s l)", "exchange_current_density")

    @classmethod
    def internal(cls, si, s):
        pf = si["phase_field"]
        return {"Ls": s.to_internal(pf["reaction_rate_constant"], "1/s"),
                "alpha": pf["transfer_coefficient"]}

    def residual(self, s):
        p, eta = s.p, s.u("eta")
        phi, a = s.u("overpotential"), p["alpha"]
        rate = capped_exp((1 - a) * phi) - s.u("concentration_ratio") * capped_exp(-a * phi)
        return p["Ls"] * dh(eta) * rate * s.test("eta") * s.dxl
