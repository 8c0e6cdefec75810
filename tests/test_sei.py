"""SEI growth (issue 18): the laws in 0-D against their closed forms over a
year, Faraday's law of the SEI, Arrhenius scaling, the 0-D mode end to end
([geometry] kind = "point") and its bad inputs."""
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import read_timeseries
from anodex.case import CaseError, validate
from anodex.constants import FARADAY
from anodex.simulation import run_case
from anodex.models.sei_laws import LAWS, arrhenius, closed_form
from anodex.models.sei_zero_d import integrate

# PyBaMM-like magnitudes (audit.md section 4), z = 2 (EC reduction to a Li2CO3-like SEI)
P = dict(molar_volume=9.585e-5, charge_number=2, temperature=298.15, exchange_current_density=1.5e-7,
         transfer_coefficient=0.5, electrode_potential=0.1, equilibrium_potential=0.4,
         solvent_diffusivity=2.5e-22, solvent_concentration=2636.0, solvent_stoichiometry=1.0,
         electronic_conductivity=8.95e-14, interstitial_diffusivity=1e-20,
         interstitial_concentration=15.0, tunnelling_decay_length=1.4e-9, rate_constant=1e-12)
YEAR = 3.15576e7
L0 = 5e-9


@pytest.mark.parametrize("law", LAWS)
def test_zero_d_matches_the_closed_form_over_a_year(law):
    """L at every accepted step to 1 year within 1e-8 of the closed form
    (the issue's bound is 0.1 %), and the law grew L by more than 10 %."""
    rows = integrate(law, P, L0, YEAR)
    assert rows[-1][0] == pytest.approx(YEAR, rel=1e-12)
    assert len(rows) > 100
    for t, _, L, _, _ in rows:
        assert L == pytest.approx(closed_form(law, t, L0, P), rel=1e-8)
    assert rows[-1][2] > 1.1 * L0


def written_out_thickness(law, t):
    """L(t) of each law at constant potential for the parameters P, typed here
    from the papers' closed forms (not anodex.models.sei_laws.closed_form):
    F = 96485.33212 C/mol, R = 8.314462618 J/(mol K), T = 298.15 K, V =
    9.585e-5 m^3/mol, z = 2, L0 = 5 nm, dphi = 0.1 V, U = 0.4 V."""
    f = 96485.33212 / (8.314462618 * 298.15)
    F, V, z = 96485.33212, 9.585e-5, 2
    if law == "reaction":  # L0 + V j0 e^(-alpha f (dphi - U)) t / (zF)
        return L0 + V * 1.5e-7 * math.exp(-0.5 * f * (0.1 - 0.4)) * t / (z * F)
    if law == "solvent_diffusion":  # sqrt(L0^2 + 2 V D c t / nu)
        return math.sqrt(L0 ** 2 + 2 * V * 2.5e-22 * 2636.0 * t)
    if law == "electron_migration":  # sqrt(L0^2 + 2 V kappa (U - dphi) t / (zF))
        return math.sqrt(L0 ** 2 + 2 * V * 8.95e-14 * (0.4 - 0.1) * t / (z * F))
    if law == "interstitial_diffusion":  # sqrt(L0^2 + 2 V D c e^(-f dphi) t / z)
        return math.sqrt(L0 ** 2 + 2 * V * 1e-20 * 15.0 * math.exp(-f * 0.1) * t / z)
    if law == "tunnelling":  # lambda ln(e^(L0/lambda) + A t/lambda), A = V j0 e^(..)/(zF)
        A = V * 1.5e-7 * math.exp(-0.5 * f * (0.1 - 0.4)) / (z * F)
        return 1.4e-9 * math.log(math.exp(L0 / 1.4e-9) + A * t / 1.4e-9)
    # mixed: L + k L^2/(2D) = L0 + k L0^2/(2D) + V c k t, k = k0 e^(-alpha f (dphi - U))
    k, D = 1e-12 * math.exp(-0.5 * f * (0.1 - 0.4)), 2.5e-22
    rhs = L0 + k * L0 ** 2 / (2 * D) + V * 2636.0 * k * t
    return (-1 + math.sqrt(1 + 2 * k * rhs / D)) * D / k


