"""Physical quantities in case files: ``"3.179e-10 m^2/s"`` -> SI float.

A quantity is written as a string: a number, a space, and a unit expression
made of unit symbols with optional SI prefixes, ``^`` or ``**`` exponents
(or a digit right after the symbol: ``cm2``, or a superscript: ``cm²``),
``*``, ``·`` or spaces for products
and ``/`` for division (``"1e-3 1/s"``, ``"1.19 S/m"``, ``"13.0 cm^3/mol"``,
``"-0.45 V"``, ``"1 mA/cm2"``, ``"2 mAh/cm^2"``, ``"10 uF/cm2"``,
``"2 years"``).  A temperature may be given in degrees Celsius, alone:
``"25 degC"`` or ``"25 °C"``.  The parser converts to SI and checks the
dimension against what the key needs, so a wrong or missing unit is an
error, never a silent factor of 1e6.

Why not pint: importing pint and building its registry took 0.31-0.34 s per
process here (pint 0.19, Debian 12), paid by every rank of every run and
by every `anodex check` of a sweep, against 1.5 ms for validating a whole
case; pint does not read ``cm2`` either, and its offset units (degC) need
handling of their own.  This parser is the ~200 lines below.
"""
from __future__ import annotations

import math
import re

# Dimension exponents over the SI base units (m, kg, s, A, K, mol).
BASE = ("m", "kg", "s", "A", "K", "mol")


def _dim(m=0, kg=0, s=0, A=0, K=0, mol=0):
    return (m, kg, s, A, K, mol)


DIMENSIONLESS = _dim()

# symbol -> (factor to SI, dimension)
_UNITS = {
    "m": (1.0, _dim(m=1)),
    "g": (1e-3, _dim(kg=1)),
    "s": (1.0, _dim(s=1)),
    "min": (60.0, _dim(s=1)),
    "h": (3600.0, _dim(s=1)),
    "d": (86400.0, _dim(s=1)),
    "sec": (1.0, _dim(s=1)),
    "second": (1.0, _dim(s=1)),
    "seconds": (1.0, _dim(s=1)),
    "minute": (60.0, _dim(s=1)),
    "minutes": (60.0, _dim(s=1)),
    "hour": (3600.0, _dim(s=1)),
    "hours": (3600.0, _dim(s=1)),
    "day": (86400.0, _dim(s=1)),
    "days": (86400.0, _dim(s=1)),
    "year": (3.15576e7, _dim(s=1)),  # the Julian year, 365.25 d (IAU)
    "years": (3.15576e7, _dim(s=1)),
    "yr": (3.15576e7, _dim(s=1)),
    "yrs": (3.15576e7, _dim(s=1)),
    "hr": (3600.0, _dim(s=1)),
    "hrs": (3600.0, _dim(s=1)),
    "mins": (60.0, _dim(s=1)),
    "secs": (1.0, _dim(s=1)),
    "Ah": (3600.0, _dim(s=1, A=1)),  # ampere-hour (mAh/cm^2: an areal capacity)
    "A": (1.0, _dim(A=1)),
    "K": (1.0, _dim(K=1)),
    "mol": (1.0, _dim(mol=1)),
    "L": (1e-3, _dim(m=3)),
    "M": (1e3, _dim(m=-3, mol=1)),  # molar, mol/L
    "N": (1.0, _dim(m=1, kg=1, s=-2)),
    "Pa": (1.0, _dim(m=-1, kg=1, s=-2)),
    "J": (1.0, _dim(m=2, kg=1, s=-2)),
    "W": (1.0, _dim(m=2, kg=1, s=-3)),
    "C": (1.0, _dim(s=1, A=1)),
    "V": (1.0, _dim(m=2, kg=1, s=-3, A=-1)),
    "S": (1.0, _dim(m=-2, kg=-1, s=3, A=2)),
    "ohm": (1.0, _dim(m=2, kg=1, s=-3, A=-2)),
    "F": (1.0, _dim(m=-2, kg=-1, s=4, A=2)),
    "eV": (1.602176634e-19, _dim(m=2, kg=1, s=-2)),
    "1": (1.0, DIMENSIONLESS),
    "rad": (1.0, DIMENSIONLESS),
    "deg": (3.141592653589793 / 180.0, DIMENSIONLESS),
}
_PREFIXES = {"G": 1e9, "M": 1e6, "k": 1e3, "c": 1e-2, "m": 1e-3, "u": 1e-6,
             "\u00b5": 1e-6, "\u03bc": 1e-6, "n": 1e-9, "p": 1e-12}  # (micro sign, Greek mu)
# Units that take no prefix (so "min" is minutes, not milli-inches).
_NO_PREFIX = {"min", "h", "d", "sec", "second", "seconds", "minute", "minutes", "hour", "hours",
              "day", "days", "year", "years", "yr", "yrs", "hr", "hrs", "mins", "secs", "1", "M", "deg"}
# degrees Celsius: an offset unit, so only a whole temperature ("25 degC")
_CELSIUS = {"degC", "\u00b0C", "\u2103"}
_ZERO_CELSIUS = 273.15

