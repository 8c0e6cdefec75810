"""SEI growth laws (physics/audit.md section 4): the rate of the SEI-forming
reaction as a current density j (A/m^2, the electrons it takes from the
electrode) and the thickness growth

    dL/dt = V j / (z F)            (V the SEI's molar volume, z its electrons per formula unit)

Every rate constant is Arrhenius in T, k(T) = k(T_ref) exp(-E_a/R (1/T - 1/T_ref)),
so j scales by that factor for every law.  f = F/RT; eta = dphi - U_SEI
(dphi: the electrode's potential against the reference of U_SEI).

- reaction (Tafel; Marquis, PhD thesis, Oxford 2020, eq. 5.92):
      j = j0 exp(-alpha f eta)                                  L = L0 + V j t/(zF)
- solvent_diffusion (Ploehn, Ramadass & White, JES 151, A456, 2004): the
  solvent crosses the SEI by diffusion, flux N = D_sol c_sol / L, and each
  formula unit of SEI takes nu solvent molecules (solvent_stoichiometry):
      j = z F D_sol c_sol / (nu L)                             L^2 = L0^2 + 2 V D_sol c_sol t / nu
  (nu = 1, Ploehn's; PyBaMM's "solvent-diffusion limited", j = F D c/L with
  z_sei Li per SEI, is nu = z)
- electron_migration (Marquis 2020, eq. 5.94), for dphi < U_SEI (0 above):
      j = kappa_e (U_SEI - dphi) / L                            L^2 = L0^2 + 2 V kappa_e (U_SEI - dphi) t/(zF)
- interstitial_diffusion (Single, Latz & Horstmann, ChemSusChem 11, 1950, 2018):
  neutral Li interstitials, one electron each:
      j = F D_i c_i exp(-f dphi) / L                            parabolic
- tunnelling (Tang, Lu & Newman, JES 159, A1775, 2012, eq. 25): the electrons
  tunnel through the SEI, decay length lambda:
      j = j0 exp(-alpha f eta) exp(-L/lambda)                   L = lambda ln(e^(L0/lambda) + A t/lambda), A = V j(0)/(zF)
- mixed reaction/diffusion (Yang et al., JPS 360, 28, 2017; PyBaMM's "ec
  reaction limited"): a surface reaction whose rate constant follows the
  potential, k = k0 exp(-alpha f eta), in series with solvent diffusion
  D_sol through the SEI:
      j = z F c_sol k / (nu (1 + L k/D_sol))                   L + k L^2/(2 D_sol) = (same at L0) + V c_sol k t/nu
  (at constant potential)
"""
from __future__ import annotations

import math

from ..constants import FARADAY, GAS_CONSTANT

LAWS = ("reaction", "solvent_diffusion", "electron_migration", "interstitial_diffusion",
        "tunnelling", "mixed")


def arrhenius(value_ref, activation_energy, T, T_ref):
    """k(T) from k(T_ref) with activation energy E_a (J/mol)."""
    return value_ref * math.exp(-activation_energy / GAS_CONSTANT * (1 / T - 1 / T_ref))


# the coefficients of each law's dL/dt, and their dimensions
COEFFICIENT_UNITS = {"A": "m/s", "B": "m^2/s", "K": "m^2/(s*V)", "a": "1/V", "U": "V",
                     "lam": "m", "ell": "m"}


def coefficients(law: str, p: dict) -> dict:
    """The SI coefficients of dL/dt for the law's parameters p (at T):
    reaction A e^(-a (dphi - U)); tunnelling the same times e^(-L/lam);
    solvent_diffusion B/L; electron_migration K (U - dphi)/L;
    interstitial_diffusion B e^(-a dphi)/L; mixed A k/(1 + L k/ell) with
    k = e^(-a (dphi - U)) (A and ell at k = k0)."""
    V, z = p["molar_volume"], p["charge_number"]
    f = FARADAY / (GAS_CONSTANT * p["temperature"])
    if law in ("reaction", "tunnelling"):
        c = {"A": V * p["exchange_current_density"] / (z * FARADAY),
             "a": p["transfer_coefficient"] * f, "U": p["equilibrium_potential"]}
        return {**c, "lam": p["tunnelling_decay_length"]} if law == "tunnelling" else c
    if law == "solvent_diffusion":
        return {"B": V * p["solvent_diffusivity"] * p["solvent_concentration"] / p["solvent_stoichiometry"]}
    if law == "electron_migration":
        return {"K": V * p["electronic_conductivity"] / (z * FARADAY), "U": p["equilibrium_potential"]}
    if law == "interstitial_diffusion":
        return {"B": V * p["interstitial_diffusivity"] * p["interstitial_concentration"] / z, "a": f}
    if law == "mixed":
        return {"A": V * p["solvent_concentration"] * p["rate_constant"] / p["solvent_stoichiometry"],
                "ell": p["solvent_diffusivity"] / p["rate_constant"],
                "a": p["transfer_coefficient"] * f, "U": p["equilibrium_potential"]}
    raise ValueError(f"unknown SEI law {law!r}; one of {', '.join(LAWS)}")


