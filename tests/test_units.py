import math
import re

import pytest

from solver.units import UnitError, parse_unit, to_si


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
])
def test_bad_quantities(value, dim, fragment):
    with pytest.raises(UnitError, match=re.escape(fragment)):
        to_si(value, dim)


def test_volt_is_joule_per_coulomb():
    f1, d1 = parse_unit("V")
    f2, d2 = parse_unit("J/C")
    assert d1 == d2 and f1 == f2
