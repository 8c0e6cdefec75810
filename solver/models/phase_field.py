"""Allen-Cahn phase field of the metal (eta = 1) / electrolyte (eta = 0).

    d eta/dt = -L (W g'(eta) - kappa lap eta) + noise

(Chen et al. 2015, eq. 5 without the reaction term, which ButlerVolmer
adds.)  Equilibrium profile eta = (1 - tanh(x/l))/2 with l = sqrt(2 kappa/W).
Noise as in the published MOOSE input: a rate uniform in [-a, a], redrawn
every correlation time (0.02 s, the published step) and averaged over each
time step (``s.extra["noise"]`` holds the average in [-1, 1]; solver/noise.py).
Boundary: eta = 1 at the electrode, 0 at the reservoir, zero flux elsewhere
([phase_field] boundary_values = false: zero flux everywhere).
"""
import numpy as np
import ufl

from . import Block
from .grand_potential import dg


# max of g'' = 2 - 12 eta + 12 eta^2 on [0, 1]
STABILIZATION = 2.0


def stabilized_dg(eta, eta_star):
    """g'(eta*) + S (eta - eta*): the double-well force linearised about the
    extrapolated eta* with S >= max g'' (linearly stabilised scheme; e.g. Shen
    & Yang, Discrete Contin. Dyn. Syst. 28 (2010) 1669).  eta - eta* = O(dt^2),
    so BDF2 stays second order, and the step's equation for eta is no longer
    bistable: the implicit double well makes it non-unique once
    dt L W |min g''| > 1 (dt > 0.07 s for the Hong case)."""
    return dg(eta_star) + STABILIZATION * (eta - eta_star)


def seeds_profile(x, seeds, width):
    """max over seeds (x_i, y_i, R_i) of (1 - tanh((|x - x_i| - R_i)/width))/2."""
    eta = np.zeros(x.shape[1])
    for xc, yc, R in seeds:
        r = np.hypot(x[0] - xc, x[1] - yc)
        eta = np.maximum(eta, 0.5 * (1 - np.tanh((r - R) / width)))
    return eta


class PhaseField(Block):
    name = "phase_field"
    unknowns = ("eta",)

    def residual(self, s):
        p, eta, v = s.p, s.u("eta"), s.test("eta")
        F = s.ddt(lambda lev: lev["eta"]) * v * s.dxl
        if p["double_well"] == "stabilized":
            F += p["L"] * p["W"] * stabilized_dg(eta, s.extrapolate(lambda lev: lev["eta"])) * v * s.dxl
        else:
            F += p["L"] * p["W"] * dg(eta) * v * s.dxl
        F += p["L"] * p["kappa"] * ufl.inner(ufl.grad(eta), ufl.grad(v)) * s.dx
        # present also at zero amplitude, so noisy and quiet cases share one form
        F -= p["noise_amplitude"] * s.extra["noise"] * v * s.dxl
        return F

    def dirichlet(self, p):
        if not p["boundary_values"]:
            return []
        return [("eta", "electrode", 1.0), ("eta", "reservoir", 0.0)]

    def initial(self, p):
        if p["initial_kind"] == "seeds":
            return {"eta": lambda x: seeds_profile(x, p["seeds"], p["interface_width"])}
        if p["initial_kind"] == "bare":
            return {"eta": lambda x: np.zeros(x.shape[1])}

        def eta0(x):
            front = p["x_interface"]
            if p["perturbation_amplitude"] > 0:
                k = 2 * np.pi / p["perturbation_wavelength"]
                front = front + p["perturbation_amplitude"] * np.cos(k * (x[1] - p["height"] / 2))
            return 0.5 * (1 - np.tanh((x[0] - front) / p["interface_width"]))
        return {"eta": eta0}

    def error_indicators(self, p, nodal):
        return {"eta": nodal["eta"]}
