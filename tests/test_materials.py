"""Materials library: data integrity, conductivity laws, case resolution and
the errors for bad names and impossible overrides."""
import math
import subprocess
import sys

import pytest

from anodex import materials
from anodex.case import CaseError, validate
from anodex.models.ion_transport import model_ion_concentration, nernst_einstein_diffusivity
from anodex.models.phase_field import gradient_and_barrier, interface_length

K_B_EV = 8.617333262e-5  # eV/K
METALS = ("Li", "Na", "K", "Mg", "Zn", "Al", "Ca")


def test_library_covers_seven_metals_and_fifteen_electrolytes():
    metals, electrolytes = materials.metals(), materials.electrolytes()
    assert set(metals) == set(METALS)
    assert len(electrolytes) >= 15
    assert {e.ion for e in electrolytes.values()} == set(METALS)
    z = {k: int(m.props["charge_number"].si) for k, m in metals.items()}
    assert z == {"Li": 1, "Na": 1, "K": 1, "Mg": 2, "Zn": 2, "Al": 3, "Ca": 2}
    for m in metals.values():
        for name, v in m.props.items():
            assert v.missing or v.source, (m.key, name)
    for e in electrolytes.values():
        assert all(p.source for p in e.points), e.key
        for name, v in e.props.items():
            assert v.missing or v.source, (e.key, name)


def test_molar_volumes_match_the_gathered_table():
    """materials.md: V_m = M/rho, cm^3/mol."""
    table = {"Li": 13.0, "Na": 23.7, "K": 45.4, "Mg": 14.0, "Ca": 25.9, "Zn": 9.16, "Al": 9.99}
    for key, vm in table.items():
        assert materials.metal(key).molar_volume * 1e6 == pytest.approx(vm, rel=0.01), key


@pytest.mark.parametrize("key", list(materials.electrolytes()))
def test_law_reproduces_every_tabulated_conductivity(key):
    e = materials.electrolyte(key)
    for p in e.points:
        sigma, how = e.conductivity(p.temperature)
        assert sigma == pytest.approx(p.sigma, rel=1e-12), (key, p, how)


def test_arrhenius_against_hand_computation():
    """MgSc2Se4: 0.1 mS/cm at 298.15 K, Ea = 0.37 eV; at 350 K by hand."""
    sigma, how = materials.electrolyte("MgSc2Se4").conductivity(350.0)
    hand = 0.01 * (298.15 / 350.0) * math.exp(-0.37 / K_B_EV * (1 / 350.0 - 1 / 298.15))
    assert sigma == pytest.approx(hand, rel=1e-6)
    assert "Arrhenius" in how and "0.37 eV" in how


def test_two_point_fit_and_reported_activation_energy():
    """NaPON: 0.1 uS/cm at 25 C and 2.5 uS/cm at 80 C give Ea = 0.559 eV; the
    reported 0.53 eV is kept for comparison but the law goes through both."""
    e = materials.electrolyte("NaPON")
    hand = K_B_EV * math.log(2.5 * 353.15 / (0.1 * 298.15)) / (1 / 298.15 - 1 / 353.15)
    assert e.fitted_activation_energy() / materials.EV == pytest.approx(hand, rel=1e-9)
    assert hand == pytest.approx(0.559, abs=0.001)
    assert e.props["activation_energy"].si / materials.EV == pytest.approx(0.53)


def test_vtf_with_case_parameters_and_its_limits():
    e = materials.electrolyte("PEO-Mg(TFSI)2")
    with pytest.raises(materials.MaterialError, match="VTF parameters"):
        e.conductivity(330.0)
    B, T0 = 0.1 * materials.EV, 200.0
    sigma, _ = e.conductivity(330.0, {"vtf_pseudo_activation_energy": B, "vtf_temperature": T0})
    hand = 1e-5 * math.sqrt(298.15 / 330.0) * math.exp(-0.1 / K_B_EV * (1 / 130.0 - 1 / 98.15))
    assert sigma == pytest.approx(hand, rel=1e-9)
    with pytest.raises(materials.MaterialError, match="T > T0"):
        e.conductivity(190.0, {"vtf_pseudo_activation_energy": B, "vtf_temperature": T0})