@pytest.mark.parametrize("law", LAWS)
def test_zero_d_matches_the_written_out_closed_forms(law):
    """The 0-D integration at one year against each law's closed form typed
    in this test (review-2 section 8: closed_form sits beside the rate law
    it checks), within 1e-6."""
    rows = integrate(law, P, L0, YEAR)
    assert rows[-1][2] == pytest.approx(written_out_thickness(law, YEAR), rel=1e-6)


def test_solvent_diffusion_closed_form_written_out():
    """L(1 year) = sqrt(L0^2 + 2 V D c t) for one solvent molecule per formula
    unit (the numbers typed here, not taken from the code), and / nu for nu = 2
    (PyBaMM's convention, one electron per solvent molecule)."""
    expected = math.sqrt(25e-18 + 2 * 9.585e-5 * 2.5e-22 * 2636.0 * YEAR)
    assert integrate("solvent_diffusion", P, L0, YEAR)[-1][2] == pytest.approx(expected, rel=1e-3)
    half = math.sqrt(25e-18 + 9.585e-5 * 2.5e-22 * 2636.0 * YEAR)
    p2 = {**P, "solvent_stoichiometry": 2.0}
    assert integrate("solvent_diffusion", p2, L0, YEAR)[-1][2] == pytest.approx(half, rel=1e-3)


@pytest.mark.parametrize("law", LAWS)
def test_faraday_of_the_sei(law):
    """Consistency check (review-2 section 8: the charge is integrated from
    the same rate as L): the charge, integrated from the current j(L)
    alongside L, equals z F (L - L0)/V, the charge of the SEI grown."""
    for t, _, L, Q, _ in integrate(law, P, L0, YEAR)[1:]:
        assert Q == pytest.approx(2 * FARADAY * (L - L0) / 9.585e-5, rel=1e-7)


def test_mixed_law_reaction_step_follows_the_potential():
    """The mixed law's surface reaction is k0 exp(-alpha f (dphi - U)) (PyBaMM's
    "ec reaction limited"; review-2 section 6: it ignored the potential).  In
    its reaction-limited regime (L k/D < 3e-5 here, over 10 s) the rate
    V c k/nu is written out at two potentials 50 mV apart: the ratio is
    exp(alpha F 0.05 / RT) = 2.64599 for alpha = 0.5 at 298.15 K."""
    p = {**P, "rate_constant": 1e-12, "solvent_diffusivity": 2.5e-13}
    rates = []
    for dphi in (0.1, 0.05):
        rows = integrate("mixed", {**p, "electrode_potential": dphi}, L0, 10.0)
        rates.append((rows[-1][2] - L0) / rows[-1][0])
    k = 1e-12 * math.exp(-0.5 * 96485.33212 / (8.314462618 * 298.15) * (0.1 - 0.4))
    assert rates[0] == pytest.approx(9.585e-5 * 2636.0 * k, rel=1e-5)
    assert rates[1] / rates[0] == pytest.approx(2.64599, rel=1e-4)


def test_arrhenius():
    """k(T_ref) = k_ref; ln k linear in 1/T with slope -E_a/R; and a value by
    hand: 2 exp(-5e4/8.314462618 (1/350 - 1/298.15)) = 39.692 (calculator)."""
    assert arrhenius(2.0, 5e4, 350.0, 298.15) == pytest.approx(39.692, rel=1e-4)
    k = [arrhenius(2.0, 5e4, T, 298.15) for T in (298.15, 320.0, 350.0)]
    assert k[0] == 2.0
    slope = (math.log(k[2]) - math.log(k[1])) / (1 / 350.0 - 1 / 320.0)
    assert slope == pytest.approx(-5e4 / 8.314462618, rel=1e-9)


def point_case(**sei):
    data = {"case": {"name": "sei-0d"}, "material": {"temperature": "298.15 K"},
            "geometry": {"kind": "point"}, "time": {"end": "1 year"},
            "sei": {"law": "solvent_diffusion", "initial_thickness": "5 nm",
                    "molar_volume": "9.585e-5 m^3/mol", "solvent_diffusivity": "2.5e-22 m^2/s",
                    "solvent_concentration": "2636 mol/m^3", **sei}}
    return data


