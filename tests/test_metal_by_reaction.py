"""The metal changes only by the reaction the circuit pays for (issue 34;
../shared/physics/review-2.md sections 1 and 3), with the library's
settings (l = 0.5 um, relaxation rate 0.1 1/s, no boundary values, LLZO):

- a film at rest keeps its metal and passes no current;
- a film stripped to the end stays anodic, its cell potential rises, and
  the run stops with "metal depleted", having lost the metal the imposed
  charge accounts for;
- galvanostatic cycling with the default BDF2 returns the metal;
- the metal grown under a potential follows the ionic current measured from
  the gradient at the reservoir face.

Each check sets the metal counted from the eta field (metal_mol_m2)
against the current the case imposes, integrated here in closed form
(I t / (zF), z and F written out), or against the reservoir current
integrated by the trapezoid rule.  What they can and cannot see: under
galvanostatic control the electronic equation forces the reaction's
charge to equal I (less the double layers'), and the multiplier's
equation makes the metal follow that charge, so these checks hold by
construction once both are in place; they catch what review-2 found (the
relaxation's motion counted as current, BDF2 history carried across a
control step, a film lost at rest) and errors of z, units and the double
layers' share, not the kinetics (T3-T8 in test_two_potential.py test
those against closed forms).  In 1-D the reservoir current from the
gradient equals the consistent flux (the potential is linear in the first
cell), so that check tests the time integration (trapezoid against the BDF
sum), nothing more.

Measured (1 rank, dolfinx 0.5.2, before the double layers): rest, metal
within 3.4e-8 (0.6 um Li), current 0; stripping, metal lost / (I t / zF)
- 1 = -9.1e-7 (Li), -9.3e-7 (Na), -7.7e-7 (Mg), no failed solve; cycling,
metal after three cycles 1.9e-8 / 7.3e-8 / 2.1e-7 of a half-cycle at
dt_max = 1 / 5 / 20 s; plating, 5.0e-9 (Li) and 1.2e-8 (Mg) of the total.
"""
import json
import math

import numpy as np
import pytest

from conftest import read_timeseries
from anodex.case import validate
from anodex.simulation import run_case

FARADAY = 96485.33212  # C/mol
# the trapezoid rule: np.trapezoid from numpy 2.0 on (np.trapz is gone in
# the numpy of Debian unstable), np.trapz before (Debian 12's numpy 1.24)
trapezoid = getattr(np, "trapezoid", None) or np.trapz
# z of the metals used here (the library's; written out as the reference)
Z = {"Li": 1, "Na": 1, "Mg": 2}
ELECTROLYTE = {"Li": "LLZO", "Na": "Na3PS4", "Mg": "MgSc2Se4"}


def film_case(metal, collector, film, end, dt_max="5 s", cells=240, length="12 um",
              scheme="bdf2"):
    """A 1-D film of `film` on the collector, the library's interface settings."""
    return validate({
        "case": {"name": "film"},
        "model": {"blocks": ["phase_field", "charge_transfer", "electronic_conduction",
                             "ionic_conduction"]},
        "material": {"metal": metal, "electrolyte": ELECTROLYTE[metal]},
        "geometry": {"kind": "interval", "length": length, "cells": [cells]},
        "phase_field": {"interface_length": "0.5 um", "interface_relaxation_rate": "0.1 1/s",
                        "boundary_values": False},
        "initial": {"interface_position": film, "interface_width": "0.5 um"},
        "reaction": {"exchange_current_density": "10 A/m^2"},
        "collector": collector,
        "time": {"end": end, "dt_max": dt_max, "scheme": scheme},
        "solver": {"newton_tolerance": 1e-8},
        "output": {"field_interval": "10000 s"},
    }, "<test>")


def run(case, path):
    run_case(case, path)
    rows = read_timeseries(path)
    status = json.loads((path / "status.json").read_text())
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}, status


@pytest.mark.parametrize("metal, film", [("Li", "0.6 um"), ("Li", "2 um"), ("Mg", "1 um")])
def test_a_film_at_rest_keeps_its_metal_and_passes_no_current(metal, film, mpi_tmp_path):
    """0 V for 1000 s: the metal within 0.5 % (before issue 34 a 0.6 um Li
    film dissolved in ~70 s while the collector passed -150 A/m^2), the
    collector current below 0.01 A/m^2."""
    ts, status = run(film_case(metal, {"control": "potentiostatic", "potential": "0 V"},
                               film, "1000 s"), mpi_tmp_path / "rest")
    assert status["status"] == "completed"
    metal0 = ts["metal_mol_m2"][0]
    assert metal0 > 0
    assert np.abs(ts["metal_mol_m2"] / metal0 - 1).max() < 5e-3
    assert np.abs(ts["collector_current_A_m2"]).max() < 0.01


