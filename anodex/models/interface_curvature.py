"""Curvature of the metal surface, for the Gibbs-Thomson term of the charge
transfer (charge_transfer.py), as an unknown of its own (mixed form):

    K = -div n,   n = grad eta / sqrt(|grad eta|^2 + delta^2)

weakly, with vertex (lumped) quadrature for K:  (K, q) = (n, grad q), the
boundary term dropped: the interface meets the walls at right angles
(symmetry).  With the term, the cell gradients next to a wall, whose
normal leans by ~h/(2R), put an error of order 1/R into K at the wall nodes:
the Gibbs-Thomson disc then grew 26 % too fast (measured).
Filtered at the cell size h:  (K, q) + h^2 (grad K, grad q) = (n, grad q),
i.e. K - h^2 lap K = -div n with dK/dn = 0 at walls.  Without it the
charge transfer's counter-term, which cancels the Allen-Cahn curvature
motion, also cancelled the tangential smoothing of grid-scale ripples: in
cases/compare_li_mg_zn.toml a single node at the tip jumped to eta = 1.01
at t ~ 550 s and Newton failed (measured).  Resolved shapes (R >> h) are
changed by O(h^2/R^2): the currents of the Gibbs-Thomson discs (T6) moved by
at most 1.3 % of their sharp-interface values (measured).
K > 0 on a convex deposit (a disc of radius R: 1/R in 2-D, 2/R in 3-D).
delta = 1e-4 / l regularises n in the bulk, where grad eta vanishes (with
1e-2 / l the far tails, weighted in 2-D by their radius, lowered the
interface-averaged K of a disc by 5 %; now 0.1 %, tests/test_two_potential.py);
the charge transfer weighs K with the interface delta function, so the
bulk values do not act.  2-D and 3-D (left out in 1-D: a front is flat).
"""
import numpy as np
import ufl

from .. import compat
from ..blocks import Block, Unknown, register

REGULARIZATION = 1e-4  # delta l


def filtered(u, q, s):
    """(u, q)_lumped + h^2 (grad u, grad q): the left side of a projection
    filtered at the cell size h (this block's K, mechanical_overpotential's
    normal traction)."""
    h = compat.cell_size(u)
    return u * q * s.dxl + h * h * ufl.inner(ufl.grad(u), ufl.grad(q)) * s.dx


@register
class InterfaceCurvature(Block):
    name = "interface_curvature"
    order = 110
    unknowns = (Unknown("curvature", "1/m", quasi_static=True),)
    requires = ("eta",)

    @classmethod
    def selected(cls, si):
        """Named in [model] blocks, and the geometry has a curved interface
        (in 1-D the block is left out: a front is flat)."""
        return cls.name in si["model"]["blocks"] and si["geometry"]["kind"] != "interval"

    def residual(self, s):
        eta, q = s.u("eta"), s.test("curvature")
        delta = REGULARIZATION / s.p["ell"]
        grad = ufl.grad(eta)
        normal = grad / ufl.sqrt(ufl.inner(grad, grad) + delta * delta)
        return filtered(s.u("curvature"), q, s) - ufl.inner(normal, ufl.grad(q)) * s.dx

    def initial(self, p):
        return {"curvature": lambda x: np.zeros(x.shape[1])}
