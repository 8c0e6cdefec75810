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
- electron_migration (Marquis 2020, eq. 5.94):
      j = kappa_e (U_SEI - dphi) / L                            L^2 = L0^2 + 2 V kappa_e (U_SEI - dphi) t/(zF)
- interstitial_diffusion (Single, Latz & Horstmann, ChemSusChem 11, 1950, 2018):
  neutral Li interstitials, one electron each:
      j = F D_i c_i exp(-f dphi) / L                            parabolic
- tunnelling (Tang, Lu & Newman, JES 159, A1775, 2012, eq. 25): the electrons
  tunnel through the SEI, decay length lambda:
      j = j0 exp(-alpha f eta) exp(-L/lambda)                   L = lambda ln(e^(L0/lambda) + A t/lambda), A = V j(0)/(zF)
- mixed reaction/diffusion (Yang et al., JPS 360, 28, 2017): surface reaction
  k in series with solvent diffusion D_sol through the SEI:
      j = z F c_sol k / (nu (1 + L k/D_sol))                   L + k L^2/(2 D_sol) = (same at L0) + V c_sol k t/nu
"""
from __future__ import annotations

import math

from .constants import FARADAY, GAS_CONSTANT

LAWS = ("reaction", "solvent_diffusion", "electron_migration", "interstitial_diffusion",
        "tunnelling", "mixed")


def arrhenius(value_ref, activation_energy, T, T_ref):
    """k(T) from k(T_ref) with activation energy E_a (J/mol)."""
    return value_ref * math.exp(-activation_energy / GAS_CONSTANT * (1 / T - 1 / T_ref))


def growth_rate(law: str, L: float, p: dict) -> float:
    """dL/dt (m/s) at thickness L for the law's parameters p (SI, already at T):
    V (molar volume), z, and the law's own keys."""
    V, z = p["molar_volume"], p["charge_number"]
    return V * current_density(law, L, p) / (z * FARADAY)


def current_density(law: str, L: float, p: dict) -> float:
    """j (A/m^2) of the SEI reaction at thickness L (parameters at T)."""
    z, f = p["charge_number"], FARADAY / (GAS_CONSTANT * p["temperature"])
    if law in ("reaction", "tunnelling"):
        j = p["exchange_current_density"] * math.exp(
            -p["transfer_coefficient"] * f * (p["electrode_potential"] - p["equilibrium_potential"]))
        return j * math.exp(-L / p["tunnelling_decay_length"]) if law == "tunnelling" else j
    if law == "solvent_diffusion":
        return (z * FARADAY * p["solvent_diffusivity"] * p["solvent_concentration"]
                / (p["solvent_stoichiometry"] * L))
    if law == "electron_migration":
        return p["electronic_conductivity"] * (p["equilibrium_potential"] - p["electrode_potential"]) / L
    if law == "interstitial_diffusion":
        return (FARADAY * p["interstitial_diffusivity"] * p["interstitial_concentration"] / L
                * math.exp(-f * p["electrode_potential"]))
    if law == "mixed":
        k, D = p["rate_constant"], p["solvent_diffusivity"]
        return z * FARADAY * p["solvent_concentration"] * k / (p["solvent_stoichiometry"] * (1 + L * k / D))
    raise ValueError(f"unknown SEI law {law!r}; one of {', '.join(LAWS)}")


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
                         * (p["equilibrium_potential"] - p["electrode_potential"]) * t / (z * F))
    if law == "interstitial_diffusion":
        return math.sqrt(L0 * L0 + 2 * V * p["interstitial_diffusivity"] * p["interstitial_concentration"]
                         * math.exp(-f * p["electrode_potential"]) * t / z)
    if law == "mixed":
        k, D = p["rate_constant"], p["solvent_diffusivity"]
        c = L0 + k * L0 * L0 / (2 * D) + V * p["solvent_concentration"] * k * t / p["solvent_stoichiometry"]
        return (-1 + math.sqrt(1 + 2 * k * c / D)) * D / k
    raise ValueError(f"unknown SEI law {law!r}")