# Named dimensions used by the case schema.
DIMENSIONS = {
    "1": DIMENSIONLESS,
    "m": _dim(m=1),
    "s": _dim(s=1),
    "K": _dim(K=1),
    "V": _UNITS["V"][1],
    "S/m": _dim(m=-3, kg=-1, s=3, A=2),
    "S": _UNITS["S"][1],
    "m^2/s": _dim(m=2, s=-1),
    "m^3/mol": _dim(m=3, mol=-1),
    "1/s": _dim(s=-1),
    "J/m": _dim(m=1, kg=1, s=-2),
    "J/m^3": _dim(m=-1, kg=1, s=-2),
    "m^3/(J*s)": _dim(m=1, kg=-1, s=1),
    "mol/m^3": _dim(m=-3, mol=1),
    "kg/mol": _dim(kg=1, mol=-1),
    "kg/m^3": _dim(m=-3, kg=1),
    "Pa": _UNITS["Pa"][1],
    "J": _UNITS["J"][1],
    "J/m^2": _dim(kg=1, s=-2),
    "A/m^2": _dim(m=-2, A=1),
    "1/(m^2*s)": _dim(m=-2, s=-1),
}


class UnitError(ValueError):
    """A quantity string that cannot be parsed or has the wrong dimension."""


def _lookup(symbol: str):
    if symbol in _UNITS:
        return _UNITS[symbol]
    for prefix, factor in _PREFIXES.items():
        base = symbol[len(prefix):]
        if symbol.startswith(prefix) and base in _UNITS and base not in _NO_PREFIX:
            f, d = _UNITS[base]
            return factor * f, d
    raise UnitError(f"unknown unit '{symbol}'")


_LETTERS = "A-Za-z\u00b5\u03bc"
_TOKEN = re.compile(rf"\s*(\*\*|[\^*/()]|[{_LETTERS}]+|[-+]?\d+(?:\.\d*)?)")
# an exponent written straight after its symbol: cm2 -> cm^2, s-1 -> s^-1
_BARE_EXPONENT = re.compile(rf"(?<=[{_LETTERS}])(-?\d+)(?![\d.])")


# superscript exponents (cm², s⁻¹) and the middle dot as a product
_SUPERSCRIPT = re.compile("[\u207b\u00b9\u00b2\u00b3\u2070\u2074-\u2079]+")
_PLAIN = str.maketrans("\u207b\u00b9\u00b2\u00b3\u2070\u2074\u2075\u2076\u2077\u2078\u2079",
                       "-1230456789")


def parse_unit(expr: str):
    """Return (factor to SI, dimension tuple) of a unit expression."""
    expr = _SUPERSCRIPT.sub(lambda m: "^" + m.group().translate(_PLAIN), expr)
    expr = expr.replace("\u00b7", "*").replace("\u22c5", "*")
    expr = _BARE_EXPONENT.sub(r"^\1", expr)
    tokens = [t for t in _TOKEN.findall(expr) if t.strip()]
    if "".join(tokens).replace("**", "^") != re.sub(r"\s+", "", expr).replace("**", "^"):
        raise UnitError(f"cannot parse unit '{expr}'")
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        if pos >= len(tokens):
            raise UnitError(f"incomplete unit '{expr}'")
        pos += 1
        return tokens[pos - 1]

    def atom():
        tok = take()
        if tok == "(":
            val = product()
            if take() != ")":
                raise UnitError(f"unbalanced parenthesis in '{expr}'")
        elif re.fullmatch(rf"[{_LETTERS}]+", tok) or tok == "1":
            val = _lookup(tok)
        else:
            raise UnitError(f"unexpected '{tok}' in unit '{expr}'")
        if peek() in ("^", "**"):
            take()
            exp = take()
            if exp is None or not re.fullmatch(r"[-+]?\d+", exp):
                raise UnitError(f"exponent must be an integer in '{expr}'")
            e = int(exp)
            if abs(e) > 12:
                raise UnitError(f"exponent {e} out of range in '{expr}'")
            val = (val[0] ** e, tuple(e * d for d in val[1]))
        return val

    def product():
        f, d = atom()
        while peek() not in (None, ")"):
            op = take() if peek() in ("*", "/") else "*"
            g, e = atom()
            if op == "*":
                f, d = f * g, tuple(a + b for a, b in zip(d, e))
            else:
                f, d = f / g, tuple(a - b for a, b in zip(d, e))
        return f, d

    if not tokens:
        raise UnitError("empty unit")
    result = product()
    if pos != len(tokens):
        raise UnitError(f"cannot parse unit '{expr}'")
    return result


