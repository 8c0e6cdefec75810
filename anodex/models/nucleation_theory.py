"""Classical nucleation theory of metal deposition, by dimension (seed 004,
sec. 4.1; Kashchiev, "Nucleation", 2000, ch. 3 and 9; Budevski, Staikov &
Lorenz, "Electrochemical Phase Formation and Growth", 1996, ch. 3).

A nucleus of metal grows from the electrolyte when the electrochemical
driving force per volume, dG_v = z F |eta| / V_m, pays for its surface.  On
a flat substrate it is a cap of contact angle theta (Young's law):

    3-D (spherical cap):
        r* = 2 gamma V_m / (z F |eta|)
        dG* = f3(theta) 16 pi gamma^3 V_m^2 / (3 (z F eta)^2),
        f3 = (2 + cos theta)(1 - cos theta)^2 / 4
    2-D (a line nucleus: the circular segment of a 2-D case, extended over
    the length d normal to the plane):
        r* = gamma V_m / (z F |eta|)
        dG* = f2(theta) pi gamma^2 V_m d / (z F |eta|),
        f2 = (theta - sin theta cos theta) / pi
        (the circle's dG(r) = d (2 pi r gamma - pi r^2 dG_v), its maximum
        pi d gamma^2 / dG_v at r* = gamma / dG_v, times the segment's share)
    rate per area  J = J0 exp(-dG* / (k_B T))                    (1/(m^2 s))
A free nucleus in the bulk of the electrolyte (homogeneous nucleation) is
the full sphere or disc, f = 1, its rate per volume (1/(m^3 s)).

So ln J is linear in 1/eta^2 in 3-D and in 1/|eta| in 2-D.  J0, the
kinetic prefactor (attachment frequency x site density x Zeldovich
factor), is not in any seed: a case supplies it.
"""
from __future__ import annotations

import math

from ..constants import AVOGADRO, BOLTZMANN as K_B, FARADAY


class NucleationError(ValueError):
    """Physically impossible nucleation input."""


def _check(gamma=None, molar_volume=None, z=None, contact_angle=None, dim=3, length=None):
    if gamma is not None and not gamma > 0:
        raise NucleationError(f"surface energy must be > 0 J/m^2, got {gamma}")
    if molar_volume is not None and not molar_volume > 0:
        raise NucleationError(f"molar volume must be > 0 m^3/mol, got {molar_volume}")
    if z is not None and not z > 0:
        raise NucleationError(f"charge number must be > 0, got {z}")
    if contact_angle is not None and not 0 < contact_angle < math.pi:
        raise NucleationError(f"contact angle must lie in (0, pi) rad, got {contact_angle}")
    if dim not in (2, 3):
        raise NucleationError(f"a nucleus is a 2-D or 3-D cap, got dimension {dim}")
    if dim == 2 and not (length is not None and length > 0):
        raise NucleationError(f"a 2-D (line) nucleus needs a length > 0 m, got {length}")


def atomic_diameter(molar_volume):
    """(V_m / N_A)^(1/3) (m): the default length of a 2-D line nucleus, a
    slice one atom thick."""
    return (molar_volume / AVOGADRO) ** (1 / 3)


def critical_radius(gamma, molar_volume, z, overpotential, dim=3):
    """r* = (dim - 1) gamma V_m / (z F |eta|) (m); infinite at eta = 0."""
    _check(gamma, molar_volume, z, length=1.0)
    eta = abs(overpotential)
    return math.inf if eta == 0 else (dim - 1) * gamma * molar_volume / (z * FARADAY * eta)


def wetting_factor(contact_angle, dim=3):
    """The cap's share of the full nucleus's barrier: 3-D
    f3 = (2 + cos)(1 - cos)^2 / 4, 2-D f2 = (theta - sin cos)/pi (0 for
    perfect wetting, 1/2 at theta = pi/2, 1 at theta = pi); it is also the
    cap's share of the full sphere's (disc's) volume at the same radius."""
    _check(contact_angle=contact_angle, dim=dim, length=1.0)
    c, s = math.cos(contact_angle), math.sin(contact_angle)
    return (2 + c) * (1 - c) ** 2 / 4 if dim == 3 else (contact_angle - s * c) / math.pi


def barrier(gamma, molar_volume, z, overpotential, contact_angle=None, dim=3, length=None):
    """dG* (J per nucleus): 3-D f3 16 pi gamma^3 V_m^2 / (3 (z F eta)^2), 2-D
    f2 pi gamma^2 V_m d / (z F |eta|) for a line of length d; contact_angle
    None: homogeneous (f = 1)."""
    _check(gamma, molar_volume, z, contact_angle, dim, length)
    eta = abs(overpotential)
    if eta == 0:
        return math.inf
    if dim == 3:
        full = 16 * math.pi * gamma ** 3 * molar_volume ** 2 / (3 * (z * FARADAY * eta) ** 2)
    else:
        full = math.pi * gamma ** 2 * molar_volume * length / (z * FARADAY * eta)
    return full if contact_angle is None else wetting_factor(contact_angle, dim) * full


def rate(prefactor, gamma, molar_volume, z, overpotential, temperature, contact_angle=None,
         dim=3, length=None):
    """J = J0 exp(-dG* / (k_B T)), in the units of J0: per area on a
    substrate (1/(m^2 s)), per volume in the bulk (1/(m^3 s), contact_angle
    None: homogeneous)."""
    if not prefactor >= 0:
        raise NucleationError(f"rate prefactor must be >= 0, got {prefactor}")
    if not temperature > 0:
        raise NucleationError(f"temperature must be > 0 K, got {temperature}")
    g = barrier(gamma, molar_volume, z, overpotential, contact_angle, dim, length)
    return 0.0 if math.isinf(g) else prefactor * math.exp(-g / (K_B * temperature))


def probability(J, area, dt):
    """Chance that a site of area A nucleates within dt: 1 - exp(-J A dt)."""
    return -math.expm1(-J * area * dt)


def cap_size(radius, contact_angle, dim):
    """(metal, wetted surface) of a cap of radius R and contact angle theta:
    2-D per length normal to the plane, (R^2 (theta - sin cos), 2 theta R);
    3-D, (pi R^3 (2 + cos)(1 - cos)^2 / 3, 2 pi R^2 (1 - cos)).  contact_angle
    None: a free nucleus in the bulk (the full disc or sphere)."""
    if contact_angle is None:
        return (math.pi * radius ** 2, 2 * math.pi * radius) if dim == 2 else \
            (4 * math.pi * radius ** 3 / 3, 4 * math.pi * radius ** 2)
    c = math.cos(contact_angle)
    if dim == 2:
        return radius ** 2 * math.pi * wetting_factor(contact_angle, 2), 2 * contact_angle * radius
    return 4 * math.pi * radius ** 3 / 3 * wetting_factor(contact_angle, 3), 2 * math.pi * radius ** 2 * (1 - c)


def cap_radius(metal, contact_angle, dim):
    """R of the cap holding `metal` (the inverse of cap_size's first part)."""
    unit, _ = cap_size(1.0, contact_angle, dim)
    return (metal / unit) ** (1 / dim)


def footprint(radius, contact_angle):
    """Half the width a cap covers on (and above) the substrate: R sin theta
    for theta <= pi/2, R beyond (the cap bulges over its base); R for a free
    nucleus (contact_angle None)."""
    if contact_angle is None:
        return radius
    return radius * (math.sin(contact_angle) if contact_angle <= math.pi / 2 else 1.0)
