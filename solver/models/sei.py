"""The SEI block: an interphase of thickness L growing on the metal by one
growth law of solver/sei_laws.py (docs/sei.md), with its SI inputs and
their checks.  Alone, with [geometry] kind = "point", it is the 0-D mode
(solver/zero_d.py): L(t) over days to years.
"""
from __future__ import annotations

from ..schema import Param, nonnegative, open_unit, positive, q
from ..sei_laws import LAWS, arrhenius
from . import Block

REACTION = ("exchange_current_density", "transfer_coefficient", "equilibrium_potential",
            "electrode_potential")
LAW_KEYS = {
    "reaction": REACTION,
    "solvent_diffusion": ("solvent_diffusivity", "solvent_concentration"),
    "electron_migration": ("electronic_conductivity", "equilibrium_potential", "electrode_potential"),
    "interstitial_diffusion": ("interstitial_diffusivity", "interstitial_concentration",
                               "electrode_potential"),
    "tunnelling": REACTION + ("tunnelling_decay_length",),
    "mixed": ("rate_constant", "solvent_diffusivity", "solvent_concentration"),
}
# keys with a default that only some laws read
OPTIONAL_KEYS = {"solvent_stoichiometry": ("solvent_diffusion", "mixed")}
ALL_LAW_KEYS = sorted({k for keys in LAW_KEYS.values() for k in keys})

PARAMS = {
    "sei": {
        "law": Param("choice", "solvent_diffusion", "growth law (docs: equations and sources)",
                     choices=LAWS),
        "initial_thickness": q("5 nm", "m", "L0", positive, (1e-12, 1e-3)),
        "molar_volume": q("9.585e-5 m^3/mol", "m^3/mol", "V of the SEI (PyBaMM's \"SEI partial "
                          "molar volume\")", positive, (1e-7, 1e-2)),
        "charge_number": Param("int", 2, "electrons per formula unit of SEI formed",
                               check=positive, bounds=(1, 8)),
        "activation_energy": q("0 J/mol", "J/mol", "E_a of every rate constant (Arrhenius)",
                               nonnegative, (0.0, 1e6)),
        "reference_temperature": q("298.15 K", "K", "T_ref at which the rate constants are given",
                                   positive, (1.0, 3000.0)),
        "exchange_current_density": q(None, "A/m^2", "reaction, tunnelling: j0", positive, (1e-30, 1e6)),
        "transfer_coefficient": Param("number", None, "reaction, tunnelling: alpha", check=open_unit),
        "equilibrium_potential": q(None, "V", "reaction, tunnelling, electron_migration: U_SEI",
                                   bounds=(-10.0, 10.0)),
        "electrode_potential": q(None, "V", "the electrode's potential against the reference of "
                                 "U_SEI", bounds=(-10.0, 10.0)),
        "solvent_diffusivity": q(None, "m^2/s", "solvent_diffusion, mixed: D of the solvent in "
                                 "the SEI", positive, (1e-40, 1e-3)),
        "solvent_concentration": q(None, "mol/m^3", "solvent_diffusion, mixed: c outside the SEI",
                                   positive, (1e-12, 1e6)),
        "electronic_conductivity": q(None, "S/m", "electron_migration: kappa_e of the SEI",
                                     positive, (1e-30, 1e6)),
        "interstitial_diffusivity": q(None, "m^2/s", "interstitial_diffusion: D of the Li "
                                      "interstitials", positive, (1e-40, 1e-3)),
        "interstitial_concentration": q(None, "mol/m^3", "interstitial_diffusion: c at the "
                                        "electrode side", positive, (1e-12, 1e6)),
        "tunnelling_decay_length": q(None, "m", "tunnelling: lambda of the electrons' exp(-L/lambda)",
                                     positive, (1e-12, 1e-6)),
        "rate_constant": q(None, "m/s", "mixed: k of the surface reaction", positive, (1e-30, 1.0)),
        "solvent_stoichiometry": Param("number", 1.0, "solvent_diffusion, mixed: solvent "
                                       "molecules per formula unit of SEI (1: Ploehn et al. "
                                       "2004; PyBaMM's models: the charge_number)",
                                       check=positive, bounds=(0.01, 100.0)),
        "ionic_resistivity": q("2e5 ohm*m", "ohm*m", "rho of the SEI for the metal's ions: the "
                               "interphase resistance is rho L (PyBaMM's \"SEI resistivity\"); "
                               "an ion-blocking film (Mg): large", positive, (1e-6, 1e20)),
    },
}


class SEI(Block):
    name = "sei"
    params = PARAMS
    standalone_section = "sei"

    @classmethod
    def check(cls, si, given):
        law, sei, errors = si["sei"]["law"], si["sei"], []
        missing = [k for k in LAW_KEYS[law] if sei[k] is None]
        if missing:
            errors.append(f"[sei] {', '.join(missing)}: law = \"{law}\" needs "
                          f"{'it' if len(missing) == 1 else 'them'} (its keys: "
                          f"{', '.join(LAW_KEYS[law])})")
        users = {k: [lw for lw, keys in LAW_KEYS.items() if k in keys] for k in ALL_LAW_KEYS}
        users.update(OPTIONAL_KEYS)
        foreign = [k for k in users if ("sei", k) in given and law not in users[k]]
        if foreign:
            errors.append(f"[sei] {', '.join(foreign)}: not a key of law = \"{law}\" ("
                          + "; ".join(f"{k}: {', '.join(users[k])}" for k in foreign)
                          + "); remove it or choose that law")
        return errors


RATE_CONSTANTS = ("exchange_current_density", "solvent_diffusivity", "electronic_conductivity",
                  "interstitial_diffusivity", "rate_constant")


def rate_parameters(si) -> dict:
    """The law's parameters at [material] temperature (SI): every rate
    constant scaled by arrhenius(), so j scales by the same factor for every
    law (PyBaMM's convention: the Arrhenius factor multiplies j_SEI)."""
    sei, T = si["sei"], si["material"]["temperature"]
    law = sei["law"]
    p = {k: sei[k] for k in ("molar_volume", "charge_number") + LAW_KEYS[law]
         + tuple(k for k, laws in OPTIONAL_KEYS.items() if law in laws)}
    for k in RATE_CONSTANTS:
        if k in p:
            p[k] = arrhenius(p[k], sei["activation_energy"], T, sei["reference_temperature"])
    p["temperature"] = T
    return p
