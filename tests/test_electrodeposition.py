"""Electrodeposition in 1-D: Nernst equilibrium, steady velocity, Faraday's
law and mass balance (verification.md items 1 and 2).

Analytic reference.  With phi and w uniform, multiplying the phase-field
equation by eta' and integrating over a travelling front gives exactly
    v = Ls Rbar / int eta'^2 dx = -3 l Ls Rbar   (tanh profile: int eta'^2 = 1/(3l)),
    Rbar = int_0^1 h'(eta) R(eta) d eta
         = exp((1-alpha) phi) - c_l(w)/(2 c0) exp(-alpha phi),
because the published Butler-Volmer term uses c = c_l (1-h) and
int_0^1 h' (1-h) d eta = 1/2.  So the front rests where
    phi_eq = (RT/zF) ln(c_l(w)/(2 c0)),
the Nernst equation for the concentration at the interface midpoint.
The profile stays tanh only to first order in Ls Rbar / (L W): measured
here, the velocity exceeds the prediction by 3.0 % at Ls = 0.2/s and 0.66 %
at Ls = 0.05/s (independent of mesh and diffusivity), so the test uses 0.05/s.
"""
import math

import numpy as np
import pytest

from conftest import one_d_case, read_timeseries
from helpers import Simulation
from anodex.models.phase_field import interface_length
from anodex import materials
from anodex.constants import FARADAY
from anodex.simulation import run_case
from anodex.models.grand_potential import logistic_np as logistic

W_RESERVOIR = 1.0  # c_l/c0 = 2.44 at the reservoir


def hong_energies():
    """The published kappa and W as given keys (so a named metal keeps them)."""
    pf = one_d_case().raw["phase_field"]
    return {f"phase_field.{k}": pf[k] for k in ("gradient_coefficient", "barrier_height")}


def kinetic_case(delta_mV, metal="", kinetics=None):
    """1-D front under fast transport at the Nernst potential + delta_mV;
    kinetics: the Butler-Volmer coefficient (default Ls = 0.05/s)."""
    named = {"material.metal": metal, **hong_energies()} if metal else {}
    kinetics = kinetics or {"phase_field.reaction_rate_constant": "0.05 1/s"}
    base = one_d_case(**named)
    s, p = base.model.scales, base.model.p
    c_l = logistic((W_RESERVOIR - p["el"]) / p["A"])
    phi_eq = s.potential * math.log(c_l / (2 * p["c0"]))
    phi = f"{(phi_eq + delta_mV * 1e-3) * 1e3:.12g} mV"
    case = one_d_case(**{
        "geometry.cells": [400], **kinetics,
        # fast transport, so phi and w stay uniform: this isolates the kinetics
        "electrolyte.conductivity": "1000 S/m", "electrolyte.diffusivity": "1e-7 m^2/s",
        "boundary.applied_potential": phi, "boundary.reservoir_potential": phi,
        "boundary.reservoir_chemical_potential": W_RESERVOIR,
        "initial.chemical_potential": W_RESERVOIR,
        "time.end": "3 s", "time.dt_max": "0.1 s", **named})
    return case, phi_eq


def predicted_velocity(case):
    p = case.model.p
    phi, a = p["phi_applied"], p["alpha"]
    c_l = logistic((W_RESERVOIR - p["el"]) / p["A"])
    rbar = math.exp((1 - a) * phi) - c_l / (2 * p["c0"]) * math.exp(-a * phi)
    return -3 * interface_length(case.si["phase_field"]) * case.si["phase_field"]["reaction_rate_constant"] * rbar


def measured_velocity(case):
    sim = Simulation(case)
    sim.run_to(1.0)
    x1 = sim.front()
    sim.run_to(3.0)
    return (sim.front() - x1) / 2.0


