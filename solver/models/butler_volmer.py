"""Butler-Volmer reaction term of the phase-field equation (Chen et al. 2015):

    d eta/dt += -Ls h'(eta) [exp((1-alpha) phi) - (c/c0) exp(-alpha phi)]

phi in RT/(zF) (so the published AA = nF/RT is 1 here), c the ion
concentration (electrolyte site fraction, ion_concentration) and c0 its
value at w = 0.  The overpotential is the local potential, as in the
published model.
"""
from . import Block
from .grand_potential import capped_exp, dh, ion_concentration


class ButlerVolmer(Block):
    name = "butler_volmer"
    requires = ("eta", "w", "pot")

    def residual(self, s):
        p, eta = s.p, s.u("eta")
        phi, a = s.u("pot"), p["alpha"]
        rate = capped_exp((1 - a) * phi) - ion_concentration(s.u("w"), eta, p) / p["c0"] * capped_exp(-a * phi)
        return p["Ls"] * dh(eta) * rate * s.test("eta") * s.dxl
