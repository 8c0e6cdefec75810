"""SI <-> internal units: the one place where values are scaled.

Internal units: length x0, time t0 ([scales]); chemical potential in RT;
electric potential in RT/(zF); energy density in E0 = RT/V_m;
concentrations as site fractions of the metal's site density c_s = 1/V_m.
A block converts its SI case values with ``Scales.to_internal(value, unit)``
and its results back with ``Scales.to_si`` (solver/models/).
"""
from __future__ import annotations

from dataclasses import dataclass

from .constants import FARADAY, GAS_CONSTANT


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

    def unit(self, dimension: str) -> float:
        """The SI value of one internal unit of `dimension`."""
        x0, t0, E0 = self.length, self.time, self.energy_density
        table = {
            "1": 1.0, "RT": 1.0, "m": x0, "1/m": 1 / x0, "s": t0, "1/s": 1 / t0, "m/s": x0 / t0,
            "m^2/s": x0 ** 2 / t0,
            "V": self.potential, "J/m^3": E0, "J/m": E0 * x0 ** 2, "m^3/(J*s)": 1 / (E0 * t0),
            "S/m": self.conductivity, "A/m^2": self.current_density,
            "mol/m^3": self.site_density, "mol/m^2": self.site_density * x0,
            "mol/(m^2*s)": self.site_density * x0 / t0,
            "C/m^2": self.current_density * t0,
        }
        if dimension not in table:
            raise KeyError(f"no internal scale for the dimension '{dimension}'; "
                           f"Scales.unit knows {', '.join(table)}")
        return table[dimension]

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


def nondimensionalise(case):
    """(Scales, internal parameters) of a validated case: the geometry's and
    those of every block of its model (Block.internal)."""
    from .models import make_blocks
    si = case.si
    s = case_scales(si)
    g = si["geometry"]
    p = {key: s.to_internal(g[key], "m") for key in ("length", "height", "depth")}
    for block in make_blocks(si):
        own = block.internal(si, s)
        clash = sorted(set(own) & set(p))
        if clash:
            raise ValueError(f"block '{block.name}' redefines internal parameters {clash}")
        p.update(own)
    return s, p
