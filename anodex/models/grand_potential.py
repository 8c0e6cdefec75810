"""Constitutive functions of the grand-potential model (Chen et al., J. Power
Sources 300 (2015) 376; Hong & Viswanathan, ACS Energy Lett. 3 (2018) 1737),
in internal units (w in RT).  UFL versions for the residuals, NumPy versions
for post-processing.

Two deliberate, documented changes to the literal transcription:
* h and h' are evaluated at eta clamped to [0, 1]: with an interface one
  element wide eta overshoots by ~1 %, and with S1/S2 ~ 1e6 an unclamped
  sigma(h) turns negative (measured on a prototype of this model);
* exponentials are written overflow-free (logistic via exp(-|x|)) and the
  Butler-Volmer exponentials continue linearly above exp(EXP_CAP), so a
  Newton overshoot gives a large finite residual, never inf/NaN.
"""
from __future__ import annotations

import math

import numpy as np
import ufl

from ..constants import FARADAY, GAS_CONSTANT

EXP_CAP = 40.0

# Hong & Viswanathan 2018 energy-density unit: RT per molar volume of Li at
# 300 K; the defaults of the case keys are the published input in SI.
E_HONG = GAS_CONSTANT * 300.0 / 1.3e-5


def clamp01(eta):
    return ufl.min_value(ufl.max_value(eta, 0.0), 1.0)


def interpolation(e):
    """e^3 (6 e^2 - 15 e + 10) of e in [0, 1] (UFL or numpy)."""
    return e ** 3 * (6 * e ** 2 - 15 * e + 10)


def h(eta):
    """Interpolation h = eta^3 (6 eta^2 - 15 eta + 10), eta clamped to [0, 1]."""
    return interpolation(clamp01(eta))


def dh(eta):
    """h' = 30 eta^2 (1 - eta)^2."""
    e = clamp01(eta)
    return 30 * e ** 2 * (1 - e) ** 2


def dg(eta):
    """Double-well slope g'(eta) for g = eta^2 (1 - eta)^2."""
    return 2 * eta * (1 - eta) * (1 - 2 * eta)


def logistic(x):
    """1/(1 + exp(-x)) without overflow."""
    e = ufl.exp(-abs(x))
    return ufl.conditional(ufl.ge(x, 0), 1.0, e) / (1 + e)


def capped_exp(x):
    """exp(x), continued linearly (C1) above EXP_CAP."""
    return ufl.conditional(ufl.le(x, EXP_CAP), ufl.exp(ufl.min_value(x, EXP_CAP)),
                           np.exp(EXP_CAP) * (1 + x - EXP_CAP))


def electrolyte_fraction(w, p):
    """-cl = -f1'(w) = 1/(1 + exp(-(w - el)/A)): ion site fraction in the electrolyte."""
    return logistic((w - p["el"]) / p["A"])


def electrode_fraction(w, p):
    """-cs = -f2'(w): Li site fraction in the electrode."""
    return logistic((w - p["es"]) / p["A"])


def ion_concentration(w, eta, p):
    """c = -cl (1 - h): ions in the electrolyte, in electrolyte-site units."""
    return electrolyte_fraction(w, p) * (1 - h(eta))


def lithium_content(w, eta, p):
    """Total metal content C = -cl (1 - h) - cs dv h (ions + deposited metal).
    Its time derivative is chi dw/dt + ft deta/dt of the published form."""
    return ion_concentration(w, eta, p) + p["dv"] * electrode_fraction(w, p) * h(eta)


def reference_fraction(electrolyte_mu_offset, prefactor):
    """c0 = -cl at w = 0, 1/(1 + exp(el/A)): the reference of c/c0 in the
    Butler-Volmer term (1/c0 = 14.89 for the published el = 2.631)."""
    x = -electrolyte_mu_offset / prefactor
    e = math.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


# ---- NumPy versions for output -------------------------------------------

def logistic_np(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1 + e)


def h_np(eta):
    e = np.clip(eta, 0.0, 1.0)
    return e ** 3 * (6 * e ** 2 - 15 * e + 10)


def ion_concentration_np(w, eta, p):
    return logistic_np((w - p["el"]) / p["A"]) * (1 - h_np(eta))


def electrolyte_fraction_np(w, p):
    return logistic_np((w - p["el"]) / p["A"])


def published_numbers(si, scales, p) -> dict:
    """The numbers of the published MOOSE input that a case corresponds to
    (their units: um, s, RT per molar volume; docs/hong2018-units.md)."""
    from ..scales import Scales
    s = scales
    um = Scales(1e-6, 1.0, s.temperature, s.z, s.molar_volume)
    pf = si["phase_field"]
    return {
        "AA (zF/RT, 1/V)": 1.0 / s.potential,
        "M0 (D in um^2/s)": si["electrolyte"]["diffusivity"] / um.length ** 2,
        "S1 (S/m)": si["electrode"]["conductivity"],
        "S2 (S/m)": si["electrolyte"]["conductivity"],
        "ft2 (zF c_s um^2/s)": s.z * FARADAY * s.site_density * um.length ** 2,
        "L": pf["interface_mobility"] * um.energy_density,
        "W": pf["barrier_height"] / um.energy_density,
        "kappa": pf["gradient_coefficient"] / (um.energy_density * 1e-12),
        "Ls": pf["reaction_rate_constant"],
        "1/c0": 1.0 / p["c0"],
        "dv": p["dv"],
    }
