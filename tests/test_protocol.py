"""Cycling protocols ([protocol], anodex/models/protocol.py): the steps as a
battery tester writes them, their checks, and runs whose schedule, currents,
capacities and metal are compared with closed forms written out here."""
import json
import re

import numpy as np
import pytest
from mpi4py import MPI

from conftest import read_timeseries
from helpers import assert_same_on_1_and_2_ranks
from anodex.case import CaseError, validate
from anodex.models.protocol import parse_step
from anodex.simulation import run_case

FARADAY = 96485.33212  # C/mol
Z = {"Li": 1, "Mg": 2}
ELECTROLYTE = {"Li": "LLZO", "Mg": "MgSc2Se4"}
MAH_CM2 = 3.6 / 1e-4  # C/m^2 in 1 mAh/cm^2
# metal against charge per step of a mixed protocol; measured: the holds
# 2.6e-7 and 1.5e-6 (the trapezoid rule's error), the current steps 3e-11
# and 8e-11
STEP_FARADAY_REL = 1e-5


def cycling_case(steps, repeat=1, metal="Li", film="4 um", control=None, end="1 h",
                 **extra):
    """A 1-D film on the collector, driven by a protocol (steps None: by
    [collector] control)."""
    data = {
        "case": {"name": "cycling"},
        "model": {"blocks": ["phase_field", "charge_transfer", "electronic_conduction",
                             "ionic_conduction"]},
        "material": {"metal": metal, "electrolyte": ELECTROLYTE[metal]},
        "geometry": {"kind": "interval", "length": "30 um", "cells": [120]},
        "phase_field": {"interface_relaxation_rate": "0.1 1/s", "boundary_values": False},
        "initial": {"interface_position": film},
        "reaction": {"exchange_current_density": "10 A/m^2"},
        "collector": {"control": control} if control else {},
        "protocol": {"steps": steps, "repeat": repeat} if steps else {},
        "time": {"dt_max": "1 s", **({"end": end} if end else {})},
        "solver": {"newton_tolerance": 1e-8},
        "output": {"field_interval": "10000 s"},
    }
    for section, values in extra.items():
        data.setdefault(section, {}).update(values)
    return validate(data, "<test>")


def run(case, path):
    run_case(case, path)
    rows = read_timeseries(path)
    return ({k: np.array([r[k] for r in rows]) for k in rows[0]},
            json.loads((path / "status.json").read_text()))


@pytest.mark.parametrize("text, control, value, duration, until", [
    ("Plate at 1 mA/cm2 for 1 h", "galvanostatic", 10.0, 3600.0, ()),
    ("strip at 0.5 mA/cm^2 until 0.5 V", "galvanostatic", -5.0, None, (("potential", 0.5),)),
    ("Rest for 10 min", "galvanostatic", 0.0, 600.0, ()),
    ("Hold at -0.1 V for 30 min or until 0.01 mA/cm2", "potentiostatic", -0.1, 1800.0,
     (("current", 0.1),)),
    ("Plate at 2 A/m^2 until 1 mAh/cm2", "galvanostatic", 2.0, None, (("capacity", 36000.0),)),
    ("Strip at 1 mA/cm2 for 2 days or until 1.5 V", "galvanostatic", -10.0, 172800.0,
     (("potential", 1.5),)),
    ("Plate at 1 mA/cm\u00b2 for 1 hr", "galvanostatic", 10.0, 3600.0, ()),
    ("Strip at 0.5 mA/cm\u00b2 until 0.5 V or until 0.2 mAh/cm\u00b2", "galvanostatic", -5.0,
     None, (("potential", 0.5), ("capacity", 7200.0))),
    ("Hold at 0.1 V for 2 yr or until 0.05 mA/cm2 or 1 mAh/cm2", "potentiostatic", 0.1,
     2 * 3.15576e7, (("current", 0.5), ("capacity", 36000.0))),
])
def test_steps_read_as_a_tester_writes_them(text, control, value, duration, until):
    step = parse_step(text)
    assert (step.control, step.duration, step.until) == (control, duration, until)
    assert step.value == pytest.approx(value, rel=1e-12)


