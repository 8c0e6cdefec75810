"""The metal_vacancies block (anodex/models/metal_vacancies.py): vacancies
injected by stripping, against the closed forms of diffusion from a
constant flux (written out here), the imposed charge integrated exactly,
sinks, the stop at a critical excess, and 1 against 2 ranks."""
import math

import numpy as np
import pytest

from helpers import Simulation, assert_same_on_1_and_2_ranks
from anodex.case import validate
from anodex.constants import FARADAY

I, D = 1.0, 1e-12  # A/m^2 stripped, m^2/s


def stripping_case(cells=400, end=100.0, solver=None, **vacancies):
    """A 40 um Li film on LLZO (1-D) stripped at I: it recedes by 13 nm per
    100 s, far less than its interface length (0.5 um)."""
    return validate({
        "model": {"blocks": ["phase_field", "charge_transfer", "electronic_conduction",
                             "ionic_conduction", "metal_vacancies"]},
        "material": {"metal": "Li", "electrolyte": "LLZO"},
        "geometry": {"kind": "interval", "length": "50 um", "cells": [cells]},
        "phase_field": {"interface_relaxation_rate": "0.1 1/s", "boundary_values": False},
        "reaction": {"exchange_current_density": "10 A/m^2"},
        "initial": {"interface_position": "40 um"},
        "collector": {"control": "galvanostatic", "current_density": f"{-I} A/m^2"},
        "electrolyte": {"electronic_conductivity": "0 S/m"},
        "vacancies": {"diffusivity": f"{D} m^2/s", **vacancies},
        "time": {"end": f"{end} s", "dt_max": "2 s"},
        **({"solver": solver} if solver else {}),
    }, "<vacancies>")


def record(sim):
    pb = sim.pb
    block = next(b for b in pb.blocks if b.name == "metal_vacancies")
    return block.record(pb, pb.integrals(), sim.stepper.t, 0.0)


def flux_injection(d, t, J):
    """c(d, t) at depth d into a semi-infinite metal whose surface takes in a
    constant flux J (Carslaw & Jaeger, Conduction of Heat in Solids, 2.9)."""
    s = math.sqrt(D * t)
    return (2 * J / D * s / math.sqrt(math.pi) * math.exp(-d * d / (4 * s * s))
            - J * d / D * math.erfc(d / (2 * s)))


def test_stripping_injects_one_vacancy_per_atom_that_diffuses_in():
    """The vacancies counted from the field equal the atoms stripped, I t /
    (zF) (the imposed current integrated exactly), to 3e-3: the injection,
    weighted 2h onto the metal's side of the interface, integrates to 0.9984
    of the reaction's (on 200, 400 and 800 cells alike: the regularised
    interface weight's tails, not the mesh), and its factor (1 - c), a
    stripped site already vacant leaving none, takes 0.1 % more (0.9974,
    measured; c is of order 1e-3 where it is injected).  Their profile is the
    constant-flux solution with J = I V_m/(zF), 1 to 10 um behind the front
    (0.3 %)."""
    case = stripping_case()
    sim = Simulation(case)
    sim.run_to(100.0)
    assert record(sim)["vacancies_mol_m2"] == pytest.approx(I * 100.0 / FARADAY, rel=3e-3)
    m = case.si["metal"]
    J = I * (m["molar_mass"] / m["density"]) / FARADAY
    comm = sim.pb.comm  # (every rank's nodes: the front may lie on another rank)
    x = np.concatenate(comm.allgather(sim.pb.xdof * sim.pb.scales.length))
    c = np.concatenate(comm.allgather(sim.pb.field_values("vacancy_excess")))
    order = np.argsort(x)
    for d in (1e-6, 2e-6, 5e-6, 10e-6):
        at = float(np.interp(sim.front() - d, x[order], c[order]))
        assert at == pytest.approx(flux_injection(d, 100.0, J), rel=3e-3), d


def test_sinks_and_injection_fraction():
    """Uniform sinks of lifetime tau and a fraction f of stripped atoms
    leaving a vacancy: the amount follows dN/dt = f I/(zF) - N/tau, N =
    f I tau (1 - exp(-t/tau)) / (zF)."""
    f, tau = 0.5, 30.0
    sim = Simulation(stripping_case(injection_fraction=f, sink_time=f"{tau} s"))
    for t in (20.0, 60.0, 100.0):
        sim.run_to(t)
        expected = f * I * tau * (1 - math.exp(-t / tau)) / FARADAY
        assert record(sim)["vacancies_mol_m2"] == pytest.approx(expected, rel=3e-3), t


@pytest.mark.serial
def test_the_run_stops_when_the_interface_supersaturates():
    """With critical_excess c_crit the run stops with its reason.  A sharp
    surface reaches c_crit at the vacancy Sand time pi D c_crit^2/(4 J^2);
    the interface's largest excess, on the band of the diffuse interface
    where the injection sits, runs a few per cent above the sharp surface's
    (3.4 % at 100 s, measured), so the stop comes up to 15 % earlier."""
    from test_cli import anodex
    import json
    import tempfile
    from pathlib import Path
    from anodex.case import dump_toml
    c_crit = 1e-3
    case = stripping_case(end=200.0, critical_excess=c_crit)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.toml"
        path.write_text(dump_toml(case.raw, {}))
        anodex("run", path, "-o", Path(tmp) / "run")
        status = json.loads((Path(tmp) / "run" / "status.json").read_text())
    m = case.si["metal"]
    J = I * (m["molar_mass"] / m["density"]) / FARADAY
    sand = math.pi * D * c_crit ** 2 / (4 * J * J)
    assert status["status"] == "stopped" and "voids nucleate" in status["reason"]
    assert 0.85 * sand < status["t_s"] <= 1.01 * sand, (status["t_s"], sand)


@pytest.mark.serial
@pytest.mark.compat
def test_one_and_two_ranks_agree(tmp_path):
    """(At the generic Newton tolerance, 1e-6, the ranks differ by 5e-7 in the
    amount: Newton stops at different iterates; at 1e-9 they agree to 1e-8.)"""
    case = stripping_case(cells=200, end=30.0, solver={"newton_tolerance": 1e-9})
    assert_same_on_1_and_2_ranks(case, tmp_path,
                                 ["vacancies_mol_m2", "interface_vacancy_excess", "t_s"])