@pytest.mark.parametrize("metal", ["", "Mg"])
def test_nernst_equilibrium_and_steady_velocity(metal):
    """Li (the Hong input, z = 1) and Mg (z = 2, its molar volume): the same
    kinetics in units of RT/(zF), so +-20 mV is twice the driving force for Mg."""
    v = {}
    for delta in (-20.0, 0.0, 20.0):
        case, phi_eq = kinetic_case(delta, metal)
        v[delta] = (measured_velocity(case), predicted_velocity(case))
    v_minus, v_pred_minus = v[-20.0]
    v_plus, v_pred_plus = v[20.0]
    # below the Nernst potential metal deposits, above it dissolves
    assert v_minus > 0 > v_plus
    # at the Nernst potential the front rests (1 % of the +-20 mV speeds)
    assert abs(v[0.0][0]) < 0.01 * min(abs(v_minus), abs(v_plus)), v
    # steady velocity from Butler-Volmer kinetics, within 2 %
    assert v_minus == pytest.approx(v_pred_minus, rel=0.02)
    assert v_plus == pytest.approx(v_pred_plus, rel=0.02)


def test_exchange_current_density_sets_the_flat_front_current():
    """Mg with i0 = 100 A/m^2 (so Ls = i0 / (3 z F c_s l) = 0.048/s): 20 mV
    below the Nernst potential the front carries i = i0 |Rbar|, i.e. moves at
    v = i0 |Rbar| / (z F c_s), within 2 %."""
    case, _ = kinetic_case(-20.0, "Mg", {"phase_field.exchange_current_density": "100 A/m^2"})
    assert case.provenance["phase_field.reaction_rate_constant"].startswith("derived")
    p = case.model.p
    c_l = logistic((W_RESERVOIR - p["el"]) / p["A"])
    rbar = (math.exp((1 - p["alpha"]) * p["phi_applied"])
            - c_l / (2 * p["c0"]) * math.exp(-p["alpha"] * p["phi_applied"]))
    z, vm = 2, case.si["material"]["molar_volume"]
    v_from_i0 = 100.0 * abs(rbar) * vm / (z * FARADAY)
    assert measured_velocity(case) == pytest.approx(v_from_i0, rel=0.02)


@pytest.mark.parametrize("scheme, metal", [("bdf1", ""), ("bdf2", ""), ("bdf1", "Mg"),
                                           ("bdf2", "Al")])
def test_faraday_and_mass_balance(scheme, metal, mpi_tmp_path):
    """Metal deposited = charge passed / zF and metal + ions conserved, at every
    step, for the published (Hong) parameters at -0.45 V; and for Mg (z = 2) and
    Al (z = 3) from the library at -0.45/z V (the same overpotential in RT/zF)."""
    extra = {}
    if metal:
        z = materials.metal(metal).props["charge_number"].si
        extra = {"material.metal": metal, "boundary.applied_potential": f"{-450 / z} mV",
                 **hong_energies()}
    case = one_d_case(**{"time.scheme": scheme, "time.end": "0.5 s", **extra})
    assert case.si["material"]["charge_number"] == (z if metal else 1)
    out = mpi_tmp_path / f"{scheme}{metal}"
    run_case(case, out)
    rows = read_timeseries(out)
    assert len(rows) > 5
    z = case.si["material"]["charge_number"]
    m0, c0 = rows[0]["metal_mol_m2"], rows[0]["metal_content_mol_m2"]
    deposited = np.array([r["metal_mol_m2"] - m0 for r in rows])
    from_charge = np.array([r["charge_C_m2"] / (z * FARADAY) for r in rows])
    stored = np.array([r["metal_content_mol_m2"] - c0 for r in rows])
    inflow = np.array([r["ion_inflow_mol_m2"] for r in rows])
    assert deposited[-1] > 1e-3  # metal was deposited (mol/m^2)
    if scheme == "bdf1":
        # implicit Euler telescopes exactly: agreement to solver tolerance
        # (newton_tolerance 1e-6 on the scaled residual; measured ~1.4e-9)
        assert np.abs(deposited - from_charge).max() < 1e-7 * deposited[-1]
        assert np.abs(stored - inflow).max() < 1e-7 * stored[-1]
    else:
        # BDF2 conserves its own weighted differences: the cumulative sums
        # may differ by at most the last step's increment
        step_increment = np.abs(np.diff(deposited)).max()
        assert np.abs(deposited - from_charge).max() <= step_increment
        assert np.abs(stored - inflow).max() <= np.abs(np.diff(stored)).max()
