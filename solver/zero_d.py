"""The 0-D SEI mode (issue 18, work in progress): the thickness L(t) of a
flat SEI under one growth law (sei_laws.py), integrated by PETSc's adaptive
Dormand-Prince Runge-Kutta (TS "rk", "5dp") over days to years.

Not yet wired to the case file and the command line ([geometry] kind =
"point", an [sei] section): integrate() is the driver they will call.
"""
from __future__ import annotations

from .constants import FARADAY
from .sei_laws import growth_rate


def integrate(law: str, p: dict, L0: float, t_end: float, rtol: float = 1e-10):
    """[(t, L, charge)] at every accepted step from 0 to t_end (s): charge =
    z F (L - L0)/V, the SEI reaction's charge per area (C/m^2)."""
    from petsc4py import PETSc
    ts = PETSc.TS().create(comm=PETSc.COMM_SELF)
    ts.setProblemType(PETSc.TS.ProblemType.NONLINEAR)
    ts.setType("rk")
    ts.setRKType("5dp")
    u = PETSc.Vec().createSeq(1)
    u.setValue(0, L0)
    u.assemble()
    f = u.duplicate()

    def rhs(ts_, t, x, out):
        out.setValue(0, growth_rate(law, x.getValue(0), p))
        out.assemble()
    ts.setRHSFunction(rhs, f)
    rows = []

    def monitor(ts_, step, t, x):
        L = x.getValue(0)
        rows.append((t, L, p["charge_number"] * FARADAY * (L - L0) / p["molar_volume"]))
    ts.setMonitor(monitor)
    ts.setTime(0.0)
    ts.setMaxTime(t_end)
    ts.setExactFinalTime(PETSc.TS.ExactFinalTime.MATCHSTEP)
    ts.setMaxSteps(10 ** 7)
    # first step: a millionth of the time L0 takes to double at the initial rate
    ts.setTimeStep(min(t_end, 1e-6 * L0 / max(growth_rate(law, L0, p), 1e-300)))
    ts.setTolerances(rtol=rtol, atol=rtol * L0)  # (the step adaptor: PETSc's default, basic)
    ts.solve(u)
    return rows
