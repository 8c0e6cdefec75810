"""Physics blocks and the state they are written against.

A block names the unknowns it owns, contributes UFL residual terms (tested
against its own unknowns' test functions) and Dirichlet conditions, and
gives initial values.  Blocks see each other only through ``State``:
``s.u("eta")`` is whatever block owns eta.  Adding a block never requires
editing another: register it in ``BLOCKS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import ufl


@dataclass
class State:
    """What a residual is written against.

    ``levels[k][name]``: the unknown at time level k (0: new, 1: previous,
    2: the one before); ``ddt(f)`` applies the time-difference operator to a
    function of a level dict; ``tests[name]``: test functions; ``p``: internal
    parameters, the numeric ones as fem.Constant (so write ``p["L"] * ...``,
    never ``if p["L"] > 0``: the value is not part of the compiled form); ``dx``: exact-enough quadrature, ``dxl``: vertex (lumped)
    quadrature; ``extra``: shared coefficients such as the noise field.
    """
    levels: list
    tests: dict
    p: dict
    dx: ufl.Measure
    dxl: ufl.Measure
    ddt_weights: tuple  # (a0, a1, a2, inv_dt) as UFL constants
    extra: dict = field(default_factory=dict)
    extrapolation_weights: tuple = (1.0, 0.0)  # (b1, b2), see extrapolate

    def u(self, name, level=0):
        return self.levels[level][name]

    def test(self, name):
        return self.tests[name]

    def extrapolate(self, f: Callable[[dict], ufl.core.expr.Expr]):
        """f at the new time level predicted from the old ones:
        b1 f(u_n) + b2 f(u_n-1), second order for BDF2 (b1 = 1 + r, b2 = -r,
        r = dt/dt_prev), f(u_n) for BDF1."""
        b1, b2 = self.extrapolation_weights
        return b1 * f(self.levels[1]) + b2 * f(self.levels[2])

    def ddt(self, f: Callable[[dict], ufl.core.expr.Expr]):
        """BDF difference of f(level): (a0 f(u) + a1 f(u_n) + a2 f(u_n-1)) / dt."""
        a0, a1, a2, inv_dt = self.ddt_weights
        return (a0 * f(self.levels[0]) + a1 * f(self.levels[1]) + a2 * f(self.levels[2])) * inv_dt


class Block:
    """Base class of a physics block."""
    name: str = ""
    unknowns: tuple = ()
    requires: tuple = ()  # unknowns owned by other blocks that this one uses
    # True: the equation has no storage term of its own unknown, so its
    # initial value is solved for (others frozen) instead of taken as given
    quasi_static: bool = False

    def residual(self, s: State):
        raise NotImplementedError

    def dirichlet(self, p: dict) -> list:
        """[(unknown, boundary name, value)], boundary in {"electrode", "reservoir"}."""
        return []

    def initial(self, p: dict) -> dict:
        """{unknown: f(x) -> values at points x (shape (3, N))}."""
        return {}

    def error_indicators(self, p: dict, nodal: dict) -> dict:
        """{name: nodal array} whose time-step error the stepper controls,
        computed from nodal values {unknown: array} (internal units)."""
        return {}


def _registry():
    from .butler_volmer import ButlerVolmer
    from .driving_force import DrivingForce
    from .ion_transport import IonTransport
    from .phase_field import PhaseField
    from .potential import Potential
    return {b.name: b for b in (IonTransport, PhaseField, ButlerVolmer, Potential, DrivingForce)}


def block_names():
    return list(_registry())


def make_blocks(names) -> list:
    """Instantiate blocks by name, check their requirements; order as registered."""
    reg = _registry()
    unknown = [n for n in names if n not in reg]
    if unknown:
        raise ValueError(f"unknown model block(s) {unknown}; available: {list(reg)}")
    blocks = [reg[n]() for n in reg if n in names]
    owned = {u for b in blocks for u in b.unknowns}
    for b in blocks:
        missing = [r for r in b.requires if r not in owned]
        if missing:
            raise ValueError(f"model block '{b.name}' needs unknown(s) {missing}, "
                             "which no selected block provides")
    return blocks
