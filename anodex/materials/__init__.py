"""Materials library: the seven anode metals and their solid electrolytes.

Data live in ``metals.toml`` and ``electrolytes.toml`` next to this file;
every value carries its source and a value no source gives is "missing".
This module loads and checks them, evaluates ionic conductivity at a
temperature, and resolves the material-dependent keys of a case
(``resolve_case``) so that a case can say ``[material] metal = "Mg"`` and
``electrolyte = "MgSc2Se4"`` and override any value.

Conductivity laws (seed 002, O'Donnell & Greenbaum 2021, eqs. for
Arrhenius and VTF):

    Arrhenius  sigma(T) = (sigma0/T) exp(-Ea/(k_B T))
    VTF        sigma(T) = A0 T^(-1/2) exp(-B/(k_B (T - T0)))

Each is anchored at a measured point (sigma_ref, T_ref):
sigma(T) = sigma_ref (T_ref/T) exp(-Ea/k_B (1/T - 1/T_ref)), and for VTF
sigma_ref (T_ref/T)^(1/2) exp(-B/k_B (1/(T-T0) - 1/(T_ref-T0))).  With two
or more points, Ea is the least-squares fit of ln(sigma T) against 1/T
(exact through two points).
"""
from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..constants import BOLTZMANN as K_B, ELEMENTARY_CHARGE as EV
from ..units import UnitError, to_si

MISSING = "missing"
MEASURED_TEMPERATURE_TOLERANCE = 0.5  # K: without a law, a point is used this close to it

# property -> (dimension for units.to_si, meaning)
METAL_PROPERTIES = {
    "charge_number": ("1", "z, charge number of the ion"),
    "molar_mass": ("kg/mol", "molar mass M"),
    "density": ("kg/m^3", "mass density rho"),
    "standard_potential": ("V", "standard electrode potential vs SHE"),
    "shear_modulus": ("Pa", "shear modulus G"),
    "surface_energy": ("J/m^2", "orientation-averaged surface energy gamma"),
    "melting_point": ("K", "melting point (the model is for a solid anode)"),
    "youngs_modulus": ("Pa", "Young's modulus E"),
    "poisson_ratio": ("1", "Poisson's ratio nu"),
    "creep_stress_exponent": ("1", "n of the power-law (Norton) creep law"),
    "creep_reference_stress": ("Pa", "sigma0: a uniaxial stress of the creep law"),
    "creep_reference_rate": ("1/s", "the uniaxial creep rate at creep_reference_stress"),
}
ELECTROLYTE_PROPERTIES = {
    "activation_energy": ("J", "Arrhenius activation energy Ea"),
    "vtf_pseudo_activation_energy": ("J", "VTF pseudo-activation energy B"),
    "vtf_temperature": ("K", "VTF (Vogel) temperature T0"),
    "transference_number": ("1", "cation transference number t+"),
    "electronic_conductivity": ("S/m", "electronic conductivity"),
    "permittivity": ("1", "relative permittivity"),
    "youngs_modulus": ("Pa", "Young's modulus"),
    "poisson_ratio": ("1", "Poisson's ratio"),
}
LAWS = ("arrhenius", "vtf")


class MaterialError(ValueError):
    """Unknown material, bad library entry, or a value that cannot be evaluated."""


@dataclass(frozen=True)
class Value:
    """One property: SI value (None when missing), as written, and its source."""
    si: float | None
    text: str
    source: str

    @property
    def missing(self):
        return self.si is None


@dataclass(frozen=True)
class Point:
    sigma: float  # S/m
    temperature: float  # K
    text: str
    source: str


@dataclass
class Metal:
    key: str
    name: str
    props: dict

    @property
    def molar_volume(self) -> float:
        """V_m = M / rho (m^3/mol)."""
        return self.props["molar_mass"].si / self.props["density"].si


