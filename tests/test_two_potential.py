"""The two-potential electrodeposition model (issue 16; acceptance tests of
../shared/physics/audit.md section 2), for z = 1, 2, 3 (Li, Mg, Al):

T1 a bare blocking collector passes no current; T2 Faraday's law per step
(collector charge against metal grown, two independent quantities) and
current continuity; T3 1-D galvanostatic growth velocity i V_m/(zF) for all
seven metals; T4 the potentiostatic current-voltage curve (asinh kinetics
plus the ohmic drop); T5 Tafel slopes, charge-transfer resistance and the
Nernst rest; T6 a Gibbs-Thomson disc at 1.05 r* grows and at 0.95 r*
shrinks, at the sharp-interface rate; collector time profiles; the same
results on 1 and 2 ranks."""
import math

import numpy as np
import pytest

from conftest import read_timeseries
from anodex.case import validate
from anodex.constants import FARADAY, GAS_CONSTANT
from anodex.models.electronic_conduction import profile_factor
from anodex.simulation import run_case

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]

T = 298.15
F_RT = FARADAY / (GAS_CONSTANT * T)
BLOCKS = ["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction"]
Z_METALS = [("Li", 1), ("Mg", 2), ("Al", 3)]


def case_1d(metal, collector, extra=None, length="20 um", cells=320):
    """A 1-D front at 5 um in a single-ion electrolyte, BDF1, tight Newton;
    h = l/8 (at l/4 the lumped quadrature of h'(eta)|grad eta| puts the
    current 0.8 % below i_F: a discretisation error of O(h^2))."""
    data = {
        "case": {"name": "two-potential-1d"},
        "model": {"blocks": BLOCKS},
        "material": {"metal": metal, "temperature": f"{T} K"},
        "geometry": {"kind": "interval", "length": length, "cells": [cells]},
        "electrolyte": {"conductivity": "0.1 S/m"},
        "phase_field": {"interface_length": "0.5 um", "interface_relaxation_rate": "10 1/s",
                        "boundary_values": False},
        "initial": {"interface_position": "5 um", "interface_width": "0.5 um"},
        "reaction": {"exchange_current_density": "10 A/m^2"},
        "collector": collector,
        "time": {"end": "10 s", "dt_initial": "0.01 s", "dt_max": "1 s", "scheme": "bdf1"},
        "solver": {"newton_tolerance": 1e-10},
        "output": {"field_interval": "1000 s"},
    }
    for key, value in (extra or {}).items():
        section, name = key.split(".")
        data.setdefault(section, {})[name] = value
        if value is None:  # leave the key unset
            del data[section][name]
    return validate(data, "<test>")


def run(case, path):
    run_case(case, path)
    return {k: np.array([r[k] for r in read_timeseries(path)]) for k in read_timeseries(path)[0]}


def double_layer_change(ts):
    """The charge the double layers took since t = 0 (C/m^2): the collector
    charge pays for it besides the metal."""
    return ts["double_layer_charge_C_m2"] - ts["double_layer_charge_C_m2"][0]


def potentiostatic(volts):
    return {"control": "potentiostatic", "potential": f"{volts!r} V"}


@pytest.mark.parametrize("metal, z", Z_METALS)
def test_t1_bare_collector_passes_no_current(metal, z, mpi_tmp_path):
    """No metal: the collector blocks the ions, so no current flows at all
    (the single-potential model passes sigma |V| / L here)."""
    case = case_1d(metal, potentiostatic(-0.1), {"initial.kind": "bare", "time.end": "1 s"})
    ts = run(case, mpi_tmp_path / metal)
    bound = 1e-9 * 0.1 * 0.1 / 20e-6  # 1e-9 sigma |V| / L
    assert np.abs(ts["collector_current_A_m2"]).max() < bound
    assert np.abs(ts["reservoir_current_A_m2"]).max() < bound
    assert ts["metal_mol_m2"].max() == 0.0