def test_a_capacity_at_fixed_current_is_a_known_time():
    assert parse_step("Plate at 10 mA/cm2 until 0.1 mAh/cm2").time_limit == pytest.approx(36.0)
    assert parse_step("Plate at 10 mA/cm2 for 10 s or until 0.1 mAh/cm2").time_limit == 10.0
    assert parse_step("Strip at 1 mA/cm2 until 0.5 V").time_limit is None


@pytest.mark.parametrize("text, fragment", [
    ("Charge at 1 mA/cm2 for 1 h", "a step is Plate/Strip at a current"),
    ("Plate at 1 mA/cm2", "give when the step ends"),
    ("Plate at -1 mA/cm2 for 1 h", "positive current"),
    ("Plate at 1 V for 1 h", "needs A/m^2"),
    ("Rest at 1 mA/cm2 for 1 h", "Rest takes no `at`"),
    ("Rest until 0.5 V", "a rest ends `for` a time"),
    ("Hold at -0.1 V until 0.5 V", "ends `until` a current or capacity"),
    ("Plate at 1 mA/cm2 until 3 furlongs", "a potential"),
    ("Plate at 1 mA/cm2 for -1 h", "positive time"),
    ("Hold for 1 h", "Hold needs `at` a potential"),
    ("Plate at 1 mA/cm2 for 2 min or until 0.5 V", "plate drives the cell potential below 0 V"),
    ("Strip at 1 mA/cm2 until -0.1 V", "strip drives the cell potential above 0 V"),
])
def test_bad_steps_say_what_is_wrong(text, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace("^", r"\^")):
        parse_step(text)


@pytest.mark.parametrize("steps, extra, fragment", [
    (["Plate at 1 mA/cm2 for 1 s", "Hold at 30 V for 1 s"], {},
     "steps[1]: 30 V lies outside [-20, 20] V, the range of [collector] potential"),
    (["Plate at 1e5 A/cm2 for 1 s"], {},
     "steps[0]: 1e+09 A/m^2 lies outside [-1e+08, 1e+08] A/m^2"),
    (["Plate at 1 mA/cm2 for 1 h"], {"time": {"end": "10 min"}},
     "ends the run before the protocol's 3600 s"),
    (["Plate at 1 mA/cm2 for 1 s", "Plate at"], {}, "steps[1]"),
    (["Strip at 1 mA/cm2 until 6 V"], {},
     "lies beyond [collector] cutoff_potential (+-5 V)"),
])
def test_bad_protocols_are_refused_before_the_run(steps, extra, fragment):
    with pytest.raises(CaseError) as e:
        cycling_case(steps, **extra)
    assert fragment in str(e.value)


def test_a_protocol_sets_the_end_of_a_run_that_gives_none():
    """Without [time] end the protocol ends the run: the end is its latest
    (each step's `for` time, or capacity / current: 36 s at 10 mA/cm2 for
    0.1 mAh/cm2), or unbounded when a step ends by a potential cut-off
    only; a given end is kept."""
    def end_of(steps, repeat=1, **time):
        raw = cycling_case(steps, repeat).raw
        raw["time"] = {k: v for k, v in raw["time"].items() if k != "end"} | time
        case = validate(raw, "<test>")
        return case.si["time"]["end"], case.provenance.get("time.end", "")
    end, how = end_of(["Plate at 10 mA/cm2 until 0.1 mAh/cm2", "Rest for 20 s",
                       "Strip at 10 mA/cm2 for 30 s or until 0.5 V"], repeat=3)
    assert end == pytest.approx(3 * (36.0 + 20.0 + 30.0)) and "latest end" in how
    end, how = end_of(["Plate at 1 mA/cm2 for 1 h", "Strip at 1 mA/cm2 until 0.5 V"])
    assert end >= 1e9 and "cut-offs" in how
    assert end_of(["Rest for 1 h"], end="2 h")[0] == 7200.0