def test_zero_d_run_writes_the_time_series(mpi_tmp_path):
    """A case of [case], [material] temperature, [geometry] kind = "point",
    [time] end = "1 year" and [sei] runs the 0-D mode: timeseries.csv ends at
    one year with the closed-form thickness and its charge."""
    out = mpi_tmp_path / "run"
    status = run_case(validate(point_case(), "<sei>"), out)
    assert status["status"] == "completed"
    rows = read_timeseries(out)
    expected = math.sqrt(25e-18 + 2 * 9.585e-5 * 2.5e-22 * 2636.0 * YEAR)
    assert rows[-1]["t_s"] == pytest.approx(YEAR)
    assert rows[-1]["sei_thickness_m"] == pytest.approx(expected, rel=1e-3)
    assert rows[-1]["sei_charge_C_m2"] == pytest.approx(2 * FARADAY * (expected - L0) / 9.585e-5,
                                                        rel=1e-6)
    assert rows[-1]["sei_resistance_ohm_m2"] == pytest.approx(2e5 * expected, rel=1e-3)
    assert (out / "case.toml").exists() and (out / "metadata.json").exists()


def test_zero_d_arrhenius_scaling(mpi_tmp_path):
    """At T != T_ref, L^2 - L0^2 (proportional to D) scales by exp(-E_a/R (1/T - 1/T_ref))."""
    grown = []
    for T in ("298.15 K", "330 K"):
        data = point_case(activation_energy="3e4 J/mol")
        data["material"]["temperature"] = T
        out = mpi_tmp_path / T.replace(" ", "")
        run_case(validate(data, "<sei>"), out)
        grown.append(read_timeseries(out)[-1]["sei_thickness_m"] ** 2 - 25e-18)
    factor = math.exp(-3e4 / 8.314462618 * (1 / 330.0 - 1 / 298.15))
    assert grown[1] / grown[0] == pytest.approx(factor, rel=1e-3)


@pytest.mark.parametrize("change, message", [
    ({"initial_thickness": "-5 nm"}, "initial_thickness: must be > 0"),
    ({"law": "electron_migration"}, "electronic_conductivity, equilibrium_potential, "
     "electrode_potential: law = \"electron_migration\" needs them"),
    ({"electronic_conductivity": "1e-12 S/m"}, "[sei] electronic_conductivity: not a key of "
     "law = \"solvent_diffusion\" (electronic_conductivity: electron_migration)"),
    ({"tunnelling_decay_length": "1 nm"}, "tunnelling_decay_length: not a key of law"),
    ({"solvent_diffusivity": "2.5e-22 m/s"}, "solvent_diffusivity"),
    ({"law": "parabolic"}, "law"),
])
def test_bad_sei_inputs_are_rejected(change, message):
    with pytest.raises(CaseError) as e:
        validate(point_case(**change), "<sei>")
    assert message in str(e.value)


def test_point_geometry_is_the_zero_d_mode_only():
    data = point_case()
    data["model"] = {"blocks": ["phase_field", "sei"]}
    with pytest.raises(CaseError, match="kind = \"point\": the 0-D SEI mode"):
        validate(data, "<sei>")
    data = point_case()
    data["geometry"] = {"kind": "interval", "cells": [10]}
    with pytest.raises(CaseError, match="the sei block alone is the 0-D SEI mode"):
        validate(data, "<sei>")


# ---- the SEI on the two-potential interface ----------------------------------------------

DEPOSITION = ["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction"]
B_FAST = 9.585e-5 * 1.5e-17 * 2636.0  # V D c of the 1-D runs: L from 5 to 10 nm in 10 s