@pytest.mark.parametrize("metal, z", Z_METALS)
def test_t2_faraday_per_step_and_current_continuity(metal, z, mpi_tmp_path):
    """Consistency check, an identity by construction: the metal grown (the
    integral of h / V_m) against the charge through the collector / zF at
    every BDF1 step (the multiplier's equation sums to exactly this, so it
    holds to the Newton tolerance whatever the physics; the independent
    checks are in test_metal_by_reaction.py).  In the steady state the
    collector current equals the ionic current entering at the reservoir."""
    ts = run(case_1d(metal, potentiostatic(-0.1 / z)), mpi_tmp_path / metal)
    grown = ts["metal_mol_m2"] - ts["metal_mol_m2"][0]
    from_charge = (ts["collector_charge_C_m2"] - double_layer_change(ts)) / (z * FARADAY)
    assert grown[-1] > 1e-3  # mol/m^2
    per_step = np.abs(np.diff(grown) - np.diff(from_charge))
    assert (per_step <= 1e-8 * np.abs(np.diff(grown)).max()).all()
    assert ts["collector_current_A_m2"][-1] > 0  # deposition leaves through the collector
    assert ts["reservoir_current_A_m2"][-1] == pytest.approx(ts["collector_current_A_m2"][-1],
                                                             rel=1e-6)


# um per mAh/cm^2 (audit T3): 36000 C/m^2 x V_m / (zF), library V_m = M / rho
THICKNESS_PER_CAPACITY = {"Li": 4.849, "Na": 8.861, "K": 16.92, "Mg": 2.609, "Ca": 4.824,
                          "Zn": 1.708, "Al": 1.243}


@pytest.mark.parametrize("metal", sorted(THICKNESS_PER_CAPACITY))
def test_t3_galvanostatic_growth_velocity(metal, mpi_tmp_path):
    """The front (the eta = 1/2 contour, not the integral of h) advances by
    V_m/(zF) per coulomb: against the audit's um per mAh/cm^2 within 0.1 %."""
    i = 100.0
    per_capacity = THICKNESS_PER_CAPACITY[metal]
    t_end = 4e-6 / (per_capacity * 1e-6 / 36000 * i)  # 4 um of growth
    case = case_1d(metal, {"control": "galvanostatic", "current_density": f"{i} A/m^2"},
                   {"time.end": f"{t_end!r} s", "time.dt_max": f"{t_end / 20!r} s"})
    ts = run(case, mpi_tmp_path / metal)
    late = ts["t_s"] >= 0.1 * t_end
    t, tip = ts["t_s"][late], ts["tip_position_m"][late]
    velocity = (tip[-1] - tip[0]) / (t[-1] - t[0])
    assert velocity / i * 36000 * 1e6 == pytest.approx(per_capacity, rel=1e-3)
    assert ts["collector_current_A_m2"][-1] == pytest.approx(i, rel=1e-8)


def asinh_ohmic_voltage(i, i0, z, gap, sigma):
    """V = -(2/(z f)) asinh(i / 2 i0) - i gap / sigma (deposition: i > 0, V < 0)."""
    return -(2 / (z * F_RT)) * math.asinh(i / (2 * i0)) - i * gap / sigma


def current_at(volts, voltage_of, low=0.0, high=1e5):
    """The deposition current i where voltage_of(i) = volts (bisection;
    voltage_of falls with i)."""
    for _ in range(200):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if voltage_of(mid) > volts else (low, mid)
    return 0.5 * (low + high)


@pytest.mark.parametrize("metal, z", Z_METALS)
def test_t4_potentiostatic_current_voltage_curve(metal, z, mpi_tmp_path):
    """Symmetric Butler-Volmer plus the electrolyte's ohmic drop over the gap
    between the front and the reservoir, within 0.5 %, at three potentials."""
    for volts in (-0.02, -0.06, -0.12):
        ts = run(case_1d(metal, potentiostatic(volts), {"time.end": "5 s"}),
                 mpi_tmp_path / f"{metal}{volts}")
        i, gap = ts["collector_current_A_m2"][-1], 20e-6 - ts["tip_position_m"][-1]
        assert asinh_ohmic_voltage(i, 10.0, z, gap, 0.1) == pytest.approx(volts, rel=5e-3)


