"""Stress in the reaction's driving force.  An atom added to the metal at its
interface with the electrolyte does work against the normal traction
there, so its chemical potential is raised by V_m p_n, p_n = -n.sigma.n
(compressive positive, n the interface's normal; Herring's chemical
potential at an interface, the driving force of Nabarro-Herring and Coble
creep: Herring, J. Appl. Phys. 21 (1950) 437, cited, not read here), and the
charge-transfer overpotential gains

    eta_ct += V_m p_n / (zF)      (internal units RT/(zF): p_n / E0, E0 = RT/V_m)

as the capillary term gamma V_m K/(zF) does for the Laplace pressure gamma K.
Compression opposes plating and helps stripping; at rest the metal's
potential against an unstressed M/M^z+ electrode is -V_m p_n/(zF) (0.135 mV
per MPa for Li).  The elastic energy density's share, of order p^2/E, is
left out (1e-3 of p_n at 10 MPa on Li).

The traction, not the metal's hydrostatic pressure p_h: the two agree in
a metal crept to a hydrostatic state, but p_h also carries the in-plane
stresses, which in the diffuse interface depend on how far each point has
crept.  Driven by p_h, a film at rest under 3 MPa had p_h 2.83 MPa in its
bulk and 2.65 MPa inside the interface; the difference drove a reaction
that stripped on one side of the interface and plated on the other with
no net current, and its stripping half injected vacancies (5.7e-8
mol/m^2/s, voids after 1.7 h; measured).  The laminate of metal_mechanics
keeps the traction continuous through the interface, so at rest p_n is
one number across it.

p_n is a nodal unknown, the traction projected with a filter at the cell
size h, as the interface_curvature block does for K:

    (p_n, q)_lumped + h^2 (grad p_n, grad q) = (-n.sigma.n, q)

The traction at a point is not smooth: the strain of P1 displacements is
constant in a cell while the laminate's stiffness changes 20-fold with h
across it, so within a cell the traction swung by about 10 % about its
cell mean (which equilibrium fixes), and the reaction, driven by it,
stripped and plated inside each cell.  Projected, a 1-D film at rest under
3 MPa holds p_n within 0.5 % of 3 MPa through the interface, and the
vacancies it injects in 10 min are 6.5e-7, 3.5e-7 and 1.1e-7 mol/m^2 on
0.2, 0.1 and 0.05 um cells (driven by p_h at the reaction's point,
3.5e-5, 2.1e-5 and 1.3e-5; measured).  Outside the interface, where
its normal fades, p_n goes over to the pressure -tr(sigma)/3 (the reaction
is not there).

Not Monroe & Newman's form (J. Electrochem. Soc. 152 (2005) A396, not read
here; as quoted in seed 004, eq. 12, it weighs both sides' deviatoric
normal stresses and pressures by (V_m +- V_+)/2, V_+ the cation's partial
molar volume in the electrolyte): with traction continuity and V_+ = 0 that
quote reduces to V_m times one side's pressure, which differs from V_m p_n
by that side's deviatoric normal stress.  Which applies to a metal on a
solid electrolyte was not settled here; the cation's volume is left out.
"""
import numpy as np

from ..blocks import Block, Field, Unknown, register
from .interface_curvature import filtered


@register
class MechanicalOverpotential(Block):
    name = "mechanical_overpotential"
    axisymmetric = True
    order = 160
    unknowns = (Unknown("normal_pressure", "Pa", quasi_static=True),)
    requires = ("interface_normal_pressure", "metal_fraction",
                "charge_transfer_overpotential")

    def residual(self, s):
        q = s.test("normal_pressure")
        return (filtered(s.u("normal_pressure"), q, s)
                - s.at("interface_normal_pressure", s.levels[0]) * q * s.dx)

    def initial(self, p):
        return {"normal_pressure": lambda x: np.zeros(x.shape[1])}

    def fields(self):
        return (Field("normal_pressure", "Pa",
                      lambda pb: pb.field_values("normal_pressure") * pb.scales.unit("Pa")),)

    def contributions(self):
        return {"charge_transfer_overpotential": lambda s, lev: lev["normal_pressure"]}