@pytest.mark.parametrize("metal, current", [("Li", -100.0), ("Na", -30.0), ("Mg", -50.0)])
def test_stripping_to_the_end_stops_as_metal_depleted(metal, current, mpi_tmp_path):
    """A 1 um film stripped galvanostatically: the overpotential stays
    anodic, the cell potential rises as the metal runs out, the run stops
    with "metal depleted" (not a solver failure), and the metal lost is the
    imposed charge / zF within 0.5 %."""
    z = Z[metal]
    case = film_case(metal, {"control": "galvanostatic", "current_density": f"{current} A/m^2"},
                     "1 um", "2000 s", dt_max="0.5 s")
    ts, status = run(case, mpi_tmp_path / "strip")
    assert status["status"] == "stopped", status
    assert status["reason"].startswith("metal depleted"), status
    assert status["failed_solves"] == 0
    t, metal_mol = ts["t_s"], ts["metal_mol_m2"]
    assert metal_mol[-1] < 0.02 * metal_mol[0]
    assert (ts["interface_overpotential_V"][1:] > 0).all()  # anodic to the end
    potential = ts["cell_potential_V"]
    half = np.searchsorted(metal_mol[::-1], 0.5 * metal_mol[0])  # (metal falls)
    assert potential[-1] > potential[len(t) - 1 - half] + 0.05  # rising at the end
    lost = metal_mol[0] - metal_mol[-1]
    double_layer = ts["double_layer_charge_C_m2"][-1] - ts["double_layer_charge_C_m2"][0]
    assert lost == pytest.approx((-current * t[-1] + double_layer) / (z * FARADAY), rel=5e-3)


@pytest.mark.parametrize("dt_max", ["1 s", "5 s", "20 s"])
def test_cycling_with_bdf2_returns_the_metal(dt_max, mpi_tmp_path):
    """+-10 A/m^2 half-cycles of 100 s, three cycles, the default BDF2 with
    any dt_max: the metal returns within 1e-4 of a half-cycle's capacity
    (before issue 34: 10.9 / 50.3 / 132.8 C/m^2 left after one cycle at
    dt_max = 1 / 5 / 20 s), and each half plates what it was paid."""
    case = film_case("Li", {"control": "galvanostatic", "current_density": "10 A/m^2",
                            "profile": "table", "profile_times": ["0 s", "100 s"],
                            "profile_values": [1.0, -1.0], "profile_period": "200 s"},
                     "3 um", "600 s", dt_max=dt_max)
    ts, status = run(case, mpi_tmp_path / "cycle")
    assert status["status"] == "completed"
    capacity = 10.0 * 100.0 / FARADAY  # mol/m^2 per half-cycle (z = 1)
    t = ts["t_s"]
    # the metal plus the double layers' charge (a state function of the
    # potentials, -C_dl (phi_s - phi_e)) is what the imposed charge pays for
    metal_mol = (ts["metal_mol_m2"] - ts["metal_mol_m2"][0]
                 + (ts["double_layer_charge_C_m2"] - ts["double_layer_charge_C_m2"][0]) / FARADAY)
    for k in range(3):
        plated = metal_mol[np.argmin(np.abs(t - (200 * k + 100)))]
        assert plated == pytest.approx(capacity, abs=1e-4 * capacity)
        back = metal_mol[np.argmin(np.abs(t - 200 * (k + 1)))]
        assert abs(back) < 1e-4 * capacity


@pytest.mark.parametrize("metal", ["Li", "Mg"])
def test_galvanostatic_metal_follows_the_imposed_charge(metal, mpi_tmp_path):
    """Plating at 50 A/m^2 with BDF2: at every row the metal grown equals
    I t / (zF) (the imposed current integrated exactly) within 1e-6 of the
    total."""
    z = Z[metal]
    case = film_case(metal, {"control": "galvanostatic", "current_density": "50 A/m^2"},
                     "2 um", "100 s")
    ts, _ = run(case, mpi_tmp_path / "plate")
    grown = ts["metal_mol_m2"] - ts["metal_mol_m2"][0]
    double_layer = ts["double_layer_charge_C_m2"] - ts["double_layer_charge_C_m2"][0]
    imposed = (50.0 * ts["t_s"] - double_layer) / (z * FARADAY)
    assert np.abs(grown - imposed).max() < 1e-6 * imposed[-1]


