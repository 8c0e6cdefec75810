"""Fill a case's material-dependent keys from the library.

Precedence, per key: the case file (or --set) > the library entry named by
``[material] metal`` / ``electrolyte`` (or a value derived from it) > the
schema default (the Hong & Viswanathan 2018 input).  Every key of the
material sections gets a provenance string, written into the resolved case
and metadata.json.

Derived values (only for keys the case does not give):
* molar volume V_m = M/rho; site density of the metal c_s = 1/V_m;
* the temperature, if the case gives none: that of the electrolyte's (first)
  measured conductivity;
* ionic conductivity at [material] temperature from the electrolyte's law
  (``Electrolyte.conductivity``);
* ion diffusivity, when an electrolyte is named or a conductivity given, by
  Nernst-Einstein, D = sigma R T / (z^2 F^2 c), with c the model's ion
  concentration at w = 0, c = c0 c_s / dv, c0 = 1/(1 + exp(el/A)).  The
  migration flux then carries the whole current at uniform concentration
  (a single-ion conductor, t+ = 1, as the ceramic electrolytes are);
* phase-field gradient coefficient and barrier height from the metal's surface
  energy gamma and an interface length l: the equilibrium profile of
  kappa |grad eta|^2 / 2 + W eta^2 (1 - eta)^2 has l = sqrt(2 kappa / W) and
  excess energy gamma = sqrt(2 kappa W)/6, so kappa = 3 gamma l, W = 6 gamma / l;
* the Allen-Cahn mobility from a relaxation rate: L = rate / W;
* the phase-field kinetic coefficient from an exchange current density:
  a flat front moves at v = -3 l Ls Rbar (Rbar: the Butler-Volmer bracket
  averaged with weight h', see tests/test_electrodeposition.py), so the
  current zF c_s v has the prefactor i0 = 3 z F c_s l Ls.
"""
from __future__ import annotations

import math

from . import (ELECTROLYTE_PROPERTIES, METAL_PROPERTIES, MaterialError, electrolyte,
               electrolytes, metal)

R_GAS = 8.314462618  # J/(mol K)
FARADAY = 96485.33212  # C/mol
DEFAULT_INTERFACE_LENGTH = 0.5e-6  # m: the published input's sqrt(2 kappa / W)
DEFAULT_SOURCE = "default (Hong & Viswanathan 2018 input)"
SECTIONS = ("material", "metal", "electrolyte", "phase_field")


def nernst_einstein_diffusivity(sigma, T, z, c):
    """D = sigma R T / (z^2 F^2 c) (m^2/s) for conductivity sigma (S/m) carried
    by ions of charge z at concentration c (mol/m^3)."""
    return sigma * R_GAS * T / (z ** 2 * FARADAY ** 2 * c)


def model_ion_concentration(si) -> float:
    """c = c0 c_s / dv (mol/m^3): the electrolyte's ion concentration at w = 0."""
    gp = si["grand_potential"]
    c0 = 1.0 / (1.0 + math.exp(gp["electrolyte_mu_offset"] / gp["prefactor"]))
    return c0 / (si["electrolyte"]["site_density_ratio"] * si["material"]["molar_volume"])


def gradient_and_barrier(gamma, ell):
    """(kappa J/m, W J/m^3) giving surface energy gamma and interface length ell."""
    return 3 * gamma * ell, 6 * gamma / ell


