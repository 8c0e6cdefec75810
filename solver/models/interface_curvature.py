"""Curvature of the metal surface, for the Gibbs-Thomson term of the charge
transfer (charge_transfer.py), as an unknown of its own (mixed form):

    K = -div n,   n = grad eta / sqrt(|grad eta|^2 + delta^2)

weakly, with vertex (lumped) quadrature for K:  (K, q) = (n, grad q), the
boundary term dropped: the interface meets the walls at right angles
(symmetry).  With the term, the cell gradients next to a wall, whose
normal leans by ~h/(2R), put an error of order 1/R into K at the wall nodes:
the Gibbs-Thomson disc then grew 26 % too fast (measured).
K > 0 on a convex deposit (a disc of radius R: 1/R in 2-D, 2/R in 3-D).
delta = 1e-4 / l regularises n in the bulk, where grad eta vanishes (with
1e-2 / l the far tails, weighted in 2-D by their radius, lowered the
interface-averaged K of a disc by 5 %; now 0.1 %, tests/test_two_potential.py);
the charge transfer weighs K with the interface delta function, so the
bulk values do not act.  2-D and 3-D (left out in 1-D: a front is flat).
"""
import numpy as np
import ufl

from . import Block, Unknown

REGULARIZATION = 1e-4  # delta l


class InterfaceCurvature(Block):
    name = "interface_curvature"
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
        return s.u("curvature") * q * s.dxl - ufl.inner(normal, ufl.grad(q)) * s.dx

    def initial(self, p):
        return {"curvature": lambda x: np.zeros(x.shape[1])}