@pytest.mark.parametrize("metal, z", Z_METALS)
def test_t5_tafel_slope_charge_transfer_resistance_and_nernst_rest(metal, z, mpi_tmp_path):
    """A highly conducting electrolyte (no ohmic drop): Tafel slope
    ln(10) RT/(alpha_c zF) = 118.3/59.2/39.4 mV/dec; R_ct = RT/(zF i0) =
    25.7/12.8/8.6 Ohm cm^2 at i0 = 10 A/m^2; at 0 V the front rests."""
    def current(volts):
        # 5 s: the discrete profile's relaxation from the initial tanh (a
        # shift of ~0.5 nm at rate 10/s) is over; it would swamp 0.4 A/m^2
        ts = run(case_1d(metal, potentiostatic(volts), {"electrolyte.conductivity": "1e4 S/m",
                                                        "time.end": "5 s",
                                                        "time.dt_max": "0.05 s"}),
                 mpi_tmp_path / f"{metal}{volts}")
        late = ts["t_s"] > 4.0
        velocity = np.polyfit(ts["t_s"][late], ts["tip_position_m"][late], 1)[0]
        return ts["collector_current_A_m2"][-1], velocity
    tafel = [-0.20 / z, -0.30 / z]
    (i1, _), (i2, _) = current(tafel[0]), current(tafel[1])
    slope_mV_per_decade = 1e3 * (tafel[0] - tafel[1]) / math.log10(i2 / i1)
    assert slope_mV_per_decade == pytest.approx({1: 118.3, 2: 59.2, 3: 39.4}[z], rel=2e-3)
    (i_minus, _), (i_plus, _) = current(-1e-3), current(1e-3)
    r_ct_ohm_cm2 = 2e-3 / (i_minus - i_plus) * 1e4
    exact = GAS_CONSTANT * T / (z * FARADAY * 10.0) * 1e4  # 25.69/12.85/8.56 Ohm cm^2
    assert r_ct_ohm_cm2 == pytest.approx(exact, rel=5e-3)
    (_, v20), (_, v0) = current(-0.02), current(0.0)
    assert abs(v0) < 1e-3 * abs(v20)


def test_collector_profiles():
    """Constant, steps, ramps and cycling of the controlled value."""
    steps = {"profile": "table", "profile_times": [0.0, 10.0, 20.0], "interpolation": "step",
             "profile_values": [1.0, -1.0, 0.5], "profile_period": 0.0}
    assert [profile_factor(steps, t) for t in (0, 9.9, 10, 15, 25)] == [1, 1, -1, -1, 0.5]
    ramp = {**steps, "interpolation": "linear"}
    assert profile_factor(ramp, 5.0) == pytest.approx(0.0)
    assert profile_factor(ramp, 15.0) == pytest.approx(-0.25)
    cycle = {**steps, "profile_times": [0.0, 10.0], "profile_values": [1.0, -1.0],
             "profile_period": 20.0}
    assert [profile_factor(cycle, t) for t in (5, 15, 25, 35)] == [1, -1, 1, -1]
    assert profile_factor({"profile": "constant"}, 123.0) == 1.0


def test_galvanostatic_cycling_strips_what_it_plated(mpi_tmp_path):
    """Plate at +100 A/m^2 for 20 s, strip at -100 A/m^2 for 20 s: the metal
    returns to its start and the charge to zero."""
    case = case_1d("Li", {"control": "galvanostatic", "current_density": "100 A/m^2",
                          "profile": "table", "profile_times": ["0 s", "20 s"],
                          "profile_values": [1, -1], "profile_period": "40 s"},
                   {"time.end": "40 s", "time.dt_max": "2 s"})
    ts = run(case, mpi_tmp_path / "cycle")
    half = np.argmin(np.abs(ts["t_s"] - 20.0))
    paid = ts["metal_mol_m2"] - ts["metal_mol_m2"][0] + double_layer_change(ts) / FARADAY
    assert paid[half] == pytest.approx(100 * 20 / FARADAY, rel=1e-6)
    assert abs(paid[-1]) < 1e-6 * paid[half]
    assert ts["collector_current_A_m2"][-1] == pytest.approx(-100, rel=1e-8)


