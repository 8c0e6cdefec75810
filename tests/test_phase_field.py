"""Phase field: equilibrium interface profile and width (verification.md 3)."""
import math

import numpy as np

from helpers import Simulation
from conftest import one_d_case
from anodex.models.phase_field import interface_length


def test_equilibrium_profile_and_width():
    """Start from a profile twice too wide; with no driving force it relaxes to
    eta = (1 - tanh(x/l))/2, l = sqrt(2 kappa/W) = 0.5 um (Hong parameters)."""
    case = one_d_case(**{"model.blocks": ["phase_field"],
                         "geometry.cells": [400],
                         "initial.interface_width": "1.0 um",
                         "time.end": "4 s", "time.dt_max": "0.1 s"})
    ell = interface_length(case.si["phase_field"])
    assert math.isclose(ell, 0.5e-6, rel_tol=1e-3)
    sim = Simulation(case)
    sim.run_to(4.0)
    x10, x50, x90 = sim.front(0.1), sim.front(0.5), sim.front(0.9)
    measured = (x10 - x90) / (2 * math.atanh(0.8))
    assert abs(measured / ell - 1) < 0.02, (measured, ell)
    # pointwise: the whole profile is the tanh about its own centre
    eta = sim.pb.field_values("eta")
    x = sim.pb.xdof * sim.x0
    exact = 0.5 * (1 - np.tanh((x - x50) / ell))
    err = sim.pb.comm.allreduce(np.abs(eta - exact).max(), op=__import__("mpi4py").MPI.MAX)
    assert err < 0.01, err
    # and the centre did not move (symmetric double well, no driving force)
    assert abs(x50 - 8e-6) < 0.01e-6

