"""Smoke tests of the per-metal example cases in cases/ (and of the base case
of postprocess/compare_metals.py): each resolves its
materials from the library and runs a few steps (shrunk to 1-D, 10 um, so
the suite stays fast), depositing metal by Faraday's law.  They are all on
the two-potential model (docs/two-potential.md)."""
from pathlib import Path

import numpy as np
import pytest

from conftest import read_timeseries
from anodex.case import load_case
from anodex.constants import FARADAY
from anodex.simulation import run_case

CASES = Path(__file__).resolve().parents[1] / "cases"
METAL_CASES = sorted(p for p in CASES.glob("*.toml") if not p.name.startswith("hong2018")
                     and load_case(p).si["material"]["metal"]
                     and "phase_field" in load_case(p).si["model"]["blocks"]  # (not a layer alone)
                     and not load_case(p).si["nucleation"]["enabled"]  # test_nucleation.py
                     and load_case(p).si["geometry"]["kind"] in ("interval", "rectangle")
                     and load_case(p).si["electrolyte"]["crack_conductivity_ratio"] == 1
                     and load_case(p).si["sei"]["initial_profile"] == "uniform"
                     and "metal_vacancies" not in load_case(p).si["model"]["blocks"])
# (the stripping cases, whose metal is counted with its vacancies and
# voids, run in tests/test_voids.py; the mesh-file and 3-D cases run in
# tests/test_geometry.py, the cracked
# electrolyte, a 2-D case by nature, in tests/test_two_potential.py, the
# broken SEI patch (li_sei_patch), 2-D too, in tests/test_sei.py)
SHRINK = {"geometry.kind": "interval", "geometry.length": "10 um", "geometry.cells": [40],
          "time.end": "5 s", "output.field_interval": "5 s"}


def test_every_metal_has_a_case_with_a_library_electrolyte():
    metals = {load_case(p).si["material"]["metal"] for p in METAL_CASES
              if load_case(p).si["material"]["electrolyte"]}
    assert metals == {"Li", "Na", "K", "Mg", "Zn", "Al", "Ca"}


@pytest.mark.parametrize("path", METAL_CASES, ids=lambda p: p.stem)
def test_metal_case_runs_and_deposits(path, mpi_tmp_path):
    case = load_case(path, SHRINK)
    prov = case.provenance
    el = case.si["material"]["electrolyte"]
    if el:
        assert prov["electrolyte.conductivity"].startswith(f"library {el}")
    blocks = case.si["model"]["blocks"]
    if "salt_transport" in blocks:  # binary: D given, sigma derived
        assert prov["electrolyte.conductivity"].startswith("derived: z^2 F^2 (D+ + D-)")
    elif "ion_transport" in blocks:  # the ion's diffusivity from sigma
        assert prov["electrolyte.diffusivity"].startswith("derived: Nernst-Einstein")
    else:  # (no block reads a diffusivity: none is derived, and none is written)
        assert not prov.get("electrolyte.diffusivity", "").startswith("derived")
    assert prov["phase_field.barrier_height"].startswith("derived from [metal] surface_energy")
    result = run_case(case, mpi_tmp_path / path.stem)
    assert result["status"] == "completed", result
    rows = read_timeseries(mpi_tmp_path / path.stem)
    z = case.si["material"]["charge_number"]
    deposited = rows[-1]["metal_mol_m2"] - rows[0]["metal_mol_m2"]
    # the two-potential model: the collector charge less the double layers'
    charge = (rows[-1]["collector_charge_C_m2"] - rows[-1]["double_layer_charge_C_m2"]
              + rows[0]["double_layer_charge_C_m2"]) / (z * FARADAY)
    assert deposited > 0 and np.isfinite(deposited)
    # the charge is integrated with the run's BDF weights (electronic_conduction):
    # equal to the cases' Newton tolerance (measured 4.5e-6 for li_llzo)
    assert deposited == pytest.approx(charge, rel=1e-4)
