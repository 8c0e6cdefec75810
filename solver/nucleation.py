"""Classical nucleation theory of metal deposition (seed 004, sec. 4.1;
Kashchiev, "Nucleation", 2000, ch. 3 and 9).

A nucleus of metal grows from the electrolyte when the electrochemical
driving force per volume, dG_v = z F |eta| / V_m, pays for its surface:

    critical radius   r* = 2 gamma V_m / (z F |eta|)            (seed 004, sec. 4.1)
    barrier (sphere)  dG*_hom = 16 pi gamma^3 V_m^2 / (3 (z F eta)^2)
    heterogeneous     dG*_het = f(theta) dG*_hom,
                      f(theta) = (2 + cos theta)(1 - cos theta)^2 / 4
                      (spherical cap on a flat substrate, contact angle theta)
    rate per area     J = J0 exp(-dG*_het / (k_B T))             (1/(m^2 s))

J0, the kinetic prefactor (attachment frequency x site density x Zeldovich
factor), is not in any seed: a case supplies it.  The barrier scales as
gamma^3 V_m^2 / (z F eta)^2, so ln J is linear in 1/eta^2.
"""
from __future__ import annotations

import math

from .constants import BOLTZMANN as K_B, FARADAY


class NucleationError(ValueError):
    """Physically impossible nucleation input."""


def _check(gamma=None, molar_volume=None, z=None, contact_angle=None):
    if gamma is not None and not gamma > 0:
        raise NucleationError(f"surface energy must be > 0 J/m^2, got {gamma}")
    if molar_volume is not None and not molar_volume > 0:
        raise NucleationError(f"molar volume must be > 0 m^3/mol, got {molar_volume}")
    if z is not None and not z > 0:
        raise NucleationError(f"charge number must be > 0, got {z}")
    if contact_angle is not None and not 0 < contact_angle < math.pi:
        raise NucleationError(f"contact angle must lie in (0, pi) rad, got {contact_angle}")


def critical_radius(gamma, molar_volume, z, overpotential):
    """r* = 2 gamma V_m / (z F |eta|) (m); infinite at eta = 0."""
    _check(gamma, molar_volume, z)
    eta = abs(overpotential)
    return math.inf if eta == 0 else 2 * gamma * molar_volume / (z * FARADAY * eta)


def wetting_factor(contact_angle):
    """f(theta) = (2 + cos theta)(1 - cos theta)^2 / 4: the cap's share of the
    homogeneous barrier (0 for perfect wetting, 1 at theta = pi)."""
    _check(contact_angle=contact_angle)
    c = math.cos(contact_angle)
    return (2 + c) * (1 - c) ** 2 / 4


def barrier(gamma, molar_volume, z, overpotential, contact_angle=None):
    """dG*_het = f(theta) 16 pi gamma^3 V_m^2 / (3 (z F eta)^2) (J per nucleus);
    contact_angle None: homogeneous (f = 1)."""
    _check(gamma, molar_volume, z, contact_angle)
    eta = abs(overpotential)
    if eta == 0:
        return math.inf
    homogeneous = 16 * math.pi * gamma ** 3 * molar_volume ** 2 / (3 * (z * FARADAY * eta) ** 2)
    return homogeneous if contact_angle is None else wetting_factor(contact_angle) * homogeneous


def rate(prefactor, gamma, molar_volume, z, overpotential, temperature, contact_angle=None):
    """J = J0 exp(-dG*_het / (k_B T)) (1/(m^2 s)) for J0 in 1/(m^2 s)."""
    if not prefactor >= 0:
        raise NucleationError(f"rate prefactor must be >= 0, got {prefactor}")
    if not temperature > 0:
        raise NucleationError(f"temperature must be > 0 K, got {temperature}")
    g = barrier(gamma, molar_volume, z, overpotential, contact_angle)
    return 0.0 if math.isinf(g) else prefactor * math.exp(-g / (K_B * temperature))


def probability(J, area, dt):
    """Chance that a site of area A nucleates within dt: 1 - exp(-J A dt)."""
    return -math.expm1(-J * area * dt)
