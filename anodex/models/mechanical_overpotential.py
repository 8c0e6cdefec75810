"""Stress in the reaction's driving force: the metal's hydrostatic pressure
p_h raises its chemical potential by V_m p_h, so the charge-transfer
overpotential gains

    eta_ct += V_m p_h / (zF)      (internal units RT/(zF): p_h / E0, E0 = RT/V_m)

as the capillary term gamma V_m K/(zF) does for the Laplace pressure gamma K.
Compression (p_h > 0) opposes plating and helps stripping; at rest the
metal's potential against an unstressed M/M^z+ electrode is -V_m p_h/(zF)
(0.135 mV per MPa for Li).  This is the metal-side term of Monroe & Newman
(J. Electrochem. Soc. 152 (2005) A396); the electrolyte-side term, with the
cation's partial molar volume in the electrolyte, is not included.  The
pressure is that of the stress at the reaction's site, in the diffuse
interface (metal_mechanics' moduli mixed by h there).
"""
from ..blocks import Block, register


@register
class MechanicalOverpotential(Block):
    name = "mechanical_overpotential"
    axisymmetric = True
    order = 160
    requires = ("hydrostatic_pressure", "charge_transfer_overpotential")

    def contributions(self):
        return {"charge_transfer_overpotential":
                lambda s, lev: s.at("hydrostatic_pressure", lev)}