def growth_rate(law: str, L, dphi, c: dict, exp=math.exp, positive_part=lambda v: max(v, 0.0)):
    """dL/dt at thickness L and electrode potential dphi, for the coefficients
    c of coefficients() in any consistent units; exp and positive_part: for
    numbers, or UFL's for forms (the spatial model).  Electron migration
    forms SEI only below U_SEI (above it: no growth, as PyBaMM's)."""
    if law == "reaction":
        return c["A"] * exp(-c["a"] * (dphi - c["U"]))
    if law == "tunnelling":
        return c["A"] * exp(-c["a"] * (dphi - c["U"]) - L / c["lam"])
    if law == "solvent_diffusion":
        return c["B"] / L
    if law == "electron_migration":
        return c["K"] * positive_part(c["U"] - dphi) / L
    if law == "interstitial_diffusion":
        return c["B"] * exp(-c["a"] * dphi) / L
    if law == "mixed":
        k = exp(-c["a"] * (dphi - c["U"]))
        return c["A"] * k / (1 + L * k / c["ell"])
    raise ValueError(f"unknown SEI law {law!r}; one of {', '.join(LAWS)}")


def current_density(law: str, L, dphi, p: dict, exp=math.exp):
    """j = z F dL/dt / V (A/m^2), the SEI reaction's current, SI."""
    return (p["charge_number"] * FARADAY / p["molar_volume"]
            * growth_rate(law, L, dphi, coefficients(law, p), exp))


def closed_form(law: str, t: float, L0: float, p: dict) -> float:
    """L(t) in closed form at constant potential, written out from the
    parameters (the tests' reference; the 0-D mode integrates the rate)."""
    V, z, F = p["molar_volume"], p["charge_number"], FARADAY
    f = F / (GAS_CONSTANT * p["temperature"])
    if law in ("reaction", "tunnelling"):
        A = V / (z * F) * p["exchange_current_density"] * math.exp(
            -p["transfer_coefficient"] * f * (p["electrode_potential"] - p["equilibrium_potential"]))
        if law == "reaction":
            return L0 + A * t
        lam = p["tunnelling_decay_length"]
        return lam * math.log(math.exp(L0 / lam) + A * t / lam)
    if law == "solvent_diffusion":
        return math.sqrt(L0 * L0 + 2 * V * p["solvent_diffusivity"] * p["solvent_concentration"]
                         * t / p["solvent_stoichiometry"])
    if law == "electron_migration":
        return math.sqrt(L0 * L0 + 2 * V * p["electronic_conductivity"]
                         * max(p["equilibrium_potential"] - p["electrode_potential"], 0.0) * t / (z * F))
    if law == "interstitial_diffusion":
        return math.sqrt(L0 * L0 + 2 * V * p["interstitial_diffusivity"] * p["interstitial_concentration"]
                         * math.exp(-f * p["electrode_potential"]) * t / z)
    if law == "mixed":
        k = p["rate_constant"] * math.exp(
            -p["transfer_coefficient"] * f * (p["electrode_potential"] - p["equilibrium_potential"]))
        D = p["solvent_diffusivity"]
        c = L0 + k * L0 * L0 / (2 * D) + V * p["solvent_concentration"] * k * t / p["solvent_stoichiometry"]
        return (-1 + math.sqrt(1 + 2 * k * c / D)) * D / k
    raise ValueError(f"unknown SEI law {law!r}")
