"""SI <-> internal units: the one place where values are scaled.

Internal units: length x0, time t0 ([scales]); chemical potential in RT;
electric potential in RT/(zF); energy density in E0 = RT/V_m;
concentrations as site fractions of the metal's site density c_s = 1/V_m.
Every other unit follows from its dimension vector (Scales.unit).
A block converts its SI case values with ``Scales.to_internal(value, unit)``
and its results back with ``Scales.to_si`` (anodex/models/).
"""
from __future__ import annotations

from dataclasses import dataclass

from .constants import FARADAY, GAS_CONSTANT
from .units import dimension_of


@dataclass(frozen=True)
class Scales:
    length: float  # x0, m
    time: float  # t0, s
    temperature: float  # K
    z: int
    molar_volume: float  # m^3/mol

    @property
    def RT(self):
        return GAS_CONSTANT * self.temperature

    @property
    def potential(self):
        """RT/(zF), V."""
        return self.RT / (self.z * FARADAY)

    @property
    def site_density(self):
        """c_s = 1/V_m, mol/m^3."""
        return 1.0 / self.molar_volume

    @property
    def energy_density(self):
        """E0 = RT/V_m, J/m^3."""
        return self.RT / self.molar_volume

    @property
    def current_density(self):
        """zF c_s x0/t0: the current density of one unit of internal flux, A/m^2."""
        return self.z * FARADAY * self.site_density * self.length / self.time

    @property
    def conductivity(self):
        """zF c_s x0^2 / (t0 RT/(zF)), S/m."""
        return self.z * FARADAY * self.site_density * self.length ** 2 / (self.time * self.potential)

    def base_units(self):
        """The SI value of one internal unit of each base dimension (m, kg, s,
        A, K, mol): x0, t0, amount c_s x0^3 (site fractions), current
        zF c_s x0^3/t0 (so A/m^2 is the current density of one unit of
        internal flux), temperature T, and the mass that makes one internal
        volt RT/(zF) (so J/m^3 is E0 = RT/V_m and J/mol is RT)."""
        x0, t0 = self.length, self.time
        amount = self.site_density * x0 ** 3
        current = self.z * FARADAY * amount / t0
        mass = self.potential * current * t0 ** 3 / x0 ** 2  # V = kg m^2 / (s^3 A)
        return {"m": x0, "kg": mass, "s": t0, "A": current, "K": self.temperature,
                "mol": amount}

    def unit(self, dimension: str) -> float:
        """The SI value of one internal unit of `dimension`: any coherent SI
        unit expression ("A/m^3", "1/(m^3*s)"), from its dimension vector
        over the base units; "RT": a chemical potential counted in RT (1)."""
        if dimension == "RT":
            return 1.0
        exponents = dimension_of(dimension)
        value = 1.0
        for scale, power in zip(self.base_units().values(), exponents):
            value *= scale ** power
        return value

    def to_internal(self, value: float, dimension: str) -> float:
        return value / self.unit(dimension)

    def to_si(self, value: float, dimension: str) -> float:
        return value * self.unit(dimension)

    def as_dict(self):
        return {"length_m": self.length, "time_s": self.time, "temperature_K": self.temperature,
                "charge_number": self.z, "potential_V": self.potential,
                "energy_density_J_m3": self.energy_density, "site_density_mol_m3": self.site_density,
                "current_density_A_m2": self.current_density,
                "conductivity_S_m": self.conductivity}


def case_scales(si) -> Scales:
    return Scales(length=si["scales"]["length"], time=si["scales"]["time"],
                  temperature=si["material"]["temperature"], z=si["material"]["charge_number"],
                  molar_volume=si["material"]["molar_volume"])

