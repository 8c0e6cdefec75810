"""Ion transport in grand-potential form (Chen et al. 2015; hong2018.md):

    dC(w, eta)/dt = div(Dm grad w + DN grad phi),
    C = -cl (1-h) - cs dv h,  Dm = -M0 (1-h)^2 cl,  DN = AA Dm (= Dm here).

Written in conservative form: the time difference acts on the metal content
C, whose chain rule is the published chi dw/dt + ft deta/dt.  Discretely this
conserves metal + ions exactly.  C is integrated with vertex quadrature
(mass lumping), which keeps w bounded where the metal makes chi ~ 5e-6.
Boundary: w = w_reservoir at the reservoir, zero flux elsewhere.
"""
import ufl

from . import Block
from .grand_potential import electrolyte_fraction, h, ion_concentration_np, lithium_content


class IonTransport(Block):
    name = "ion_transport"
    unknowns = ("w",)
    requires = ("eta", "pot")

    def residual(self, s):
        p, w, eta, v = s.p, s.u("w"), s.u("eta"), s.test("w")
        Dm = p["M0"] * (1 - h(eta)) ** 2 * electrolyte_fraction(w, p)
        F = s.ddt(lambda lev: lithium_content(lev["w"], lev["eta"], p)) * v * s.dxl
        F += Dm * ufl.inner(ufl.grad(w) + ufl.grad(s.u("pot")), ufl.grad(v)) * s.dx
        return F

    def dirichlet(self, p):
        return [("w", "reservoir", p["w_reservoir"])]

    def initial(self, p):
        return {"w": lambda x: p["w_initial"] + 0 * x[0]}

    def error_indicators(self, p, nodal):
        # the concentration, not w: w drops ~13 RT where a node turns metal
        return {"c/c0": ion_concentration_np(nodal["w"], nodal["eta"], p) / p["c0"]}