def sei_1d(volts, extra=None):
    """The two-potential 1-D front of test_two_potential (Li, 0.1 S/m, i0 =
    10 A/m^2, h = l/8) under a solvent-diffusion SEI, BDF2."""
    from test_two_potential import case_1d
    more = {"model.blocks": DEPOSITION + ["sei"], "sei.law": "solvent_diffusion",
            "sei.solvent_diffusivity": "1.5e-17 m^2/s", "sei.solvent_concentration": "2636 mol/m^3",
            "time.scheme": "bdf2", "time.dt_max": "0.25 s", **(extra or {})}
    return case_1d("Li", {"control": "potentiostatic", "potential": f"{volts!r} V"}, more)


def series(path):
    rows = read_timeseries(path)
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def test_flat_interface_follows_the_zero_d_law(mpi_tmp_path):
    """A flat SEI on a plating front grows as the 0-D law: at the end within
    1 % of the closed form sqrt(L0^2 + 2 V D c t) (measured 0.012 %) and of
    the 0-D mode's run for the same [sei]."""
    case = sei_1d(-0.05)
    run_case(case, mpi_tmp_path / "1d")
    ts = series(mpi_tmp_path / "1d")
    t = ts["t_s"][-1]
    closed = math.sqrt(L0 ** 2 + 2 * B_FAST * t)
    assert closed > 1.9 * L0  # it grew
    assert ts["sei_thickness_m"][-1] == pytest.approx(closed, rel=1e-2)
    data = point_case(solvent_diffusivity="1.5e-17 m^2/s")
    data["time"]["end"] = f"{float(t)!r} s"
    run_case(validate(data, "<sei>"), mpi_tmp_path / "0d")
    zero_d = read_timeseries(mpi_tmp_path / "0d")[-1]["sei_thickness_m"]
    assert ts["sei_thickness_m"][-1] == pytest.approx(zero_d, rel=1e-2)
    assert (ts["collector_current_A_m2"][1:] > 0).all()  # it plated meanwhile


def test_flat_sei_converges_at_second_order_in_time(mpi_tmp_path):
    """The flat SEI against its closed form as the error tolerance of the
    adaptive BDF2 falls 4x per run: the error falls as steps^-p with p
    within [1.7, 2.7] (measured 2.29 and 2.14 over 16, 24, 43, 81 steps),
    the error indicator being L/L0 (sei.error_indicators)."""
    steps, errors = [], []
    for tol in (1e-3, 2.5e-4, 6.25e-5):
        run_case(sei_1d(-0.05, {"time.dt_max": "10 s", "time.error_tolerance": tol}),
                 mpi_tmp_path / f"{tol}")
        ts = series(mpi_tmp_path / f"{tol}")
        closed = math.sqrt(L0 ** 2 + 2 * B_FAST * ts["t_s"][-1])
        steps.append(len(ts["t_s"]) - 1)
        errors.append(abs(ts["sei_thickness_m"][-1] / closed - 1))
    for k in (0, 1):
        order = math.log(errors[k] / errors[k + 1]) / math.log(steps[k + 1] / steps[k])
        assert 1.7 < order < 2.7, (steps, errors)


def test_faraday_with_the_sei_share(mpi_tmp_path):
    """Collector charge = zF (metal grown) + SEI charge + double-layer
    charge at every step: a consistency check (the collector charge is the
    BDF sum of the same sources, review-2 section 8); the SEI takes > 5 %
    of the charge.  The independent check: the charge that entered through
    the reservoir, from the gradient of phi_e there integrated by the
    trapezoid rule, equals the metal's, the SEI's and the double layers'
    charge at the end (a P1 flux of 45 steps: within 2e-3)."""
    run_case(sei_1d(-0.05), mpi_tmp_path / "run")
    ts = series(mpi_tmp_path / "run")
    metal = FARADAY * (ts["metal_mol_m2"] - ts["metal_mol_m2"][0])
    assert ts["sei_charge_C_m2"][-1] > 0.05 * ts["collector_charge_C_m2"][-1]
    double_layer = ts["double_layer_charge_C_m2"] - ts["double_layer_charge_C_m2"][0]
    residual = ts["collector_charge_C_m2"] - metal - ts["sei_charge_C_m2"] - double_layer
    assert np.abs(residual).max() < 1e-8 * ts["collector_charge_C_m2"][-1]
    # independent: the ionic current from the gradient of phi_e at the
    # reservoir face (not the residual), integrated by the trapezoid rule
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    through = trapezoid(ts["reservoir_current_from_gradient_A_m2"], ts["t_s"])
    spent = metal[-1] + ts["sei_charge_C_m2"][-1] + double_layer[-1]
    assert through == pytest.approx(spent, rel=2e-3), (through, spent)  # measured 6.6e-4