def test_potentiostatic_metal_follows_the_flux_at_the_reservoir(mpi_tmp_path):
    """-0.1 V on a 2 um Li film: the metal grown against the ionic current
    entering at the reservoir (from the gradient of phi_e on the face),
    integrated by the trapezoid rule, less the double layers' charge:
    within 2e-4 (measured -4.9e-5: the trapezoid's first interval, where
    the recorded current jumps from 0 at t = 0)."""
    case = film_case("Li", {"control": "potentiostatic", "potential": "-0.1 V"}, "2 um",
                     "200 s", dt_max="1 s")
    ts, _ = run(case, mpi_tmp_path / "p")
    grown = ts["metal_mol_m2"][-1] - ts["metal_mol_m2"][0]
    assert grown > 0
    charge = (trapezoid(ts["reservoir_current_from_gradient_A_m2"], ts["t_s"])
              - ts["double_layer_charge_C_m2"][-1] + ts["double_layer_charge_C_m2"][0])
    assert abs(charge / FARADAY / grown - 1) < 2e-4


def test_a_bare_collector_charges_its_double_layer_at_i_over_c(mpi_tmp_path):
    """Galvanostatic 10 A/m^2 on a bare collector: no metal, the collector's
    double layer (20 uF/cm^2) takes the current, so the cell potential falls
    at I/C_dl = 50 V/s (plus the constant ohmic drop), and the run stops at
    the cutoff potential, -1 V here (before issue 34: +50 V after 10 s and
    "completed").  The potentiostatic bare collector passes no current."""
    c_dl = 20e-6 / 1e-4  # F/m^2
    case = film_case("Li", {"control": "galvanostatic", "current_density": "10 A/m^2",
                            "cutoff_potential": "1 V"}, "2 um", "1 s", dt_max="0.05 s")
    raw = case.raw
    raw["initial"] = {"kind": "bare"}
    raw["time"].update({"dt_initial": "1e-4 s", "dt_max": "0.005 s"})
    # (check says so before the run: nothing can plate without nucleation)
    assert any("without the metal_nucleation block" in str(w)
               for w in validate(raw, "<test>").warnings)
    ts, status = run(validate(raw, "<test>"), mpi_tmp_path / "galvanostatic")
    assert status["status"] == "stopped" and "cutoff potential" in status["reason"], status
    assert ts["cell_potential_V"][-1] < -1.0
    assert np.abs(ts["metal_mol_m2"]).max() == 0.0
    slope = np.polyfit(ts["t_s"][2:], ts["cell_potential_V"][2:], 1)[0]
    assert slope == pytest.approx(-10.0 / c_dl, rel=1e-6)
    charge = ts["double_layer_charge_C_m2"][-1] - ts["double_layer_charge_C_m2"][0]
    assert charge == pytest.approx(10.0 * ts["t_s"][-1], rel=1e-6)

    raw["collector"] = {"control": "potentiostatic", "potential": "-0.1 V"}
    ts, status = run(validate(raw, "<test>"), mpi_tmp_path / "potentiostatic")
    assert status["status"] == "completed"
    assert np.abs(ts["collector_current_A_m2"]).max() < 1e-9