def binary_case(collector, length, cells, ell, end, dt_max):
    """1 M, D = 3e-10 m^2/s, t+ = 0.4 (audit T8), z = 1; a dense metal
    (V_m = 1.3e-6 m^3/mol) so that the front moves < 1 % of the gap."""
    return case_1d("Li", collector, {
        "model.blocks": BLOCKS + ["salt_transport"], "electrolyte.conductivity": None,
        "geometry.length": length, "geometry.cells": [cells],
        "phase_field.interface_length": ell, "initial.interface_width": ell,
        "initial.interface_position": "5 um", "electrolyte.salt_concentration": "1000 mol/m^3",
        "electrolyte.diffusivity": "3e-10 m^2/s", "electrolyte.salt_transference_number": 0.4,
        "material.molar_volume": "1.3e-6 m^3/mol", "time.end": end, "time.dt_max": dt_max,
        "time.dt_initial": "0.01 s", "time.error_tolerance": 0.01})


SAND_S = math.pi * 3e-10 * (FARADAY * 1000) ** 2 / (4 * 100.0 ** 2 * 0.6 ** 2)  # 609.3 s


@pytest.mark.slow
def test_t8_sand_time(mpi_tmp_path):
    """Galvanostatic 100 A/m^2: the interface concentration falls as
    c_b - 2 (1 - t+) i sqrt(t / (pi D)) / (zF), reaching 0 at Sand's time
    609.3 s: the fitted time within 2 %; the run stops there and says why."""
    import json
    case = binary_case({"control": "galvanostatic", "current_density": "100 A/m^2"},
                       "1 mm", 2000, "2 um", "700 s", "10 s")
    ts = run(case, mpi_tmp_path / "sand")
    window = (ts["t_s"] > 0.1 * SAND_S) & (ts["t_s"] < 0.6 * SAND_S)
    slope = np.polyfit(np.sqrt(ts["t_s"][window]), 1 - ts["interface_salt_ratio"][window], 1)[0]
    assert 1 / slope ** 2 == pytest.approx(SAND_S, rel=0.02)
    status = json.loads((mpi_tmp_path / "sand" / "status.json").read_text())
    assert "salt is depleted" in status["reason"]
    assert status["t_s"] == pytest.approx(SAND_S, rel=0.05)


def test_t8_limiting_current(mpi_tmp_path):
    """Steady galvanostatic deposition at half the limiting current: the
    linear profile puts c/c_b = 1 - i/i_lim at the interface, so
    i / (1 - c/c_b) is the limiting current zFDc_b/((1 - t+) L) = 482 A/m^2
    at L = 100 um (the gap at the end), within 2 %.

    The audit's 2zFDc_b/((1 - t+) L) = 965 A/m^2 is twice this: with the
    flux condition D dc/dx = (1 - t+) i/(zF) that gives its own Sand time
    (609 s, above), the steady flux D c_b/L carries zFDc_b/((1 - t+) L);
    the factor 2 belongs to the cation diffusivity, D = 2 D+ (1 - t+).  At
    480 A/m^2 the model's interface concentration is 0.013 c_b (measured):
    that is the limit."""
    case = binary_case({"control": "galvanostatic", "current_density": "240 A/m^2"},
                       "105 um", 420, "1 um", "150 s", "5 s")
    ts = run(case, mpi_tmp_path / "limit")
    gap = 105e-6 - ts["tip_position_m"][-1]
    expected = FARADAY * 3e-10 * 1000 / (0.6 * gap)
    assert ts["interface_salt_ratio"][-1] == pytest.approx(0.5, abs=0.02)
    assert 240 / (1 - ts["interface_salt_ratio"][-1]) == pytest.approx(expected, rel=0.02)


GAMMA_LI = 0.52  # J/m^2, library
VM_LI = 6.94e-3 / 534  # m^3/mol, library M / rho
R_STAR = GAMMA_LI * VM_LI / (FARADAY * 20e-6)  # 3.502 um at 20 uV


