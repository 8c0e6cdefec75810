"""Fill a case's material-dependent keys from the library and the blocks.

Precedence, per key: the case file (or --set) > the library entry named by
``[material] metal`` / ``electrolyte`` (or a value derived from it) > the
schema default (the Hong & Viswanathan 2018 input).  Every key of the
material sections and every derived key gets a provenance string, written
into the resolved case and metadata.json.

The library gives (only for keys the case does not give):
* molar volume V_m = M/rho; site density of the metal c_s = 1/V_m;
* the temperature, if the case gives none: that of the electrolyte's (first)
  measured conductivity;
* ionic conductivity at [material] temperature from the electrolyte's law
  (``Electrolyte.conductivity``).
Then each registered block derives its own values (``Block.derive``: the
diffusivity by Nernst-Einstein, the phase-field energies from the surface
energy, the kinetic coefficient from an exchange current density...).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import (ELECTROLYTE_PROPERTIES, METAL_PROPERTIES, MaterialError, cited, electrolyte,
               electrolytes, metal)

DEFAULT_SOURCE = "default (Hong & Viswanathan 2018 input)"
SECTIONS = ("material", "metal", "electrolyte", "phase_field")


@dataclass
class Resolution:
    """What Block.derive works with: the case (raw text and SI values), the
    keys it gives, the provenance of each key, the library entries."""
    raw: dict
    si: dict
    given: set
    provenance: dict
    metal: object = None
    electrolyte: object = None
    errors: list = field(default_factory=list)

    def put(self, section, key, value, text, source):
        """Set a key the case does not give (SI value, text for the resolved
        case file), with where it came from."""
        if (section, key) in self.given:
            return
        self.raw[section][key] = text
        self.si[section][key] = value
        self.provenance[f"{section}.{key}"] = cited(source)[0]  # (the reviews by name)

    def derived(self, section, key, value, unit, how, source_key) -> list[str]:
        """Put a value derived from `source_key`, or check that the given one
        agrees with it (a resolved case.toml holds both, equal)."""
        if (section, key) not in self.given:
            self.put(section, key, value, f"{value!r} {unit}", f"derived: {how}")
            return []
        if self.same(self.si[section][key], value):
            return []
        return [f"[{section}] {source_key}: conflicts with the given {key}; give one or the other"]

    @staticmethod
    def same(a, b, rel=1e-9):
        """Equal to round-off: a resolved case.toml repeats derived values in full."""
        return abs(a - b) <= rel * max(abs(a), abs(b))


def resolve(raw: dict, si: dict, given: set, provenance: dict) -> list[str]:
    """Apply the library and the blocks' derivations to a converted case in
    place; return error texts."""
    from .. import blocks
    for section in SECTIONS:
        for key in raw[section]:
            provenance[f"{section}.{key}"] = ("case file" if (section, key) in given
                                              else DEFAULT_SOURCE)
    ctx = Resolution(raw, si, given, provenance)
    errors = _library_entries(ctx)
    if errors:
        return errors
    _metal(ctx)
    errors = _melting_point(si) + _electrolyte(ctx)
    if errors:
        return errors
    # the blocks of the model, and those whose keys they read: a key no
    # block reads is not derived (a resolved case.toml holding it warned of
    # "no effect" when read back)
    selected = blocks.block_classes(si)
    shared = {name for b in selected for name in b.reads_keys_of}
    for block in blocks.registered():
        if block in selected or block.name in shared:
            errors += block.derive(ctx)
        if errors:
            break
    return errors


def _library_entries(ctx) -> list[str]:
    """The named metal and electrolyte: they exist and belong together."""
    mat = ctx.si["material"]
    if mat["electrolyte"]:
        try:
            ctx.electrolyte = e = electrolyte(mat["electrolyte"])
        except MaterialError as x:
            return [f"[material] electrolyte: {x}"]
        if not mat["metal"]:
            ctx.put("material", "metal", e.ion, e.ion, f"the ion of electrolyte {e.key}")
        T = e.points[0].temperature
        ctx.put("material", "temperature", T, f"{T:g} K",
                f"the temperature of {e.key}'s measured conductivity")
    if mat["metal"]:
        try:
            ctx.metal = metal(mat["metal"])
        except MaterialError as x:
            return [f"[material] metal: {x}"]
    m, e = ctx.metal, ctx.electrolyte
    if m and e and e.ion != m.key:
        fitting = [k for k, v in electrolytes().items() if v.ion == m.key]
        return [f"[material] electrolyte: {e.key} conducts {e.ion} ions, not {m.key}; "
                f"{m.key} conductors in the library: {', '.join(fitting)}"]
    return []


def _read_by_the_model(si, section, key) -> bool:
    """A generic key, or one a selected block owns: the library fills only
    these (a block's material key the model does not read stays unset, so a
    resolved case file does not carry it as a key with no effect)."""
    from .. import blocks, schema
    if key in schema.GENERIC.get(section, {}):
        return True
    return any(key in b.params.get(section, {}) for b in blocks.block_classes(si))


def _metal(ctx):
    m = ctx.metal
    if not m:
        return
    src = f"library {m.key}"
    for n in METAL_PROPERTIES:
        v = m.props[n]
        if n != "charge_number" and not v.missing and _read_by_the_model(ctx.si, "metal", n):
            ctx.put("metal", n, v.si, _raw(v, METAL_PROPERTIES[n][0]), f"{src}: {v.source}")
    z = m.props["charge_number"]
    ctx.put("material", "charge_number", int(z.si), int(z.si), f"{src}: {z.source}")
    met = ctx.si["metal"]
    vm = met["molar_mass"] / met["density"]
    ctx.put("material", "molar_volume", vm, f"{vm!r} m^3/mol",
            "derived: [metal] molar_mass / density")


def _raw(value, dimension):
    """A library value as the resolved case file writes it: a plain number
    for a dimensionless property (its key is a number, not a quantity),
    else its text with the unit."""
    return value.si if dimension == "1" else value.text


def _melting_point(si) -> list[str]:
    T, Tm = si["material"]["temperature"], si["metal"]["melting_point"]
    if Tm is not None and T >= Tm:
        return [f"[material] temperature: {T:g} K is at or above the melting point "
                f"of the metal ({Tm:g} K, [metal] melting_point); the model is for a "
                "solid anode"]
    return []


def _electrolyte(ctx) -> list[str]:
    e, si = ctx.electrolyte, ctx.si
    if not e:
        return []
    src = f"library {e.key}"
    for n in ELECTROLYTE_PROPERTIES:
        v = e.props[n]
        if not v.missing and _read_by_the_model(si, "electrolyte", n):
            ctx.put("electrolyte", n, v.si, _raw(v, ELECTROLYTE_PROPERTIES[n][0]),
                    f"{src}: {v.source}")
    if ("electrolyte", "conductivity") in ctx.given:
        return []
    laws = ("activation_energy", "vtf_pseudo_activation_energy", "vtf_temperature")
    try:
        sigma, how = e.conductivity(si["material"]["temperature"],
                                    {k: si["electrolyte"][k] for k in laws
                                     if ("electrolyte", k) in ctx.given})
    except MaterialError as x:
        return [f"[electrolyte] conductivity: {x}"]
    ctx.put("electrolyte", "conductivity", sigma, f"{sigma!r} S/m", f"{src}: {how}")
    return []