def test_case_naming_materials_resolves_values_and_sources():
    case = validate({"material": {"metal": "Mg", "electrolyte": "MgSc2Se4",
                                  "temperature": "320 K"}})
    si, prov = case.si, case.provenance
    assert si["material"]["charge_number"] == 2
    assert si["material"]["molar_volume"] == pytest.approx(24.31e-3 / 1738, rel=1e-5)
    assert prov["material.molar_volume"].startswith("derived: [metal] molar_mass / density")
    sigma = materials.electrolyte("MgSc2Se4").conductivity(320.0)[0]
    assert si["electrolyte"]["conductivity"] == pytest.approx(sigma, rel=1e-5)
    assert "library MgSc2Se4: Arrhenius" in prov["electrolyte.conductivity"]
    c = model_ion_concentration(si)
    assert si["electrolyte"]["diffusivity"] == pytest.approx(
        sigma * 8.314462618 * 320 / (4 * 96485.33212 ** 2 * c), rel=1e-5)
    kappa, W = gradient_and_barrier(0.79, 0.5e-6)
    assert si["phase_field"]["gradient_coefficient"] == pytest.approx(kappa, rel=1e-5)
    assert si["phase_field"]["barrier_height"] == pytest.approx(W, rel=1e-5)
    # the interface the derived energies give: l = sqrt(2 kappa/W), gamma = sqrt(2 kappa W)/6
    assert interface_length(case.si["phase_field"]) == pytest.approx(0.5e-6, rel=1e-5)
    assert math.sqrt(2 * kappa * W) / 6 == pytest.approx(0.79)
    assert prov["material.temperature"] == "case file"
    # the resolved case says where each value came from and re-validates identically
    text = case.to_toml()
    assert "# library Mg: handbook" in text
    import tomllib
    again = validate(tomllib.loads(text))
    for section in ("material", "metal", "electrolyte", "phase_field"):
        for key, value in si[section].items():
            assert again.si[section][key] == pytest.approx(value, rel=1e-5), (section, key)


def test_case_overrides_beat_the_library():
    case = validate({"material": {"metal": "Li", "electrolyte": "LLZO"},
                     "metal": {"density": "0.5 g/cm^3"},
                     "electrolyte": {"conductivity": "0.05 S/m"},
                     "phase_field": {"interface_length": "1 um"}})
    si, prov = case.si, case.provenance
    assert si["material"]["molar_volume"] == pytest.approx(6.94e-3 / 500, rel=1e-5)
    assert prov["metal.density"] == "case file"
    assert si["electrolyte"]["conductivity"] == 0.05
    assert prov["electrolyte.conductivity"] == "case file"
    # the diffusivity follows the given conductivity (Nernst-Einstein)
    assert si["electrolyte"]["diffusivity"] == pytest.approx(nernst_einstein_diffusivity(
        0.05, 298.15, 1, model_ion_concentration(si)), rel=1e-5)
    assert si["material"]["temperature"] == 298.15  # LLZO's measurement temperature
    assert interface_length(case.si["phase_field"]) == pytest.approx(1e-6, rel=1e-5)


def test_hong_parameters_obey_nernst_einstein():
    """Published check: the Hong (2018) input's S2 = 1.19 S/m and the model's
    ion concentration (c0 c_s/dv = 939 mol/m^3) give by Nernst-Einstein
    D = 3.37e-10 m^2/s; the published M0 is 3.179e-10 (6 % lower)."""
    case = validate({})
    c = model_ion_concentration(case.si)
    assert c == pytest.approx(939.3, rel=1e-3)
    D = nernst_einstein_diffusivity(1.19, 300.0, 1, c)
    assert D == pytest.approx(3.179e-10, rel=0.07)
    assert case.provenance["electrolyte.diffusivity"].startswith("default")


