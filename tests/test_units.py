import math
import re

import pytest

from anodex.units import UnitError, parse_unit, to_si


@pytest.mark.parametrize("text,dim,expected", [
    ("3.179e-10 m^2/s", "m^2/s", 3.179e-10),
    ("317.9 um^2/s", "m^2/s", 3.179e-10),
    ("1.19 S/m", "S/m", 1.19),
    ("11.9 mS/cm", "S/m", 1.19),
    ("13.0 cm^3/mol", "m^3/mol", 1.3e-5),
    ("-450 mV", "V", -0.45),
    ("0.5 um", "m", 5e-7),
    ("2 min", "s", 120.0),
    ("1e-3 1/s", "1/s", 1e-3),
    ("1 M", "mol/m^3", 1000.0),
    ("3.25747e-08 m^3/(J*s)", "m^3/(J*s)", 3.25747e-08),
    ("4.6e8 J/m**3", "J/m^3", 4.6e8),
    ("300 K", "K", 300.0),
    # what a battery tester writes
    ("1 mA/cm2", "A/m^2", 10.0),
    ("1 mA/cm^2", "A/m^2", 10.0),
    ("2 mAh/cm^2", "C/m^2", 2e-3 * 3600 / 1e-4),
    ("10 uF/cm2", "F/m^2", 0.1),
    ("10 \u00b5F/cm2", "F/m^2", 0.1),   # micro sign
    ("10 \u03bcF/cm2", "F/m^2", 0.1),   # Greek mu
    ("1.5 h", "s", 5400.0),
    ("2 hours", "s", 7200.0),
    ("1 hour", "s", 3600.0),
    ("30 minutes", "s", 1800.0),
    ("20 sec", "s", 20.0),
    ("3 day", "s", 3 * 86400.0),
    ("2 years", "s", 2 * 365.25 * 86400.0),
    ("0.5 s-1", "1/s", 0.5),
    ("25 degC", "K", 298.15),
    ("-10 \u00b0C", "K", 263.15),
])
def test_conversions(text, dim, expected):
    assert math.isclose(to_si(text, dim), expected, rel_tol=1e-12)


def test_dimensionless_may_be_bare_number():
    assert to_si(5.5, "1") == 5.5


@pytest.mark.parametrize("value,dim,fragment", [
    (1.19, "S/m", "missing unit"),
    ("1.19", "S/m", "missing unit"),
    ("1.19 S", "S/m", "needs S/m"),
    ("3 m/s", "m^2/s", "needs m^2/s"),
    ("3 furlong", "m", "unknown unit"),
    ("fast", "m", "cannot read"),
    (True, "m", "boolean"),
    ("25 degC", "V", "is a temperature, but this key needs V"),
    ("8.3 J/degC", "J/K", "inside a unit write K"),
    ("-300 degC", "K", "below absolute zero"),
    ("25 C", "K", 'degrees Celsius are written "degC"'),
    ("25 deg C", "K", 'degrees Celsius are written "degC"'),
    ("1 cm 2", "m^2", "unexpected '2'"),
    ("3 mAh", "A/m^2", "needs A/m^2"),
    # what each side is, by name where it has one
    ("1 mV", "A/m^2", "unit 'mV' is a potential (V), but this key needs A/m^2 (a current density)"),
    ("1 mAh/cm2", "V", "is a charge per area (C/m^2, mAh/cm^2), but this key needs V (a potential)"),
    ("2 kg", "m/s", "unit 'kg' is a mass (kg), but this key needs m/s"),
])
def test_bad_quantities(value, dim, fragment):
    with pytest.raises(UnitError, match=re.escape(fragment)):
        to_si(value, dim)


def test_volt_is_joule_per_coulomb():
    f1, d1 = parse_unit("V")
    f2, d2 = parse_unit("J/C")
    assert d1 == d2 and f1 == f2


def test_internal_units_follow_the_dimension():
    """Scales.unit from the dimension vector against the internal scales
    written out (x0, t0, RT/(zF), E0 = RT/V_m, c_s = 1/V_m, zF c_s x0/t0),
    for the units the blocks used to look up in a table and for units no
    table had (a current per volume, a rate per volume, a temperature)."""
    from anodex.scales import Scales
    F, R = 96485.33212, 8.314462618
    x0, t0, T, z, vm = 2e-6, 0.5, 310.0, 2, 1.4e-5
    s = Scales(length=x0, time=t0, temperature=T, z=z, molar_volume=vm)
    phi, E0, cs = R * T / (z * F), R * T / vm, 1 / vm
    j = z * F * cs * x0 / t0
    expected = {"1": 1.0, "m": x0, "1/m": 1 / x0, "s": t0, "1/s": 1 / t0, "m/s": x0 / t0,
                "m^2/s": x0 ** 2 / t0, "V": phi, "J/m^3": E0, "J/m": E0 * x0 ** 2,
                "m^3/(J*s)": 1 / (E0 * t0), "S/m": j * x0 / phi, "A/m^2": j,
                "mol/m^3": cs, "mol/m^2": cs * x0, "mol/(m^2*s)": cs * x0 / t0,
                "C/m^2": j * t0, "A/m^3": j / x0, "1/(m^3*s)": 1 / (x0 ** 3 * t0), "K": T,
                "J/mol": R * T, "RT": 1.0}
    for unit, value in expected.items():
        assert s.unit(unit) == pytest.approx(value, rel=1e-9), unit  # (R, F to 10 digits)
    assert s.to_si(s.to_internal(3.0, "A/m^3"), "A/m^3") == pytest.approx(3.0, rel=1e-14)


@pytest.mark.parametrize("text, dim, si", [
    ("1 mA/cm\u00b2", "A/m^2", 10.0), ("2 mAh/cm\u00b2", "C/m^2", 7.2e4),
    ("10 \u00b5F/cm\u00b2", "F/m^2", 0.1), ("10 \u03bcF/cm2", "F/m^2", 0.1),
    ("3 s\u207b\u00b9", "1/s", 3.0), ("1 yr", "s", 3.15576e7), ("2 hr", "s", 7200.0),
    ("5 mins", "s", 300.0), ("1 mol\u00b7m\u207b\u00b3", "mol/m^3", 1.0)])
def test_superscripts_middle_dots_and_short_time_names(text, dim, si):
    assert to_si(text, dim) == pytest.approx(si, rel=1e-12)


def test_a_long_time_reads_in_days_or_years():
    from anodex.units import readable_time
    assert readable_time(100.0) == "100 s"
    assert readable_time(3 * 86400.0) == "259200 s (3 days)"
    assert readable_time(365.25 * 86400.0) == "3.15576e+07 s (1 year)"