def test_plating_under_the_sei_follows_the_series_resistances(mpi_tmp_path):
    """V = eta_BV(i) + i (rho L + gap/sigma): symmetric Butler-Volmer, the
    SEI's rho L and the electrolyte over the gap, within 0.5 %, for a 20 nm
    SEI that barely grows (the SEI current < 1e-6 of i)."""
    from test_two_potential import asinh_ohmic_voltage
    for volts, rho in ((-0.06, 2e5), (-0.12, 5e5)):
        case = sei_1d(volts, {"sei.solvent_diffusivity": "1e-27 m^2/s", "time.end": "5 s",
                              "sei.initial_thickness": "20 nm",
                              "sei.ionic_resistivity": f"{rho!r} ohm*m"})
        run_case(case, mpi_tmp_path / f"{volts}")
        ts = series(mpi_tmp_path / f"{volts}")
        i, L = ts["collector_current_A_m2"][-1], ts["sei_thickness_m"][-1]
        gap = 20e-6 - ts["tip_position_m"][-1]
        sei_drop = i * rho * L
        assert sei_drop > 0.2 * abs(volts)  # the SEI matters
        # (the interface-averaged i_F is 0.2 % above the collector's current:
        # the O(h^2) quadrature offset of test_two_potential.case_1d)
        assert ts["sei_drop_V"][-1] == pytest.approx(sei_drop, rel=5e-3)
        assert asinh_ohmic_voltage(i, 10.0, 1, gap, 0.1) - sei_drop == pytest.approx(volts, rel=5e-3)


def sei_2d(extra=None, seeds=False):
    """A 2-D Li front (flat at 2 um, or a quarter disc of 2 um at the corner)
    in a 5 x 4 um box, l = 0.5 um, h = l/4, i0 = 100 A/m^2 at -0.1 V, under
    the default SEI (5 nm, rho = 2e5 ohm m, 1/3 of the drive) growing slowly."""
    data = {
        "case": {"name": "sei-2d"},
        "model": {"blocks": DEPOSITION + ["interface_curvature", "sei"]},
        "material": {"metal": "Li", "temperature": "298.15 K"},
        "geometry": {"kind": "rectangle", "length": "5 um", "height": "4 um", "cells": [40, 32]},
        "electrolyte": {"conductivity": "0.1 S/m"},
        "phase_field": {"interface_length": "0.5 um", "interface_relaxation_rate": "1 1/s",
                        "boundary_values": False},
        "initial": {"interface_position": "2 um", "interface_width": "0.5 um"},
        "reaction": {"exchange_current_density": "100 A/m^2"},
        "collector": {"potential": "-0.1 V"},
        "sei": {"law": "solvent_diffusion", "solvent_diffusivity": "1e-22 m^2/s",
                "solvent_concentration": "2636 mol/m^3"},
        "time": {"end": "10 s", "dt_initial": "0.01 s", "dt_max": "1 s"},
        "output": {"field_interval": "10 s"},
    }
    if seeds:
        data["initial"] = {"kind": "seeds", "seed_placement": "corner", "seed_radius": "2 um",
                           "interface_width": "0.5 um"}
        data["geometry"].update(length="4 um")
        data["geometry"]["cells"] = [32, 32]
    for key, value in (extra or {}).items():
        section, name = key.split(".")
        data[section][name] = value
    return validate(data, "<test>")


def last_field(path, name):
    import meshio
    with meshio.xdmf.TimeSeriesReader(path / f"{name}.xdmf") as reader:
        points, _ = reader.read_points_cells()
        _, data, _ = reader.read_data(reader.num_steps - 1)
    return points, data[name].ravel()