@pytest.mark.serial
@pytest.mark.compat
def test_stripping_results_are_the_same_on_1_and_2_ranks(tmp_path):
    """A 1 um Li film stripped at -100 A/m^2 to "metal depleted" (the
    multiplier, the double layers, the stop) through the command line on 1
    and 2 ranks: the same steps, every integral column within 1e-7 (the
    last rows hold 1 % of the metal: there it differs by 4.8e-8 relative,
    3e-11 mol/m^2 or 4e-10 of the film, set by the Newton tolerance;
    measured).

    The collector charge gets an absolute floor of 1e-4 C/m^2 (1.4e-8 of
    the film's 7400 C/m^2; the largest difference over the run was 3.5e-5
    on dolfinx 0.9, 7e-6 on 0.5.2, measured): its current is the consistent flux through the
    metal, sigma/h times a potential difference of I h / sigma ~ 5e-13 V
    (h = 50 nm, sigma = 1.1e7 S/m) between nodes at ~0.15 V, so round-off
    in the solved potential (which differs with the partition and the LU
    ordering) sets it to ~1e-5 relative in one step whatever the Newton
    tolerance.  On
    dolfinx 0.9 on 2 ranks the first step's current was -99.99957 A/m^2
    against -100.00003 on 1 rank (the charge -1.999991 against -2.000001
    C/m^2) at Newton tolerances 1e-8 and 1e-11 alike (measured)."""
    from helpers import assert_same_on_1_and_2_ranks
    case = film_case("Li", {"control": "galvanostatic", "current_density": "-100 A/m^2"},
                     "1 um", "2000 s", dt_max="0.5 s")
    assert_same_on_1_and_2_ranks(case, tmp_path, (
        "metal_mol_m2", "cell_potential_V", "interface_overpotential_V",
        "double_layer_charge_C_m2", "collector_charge_C_m2"), rel=1e-7,
        floors={"collector_charge_C_m2": 1e-4})


def floating_slab_case(leakage, end="20 s"):
    """1-D: a Li slab 4 um thick floating in LLZO, its near face 8 um from a
    bare collector at -0.1 V, fast kinetics (i0 = 1000 A/m^2)."""
    case = film_case("Li", {"control": "potentiostatic", "potential": "-0.1 V"}, "2 um", end,
                     dt_max="1 s", length="20 um", cells=320)
    raw = case.raw
    raw["initial"] = {"kind": "seeds", "seed_placement": "center", "seed_radius": "2 um",
                      "interface_width": "0.5 um"}
    raw["reaction"]["exchange_current_density"] = "1000 A/m^2"
    if leakage is not None:
        raw["electrolyte"] = {"electronic_conductivity": leakage}
    return validate(raw, "<test>")


def test_a_floating_island_grows_by_the_electronic_leakage_only(mpi_tmp_path):
    """Electrons reach a floating slab only through the electrolyte's own
    electronic conductivity (review-2 section 2: with the old regularisation
    eps sigma_s = 1e4 S/m a floating Li disc plated at 93 A/m^2).  With
    sigma_el = 1e-3 S/m the steady current is the leakage through the gap,
    (phi_island - V)/R: phi_island is phi_e at the far face (- i g/sigma_ion)
    plus the Butler-Volmer overpotential, R the series resistance of the
    diffuse gap, int dx/(h sigma_s + (1 - h) sigma_el) over the initial tanh
    profile, integrated here (the metal's tail, where h sigma_s > sigma_el,
    shortens the 8 um gap to an effective 5.9 um: the sharp sigma_el V/L is
    reached only as l ln(sigma_s/sigma_el) << L); within 2 %.  Without a
    leakage (an insulator) the collector passes below 1e-6 A/m^2."""
    case = floating_slab_case("1e-3 S/m")
    ts, status = run(case, mpi_tmp_path / "leaky")
    assert status["status"] == "completed"
    sigma_ion, sigma_s = case.si["electrolyte"]["conductivity"], case.si["electrode"]["conductivity"]
    f = FARADAY / (8.314462618 * case.si["material"]["temperature"])
    x = np.linspace(0.0, 10e-6, 200001)  # collector to the slab's centre
    eta = 0.5 * (1 - np.tanh((np.abs(x - 10e-6) - 2e-6) / 0.5e-6))
    h = eta ** 3 * (6 * eta ** 2 - 15 * eta + 10)
    resistance = trapezoid(1 / (h * sigma_s + (1 - h) * 1e-3), x)
    ahead = 8e-6  # far face to the reservoir

    def mismatch(i):  # leakage at the island potential the current i sets, minus i
        island = -i * ahead / sigma_ion - (2 / f) * math.asinh(i / (2 * 1000.0))
        return (island - (-0.1)) / resistance - i
    low, high = 0.0, 100.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if mismatch(mid) > 0 else (low, mid)
    assert ts["collector_current_A_m2"][-1] == pytest.approx(low, rel=0.02)
    grown = ts["metal_mol_m2"][-1] - ts["metal_mol_m2"][0]
    assert grown > 0.5 * low * 10.0 / FARADAY  # it plates (half of 10 s at the steady rate)

    ts, status = run(floating_slab_case("0 S/m"), mpi_tmp_path / "insulator")
    assert status["status"] == "completed"
    assert np.abs(ts["collector_current_A_m2"][1:]).max() < 1e-6