def disc_case(radius, ell, rate="1e-5 1/s", end="200 s", collector=None):
    """A quarter disc of Li at the collector corner (its centre at x = y = 0:
    the collector and a symmetry wall cut it), -20 uV, a highly conducting
    electrolyte (no ohmic drop), h = l/4."""
    side = 2.3 * R_STAR
    cells = math.ceil(side / (ell / 4))
    data = {
        "case": {"name": "gibbs-thomson-disc"},
        "model": {"blocks": BLOCKS + ["interface_curvature"]},
        "material": {"metal": "Li", "temperature": f"{T} K"},
        "geometry": {"kind": "rectangle", "length": f"{side!r} m", "height": f"{side!r} m",
                     "cells": [cells, cells]},
        "electrolyte": {"conductivity": "100 S/m"},
        "phase_field": {"interface_length": f"{ell!r} m", "interface_relaxation_rate": rate,
                        "boundary_values": False},
        "initial": {"kind": "seeds", "seed_placement": "corner", "seed_radius": f"{radius!r} m",
                    "interface_width": f"{ell!r} m"},
        "reaction": {"exchange_current_density": "10 A/m^2"},
        "collector": collector or {"potential": "-20 uV"},
        "time": {"end": end, "dt_initial": "1 s", "dt_max": "50 s", "scheme": "bdf1"},
        "solver": {"newton_tolerance": 1e-10},
        "output": {"field_interval": "1000 s"},
    }
    return validate(data, "<test>")


def sharp_disc_current(radius, side):
    """Butler-Volmer at eta = V + gamma V_m/(zF R) on the quarter circle, per
    collector length (A/m^2 of the electrode)."""
    eta = -20e-6 + GAMMA_LI * VM_LI / (FARADAY * radius)
    i = -2 * 10.0 * math.sinh(0.5 * F_RT * eta)
    return i * (math.pi / 2 * radius) / side


@pytest.mark.slow
@pytest.mark.serial  # 2-D runs: once; the same disc on 2 ranks is compared below
@pytest.mark.parametrize("ell_over_r_star", [1 / 4, 1 / 8])
def test_t6_gibbs_thomson_disc_grows_above_and_shrinks_below_r_star(ell_over_r_star,
                                                                    mpi_tmp_path):
    """Li at -20 uV: r* = gamma V_m/(zF|V|) = 3.5 um.  A disc of 1.05 r*
    grows and one of 0.95 r* shrinks, each at the sharp-interface rate,
    converging at first order in l/R (the drive is 5 % of the capillary
    term, so 10 % of the current is 0.5 % of the capillary overpotential).
    Measured with the reaction as the metal's only source (issue 34):
    -11.6 / +12.0 % at l = r*/4, -5.3 / +4.0 % at l = r*/8; the bound is
    0.5 l/r* (before, with the charge counted from dh/dt: -5.1 / +3.5 % and
    -5.1 / +3.8 %, not converging)."""
    ell = ell_over_r_star * R_STAR
    for factor in (1.05, 0.95):
        case = disc_case(factor * R_STAR, ell)
        ts = run(case, mpi_tmp_path / f"{factor}")
        current = ts["collector_current_A_m2"][-1]
        expected = sharp_disc_current(factor * R_STAR, 2.3 * R_STAR)
        assert np.sign(current) == np.sign(expected) == (1 if factor > 1 else -1)
        assert current == pytest.approx(expected, rel=0.5 * ell_over_r_star)


