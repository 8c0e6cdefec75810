"""Case validation: every bad input is reported with file, key and remedy."""
import math
from pathlib import Path

import pytest

from anodex.case import CaseError, load_case, reference_markdown
from anodex.models.grand_potential import published_numbers

ROOT = Path(__file__).resolve().parents[1]
HONG = ROOT / "cases" / "hong2018_li_dendrite.toml"


def write(tmp_path, text, name="bad.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_default_and_hong_cases_validate():
    assert load_case(None).si["geometry"]["kind"] == "rectangle"
    case = load_case(HONG)
    assert case.si["geometry"]["cells"] == [200, 200]
    # the published resolution is accepted, with a note (not a warning: the
    # user cannot act on it and keep the published case) about the jumps
    from anodex.blocks import Note
    notes = [w for w in case.warnings if "jumps of a cell" in w]
    assert notes and all(isinstance(w, Note) for w in notes)


def test_hong_case_maps_onto_published_numbers():
    """The SI case reproduces the published non-dimensional input."""
    case = load_case(HONG)
    scales, p = case.model.scales, case.model.p
    n = published_numbers(case.si, scales, p)
    published = {"AA (zF/RT, 1/V)": 38.69, "M0 (D in um^2/s)": 317.9, "S1 (S/m)": 1e6,
                 "S2 (S/m)": 1.19, "ft2 (zF c_s um^2/s)": 0.0074, "L": 6.25, "W": 2.4,
                 "kappa": 0.3, "Ls": 1e-3, "1/c0": 14.89, "dv": 5.5}
    for key, value in published.items():
        # AA: 300 K gives 38.68 (published 38.69); ft2 is published to 2 digits
        assert math.isclose(n[key], value, rel_tol=3e-3), (key, n[key], value)


@pytest.mark.parametrize("text,fragments", [
    ("[electrolyte]\nconductivty = \"1 S/m\"\n",
     ["[electrolyte] conductivty", "unknown key", "did you mean 'conductivity'"]),
    ("[bogus]\nx = 1\n", ["unknown section [bogus]", "valid sections"]),
    ("[electrolyte]\nconductivity = \"-1.19 S/m\"\n", ["[electrolyte] conductivity", "must be > 0"]),
    ("[electrolyte]\nconductivity = 1.19\n", ["[electrolyte] conductivity", "missing unit"]),
    ("[electrolyte]\ndiffusivity = \"3e-10 m/s\"\n", ["[electrolyte] diffusivity", "needs m^2/s"]),
    ("[time]\ndt_initial = \"0 s\"\n", ["[time] dt_initial", "must be > 0"]),
    ("[time]\ndt_initial = \"-0.1 s\"\n", ["[time] dt_initial", "must be > 0"]),
    ("[geometry]\ncells = \"many\"\n", ["[geometry] cells", "list of positive integers"]),
    ("[material]\ncharge_number = 1.5\n", ["[material] charge_number", "must be an integer"]),
    ("[time]\nscheme = \"rk4\"\n", ["[time] scheme", "'bdf1', 'bdf2'"]),
    ("[time]\nerror_norm = \"l2\"\n", ["[time] error_norm", "'max', 'rms'"]),
    ("[solver]\npreset = \"amg\"\n", ["[solver] preset", "needs a single unknown",
                                         "use auto, direct or fieldsplit"]),
    ("[noise]\namplitude = \"0.04 1/s\"\ncorrelation_time = \"1e-6 s\"\n",
     ["[noise] correlation_time", "more than 10000 noise windows", "use at least 0.0001 s"]),
    ("[geometry]\ncells = [40, 40]\n", ["[geometry] cells", "larger than the 10-90 % interface width",
                                        "at least 183 cells"]),
    ("[model]\nblocks = [\"phase_field\", \"plasticity\"]\n", ["[model] blocks", "unknown model block"]),
    ("[model]\nblocks = [\"butler_volmer\", \"phase_field\"]\n",
     ["[model] blocks", "needs unknown", "overpotential comes from potential",
      "concentration_ratio comes from ion_transport: add it to [model] blocks"]),
    ("[electrolyte\n", ["not valid TOML"]),
])
def test_bad_input_is_reported_with_file_and_key(tmp_path, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(CaseError) as err:
        load_case(path)
    msg = str(err.value)
    assert str(path) in msg
    for f in fragments:
        assert f in msg, (f, msg)


def test_all_problems_reported_at_once(tmp_path):
    path = write(tmp_path, "[electrolyte]\nconductivity = \"-1 S/m\"\ndiffusivity = 3\n")
    with pytest.raises(CaseError) as err:
        load_case(path)
    assert "conductivity" in str(err.value) and "diffusivity" in str(err.value)


def test_missing_file():
    with pytest.raises(CaseError, match="no such case file"):
        load_case("/nonexistent/case.toml")


def test_resolved_case_round_trips(tmp_path):
    case = load_case(HONG)
    again = load_case(write(tmp_path, case.to_toml(), "resolved.toml"))
    assert again.si == case.si


def test_reference_lists_every_key():
    from anodex.case import SCHEMA
    ref = reference_markdown()
    for section, params in SCHEMA.items():
        assert f"## [{section}]" in ref
        for key in params:
            assert f"`{key}`" in ref


def test_committed_reference_is_current():
    assert (ROOT / "docs" / "case-reference.md").read_text() == reference_markdown() + "\n"


def test_a_key_shared_by_blocks_warns_only_when_no_reader_is_selected():
    """[electrolyte] conductivity is declared by potential, ion_transport and
    ionic_conduction (anodex/models/shared_keys.py): the default model reads
    it, so no "no effect" warning; a key of an unselected block alone warns."""
    from anodex.case import validate
    case = validate({"electrolyte": {"conductivity": "2 S/m", "salt_concentration": "10 mol/m^3"},
                     "electrode": {"conductivity": "1e5 S/m"}})
    no_effect = [w for w in case.warnings if "no effect" in w]
    assert no_effect == ["[electrolyte] salt_concentration: no effect (the model has no block "
                         "'salt_transport', which reads it ([model] blocks))"]


def test_a_small_dt_max_caps_the_default_first_step():
    """Only [time] dt_max set below the default first step (0.02 s): the
    first step is dt_max, not an error about dt_initial, which the case
    never set; given both out of order, it is still an error."""
    from anodex.case import validate
    film = {"geometry": {"kind": "interval", "length": "20 um", "cells": [40]},
            "initial": {"interface_position": "8 um"}}
    case = validate({**film, "time": {"dt_max": "0.01 s"}}, "<test>")
    assert case.si["time"]["dt_initial"] == pytest.approx(0.01)
    assert "capped at [time] dt_max" in case.provenance["time.dt_initial"]
    with pytest.raises(CaseError, match="dt_initial: must satisfy"):
        validate({**film, "time": {"dt_max": "0.01 s", "dt_initial": "0.02 s"}}, "<test>")