def resolve(raw: dict, si: dict, given: set, provenance: dict) -> list[str]:
    """Apply the library to a converted case in place; return error texts."""
    for section in SECTIONS:
        for key in raw[section]:
            provenance[f"{section}.{key}"] = ("case file" if (section, key) in given
                                              else DEFAULT_SOURCE)

    def put(section, key, value, text, source):
        if (section, key) in given:
            return
        raw[section][key], si[section][key] = text, value
        provenance[f"{section}.{key}"] = source

    mat, errors = si["material"], []
    m = e = None
    if mat["electrolyte"]:
        try:
            e = electrolyte(mat["electrolyte"])
        except MaterialError as x:
            return [f"[material] electrolyte: {x}"]
        if not mat["metal"]:
            put("material", "metal", e.ion, e.ion, f"the ion of electrolyte {e.key}")
        T_meas = e.points[0].temperature
        put("material", "temperature", T_meas, f"{T_meas:g} K",
            f"the temperature of {e.key}'s measured conductivity")
    if mat["metal"]:
        try:
            m = metal(mat["metal"])
        except MaterialError as x:
            return [f"[material] metal: {x}"]
    if m and e and e.ion != m.key:
        fitting = [k for k, v in electrolytes().items() if v.ion == m.key]
        return [f"[material] electrolyte: {e.key} conducts {e.ion} ions, not {m.key}; "
                f"{m.key} conductors in the library: {', '.join(fitting)}"]

    if m:
        src = f"library {m.key}"
        for n in METAL_PROPERTIES:
            v = m.props[n]
            if n != "charge_number" and not v.missing:
                put("metal", n, v.si, v.text, f"{src}: {v.source}")
        z = m.props["charge_number"]
        put("material", "charge_number", int(z.si), int(z.si), f"{src}: {z.source}")
        met = si["metal"]
        vm = met["molar_mass"] / met["density"]
        put("material", "molar_volume", vm, f"{vm!r} m^3/mol",
            "derived: [metal] molar_mass / density")
    T, Tm = mat["temperature"], si["metal"]["melting_point"]
    if Tm is not None and T >= Tm:
        errors.append(f"[material] temperature: {T:g} K is at or above the melting point "
                      f"of the metal ({Tm:g} K, [metal] melting_point); the model is for a "
                      "solid anode")
    if e:
        src = f"library {e.key}"
        for n in ELECTROLYTE_PROPERTIES:
            v = e.props[n]
            if not v.missing:
                put("electrolyte", n, v.si, v.text, f"{src}: {v.source}")
        if ("electrolyte", "conductivity") not in given:
            laws = ("activation_energy", "vtf_pseudo_activation_energy", "vtf_temperature")
            try:
                sigma, how = e.conductivity(T, {k: si["electrolyte"][k] for k in laws
                                                if ("electrolyte", k) in given})
                put("electrolyte", "conductivity", sigma, f"{sigma!r} S/m", f"{src}: {how}")
            except MaterialError as x:
                errors.append(f"[electrolyte] conductivity: {x}")

    if not errors and (e or ("electrolyte", "conductivity") in given):
        z = si["material"]["charge_number"]
        c = model_ion_concentration(si)
        D = nernst_einstein_diffusivity(si["electrolyte"]["conductivity"], T, z, c)
        put("electrolyte", "diffusivity", D, f"{D!r} m^2/s",
            f"derived: Nernst-Einstein D = sigma R T / (z^2 F^2 c), c = {c:.5g} mol/m^3")

    pf = si["phase_field"]
    kw = [("phase_field", k) in given for k in ("gradient_coefficient", "barrier_height")]
    gamma = si["metal"]["surface_energy"]
    if any(kw) and not all(kw):
        errors.append("[phase_field] gradient_coefficient, barrier_height: give both or "
                      "neither (neither: derived from [metal] surface_energy and "
                      "[phase_field] interface_length)")
    elif all(kw) and pf["interface_length"] is not None:
        if not _same(interface_length(pf), pf["interface_length"]):
            errors.append("[phase_field] interface_length: conflicts with the given "
                          "gradient_coefficient and barrier_height (which fix it to "
                          f"{interface_length(pf):g} m); give one or the other")
    elif not any(kw) and gamma is not None:
        ell = pf["interface_length"] or DEFAULT_INTERFACE_LENGTH
        kappa, W = gradient_and_barrier(gamma, ell)
        how = (f"derived from [metal] surface_energy {gamma:g} J/m^2 and interface length "
               f"{ell:g} m")
        put("phase_field", "gradient_coefficient", kappa, f"{kappa!r} J/m", how)
        put("phase_field", "barrier_height", W, f"{W!r} J/m^3", how)
    if not errors and pf["interface_relaxation_rate"] is not None:
        L = pf["interface_relaxation_rate"] / pf["barrier_height"]
        if ("phase_field", "interface_mobility") not in given:
            put("phase_field", "interface_mobility", L, f"{L!r} m^3/(J*s)",
                "derived: interface_relaxation_rate / barrier_height")
        elif not _same(pf["interface_mobility"], L):  # a resolved case holds both, equal
            errors.append("[phase_field] interface_relaxation_rate: conflicts with the given "
                          "interface_mobility; give one or the other")
    if not errors and pf["exchange_current_density"] is not None:
        Ls = reaction_rate_from_exchange_current(
            pf["exchange_current_density"], si["material"]["charge_number"],
            si["material"]["molar_volume"], interface_length(pf))
        if ("phase_field", "reaction_rate_constant") not in given:
            put("phase_field", "reaction_rate_constant", Ls, f"{Ls!r} 1/s",
                "derived: exchange_current_density / (3 z F c_s l)")
        elif not _same(pf["reaction_rate_constant"], Ls):
            errors.append("[phase_field] exchange_current_density: conflicts with the given "
                          "reaction_rate_constant; give one or the other")
    return errors


def _same(a, b, rel=1e-9):
    """Equal to round-off: a resolved case.toml repeats derived values in full."""
    return abs(a - b) <= rel * max(abs(a), abs(b))


def interface_length(pf) -> float:
    """l = sqrt(2 kappa / W) (m)."""
    return math.sqrt(2 * pf["gradient_coefficient"] / pf["barrier_height"])


def reaction_rate_from_exchange_current(i0, z, molar_volume, ell):
    """Ls = i0 V_m / (3 z F l) (1/s)."""
    return i0 * molar_volume / (3 * z * FARADAY * ell)
