"""Charge conservation (Chen et al. 2015; hong2018.md):

    div(sigma grad phi) = ft2 dh(eta)/dt,  sigma = S1 h + S2 (1-h).

In internal units ft2 = 1.  The source is the time difference of h(eta)
(the published input writes d eta/dt; both agree for a translating front,
and with h the charge balance matches the metal content of IonTransport
exactly: Faraday's law holds discretely).
Boundary: phi = applied at the electrode, reservoir value at the reservoir.
"""
import numpy as np
import ufl

from . import Block
from .grand_potential import h


class Potential(Block):
    name = "potential"
    unknowns = ("pot",)
    requires = ("eta",)
    quasi_static = True

    def residual(self, s):
        p, phi, v = s.p, s.u("pot"), s.test("pot")
        heta = h(s.u("eta"))
        sigma = p["sigma_electrode"] * heta + p["sigma_electrolyte"] * (1 - heta)
        F = sigma * ufl.inner(ufl.grad(phi), ufl.grad(v)) * s.dx
        F += s.ddt(lambda lev: h(lev["eta"])) * v * s.dxl
        return F

    def dirichlet(self, p):
        return [("pot", "electrode", p["phi_applied"]), ("pot", "reservoir", p["phi_reservoir"])]

    def initial(self, p):
        # As published: phi0 = phi_applied * eta0 (-0.225 (1 - tanh(...))).
        # Being quasi-static, it is then replaced by the solution of
        # div(sigma grad phi) = 0 for the initial eta (Problem.set_initial).
        def phi0(x):
            eta0 = 0.5 * (1 - np.tanh((x[0] - p["x_interface"]) / p["interface_width"]))
            return p["phi_reservoir"] + (p["phi_applied"] - p["phi_reservoir"]) * eta0
        return {"pot": phi0}