@pytest.mark.parametrize("data, expected", [
    ({"material": {"metal": "Lithium"}}, "unknown metal 'Lithium'; available: Li, Na"),
    ({"material": {"electrolyte": "LLZ0"}}, "unknown electrolyte 'LLZ0'; available: LLZO"),
    ({"material": {"metal": "Na", "electrolyte": "LLZO"}}, "LLZO conducts Li ions, not Na"),
    ({"material": {"metal": "Mg", "charge_number": 0}}, "[material] charge_number: must be > 0"),
    ({"material": {"metal": "Zn"}, "metal": {"density": "-7 g/cm^3"}}, "[metal] density: must be > 0"),
    ({"material": {"metal": "Zn"}, "metal": {"hardness": "1 GPa"}}, "[metal] hardness: unknown key"),
    ({"material": {"metal": "K", "temperature": "350 K"}}, "above the melting point"),
    ({"material": {"electrolyte": "LLZO", "temperature": "330 K"}},
     "activation_energy missing in the library"),
    ({"material": {"metal": "Li"}, "phase_field": {"barrier_height": "1e6 J/m^3"}},
     "give both or neither"),
    ({"phase_field": {"interface_length": "1 um"}, "metal": {"surface_energy": "-1 J/m^2"}},
     "[metal] surface_energy: must be > 0"),
    ({"phase_field": {"exchange_current_density": "10 A/m^2", "reaction_rate_constant": "1 1/s"}},
     "exchange_current_density: conflicts with the given reaction_rate_constant"),
    ({"phase_field": {"interface_relaxation_rate": "15 1/s", "interface_mobility":
                      "1e-8 m^3/(J*s)"}}, "interface_relaxation_rate: conflicts"),
    ({"electrolyte": {"activation_energy": "0.3 J/mol"}}, "[electrolyte] activation_energy: unit"),
])
def test_bad_material_input_is_rejected_with_the_key_and_the_choices(data, expected):
    with pytest.raises(CaseError) as err:
        validate(data, "bad.toml")
    assert expected in str(err.value)
    assert str(err.value).startswith("bad.toml: invalid case file")


@pytest.mark.serial
def test_cli_lists_and_describes_materials():
    out = subprocess.run([sys.executable, "-m", "anodex.cli", "materials"], capture_output=True,
                         text=True, check=True).stdout
    for name in METALS + ("LLZO", "MgSc2Se4", "ZnSF", "AlZrNbP"):
        assert name in out
    out = subprocess.run([sys.executable, "-m", "anodex.cli", "materials", "MgSc2Se4"],
                         capture_output=True, text=True, check=True).stdout
    assert "0.1 mS/cm at 298.15 K" in out
    # the reviews by name, then their references with DOIs (written out here)
    assert "(Guo et al., Small 2022; O'Donnell & Greenbaum, Batteries 2021; Shinde et al., " in out
    assert "seed 0" not in out
    for doi in ("10.1002/smll.202106981", "10.3390/batteries7010003", "10.1002/advs.202304235"):
        assert f"https://doi.org/{doi}" in out
    assert "transference_number" in out and "missing" in out
    bad = subprocess.run([sys.executable, "-m", "anodex.cli", "materials", "Unobtainium"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "electrolytes: LLZO" in bad.stderr


@pytest.mark.parametrize("name", ["li_llzo.toml", "mg_mgsc2se4.toml", "compare_li_mg_zn.toml"])
def test_resolved_example_cases_reload_identically(name):
    """A run's case.toml repeats every derived value next to the key it came
    from (interface_relaxation_rate and interface_mobility, i0 and Ls): reading
    it back (restarts, sweeps) must give the same case, not a conflict."""
    import tomllib
    from pathlib import Path

    from anodex.case import load_case
    case = load_case(Path(__file__).resolve().parents[1] / "cases" / name)
    again = validate(tomllib.loads(case.to_toml()), "resolved")
    for section, values in case.si.items():
        for key, value in values.items():
            assert again.si[section][key] == value, (section, key)


def test_every_source_names_a_reference():
    """Every review a library source cites ("seed 004", "seeds 000, 002") and
    every named paper resolves to a full reference in references.toml."""
    from anodex import materials
    refs = materials.references()
    sources = [v.source for m in materials.metals().values() for v in m.props.values()]
    for e in materials.electrolytes().values():
        sources += [p.source for p in e.points] + [v.source for v in e.props.values()]
    cited = set()
    for source in sources:
        text, keys = materials.cited(source)
        assert "seed" not in text, source
        cited.update(keys)
    assert cited <= set(refs) and {"seed 000", "seed 002", "seed 003", "seed 004"} <= cited


def test_a_misspelt_material_name_gets_a_suggestion():
    """`anodex materials llzo`: the names are case-sensitive, the error says
    which one was meant (and lists them all)."""
    with pytest.raises(materials.MaterialError, match="did you mean 'LLZO'"):
        materials.describe("llzo")
    with pytest.raises(materials.MaterialError, match="did you mean 'Li'"):
        materials.describe("li")