def test_a_protocol_writes_fields_about_ten_times_per_step():
    """Without [output] field_interval a protocol writes fields every tenth
    of its shortest timed step (1 h and 2 h steps: 360 s), never more often
    than the 10 s default; a given interval is kept.  (The 10 s default
    wrote 4233 snapshots of a 12 h protocol, each step landing on them.)"""
    def interval(steps, **output):
        raw = cycling_case(steps, 1).raw
        raw["output"] = {k: v for k, v in raw.get("output", {}).items()
                         if k != "field_interval"} | output
        case = validate(raw, "<test>")
        return case.si["output"]["field_interval"], case.provenance.get("output.field_interval", "")
    value, how = interval(["Plate at 1 mA/cm2 for 1 h", "Strip at 1 mA/cm2 for 2 h or until 0.5 V"])
    assert value == pytest.approx(360.0) and "shortest timed step" in how
    assert interval(["Plate at 1 mA/cm2 for 1 min"])[0] == 10.0
    assert interval(["Strip at 1 mA/cm2 until 0.5 V"])[0] == 10.0
    assert interval(["Plate at 1 mA/cm2 for 1 h"], field_interval="1 min")[0] == 60.0


def _expected_step(t, ends):
    """The protocol step (0-based, over all cycles) a time step ending at t
    belongs to, from the step end times."""
    return int(np.searchsorted(ends, t * (1 - 1e-9), side="left"))