# what a dimension is called, for errors ("unit 'mV' is a potential (V), ...")
_NAMED = {_UNITS["V"][1]: "a potential (V)", _dim(m=-2, A=1): "a current density (A/m^2)",
          _dim(s=1): "a time (s)", _dim(m=1): "a length (m)", _dim(K=1): "a temperature (K)",
          _dim(m=-3, kg=-1, s=3, A=2): "a conductivity (S/m)",
          _UNITS["S"][1]: "a conductance (S)", _dim(m=2, s=-1): "a diffusivity (m^2/s)",
          _dim(s=-1): "a rate (1/s)", _dim(m=-3, mol=1): "a concentration (mol/m^3)",
          _UNITS["Pa"][1]: "a pressure (Pa)", _UNITS["J"][1]: "an energy (J)",
          _dim(kg=1, s=-2): "an energy per area (J/m^2)",
          _dim(m=-2, s=1, A=1): "a charge per area (C/m^2, mAh/cm^2)",
          _dim(m=-4, kg=-1, s=4, A=2): "a capacitance per area (F/m^2)",
          _dim(A=1): "a current (A)", _dim(s=1, A=1): "a charge (C)", _dim(kg=1): "a mass (kg)",
          DIMENSIONLESS: "a number (no unit)"}


def format_dimension(dim) -> str:
    """What a dimension is: its name where it has one, else its SI base units."""
    if dim in _NAMED:
        return _NAMED[dim]
    parts = [f"{b}^{e}" if e != 1 else b for b, e in zip(BASE, dim) if e]
    return " ".join(parts) or "dimensionless"


def _needed(dimension, want) -> str:
    """The unit a key declares, with what it is: "A/m^2 (a current density)"."""
    name = _NAMED.get(want)
    return f"{dimension} ({name.split(' (')[0]})" if name else dimension


def dimension_of(unit: str):
    """The dimension tuple of an SI unit expression (a programming error,
    not a user's, if it cannot be read: it comes from a block's schema)."""
    factor, dim = parse_unit(unit)
    if factor != 1.0:
        raise ValueError(f"'{unit}' is not a coherent SI unit (factor {factor:g})")
    return dim


def to_si(value, dimension: str) -> float:
    """Convert a case-file value to SI, checking it has the named dimension.

    Dimensionless quantities may be bare numbers; every other quantity must be
    a string ``"<number> <unit>"``.  `dimension`: a name of DIMENSIONS or any
    SI unit expression ("m/s"), as a block's key declares it.
    """
    want = DIMENSIONS[dimension] if dimension in DIMENSIONS else dimension_of(dimension)
    if isinstance(value, bool):
        raise UnitError(f"expected a quantity in {dimension}, got a boolean")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise UnitError(f"must be a finite number, got {value!r}")
        if want == DIMENSIONLESS:
            return float(value)
        raise UnitError(f"missing unit: write it as a string such as \"{value} {dimension}\"")
    if not isinstance(value, str):
        raise UnitError(f"expected a quantity such as \"1.0 {dimension}\", got {type(value).__name__}")
    if len(value) > 200:
        raise UnitError(f"a quantity is '<number> <unit>', not {len(value)} characters")
    m = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*", value)
    if not m:
        raise UnitError(f"cannot read '{value}' as '<number> <unit>' (a finite number, then "
                        f"a unit of {dimension})")
    number, unit = float(m.group(1)), m.group(2)
    if not math.isfinite(number):
        raise UnitError(f"'{value}': the number overflows (largest: about 1.8e308)")
    if not unit:
        if want == DIMENSIONLESS:
            return number
        raise UnitError(f"missing unit in '{value}': expected a unit of {dimension}")
    if unit in _CELSIUS:
        if want != _dim(K=1):
            raise UnitError(f"unit '{unit}' is a temperature, but this key needs "
                            f"{_needed(dimension, want)}")
        if number < -_ZERO_CELSIUS:
            raise UnitError(f"'{value}' is below absolute zero (-273.15 degC)")
        return number + _ZERO_CELSIUS
    if any(c in unit for c in _CELSIUS):
        raise UnitError(f"'{unit}': degrees Celsius are a temperature on their own "
                        "(\"25 degC\"); inside a unit write K (\"J/(mol*K)\")")
    factor, dim = parse_unit(unit)
    if dim != want:
        hint = ("; degrees Celsius are written \"degC\" (\"25 degC\")"
                if want == _dim(K=1) and unit.rstrip(".").endswith("C") else "")
        raise UnitError(f"unit '{unit}' is {format_dimension(dim)}, "
                        f"but this key needs {_needed(dimension, want)}{hint}")
    if not math.isfinite(number * factor) or (number != 0 and number * factor == 0):
        raise UnitError(f"'{value}' is {'0' if math.isfinite(number * factor) else 'infinite'} "
                        "in SI units (the number overflows or underflows)")
    return number * factor


def readable_time(seconds: float) -> str:
    """`seconds` as a reason or a title says it: "100 s", and beyond a day
    also in days or years ("3.15576e+07 s (1 year)")."""
    text = f"{seconds:g} s"
    for size, name in ((3.15576e7, "year"), (86400.0, "day")):
        if abs(seconds) >= size:
            n = seconds / size
            return f"{text} ({n:.3g} {name}{'' if f'{n:.3g}' == '1' else 's'})"
    return text
