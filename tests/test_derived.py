"""Derived quantities declared in the case ([output] derived,
anodex/models/derived_quantities.py): against the closed-form steady state
of the tracer block (tests/tracer_block.py), over a mesh file's cell group,
and refused when they name what the model or the geometry lacks."""
import copy
import json
from pathlib import Path

import pytest

from conftest import read_timeseries
from anodex.case import CaseError, load_case, validate
from anodex.simulation import run_case

ROOT = Path(__file__).resolve().parents[1]
L, D, K, C_B = 20e-6, 1e-12, 2e-7, 100.0  # as tests/test_block_interface.py


def tracer_case(derived, height=None):
    geometry = {"kind": "interval", "length": f"{L!r} m", "cells": [40]}
    if height:
        geometry = {"kind": "rectangle", "length": f"{L!r} m", "height": f"{height!r} m",
                    "cells": [40, 4]}
    return {"case": {"name": "tracer"}, "model": {"blocks": ["tracer"]}, "geometry": geometry,
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


@pytest.mark.parametrize("height", [None, 5e-6], ids=["interval", "rectangle"])
def test_derived_columns_match_the_steady_profile(tracer, mpi_tmp_path, height):
    """Steady c(x) = c_b (1 + k x/D)/(1 + k L/D), linear, which P1 holds
    exactly: its integral, mean, value at x = 0 and slope (outward: +slope
    at the reservoir, -slope at the electrode), in SI.  On a rectangle of
    height H the totals and fluxes are per metre of depth (times H), the top
    face sees the mean over x and no flux."""
    out = mpi_tmp_path / "run"
    derived = dict(DERIVED)
    if height:
        derived["c_top"] = {"quantity": "average", "of": "tracer", "over": "top"}
        derived["c_top_slope"] = {"quantity": "flux", "of": "tracer", "over": "top"}
    assert run_case(validate(tracer_case(derived, height)), out)["status"] == "completed"
    last = read_timeseries(out)[-1]
    denominator, H = 1 + K * L / D, height or 1.0
    total = C_B * (L + K * L * L / (2 * D)) / denominator  # mol/m^3 * m
    slope = C_B * (K / D) / denominator  # mol/m^3 / m
    assert last["c_total"] == pytest.approx(total * H, rel=1e-6)
    assert last["c_mean"] == pytest.approx(total / L, rel=1e-6)
    assert last["c_electrode"] == pytest.approx(C_B / denominator, rel=1e-6)
    assert last["c_slope_out"] == pytest.approx(slope * H, rel=1e-6)
    assert last["c_slope_in"] == pytest.approx(-slope * H, rel=1e-6)
    if height:
        assert last["c_top"] == pytest.approx(total / L, rel=1e-6)
        assert abs(last["c_top_slope"]) < 1e-9 * slope * H
    # the resolved case.toml of the run reads back with the same entries (a restart)
    assert load_case(out / "case.toml").si["output"]["derived"] == derived
    meta = json.loads((out / "metadata.json").read_text())["derived"]
    d = 2 if height else 1
    assert meta["c_total"]["unit"] == ("mol/m^3*m^2" if height else "mol/m^3*m")
    assert meta["c_slope_out"]["unit"] == ("mol/m^3" if d == 2 else "mol/m^3*m^-1")
    assert meta["c_mean"]["unit"] == "mol/m^3"


def test_derived_over_the_cell_groups_of_a_mesh_file(mpi_tmp_path):
    """The polycrystal's 15 grains (cell groups) tile its mesh: the totals of
    the phase field over each grain, each assembled over its own tagged
    cells, add up to the total over the domain, on any partition; the
    grain boundaries, an interior interface, are not a boundary to take a
    flux over."""
    grains = [f"grain_{i}" for i in range(1, 16)]
    derived = {g: {"quantity": "total", "of": "eta", "over": g} for g in grains}
    derived["domain"] = {"quantity": "total", "of": "eta", "over": "domain"}
    case = load_case(ROOT / "cases" / "li_polycrystal.toml",
                     {"time.max_steps": 2, "output.derived": derived})
    out = mpi_tmp_path / "run"
    run_case(case, out)
    last = read_timeseries(out)[-1]
    assert 0 < min(last[g] for g in grains) < max(last[g] for g in grains) < last["domain"]
    assert sum(last[g] for g in grains) == pytest.approx(last["domain"], rel=1e-12)
    with pytest.raises(CaseError, match="over 'grain_boundaries': flux is taken over walls, "
                                        "electrode, reservoir"):
        load_case(ROOT / "cases" / "li_polycrystal.toml", {"output.derived": {"x": {
            "quantity": "flux", "of": "eta", "over": "grain_boundaries"}}})


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


def test_a_restart_that_changes_the_derived_columns_loses_no_history(tracer, mpi_tmp_path):
    """Restarted with one entry dropped and one added: the dropped column keeps
    its rows (empty after the restart), the added one starts at the restart,
    and metadata.json has the definitions of both."""
    out = mpi_tmp_path / "run"
    first = {k: DERIVED[k] for k in ("c_total", "c_mean")}
    run_case(validate(tracer_case(first)), out)
    before = read_timeseries(out)
    changed = tracer_case({k: DERIVED[k] for k in ("c_total", "c_electrode")})
    changed["time"]["end"] = "3000 s"
    assert run_case(validate(changed), out, restart=True)["status"] == "completed"
    rows = read_timeseries(out)
    restart_step = int(before[-1]["step"])
    assert [r["c_mean"] for r in rows[:len(before)]] == [r["c_mean"] for r in before]
    assert all("c_mean" not in r for r in rows[len(before):])
    assert all("c_electrode" not in r for r in rows if r["step"] <= restart_step)
    assert all(r["c_electrode"] == pytest.approx(C_B / (1 + K * L / D), rel=1e-6)
               for r in rows[len(before):])
    meta = json.loads((out / "metadata.json").read_text())["derived"]
    assert set(meta) == {"c_total", "c_mean", "c_electrode"}