@pytest.mark.serial  # 2-D runs: once; the 2-rank comparison is below
def test_uniform_sei_stays_uniform_and_a_broken_patch_focuses_the_current(tmp_path):
    """A uniform SEI on a flat 2-D front stays uniform along it (within 1e-9
    of L at every height) and the front stays flat (tip - mean < 2 nm).  A
    patch where the SEI is 10 % as thick (1 um wide) takes more current: its
    front runs ahead, tip - mean > 50 nm after 10 s."""
    ahead = {}
    for profile in ("uniform", "patch"):
        extra = {"sei.initial_profile": profile}
        if profile == "patch":
            extra.update({"sei.profile_amplitude": 0.9, "sei.profile_length": "1 um"})
        run_case(sei_2d(extra), tmp_path / profile)
        ts = series(tmp_path / profile)
        ahead[profile] = ts["tip_position_m"][-1] - (2e-6 + ts["deposit_thickness_m"][-1]
                                                     - ts["deposit_thickness_m"][0])
        assert ts["deposit_thickness_m"][-1] - ts["deposit_thickness_m"][0] > 0.1e-6
    points, L = last_field(tmp_path / "uniform", "sei_thickness")
    for x in np.unique(np.round(points[:, 0], 12)):
        row = L[np.isclose(points[:, 0], x, rtol=0, atol=1e-12)]
        assert np.ptp(row) < 1e-9 * row.mean()
    assert abs(ahead["uniform"]) < 2e-9
    assert ahead["patch"] > 50e-9


@pytest.mark.serial
def test_a_growing_disc_stretches_its_sei_and_keeps_l_times_r(tmp_path):
    """Surface conservation: a quarter disc growing by 20 % in radius under
    an SEI that does not grow keeps L R within 1 % (the dilation term), the
    areal strain at the front is R/R0 - 1 within 2 % of it; with
    critical_strain = 0.1 it cracks: L drops to the fresh film and the
    broken SEI's charge stays in the Faraday balance (a consistency check),
    and the charge through the reservoir from the gradient of phi_e
    (independent) matches the metal's, SEI's and double layers' within 1 %."""
    base = {"sei.ionic_resistivity": "1 ohm*m", "sei.solvent_diffusivity": "1e-26 m^2/s",
            "collector.potential": "-0.05 V", "time.end": "16 s"}
    run_case(sei_2d({**base, "sei.critical_strain": 1e6}, seeds=True), tmp_path / "whole")
    ts = series(tmp_path / "whole")
    radius = np.sqrt(4 * ts["deposit_thickness_m"] * 4e-6 / math.pi)
    assert radius[-1] > 1.2 * radius[0]
    product = ts["sei_thickness_m"] * radius
    assert product[-1] == pytest.approx(product[0], rel=1e-2)
    points, strain = last_field(tmp_path / "whole", "sei_strain")
    _, eta = last_field(tmp_path / "whole", "eta")
    front = np.abs(eta - 0.5) < 0.1
    assert np.median(strain[front]) == pytest.approx(radius[-1] / radius[0] - 1, rel=2e-2)

    run_case(sei_2d({**base, "sei.critical_strain": 0.1}, seeds=True), tmp_path / "cracked")
    ts = series(tmp_path / "cracked")
    assert ts["sei_cracked_charge_C_m2"][-1] > 0
    assert ts["sei_thickness_m"][-1] < 0.5 * 5e-9
    metal = FARADAY * (ts["metal_mol_m2"] - ts["metal_mol_m2"][0])
    double_layer = ts["double_layer_charge_C_m2"] - ts["double_layer_charge_C_m2"][0]
    residual = ts["collector_charge_C_m2"] - metal - ts["sei_charge_C_m2"] - double_layer
    assert np.abs(residual).max() < 1e-8 * ts["collector_charge_C_m2"][-1]
    # independent: the ionic current from the gradient of phi_e at the
    # reservoir face (not the residual), integrated by the trapezoid rule
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    through = trapezoid(ts["reservoir_current_from_gradient_A_m2"], ts["t_s"])
    spent = metal[-1] + ts["sei_charge_C_m2"][-1] + double_layer[-1]
    # measured 4.6e-3: a P1 flux on the 2-D mesh, the trapezoid over the
    # run's steps and a crack's fresh film paid within one step
    assert through == pytest.approx(spent, rel=1e-2), (through, spent)