@dataclass
class Electrolyte:
    key: str
    formula: str
    ion: str
    family: str
    law: str
    points: list
    props: dict
    notes: str = ""

    def value(self, name, override=None):
        """The SI value of a property (the override if given), None if missing."""
        return override if override is not None else self.props[name].si

    def fitted_activation_energy(self) -> float | None:
        """Ea (J) from the measured points, least squares of ln(sigma T) on 1/T."""
        if len(self.points) < 2:
            return None
        xs = [1 / p.temperature for p in self.points]
        ys = [math.log(p.sigma * p.temperature) for p in self.points]
        xm, ym = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = (sum((x - xm) * (y - ym) for x, y in zip(xs, ys))
                 / sum((x - xm) ** 2 for x in xs))
        return -slope * K_B

    def conductivity(self, T: float, overrides: dict | None = None) -> tuple[float, str]:
        """Ionic conductivity (S/m) at T (K) and a sentence saying how it was obtained.
        ``overrides``: {property: SI value} from the case (activation_energy,
        vtf_pseudo_activation_energy, vtf_temperature).  Without the parameters
        of its law an entry is usable only within 0.5 K of a measured point."""
        o = overrides or {}
        ref = min(self.points, key=lambda p: abs(p.temperature - T))
        at = f"{ref.text} at {ref.temperature:g} K ({ref.source})"
        if self.law == "vtf":
            B = self.value("vtf_pseudo_activation_energy", o.get("vtf_pseudo_activation_energy"))
            T0 = self.value("vtf_temperature", o.get("vtf_temperature"))
            if B is not None and T0 is not None:
                if T <= T0 or ref.temperature <= T0:
                    raise MaterialError(f"electrolyte {self.key}: VTF needs T > T0 = {T0:g} K, "
                                        f"got {T:g} K")
                sigma = ref.sigma * math.sqrt(ref.temperature / T) * math.exp(
                    -B / K_B * (1 / (T - T0) - 1 / (ref.temperature - T0)))
                return sigma, f"VTF from {at}, B = {B / EV:.4g} eV, T0 = {T0:g} K"
            missing = "VTF parameters (vtf_pseudo_activation_energy, vtf_temperature)"
        else:
            Ea, how = o.get("activation_energy"), "case file"
            if Ea is None and len(self.points) >= 2:
                Ea, how = self.fitted_activation_energy(), f"fitted to the {len(self.points)} points"
            if Ea is None:
                Ea, how = self.props["activation_energy"].si, self.props["activation_energy"].source
            if Ea is not None:
                sigma = ref.sigma * ref.temperature / T * math.exp(
                    -Ea / K_B * (1 / T - 1 / ref.temperature))
                return sigma, f"Arrhenius from {at}, Ea = {Ea / EV:.4g} eV ({how})"
            missing = "activation_energy"
        if abs(ref.temperature - T) <= MEASURED_TEMPERATURE_TOLERANCE:
            return ref.sigma, f"measured: {at}"
        raise MaterialError(
            f"electrolyte {self.key}: {missing} missing in the library, so its conductivity "
            f"is known only at {self._temperatures()}; at {T:g} K give [electrolyte] "
            f"conductivity, or {missing}")

    def _temperatures(self):
        return " and ".join(f"{p.temperature:g} K" for p in self.points)


# ---- loading ------------------------------------------------------------------

def _value(entry: str, name: str, raw, dimension: str) -> Value:
    if raw == MISSING:
        return Value(None, MISSING, "")
    if not isinstance(raw, dict) or "value" not in raw or not raw.get("source"):
        raise MaterialError(f"{entry}: {name} must be {{value = ..., source = ...}} or "
                            f"\"missing\", got {raw!r}")
    try:
        si = to_si(raw["value"], dimension)
    except UnitError as e:
        raise MaterialError(f"{entry}: {name}: {e}") from None
    return Value(si, str(raw["value"]), raw["source"])


def _read(filename):
    return tomllib.loads(resources.files(__name__).joinpath(filename).read_text())


@lru_cache(maxsize=None)
def metals() -> dict[str, Metal]:
    out = {}
    for key, d in _read("metals.toml").items():
        unknown = set(d) - set(METAL_PROPERTIES) - {"name"}
        if unknown:
            raise MaterialError(f"metals.toml [{key}]: unknown properties {sorted(unknown)}")
        props = {n: _value(f"metals.toml [{key}]", n, d.get(n, MISSING), dim)
                 for n, (dim, _) in METAL_PROPERTIES.items()}
        out[key] = Metal(key, d.get("name", key), props)
    return out


@lru_cache(maxsize=None)
def electrolytes() -> dict[str, Electrolyte]:
    out, known = {}, set(metals())
    for key, d in _read("electrolytes.toml").items():
        where = f"electrolytes.toml [{key}]"
        fixed = {"formula", "ion", "family", "law", "conductivity", "notes"}
        unknown = set(d) - set(ELECTROLYTE_PROPERTIES) - fixed
        if unknown:
            raise MaterialError(f"{where}: unknown properties {sorted(unknown)}")
        if d.get("ion") not in known:
            raise MaterialError(f"{where}: ion must be one of {sorted(known)}")
        if d.get("law") not in LAWS:
            raise MaterialError(f"{where}: law must be one of {LAWS}")
        points = []
        for p in d.get("conductivity", []):
            if not p.get("source"):
                raise MaterialError(f"{where}: every conductivity point needs a source")
            try:
                points.append(Point(to_si(p["value"], "S/m"), to_si(p["temperature"], "K"),
                                    p["value"], p["source"]))
            except (KeyError, UnitError) as e:
                raise MaterialError(f"{where}: conductivity point {p}: {e}") from None
        if not points:
            raise MaterialError(f"{where}: needs at least one conductivity point")
        props = {n: _value(where, n, d.get(n, MISSING), dim)
                 for n, (dim, _) in ELECTROLYTE_PROPERTIES.items()}
        out[key] = Electrolyte(key, d["formula"], d["ion"], d["family"], d["law"], points,
                               props, d.get("notes", ""))
    return out


