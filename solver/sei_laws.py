"""SEI growth laws (physics/audit.md section 4): the rate of the SEI-forming
reaction as a current density j (A/m^2, charge consumed) and the thickness
growth dL/dt = V j/(z F) (V the SEI's molar volume, z its charge number),
every rate constant Arrhenius in T:  k(T) = k(T_ref) exp(-E_a/R (1/T - 1/T_ref)).

- reaction (Tafel):       j = j0 exp(-alpha z F eta/RT),  eta = dphi - U_sei      L linear in t
- solvent_diffusion (Ploehn, Ramadass & White, JES 151, A456, 2004):
                          j = z F D_sol c_sol / L                               L^2 = L0^2 + 2 V D c t
- electron_migration:     j = kappa_e (U_sei - dphi) / L                        L^2 = L0^2 + 2 V kappa_e (U - dphi) t/(zF)
- interstitial_diffusion (Single, Latz & Horstmann, ChemSusChem 11, 1950, 2018):
                          j = z F D_i c_i / L exp(-F dphi/RT)                   parabolic
- tunnelling (Tang, Lu & Newman, JES 159, A1775, 2012):
                          j = j0 exp(-alpha z F eta/RT) exp(-L/lambda)         L = lambda ln(e^(L0/lambda) + A t/lambda)
- mixed reaction/diffusion (Yang et al., JPS 360, 28, 2017):
                          j = z F c k / (1 + L k/D)                             L + k L^2/(2D) = (same at L0) + V c k t

Work in progress (issue 18): the laws and their closed forms; the 0-D mode
and the field on the interface are not built yet.
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
    """j (A/m^2) of the SEI reaction at thickness L."""
    z, T = p["charge_number"], p["temperature"]
    f = FARADAY / (GAS_CONSTANT * T)
    if law == "reaction":
        return p["exchange_current_density"] * math.exp(
            -p["transfer_coefficient"] * z * f * (p["electrode_potential"] - p["equilibrium_potential"]))
    if law == "solvent_diffusion":
        return z * FARADAY * p["solvent_diffusivity"] * p["solvent_concentration"] / L
    if law == "electron_migration":
        return p["electronic_conductivity"] * (p["equilibrium_potential"] - p["electrode_potential"]) / L
    if law == "interstitial_diffusion":
        return (z * FARADAY * p["interstitial_diffusivity"] * p["interstitial_concentration"] / L
                * math.exp(-f * p["electrode_potential"]))
    if law == "tunnelling":
        j0 = current_density("reaction", L, p)
        return j0 * math.exp(-L / p["tunnelling_decay_length"])
    if law == "mixed":
        k, D = p["rate_constant"], p["solvent_diffusivity"]
        return z * FARADAY * p["solvent_concentration"] * k / (1 + L * k / D)
    raise ValueError(f"unknown SEI law {law!r}; one of {', '.join(LAWS)}")


def closed_form(law: str, t: float, L0: float, p: dict) -> float:
    """L(t) in closed form (the tests' reference; the 0-D mode integrates)."""
    V, z = p["molar_volume"], p["charge_number"]
    if law == "reaction":
        return L0 + growth_rate(law, L0, p) * t
    if law in ("solvent_diffusion", "electron_migration", "interstitial_diffusion"):
        B = growth_rate(law, 1.0, p)  # dL/dt = B / L
        return math.sqrt(L0 * L0 + 2 * B * t)
    if law == "tunnelling":
        lam = p["tunnelling_decay_length"]
        A = V * current_density("reaction", 0.0, p) / (z * FARADAY)
        return lam * math.log(math.exp(L0 / lam) + A * t / lam)
    if law == "mixed":
        k, D = p["rate_constant"], p["solvent_diffusivity"]
        c = L0 + k * L0 * L0 / (2 * D) + V * p["solvent_concentration"] * k * t
        return (-1 + math.sqrt(1 + 2 * k * c / D)) * D / k
    raise ValueError(f"unknown SEI law {law!r}")