@pytest.mark.serial
@pytest.mark.compat
def test_sei_results_are_the_same_on_1_and_2_ranks(tmp_path):
    """A random SEI on a 2-D front through the command line on 1 and 2
    ranks: every SEI and deposition column agrees to 1e-8 relative."""
    from helpers import assert_same_on_1_and_2_ranks
    case = sei_2d({"sei.initial_profile": "random", "time.end": "3 s", "sei.profile_length": "1 um"})
    assert_same_on_1_and_2_ranks(case, tmp_path, ("sei_thickness_m", "sei_charge_C_m2", "sei_drop_V",
                                                  "metal_mol_m2", "collector_charge_C_m2",
                                                  "tip_position_m"))


CASES = Path(__file__).resolve().parents[1] / "cases"


def thickness_at(rows, t):
    return float(np.interp(t, [r["t_s"] for r in rows], [r["sei_thickness_m"] for r in rows]))


def test_the_example_cases_show_what_their_comments_say(mpi_tmp_path):
    """cases/li_sei_year.toml: the closed form at one year; the passivating
    Li | argyrodite interphase plateaus (a year adds < 50 % to the first
    day's L), the mixed-conducting Li | LATP-like one keeps growing (> 10x),
    the Mg film blocks (rho L > 0.1 ohm m^2 = 1000 ohm cm^2); li_sei_patch
    is a valid case (tests above run its physics)."""
    from anodex.case import load_case
    day = 86400.0
    rows = {}
    for name in ("li_sei_year", "li_argyrodite_sei", "li_latp_sei", "mg_film_sei"):
        run_case(load_case(CASES / f"{name}.toml"), mpi_tmp_path / name)
        rows[name] = read_timeseries(mpi_tmp_path / name)
    expected = math.sqrt(25e-18 + 2 * 9.585e-5 * 2.5e-22 * 2636.0 * YEAR)
    assert rows["li_sei_year"][-1]["sei_thickness_m"] == pytest.approx(expected, rel=1e-6)
    growth = {k: v[-1]["sei_thickness_m"] / thickness_at(v, day) for k, v in rows.items()}
    assert growth["li_argyrodite_sei"] < 1.5
    assert growth["li_latp_sei"] > 10
    assert rows["mg_film_sei"][-1]["sei_resistance_ohm_m2"] > 0.1
    assert load_case(CASES / "li_sei_patch.toml").si["sei"]["initial_profile"] == "patch"


def test_electron_migration_above_the_sei_potential_forms_nothing(mpi_tmp_path):
    """At an electrode potential above U_SEI the electron-migration law
    forms no SEI (it does not dissolve it either; PyBaMM's convention):
    L stays L0 over the year, the run completes."""
    data = point_case(law="electron_migration", electronic_conductivity="1e-9 S/m",
                      equilibrium_potential="0.4 V", electrode_potential="1 V")
    for key in ("solvent_diffusivity", "solvent_concentration"):
        del data["sei"][key]
    assert run_case(validate(data, "<sei>"), mpi_tmp_path / "run")["status"] == "completed"
    assert read_timeseries(mpi_tmp_path / "run")[-1]["sei_thickness_m"] == pytest.approx(L0, rel=1e-12)


@pytest.mark.serial
def test_a_sweep_of_zero_d_runs_summarizes(tmp_path):
    """anodex summarize on 0-D SEI runs: their final thickness and charge in
    summary.csv, the SEI series plotted (not the deposit's, which they lack)."""
    from postprocess.summarize import summarize
    for T in ("298.15 K", "318.15 K"):
        data = point_case(activation_energy="30 kJ/mol")
        data["material"]["temperature"] = T
        run_case(validate(data, "<sei>"), tmp_path / T.replace(" ", ""))
    summarize(tmp_path)
    import csv
    with open(tmp_path / "summary.csv") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    assert float(rows["318.15K"]["sei_thickness_m"]) > float(rows["298.15K"]["sei_thickness_m"])
    assert (tmp_path / "summary_series.png").exists()
