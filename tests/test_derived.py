"""Derived quantities declared in the case ([output] derived,
solver/models/derived_quantities.py): against the closed-form steady state
of the tracer block (tests/tracer_block.py), over a mesh file's cell group,
and refused when they name what the model or the geometry lacks."""
import copy
import json
from pathlib import Path

import pytest

from conftest import read_timeseries
from solver.case import CaseError, load_case, validate
from solver.run import run_case

ROOT = Path(__file__).resolve().parents[1]
L, D, K, C_B = 20e-6, 1e-12, 2e-7, 100.0  # as tests/test_block_interface.py


def tracer_case(derived):
    return {"case": {"name": "tracer"}, "model": {"blocks": ["tracer"]},
            "geometry": {"kind": "interval", "length": f"{L!r} m", "cells": [40]},
            "tracer": {"diffusivity": f"{D!r} m^2/s", "rate_constant": f"{K!r} m/s",
                       "reservoir_concentration": f"{C_B!r} mol/m^3"},
            "time": {"end": "2000 s", "dt_initial": "0.1 s", "dt_max": "100 s"},
            "output": {"field_interval": "2000 s", "derived": derived}}


DERIVED = {
    "c_total": {"quantity": "total", "of": "tracer", "over": "domain"},
    "c_mean": {"quantity": "average", "of": "tracer", "over": "domain"},
    "c_electrode": {"quantity": "average", "of": "tracer", "over": "electrode"},
    "c_slope_out": {"quantity": "flux", "of": "tracer", "over": "reservoir"},
    "c_slope_in": {"quantity": "flux", "of": "tracer", "over": "electrode"},
}


def test_derived_columns_match_the_steady_profile(tracer, mpi_tmp_path):
    """Steady c(x) = c_b (1 + k x/D)/(1 + k L/D), linear, which P1 holds
    exactly: its integral, mean, value at x = 0 and slope (outward: +slope
    at the reservoir, -slope at the electrode), in SI."""
    out = mpi_tmp_path / "run"
    assert run_case(validate(tracer_case(DERIVED)), out)["status"] == "completed"
    last = read_timeseries(out)[-1]
    denominator = 1 + K * L / D
    total = C_B * (L + K * L * L / (2 * D)) / denominator  # mol/m^3 * m
    slope = C_B * (K / D) / denominator  # mol/m^3 / m
    assert last["c_total"] == pytest.approx(total, rel=1e-6)
    assert last["c_mean"] == pytest.approx(total / L, rel=1e-6)
    assert last["c_electrode"] == pytest.approx(C_B / denominator, rel=1e-6)
    assert last["c_slope_out"] == pytest.approx(slope, rel=1e-6)
    assert last["c_slope_in"] == pytest.approx(-slope, rel=1e-6)
    # the block's own column, computed by its own integral, agrees
    assert last["c_total"] == pytest.approx(last["tracer_amount_mol_m2"], rel=1e-12)
    # the resolved case.toml of the run reads back with the same entries (a restart)
    assert load_case(out / "case.toml").si["output"]["derived"] == DERIVED
    meta = json.loads((out / "metadata.json").read_text())["derived"]
    assert meta["c_total"]["unit"] == "mol/m^3*m"
    assert meta["c_slope_out"]["unit"] == "mol/m^3*m^-1"
    assert meta["c_mean"]["unit"] == "mol/m^3"


def test_derived_over_a_cell_group_of_a_mesh_file(mpi_tmp_path):
    """The graded layer's cell group "electrolyte" covers the whole mesh: its
    total and average equal those over the domain; the potential is held at
    the reservoir, so its average there is the reservoir potential; the
    walls carry no flux of the electrolyte potential (insulated) to the
    solver's tolerance, against the flux through the reservoir."""
    derived = {
        "eta_domain": {"quantity": "total", "of": "eta", "over": "domain"},
        "eta_group": {"quantity": "total", "of": "eta", "over": "electrolyte"},
        "mean_domain": {"quantity": "average", "of": "phi_e", "over": "domain"},
        "mean_group": {"quantity": "average", "of": "phi_e", "over": "electrolyte"},
        "phi_reservoir": {"quantity": "average", "of": "phi_e", "over": "reservoir"},
        "walls_flux": {"quantity": "flux", "of": "phi_e", "over": "walls"},
        "reservoir_flux": {"quantity": "flux", "of": "phi_e", "over": "reservoir"},
    }
    case = load_case(ROOT / "cases" / "li_graded_layer.toml",
                     {"time.max_steps": 3, "output.derived": derived})
    out = mpi_tmp_path / "run"
    run_case(case, out)
    last = read_timeseries(out)[-1]
    assert last["eta_group"] == pytest.approx(last["eta_domain"], rel=1e-12)
    assert last["mean_group"] == pytest.approx(last["mean_domain"], rel=1e-12)
    assert abs(last["phi_reservoir"]) < 1e-12  # [boundary] reservoir potential = 0 V
    assert abs(last["reservoir_flux"]) > 0
    assert abs(last["walls_flux"]) < 1e-6 * abs(last["reservoir_flux"])


@pytest.mark.parametrize("entry, message", [
    ({"quantity": "maximum", "of": "eta", "over": "domain"},
     "quantity 'maximum' is not one of total, average, flux"),
    ({"quantity": "total", "of": "temperature", "over": "domain"},
     "of 'temperature' is not an unknown or field of the model"),
    ({"quantity": "total", "of": "eta", "over": "left"},
     "over 'left': total is taken over domain, electrode, reservoir, bottom, top"),
    ({"quantity": "flux", "of": "eta", "over": "domain"},
     "over 'domain': flux is taken over electrode, reservoir, bottom, top"),
    ({"quantity": "total", "of": "eta"}, "must be a table of the strings quantity, of and over"),
    ({"quantity": "total", "of": "eta", "over": 3}, "must be a table of the strings"),
])
def test_bad_derived_entries_are_refused(entry, message):
    data = {"geometry": {"kind": "rectangle", "length": "20 um", "height": "10 um",
                         "cells": [10, 5]},
            "output": {"derived": {"x": entry}}}
    with pytest.raises(CaseError) as e:
        validate(copy.deepcopy(data), "<derived>")
    assert message in str(e.value)
    assert "[output] derived" in str(e.value)


def test_a_derived_column_may_not_take_a_blocks_name():
    data = {"output": {"derived": {"tip_position_m": {"quantity": "total", "of": "eta",
                                                      "over": "domain"}}}}
    with pytest.raises(CaseError, match="the time series has a column 'tip_position_m' "
                                        "already"):
        validate(data, "<derived>")
    with pytest.raises(CaseError, match="a column name is a letter"):
        validate({"output": {"derived": {"1x": {"quantity": "total", "of": "eta",
                                                "over": "domain"}}}}, "<derived>")