@pytest.mark.slow
@pytest.mark.serial  # 2-D runs: once; the same disc on 2 ranks is compared below
def test_mobility_is_numerical_below_the_kinetic_rate(mpi_tmp_path):
    """The Allen-Cahn relaxation rate only keeps the profile: from 1e-6/s to
    1e-5/s the growth of the 1.05 r* disc changes by less than 0.5 % of the
    capillary-driven rate (measured 5 % of a drive that is 5 % of it).  The
    counter-term cancels the phase field's own curvature motion to ~0.4 %
    (measured), so faster relaxation (0.1/s) lets that residue dominate
    a drive this small: the documented window (docs/two-potential.md)."""
    currents = [run(disc_case(1.05 * R_STAR, R_STAR / 7, rate), mpi_tmp_path / rate)
                ["collector_current_A_m2"][-1] for rate in ("1e-6 1/s", "1e-5 1/s")]
    capillary = sharp_disc_current(1.05 * R_STAR, 2.3 * R_STAR) / (1 - 1 / 1.05)
    assert abs(currents[1] - currents[0]) < 5e-3 * capillary


def test_galvanostatic_collector_is_an_equipotential_foil():
    """Galvanostatic control on a partly bare collector (a quarter disc of Li
    at the corner covers 7 of its 8 um): the foil spreads the fixed current
    to the metal, and its potential is uniform to 1e-12 V (I H^2/(2G) ~
    5e-14 V; as the uniform flux the control used to be, 2.5e-11 V,
    measured).  The metal grown matches the charge / zF within 1e-5: the
    20 s grow 5e-4 of the metal in the domain, and the Newton tolerance
    (1e-10 of the residual) leaves that difference uncertain by ~1e-6 of
    it across partitions (measured on 2 ranks, identical runs: -4.0e-7 to
    +2.2e-6; MUMPS's parallel pivoting varies the iterates); 1 rank: -6.4e-7."""
    from mpi4py import MPI
    from helpers import Simulation
    i = 1.0
    case = disc_case(2 * R_STAR, R_STAR / 4, end="20 s",
                     collector={"control": "galvanostatic", "current_density": f"{i} A/m^2"})
    sim = Simulation(case)
    pb = sim.pb
    start = pb.integrals()
    sim.run_to(20.0)
    V, dofs = pb.component_space(pb.index["phi_s"])
    x = V.tabulate_dof_coordinates()[:len(dofs)]
    on = np.isclose(x[:, 0], 0.0)
    local = pb.scales.to_si(pb.u.x.array[dofs][on], "V")
    high = pb.comm.allreduce(local.max(initial=-np.inf), op=MPI.MAX)
    low = pb.comm.allreduce(local.min(initial=np.inf), op=MPI.MIN)
    assert high - low < 1e-12
    end = pb.integrals()
    grown = pb.scales.to_si((end["metal_volume"] - start["metal_volume"]) / pb.area, "mol/m^2")
    layers = pb.scales.to_si(sum(end[k] - start[k] for k in ("dl_collector", "dl_metal"))
                             / pb.area, "C/m^2")
    assert grown + layers / FARADAY == pytest.approx(i * sim.t_seconds / FARADAY, rel=1e-5)  # z = 1


@pytest.mark.serial
@pytest.mark.compat
def test_two_potential_results_are_the_same_on_1_and_2_ranks(tmp_path):
    """The 2-D disc case through the command line on 1 and 2 ranks: every
    integral column agrees to 1e-8 relative (the partition changes only the
    order of floating-point sums)."""
    from helpers import assert_same_on_1_and_2_ranks
    assert_same_on_1_and_2_ranks(disc_case(1.05 * R_STAR, R_STAR / 4, end="100 s"), tmp_path, (
        "metal_mol_m2", "collector_current_A_m2", "reservoir_current_A_m2",
        "collector_charge_C_m2", "interface_overpotential_V", "tip_position_m"))