def metal(name: str) -> Metal:
    table = metals()
    if name not in table:
        raise MaterialError(f"unknown metal '{name}'; available: {', '.join(table)}")
    return table[name]


def electrolyte(name: str) -> Electrolyte:
    table = electrolytes()
    if name not in table:
        raise MaterialError(f"unknown electrolyte '{name}'; available: {', '.join(table)}")
    return table[name]


# ---- describing ---------------------------------------------------------------

def listing() -> str:
    """`anodex materials`: every metal and electrolyte, one line each."""
    lines = ["Metals (anodex/materials/metals.toml):"]
    for m in metals().values():
        z = int(m.props["charge_number"].si)
        lines.append(f"  {m.key:3s} {m.name:10s} z = {z}, V_m = {m.molar_volume * 1e6:.3g} cm^3/mol")
    lines.append("Solid electrolytes (anodex/materials/electrolytes.toml):")
    for e in electrolytes().values():
        p = e.points[0]
        lines.append(f"  {e.key:22s} {e.ion:2s} {e.family:36s} {p.text} at {p.temperature:g} K")
    lines.append("`anodex materials NAME` shows one entry with its sources.")
    return "\n".join(lines)


@lru_cache(maxsize=None)
def references() -> dict:
    """{key: {short, cite, doi}} of the sources the library cites
    (references.toml)."""
    return _read("references.toml")


_SEEDS = re.compile(r"seeds? (\d{3}(?:,\s*\d{3})*)")


def cited(source: str) -> tuple[str, list]:
    """A source string with each review ("seed 004", "seeds 000, 002") named
    by its short citation, and the reference keys it cites."""
    keys = [k for k in references() if not k.startswith("seed ") and k in source]

    def named(m):
        found = [f"seed {n.strip()}" for n in m.group(1).split(",")]
        keys.extend(found)
        return "; ".join(references()[k]["short"] for k in found)
    return _SEEDS.sub(named, source), keys


def _with_references(lines: list, sources: list) -> str:
    """The entry's lines, its sources cited by name, then the references."""
    keys = []
    for i, source in sources:
        text, found = cited(source)
        lines[i] = lines[i].replace(source, text)
        keys += [k for k in found if k not in keys]
    lines.append("  references:")
    for k in keys:
        ref = references()[k]
        lines.append(f"    {ref['cite']}" + (f", https://doi.org/{ref['doi']}" if ref["doi"] else ""))
    return "\n".join(lines)


def describe(name: str) -> str:
    """`anodex materials NAME`: one entry, every property with its source,
    and the references cited, with their DOIs."""
    sources = []  # (line index, source string)

    def add(line, source):
        sources.append((len(lines), source))
        lines.append(line)
    if name in metals():
        m = metals()[name]
        lines = [f"{m.key}: {m.name} (metal)"]
        for n, v in m.props.items():
            add(f"  {n:22s} {v.text:16s} {v.source}", v.source)
        lines.append(f"  {'molar_volume':22s} {m.molar_volume:.5g} m^3/mol  derived: M/rho")
        return _with_references(lines, sources)
    if name in electrolytes():
        e = electrolytes()[name]
        lines = [f"{e.key}: {e.formula}, {e.ion} conductor, {e.family}; law {e.law}",
                 "  conductivity:"]
        for p in e.points:
            add(f"    {p.text} at {p.temperature:g} K  ({p.source})", p.source)
        fitted = e.fitted_activation_energy()
        if fitted is not None:
            lines.append(f"    Arrhenius fit through the points: Ea = {fitted / EV:.4g} eV")
        for n, v in e.props.items():
            if n.startswith("vtf") and e.law != "vtf":
                continue
            add(f"  {n:28s} {v.text:14s} {v.source}", v.source)
        if e.notes:
            add(f"  notes: {e.notes}", e.notes)
        return _with_references(lines, sources)
    shown = (name if name.isprintable() else repr(name)[1:-1])[:60] + ("..." if len(name) > 60 else "")
    known = [*metals(), *electrolytes()]
    near = ([k for k in known if k.lower() == name.lower()]
            or difflib.get_close_matches(name, known, n=1))
    guess = f" (did you mean '{near[0]}'? names are case-sensitive)" if near else ""
    raise MaterialError(f"unknown material '{shown}'{guess}; metals: {', '.join(metals())}; "
                        f"electrolytes: {', '.join(electrolytes())}")
