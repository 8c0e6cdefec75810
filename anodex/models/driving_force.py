"""Bulk driving force of the phase field (PFHub benchmark 8, nucleation):

    f = W g(eta) - df p(eta) + kappa/2 |grad eta|^2,  p = h = eta^3 (6 eta^2 - 15 eta + 10)
    d eta/dt += L df p'(eta)

With the PhaseField block this is the Allen-Cahn equation of the benchmark
(https://pages.nist.gov/pfhub/benchmarks/benchmark8.ipynb/).  A circular
nucleus of radius R grows when R exceeds r* = gamma/df in 2-D, with
gamma = sqrt(2 kappa W)/6 the interface energy; the analytic critical
radius of the benchmark.  df in internal energy units ([phase_field]
driving_force / (RT/V_m)).
"""
from ..schema import nonnegative, q
from ..blocks import Block, register
from .grand_potential import dh

PARAMS = {
    "phase_field": {
        "driving_force": q("0 J/m^3", "J/m^3", "bulk free-energy difference df of the "
                           "driving_force block (PFHub benchmark 8: f = W g - df p + kappa/2 "
                           "|grad eta|^2)", nonnegative, (0.0, 1e15)),
    },
}


@register
class DrivingForce(Block):
    name = "driving_force"
    order = 50
    params = PARAMS
    requires = ("eta",)

    @classmethod
    def internal(cls, si, s):
        return {"driving_force": s.to_internal(si["phase_field"]["driving_force"], "J/m^3")}

    def residual(self, s):
        p, eta = s.p, s.u("eta")
        return -p["L"] * p["driving_force"] * dh(eta) * s.test("eta") * s.dxl