@pytest.mark.slow
def test_t7_current_converges_in_interface_width_and_cells_per_width(mpi_tmp_path):
    """The T4 current at l = 1, 0.5, 0.25, 0.125 um against the sharp
    interface (asinh kinetics plus the ohmic drop over the gap).  Measured:
    the width itself leaves no visible error (the values at the four widths
    agree within 1e-4: the ionic drop across the interface is ~1e-6 V);
    what remains is the lumped quadrature of the reaction's weight
    h'(eta) |grad eta| at a fixed number of cells per width, O((h/l)^2):
    -1.11 % at h = l/4 (-0.79 % before issue 34, when the current was the
    front's |grad eta|-weighted rate), second order below.  Richardson
    extrapolation in h/l lands within 0.1 %."""
    def error(ell_um, per_width):
        cells = int(round(20 / (ell_um / per_width)))
        case = case_1d("Li", potentiostatic(-0.06),
                       {"time.end": "5 s", "phase_field.interface_length": f"{ell_um} um",
                        "initial.interface_width": f"{ell_um} um"}, cells=cells)
        ts = run(case, mpi_tmp_path / f"{ell_um}-{per_width}")
        gap = 20e-6 - ts["tip_position_m"][-1]
        sharp = current_at(-0.06, lambda j: asinh_ohmic_voltage(j, 10.0, 1, gap, 0.1))
        return ts["collector_current_A_m2"][-1] / sharp - 1
    widths = (1.0, 0.5, 0.25, 0.125)
    at_quarter = np.array([error(ell, 4) for ell in widths])
    assert np.abs(at_quarter).max() < 0.012
    assert np.ptp(at_quarter) < 1e-4
    at_eighth = error(0.125, 8)
    assert abs(at_eighth) < abs(at_quarter[-1]) / 3  # second order in h/l
    assert abs(at_eighth + (at_eighth - at_quarter[-1]) / 3) < 1e-3


@pytest.mark.slow
@pytest.mark.serial  # a minute of 2-D stepping: once, not again in the 2-rank leg
def test_perturbation_grows_at_the_linear_stability_rate(tmp_path):
    """cases/li_instability.toml (8 um wavelength, 300 A/m^2, E = 2e4 V/m)
    shortened to 60 s in a 14 um domain: the amplitude (the front's Fourier
    mode) grows at the sharp-interface rate omega = V_m/(zF) B S/(S + B)
    (E - gamma V_m k^2/(zF)) within 10 % (docs/two-potential.md has the
    full case's)."""
    from postprocess.instability import measured_rate, predicted_rate
    from anodex.case import load_case
    case = load_case(ROOT / "cases" / "li_instability.toml",
                     {"geometry.length": "14 um", "geometry.cells": [112, 64],
                      "time.end": "60 s", "output.field_interval": "60 s"})
    run_case(case, tmp_path / "run")
    omega, series = measured_rate(tmp_path / "run")
    gap = float(np.mean(14e-6 - series["deposit_thickness_m"]))
    expected = predicted_rate(case.si, 8e-6, gap)
    assert omega == pytest.approx(expected, rel=0.1)
    assert omega > 0


@pytest.mark.slow
@pytest.mark.serial  # the ionic block on 2 ranks: test_two_potential_results_are_the_same...
def test_a_conducting_crack_focuses_the_current_a_uniform_electrolyte_does_not(mpi_tmp_path):
    """cases/li_cracked_electrolyte.toml to 120 s: a flat front facing a 1 um
    strip of 10x conductivity grows a protrusion (measured: the tip leads the
    mean front by 0.055 um at 125 s, accelerating), while the same front in
    the uniform electrolyte stays flat (|lead| < 0.003 um over 200 s, the
    contour's grid noise)."""
    from anodex.case import load_case
    leads = {}
    for ratio in (10, 1):
        case = load_case(ROOT / "cases" / "li_cracked_electrolyte.toml",
                         {"electrolyte.crack_conductivity_ratio": ratio, "time.end": "120 s",
                          "output.field_interval": "120 s"})
        ts = run(case, mpi_tmp_path / f"r{ratio}")
        leads[ratio] = ts["tip_position_m"] - ts["deposit_thickness_m"]
    assert leads[10][-1] > 0.03e-6
    assert np.abs(leads[1]).max() < 0.1 * leads[10][-1]
    assert (np.diff(leads[10][1:]) > -1e-12).all()  # the protrusion only grows


def test_a_crack_needs_two_dimensions():
    from anodex.case import CaseError
    with pytest.raises(CaseError, match="a crack is a strip across y"):
        case_1d("Li", potentiostatic(-0.1), {"electrolyte.crack_conductivity_ratio": 10})