@pytest.mark.parametrize("metal", ["Li", "Mg"])
def test_a_cycling_protocol_runs_its_schedule(metal, mpi_tmp_path):
    """Plate 0.1 mAh/cm2 at 10 mA/cm2 (36 s), rest 20 s, strip 30 s at
    10 mA/cm2, twice: every row's step and cycle follow the closed-form
    schedule, the steps land on their ends, each step's current is its set
    value, the capacity is I t, the run ends "completed" ("protocol finished"), and the
    metal counted from the phase field follows the charge through the
    collector (Faraday, z of the metal)."""
    steps = ["Plate at 10 mA/cm2 until 0.1 mAh/cm2", "Rest for 20 s",
             "Strip at 10 mA/cm2 for 30 s"]
    ts, status = run(cycling_case(steps, repeat=2, metal=metal), mpi_tmp_path / "cyc")
    assert status["status"] == "completed" and "protocol finished" in status["reason"]
    durations = [0.1 * MAH_CM2 / 100.0, 20.0, 30.0] * 2
    ends = np.cumsum(durations)
    assert ts["t_s"][-1] == pytest.approx(ends[-1], rel=1e-9)
    for t in ends:  # a row on every step's end
        assert np.abs(ts["t_s"] - t).min() < 1e-9 * t
    k = np.array([_expected_step(t, ends) for t in ts["t_s"][1:]])
    assert list(ts["step_index"][1:]) == list(k % 3 + 1)
    assert list(ts["cycle"][1:]) == list(k // 3 + 1)
    current = ts["collector_current_A_m2"][1:]
    set_value = np.array([100.0, 0.0, -100.0])[k % 3]
    assert np.abs(current - set_value).max() < 1e-3  # (1e-5 of the set current)
    # the charge in closed form: per 86 s cycle, +100 A/m^2 for 36 s, then
    # -100 A/m^2 from 56 s to 86 s (600 C/m^2 net per cycle)
    cycles, tau = np.divmod(ts["t_s"], 86.0)
    charge = 600.0 * cycles + 100.0 * np.minimum(tau, 36.0) - 100.0 * np.clip(tau - 56.0, 0, 30.0)
    assert ts["capacity_mAh_cm2"] == pytest.approx(charge / MAH_CM2, rel=1e-5, abs=1e-7)
    metal_change = ts["metal_mol_m2"][-1] - ts["metal_mol_m2"][0]
    assert metal_change == pytest.approx(2 * 600.0 / (Z[metal] * FARADAY), rel=1e-3)
    # protocol.csv: one row per step that ended, at its closed-form end, with why
    import csv
    with open(mpi_tmp_path / "cyc" / "protocol.csv", newline="") as f:
        ended = list(csv.DictReader(f))
    assert [float(r["t_s"]) for r in ended] == pytest.approx(list(ends), rel=1e-9)
    assert [r["ended_by"].split()[0] for r in ended] == ["capacity", "time", "time"] * 2
    assert float(ended[0]["step_capacity_mAh_cm2"]) == pytest.approx(0.1, rel=1e-6)


def test_a_potential_cut_off_ends_the_step_that_crosses_it(mpi_tmp_path):
    """Strip a 1 um Li film at 10 mA/cm2 until 0.3 V: the potential rises as
    the metal runs out; the strip ends on the first row at or above 0.3 V
    (the row before it is below), with metal left, and the plate follows."""
    steps = ["Strip at 10 mA/cm2 until 0.3 V", "Plate at 10 mA/cm2 for 10 s"]
    ts, status = run(cycling_case(steps, film="1 um"), mpi_tmp_path / "cut")
    assert status["status"] == "completed" and "protocol finished" in status["reason"]
    strip = np.flatnonzero(ts["step_index"] == 1)[1:]
    last = strip[-1]
    assert ts["cell_potential_V"][last] >= 0.3 > ts["cell_potential_V"][last - 1]
    assert np.all(ts["cell_potential_V"][strip[:-1]] < 0.3)
    assert ts["metal_mol_m2"][last] > 0
    plate = np.flatnonzero(ts["step_index"] == 2)
    assert ts["t_s"][plate[-1]] - ts["t_s"][last] == pytest.approx(10.0, rel=1e-9)


def test_a_potentiostatic_hold_until_its_current_decays(mpi_tmp_path):
    """Hold at -0.05 V (plating), then at 0 V until |I| < 0.1 mA/cm2: at
    0 V a film at rest passes no current, so the second hold ends after its
    first time step; every row's potential is its step's set value."""
    steps = ["Hold at -0.05 V for 20 s", "Hold at 0 V for 100 s or until 0.1 mA/cm2"]
    ts, status = run(cycling_case(steps), mpi_tmp_path / "hold")
    assert "protocol finished" in status["reason"]
    second = np.flatnonzero(ts["step_index"] == 2)
    # ended after its first time step, long before its 100 s
    assert len(second) == 1 and ts["t_s"][second[0]] - 20.0 < 100.0
    first = np.flatnonzero(ts["step_index"] == 1)[1:]
    assert ts["collector_current_A_m2"][first].min() > 1.0  # plating while held at -0.05 V


def test_holds_and_currents_mix_in_one_protocol(mpi_tmp_path):
    """A hold, a plate, a hold and a strip (the collector's control switches
    three times): the first hold passes the current of the same film held
    at -0.1 V without a protocol (a run of the plain potentiostatic
    control), every hold row sits at its set potential, every current row
    passes its set current, and the metal counted from the phase field
    follows the ionic current entering at the reservoir face (from the
    gradient of phi_e, integrated by the trapezoid rule here)."""
    steps = ["Hold at -0.1 V for 20 s", "Plate at 10 mA/cm2 for 20 s",
             "Hold at -0.05 V for 20 s", "Strip at 10 mA/cm2 for 20 s"]
    ts, status = run(cycling_case(steps, end="80 s"), mpi_tmp_path / "mixed")
    assert "protocol finished" in status["reason"], status
    plain, _ = run(cycling_case(None, control="potentiostatic", end="20 s",
                                collector={"potential": "-0.1 V"}), mpi_tmp_path / "plain")
    at_20 = np.flatnonzero(np.isclose(ts["t_s"], 20.0, rtol=1e-9))
    assert plain["t_s"][-1] == pytest.approx(20.0, rel=1e-9) and len(at_20) == 1
    assert plain["collector_current_A_m2"][-1] > 1.0  # (plating)
    assert ts["collector_current_A_m2"][at_20[0]] == pytest.approx(
        plain["collector_current_A_m2"][-1], rel=1e-6)
    k = ts["step_index"][1:]
    potential, current = ts["cell_potential_V"][1:], ts["collector_current_A_m2"][1:]
    assert np.abs(potential[k == 1] + 0.1).max() < 1e-9
    assert np.abs(potential[k == 3] + 0.05).max() < 1e-9
    assert np.abs(current[k == 2] - 100.0).max() < 1e-3
    assert np.abs(current[k == 4] + 100.0).max() < 1e-3
    # per step: the charge of the current steps is I t; a hold's is the
    # ionic current at the reservoir face integrated over its rows: the
    # first time step after a control jump is backward Euler (the time
    # scheme restarts there), the right end's value times dt; the trapezoid
    # rule after it
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    ionic, t = ts["reservoir_current_from_gradient_A_m2"], ts["t_s"]
    for step, set_charge in ((1, None), (2, 2000.0), (3, None), (4, -2000.0)):
        rows = np.flatnonzero(ts["step_index"] == step)
        rows = rows[rows > 0]  # (the row of t = 0 carries step_index 1)
        before = rows[0] - 1
        metal = (ts["metal_mol_m2"][rows[-1]] - ts["metal_mol_m2"][before]) * Z["Li"] * FARADAY
        layers = ts["double_layer_charge_C_m2"][rows[-1]] - ts["double_layer_charge_C_m2"][before]
        charge = set_charge if set_charge is not None else (
            ionic[rows[0]] * (t[rows[0]] - t[before]) + trapezoid(ionic[rows], t[rows]))
        assert metal == pytest.approx(charge - layers, rel=STEP_FARADAY_REL), step


def test_cc_cv_strips_to_the_end_then_plates_again(mpi_tmp_path):
    """Strip a 1 um Li film at 10 mA/cm2 until 0.3 V, hold at 0.3 V until
    the current falls below 5 mA/cm2 (the metal runs out, so it decays),
    then plate 10 s at 10 mA/cm2: the hold's current falls on every row
    and ends on the first row below the cut-off; the run goes on from the
    metal left (it is not stopped as "metal depleted": the next step
    plates) and grows I t / (zF) in the plate, less the double layers'
    charge (the potential swings from +0.3 to -0.36 V)."""
    steps = ["Strip at 10 mA/cm2 until 0.3 V", "Hold at 0.3 V until 5 mA/cm2",
             "Plate at 10 mA/cm2 for 10 s"]
    ts, status = run(cycling_case(steps, film="1 um", end="10 min"), mpi_tmp_path / "cccv")
    assert "protocol finished" in status["reason"], status
    hold = np.flatnonzero(ts["step_index"] == 2)
    held = -ts["collector_current_A_m2"][hold]
    assert np.all(np.diff(held) < 0) and held[-1] < 50.0 <= held[-2]
    assert np.abs(ts["cell_potential_V"][hold] - 0.3).max() < 1e-9
    plate = np.flatnonzero(ts["step_index"] == 3)
    assert ts["t_s"][plate[-1]] - ts["t_s"][hold[-1]] == pytest.approx(10.0, rel=1e-9)
    grown = ts["metal_mol_m2"][plate[-1]] - ts["metal_mol_m2"][hold[-1]]
    layers = ts["double_layer_charge_C_m2"][plate[-1]] - ts["double_layer_charge_C_m2"][hold[-1]]
    assert grown * Z["Li"] * FARADAY + layers == pytest.approx(100.0 * 10.0, rel=1e-6)


@pytest.mark.parametrize("steps", [
    ["Plate at 10 mA/cm2 for 20 s", "Hold at -0.1 V for 20 s"],
    ["Strip at 10 mA/cm2 for 20 s", "Hold at 0 V for 20 s"]])
def test_a_hold_after_a_current_step_starts_at_its_potential(steps, mpi_tmp_path):
    """Mg (z = 2: 2 RT/zF = 26 mV per Newton iteration at most): a hold
    0.2-0.3 V away from where the current step left the cell.  Newton
    starts with the metal at the hold's potential, and the protocol
    finishes (measured: 1 and 2 failed solves at the hold, each retried at
    a smaller dt; walking the metal there from the old potential failed
    the plate -> hold at every dt down to dt_min); the current step's metal
    is its I t / (zF), less the double layers' charge."""
    ts, status = run(cycling_case(steps, metal="Mg", end="1 h"), mpi_tmp_path / "mg")
    assert status["status"] == "completed", status
    first = np.flatnonzero(ts["step_index"] == 1)[-1]
    sign = 1 if steps[0].startswith("Plate") else -1
    moved = (ts["metal_mol_m2"][first] - ts["metal_mol_m2"][0]) * Z["Mg"] * FARADAY
    layers = ts["double_layer_charge_C_m2"][first] - ts["double_layer_charge_C_m2"][0]
    assert moved + layers == pytest.approx(sign * 100.0 * 20.0, rel=1e-6)


def test_running_out_of_metal_ends_the_strip_and_the_protocol_goes_on(mpi_tmp_path):
    """Strip a 1 um Li film at 2 mA/cm2 until 0.5 V: the metal runs out
    (less than 0.01 l left) before the potential gets there, which ends the
    strip (protocol.csv: "metal depleted"), not the run; the rest and the
    plate after it run, and the plate grows I t / (zF).  The same strip
    without a protocol ends the run "metal depleted"."""
    steps = ["Strip at 2 mA/cm2 until 0.5 V", "Rest for 10 s", "Plate at 2 mA/cm2 for 20 s"]
    ts, status = run(cycling_case(steps, film="1 um", end="2 h"), mpi_tmp_path / "out")
    assert status["status"] == "completed" and "protocol finished" in status["reason"], status
    import csv
    with open(mpi_tmp_path / "out" / "protocol.csv", newline="") as f:
        ended = list(csv.DictReader(f))
    assert [r["ended_by"].split(":")[0] for r in ended] == [
        "metal depleted", "time reached", "time reached"]
    strip = np.flatnonzero(ts["step_index"] == 1)
    assert ts["cell_potential_V"][strip[-1]] < 0.5  # (the cut-off was not reached)
    assert 0 < ts["deposit_thickness_m"][strip[-1]] < 0.01 * 0.5e-6
    plate = np.flatnonzero(ts["step_index"] == 3)
    grown = ts["metal_mol_m2"][plate[-1]] - ts["metal_mol_m2"][plate[0] - 1]
    assert grown == pytest.approx(20.0 * 20.0 / (Z["Li"] * FARADAY), rel=1e-3)
    alone, status = run(cycling_case(None, film="1 um", end="2 h", collector={
        "control": "galvanostatic", "current_density": "-2 mA/cm2"}), mpi_tmp_path / "alone")
    assert status["status"] == "stopped" and "metal depleted" in status["reason"], status


def test_the_progress_of_a_protocol_that_ends_by_cut_offs_counts_steps(mpi_tmp_path):
    """Its [time] end is a bound (1e10 s), not a length: the progress line
    counts the protocol's steps instead, and is printed when the protocol
    ends (before: "t = 930 s of 1e+10 s (0.0 %) ... ETA ~6932:10:39")."""
    path = mpi_tmp_path / "cut"
    _, status = run(cycling_case(["Strip at 2 mA/cm2 until 0.5 V"], film="1 um", end=None),
                    path)
    assert "protocol finished" in status["reason"], status
    if MPI.COMM_WORLD.rank == 0:
        lines = [line for line in (path / "run.log").read_text().splitlines()
                 if " INFO t = " in line]
        assert lines and all("of the steps" in line and "1e+10" not in line for line in lines)
        assert "(100.0 % of the steps)" in lines[-1]


def test_a_finished_protocol_restarted_with_more_cycles_runs_them(mpi_tmp_path):
    """The run's end was derived from its protocol (1 cycle of 10 s); a
    restart with repeat = 3 derives it again (30 s) and runs cycles 2 and 3
    (before, the resolved case.toml's end held it at the first cycle's)."""
    from anodex.case import load_case
    path = mpi_tmp_path / "more"
    case = cycling_case(["Plate at 10 mA/cm2 for 5 s", "Rest for 5 s"], end=None)
    assert case.si["time"]["end"] == pytest.approx(10.0)
    ts, status = run(case, path)
    assert "protocol finished" in status["reason"] and max(ts["cycle"]) == 1
    again = load_case(path / "case.toml", {"protocol.repeat": 3}, rederive=True)
    assert again.si["time"]["end"] == pytest.approx(30.0)
    run_case(again, path, restart=True)
    rows = read_timeseries(path)
    assert max(r["cycle"] for r in rows) == 3
    assert rows[-1]["t_s"] == pytest.approx(30.0, rel=1e-9)
    assert "protocol finished: 2 step(s) x 3" in json.loads(
        (path / "status.json").read_text())["reason"]


def test_a_restart_keeps_the_protocol_and_the_geometry(mpi_tmp_path):
    """The checkpoint counts protocol steps on its mesh: a restart with other
    steps, fewer cycles than were run, or another geometry with as many
    nodes (which took the fields over, metal from nothing) is refused
    before anything is built; more cycles are fine."""
    from anodex.case import load_case
    from anodex.checkpoint import CheckpointError, check
    path = mpi_tmp_path / "kept"
    run(cycling_case(["Plate at 10 mA/cm2 for 5 s", "Rest for 5 s"], repeat=3, end=None),
        path)
    if MPI.COMM_WORLD.rank != 0:
        return
    for change, message in (
            ({"protocol.steps": ["Plate at 10 mA/cm2 for 5 s"]}, "keeps [protocol] steps"),
            ({"protocol.repeat": 2}, "a restart can only add cycles"),
            ({"geometry.length": "20 um"}, "keeps [geometry] length")):
        with pytest.raises(CheckpointError, match=re.escape(message)):
            check(path, load_case(path / "case.toml", change, rederive=True))
    check(path, load_case(path / "case.toml", {"protocol.repeat": 4}, rederive=True))


def test_a_finished_protocol_extended_in_time_takes_no_step(mpi_tmp_path):
    """--restart of a finished protocol with a later [time] end: nothing is
    left, so the run stops "protocol finished" without a step (before, it
    took one more under the last step's current)."""
    from anodex.case import load_case
    path = mpi_tmp_path / "done"
    ts, status = run(cycling_case(["Plate at 10 mA/cm2 for 5 s"]), path)
    assert "protocol finished" in status["reason"]
    run_case(load_case(path / "case.toml", {"time.end": "2 h"}), path, restart=True)
    again = read_timeseries(path)
    assert len(again) == len(ts["step"])
    assert "protocol finished" in json.loads((path / "status.json").read_text())["reason"]


@pytest.mark.serial
def test_protocol_runs_alike_on_1_and_2_ranks(tmp_path):
    """The schedule, the capacity and the cell potential (to 1 uV: at rest
    it is ~1e-5 V, where the two differ at the solver's tolerance)."""
    case = cycling_case(["Plate at 10 mA/cm2 until 0.05 mAh/cm2", "Rest for 5 s",
                         "Strip at 10 mA/cm2 until 0.3 V"], repeat=2)
    assert_same_on_1_and_2_ranks(case, tmp_path, ["t_s", "step_index", "cycle"], rel=1e-9)
    one, two = (read_timeseries(tmp_path / f"n{n}") for n in (1, 2))
    assert max(abs(a["cell_potential_V"] - b["cell_potential_V"]) for a, b in zip(one, two)) < 1e-6
    # (1e-6 of the step's 0.05 mAh/cm2: near zero the charge differs in its noise)
    assert max(abs(a["capacity_mAh_cm2"] - b["capacity_mAh_cm2"]) for a, b in zip(one, two)) < 5e-8


@pytest.mark.serial
def test_a_mixed_protocol_in_2d_runs_alike_on_1_and_2_ranks(tmp_path):
    """2-D (the collector foil's equation along the face, switched off and
    on by the holds): plate, hold, strip, rest on 1 and 2 ranks give the
    same schedule, potentials, currents and metal; the hold rows sit at
    their set potential, the current rows pass their set current."""
    case = cycling_case(["Plate at 10 mA/cm2 for 5 s", "Hold at -0.15 V for 5 s",
                         "Strip at 10 mA/cm2 for 5 s", "Rest for 2 s"], end="20 s",
                        geometry={"kind": "rectangle", "length": "20 um", "height": "10 um",
                                  "cells": [40, 20]}, reaction={"gibbs_thomson": False},
                        # (at 1 s the second strip step failed once and was retaken
                        # after 30 Newton iterations on 2 ranks, the limit: a step
                        # count that could differ between partitions)
                        time={"dt_max": "0.25 s"})
    assert_same_on_1_and_2_ranks(case, tmp_path, ["t_s", "step_index", "cycle"], rel=1e-9)
    one, two = (read_timeseries(tmp_path / f"n{n}") for n in (1, 2))
    # (currents to 1e-5 of the set 100 A/m^2: 1 and 2 ranks differed by up
    # to 1.3e-4 A/m^2 with dolfinx 0.11, the Newton tolerance's share)
    for col, tol in (("cell_potential_V", 1e-6), ("collector_current_A_m2", 1e-3),
                     ("metal_mol_m2", 1e-9)):
        assert max(abs(a[col] - b[col]) for a, b in zip(one, two)) < tol, col
    k = np.array([r["step_index"] for r in one[1:]])
    potential = np.array([r["cell_potential_V"] for r in one[1:]])
    current = np.array([r["collector_current_A_m2"] for r in one[1:]])
    assert np.abs(potential[k == 2] + 0.15).max() < 1e-9
    assert np.abs(current[k == 1] - 100.0).max() < 1e-3
    assert np.abs(current[k == 3] + 100.0).max() < 1e-3
    assert np.abs(current[k == 4]).max() < 1e-3
    # the plate's metal: I t / (zF), less the double layers' share
    metal = np.array([r["metal_mol_m2"] for r in one])
    layers = np.array([r["double_layer_charge_C_m2"] for r in one])
    plate = np.flatnonzero(k == 1)[-1] + 1  # (rows after the t = 0 row)
    assert (metal[plate] - metal[0]) * Z["Li"] * FARADAY + layers[plate] - layers[0] == \
        pytest.approx(100.0 * 5.0, rel=1e-6)


@pytest.mark.parametrize("text, message", [
    ("Hold at -0.05 V until 0.01 mA/cm2 or until 2 min", 'a time is given with `for` ("for 2 min")'),
    ("Plate at 1 mA/cm2 for 10 s, Rest for 5 s", "one step per entry of the list"),
])
def test_a_misread_step_says_how_to_write_it(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_step(text)


def test_a_step_may_last_seconds_spelt_out():
    assert parse_step("Rest for 30 seconds").duration == 30.0
    assert parse_step("Rest for 1 second").duration == 1.0


def test_the_first_of_several_cut_offs_ends_the_step():
    """'until 0.5 V or until 0.1 mAh/cm2' at 1 mA/cm^2: the capacity is
    known beforehand (360 s), the potential ends it earlier when reached."""
    step = parse_step("Strip at 1 mA/cm2 until 0.5 V or until 0.1 mAh/cm2")
    assert step.time_limit == pytest.approx(360.0)
    assert step.ended(100.0, 0.2, -10.0, -1000.0) is None
    assert "potential" in step.ended(100.0, 0.6, -10.0, -1000.0)
    assert "capacity" in step.ended(360.0, 0.2, -10.0, -3600.0)


def test_the_progress_counts_the_running_step_by_its_time():
    """fraction_done: the steps finished plus the running step's share of
    its time limit (200 s of plating then 200 s of rest: 1/4 at 100 s, 3/4
    at 300 s), so a protocol's first progress line is not 0 %."""
    from helpers import Simulation
    sim = Simulation(cycling_case(["Plate at 0.1 mA/cm2 for 200 s", "Rest for 200 s"]))
    block = next(b for b in sim.pb.blocks if b.name == "electronic_conduction")
    internal = 1.0 / sim.pb.scales.time
    assert block.fraction_done() == 0.0
    block.t_seen = 100.0 * internal
    assert block.fraction_done() == pytest.approx(0.25, abs=1e-9)
    block.steps_done, block.step_start, block.t_seen = 1, 200.0 * internal, 300.0 * internal
    assert block.fraction_done() == pytest.approx(0.75, abs=1e-9)


def test_the_progress_counts_a_cut_off_step_by_its_last_cycle():
    """A step that ends by a potential cut-off has no length beforehand: it
    counts as 0 in the first cycle, and by its first cycle's length after
    (plate 200 s, strip until 0.5 V which took 150 s, twice: 3/4 + 1/4 x
    75/150 once the second strip has run 75 s)."""
    from helpers import Simulation
    sim = Simulation(cycling_case(["Plate at 0.1 mA/cm2 for 200 s",
                                   "Strip at 0.1 mA/cm2 until 0.5 V"], repeat=2))
    block = next(b for b in sim.pb.blocks if b.name == "electronic_conduction")
    internal = 1.0 / sim.pb.scales.time
    block.steps_done, block.step_start, block.t_seen = 1, 200.0 * internal, 300.0 * internal
    assert block.fraction_done() == pytest.approx(0.25, abs=1e-9)  # (no estimate yet)
    row = {"cell_potential_V": 0.6, "collector_current_A_m2": -1.0, "step_index": 2,
           "cycle": 1}
    assert block.after_step(sim.pb, 10, 350.0 * internal, 1.0, row)  # (the cut-off)
    block.steps_done, block.step_start, block.t_seen = 3, 550.0 * internal, 625.0 * internal
    assert block.fraction_done() == pytest.approx(0.75 + 0.25 * 75.0 / 150.0, abs=1e-9)
