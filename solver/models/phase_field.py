"""Allen-Cahn phase field of the metal (eta = 1) / electrolyte (eta = 0).

    d eta/dt = -L (W g'(eta) - kappa lap eta) + noise

(Chen et al. 2015, eq. 5 without the reaction term, which ButlerVolmer
adds.)  Equilibrium profile eta = (1 - tanh(x/l))/2 with l = sqrt(2 kappa/W).
Noise as in the published MOOSE input: a rate uniform in [-a, a], redrawn
every step (``s.extra["noise"]`` holds the draw in [-1, 1]).
Boundary: eta = 1 at the electrode, 0 at the reservoir, zero flux elsewhere.
"""
import numpy as np
import ufl

from . import Block
from .grand_potential import dg


class PhaseField(Block):
    name = "phase_field"
    unknowns = ("eta",)

    def residual(self, s):
        p, eta, v = s.p, s.u("eta"), s.test("eta")
        F = s.ddt(lambda lev: lev["eta"]) * v * s.dxl
        F += p["L"] * p["W"] * dg(eta) * v * s.dxl
        F += p["L"] * p["kappa"] * ufl.inner(ufl.grad(eta), ufl.grad(v)) * s.dx
        if p["noise_amplitude"] > 0:
            F -= p["noise_amplitude"] * s.extra["noise"] * v * s.dxl
        return F

    def dirichlet(self, p):
        return [("eta", "electrode", 1.0), ("eta", "reservoir", 0.0)]

    def initial(self, p):
        def eta0(x):
            front = p["x_interface"]
            if p["perturbation_amplitude"] > 0:
                k = 2 * np.pi / p["perturbation_wavelength"]
                front = front + p["perturbation_amplitude"] * np.cos(k * (x[1] - p["height"] / 2))
            return 0.5 * (1 - np.tanh((x[0] - front) / p["interface_width"]))
        return {"eta": eta0}

    def error_indicators(self, p, nodal):
        return {"eta": nodal["eta"]}
