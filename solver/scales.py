"""Non-dimensionalisation: SI case values -> the internal system, with scales.

Internal units: length x0, time t0 ([scales]); chemical potential w in RT;
potential phi in RT/(zF); energy density in E0 = RT/V_m; concentrations as
site fractions of the electrolyte (site density c_s/dv).  With these the
grand-potential model of Chen et al. (2015) takes the form of
benchmarks/hong2018.md with AA = 1 and ft2 = 1, and its published numbers are
recovered as ``published_numbers``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .case import FARADAY, R_GAS, Case


def logistic(x: float) -> float:
    e = math.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


@dataclass(frozen=True)
class Scales:
    length: float  # x0, m
    time: float  # t0, s
    temperature: float  # K
    z: int
    molar_volume: float  # m^3/mol

    @property
    def RT(self):
        return R_GAS * self.temperature

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

    def as_dict(self):
        return {"length_m": self.length, "time_s": self.time, "temperature_K": self.temperature,
                "charge_number": self.z, "potential_V": self.potential,
                "energy_density_J_m3": self.energy_density, "site_density_mol_m3": self.site_density,
                "current_density_A_m2": self.current_density,
                "conductivity_S_m": self.conductivity}


def nondimensionalise(case: Case):
    """Return (Scales, dict of internal parameters) for a validated case."""
    si = case.si
    s = Scales(length=si["scales"]["length"], time=si["scales"]["time"],
               temperature=si["material"]["temperature"], z=si["material"]["charge_number"],
               molar_volume=si["material"]["molar_volume"])
    pf, gp, el = si["phase_field"], si["grand_potential"], si["electrolyte"]
    g, ini, bc = si["geometry"], si["initial"], si["boundary"]
    p = {
        "L": pf["interface_mobility"] * s.energy_density * s.time,
        "W": pf["barrier_height"] / s.energy_density,
        "kappa": pf["gradient_coefficient"] / (s.energy_density * s.length ** 2),
        "Ls": pf["reaction_rate_constant"] * s.time,
        "alpha": pf["transfer_coefficient"],
        "M0": el["diffusivity"] * s.time / s.length ** 2,
        "sigma_electrode": si["electrode"]["conductivity"] / s.conductivity,
        "sigma_electrolyte": el["conductivity"] / s.conductivity,
        "dv": el["site_density_ratio"],
        "es": gp["electrode_mu_offset"], "el": gp["electrolyte_mu_offset"],
        "us": gp["electrode_energy_offset"], "ul": gp["electrolyte_energy_offset"],
        "A": gp["prefactor"],
        "length": g["length"] / s.length, "height": g["height"] / s.length,
        "x_interface": ini["interface_position"] / s.length,
        "interface_width": ini["interface_width"] / s.length,
        "perturbation_amplitude": ini["perturbation_amplitude"] / s.length,
        "perturbation_wavelength": ini["perturbation_wavelength"] / s.length,
        "w_initial": ini["chemical_potential"],
        "phi_applied": bc["applied_potential"] / s.potential,
        "phi_reservoir": bc["reservoir_potential"] / s.potential,
        "w_reservoir": bc["reservoir_chemical_potential"],
        "noise_amplitude": si["noise"]["amplitude"] * s.time,
        "noise_correlation_time": si["noise"]["correlation_time"] / s.time,
        "double_well": si["time"]["double_well"],
        "boundary_values": si["phase_field"]["boundary_values"],
        "driving_force": si["phase_field"]["driving_force"] / s.energy_density,
        "initial_kind": ini["kind"],
        "seeds": seed_positions(si, s.length),
    }
    # c0: electrolyte site fraction at w = 0, the reference of c/c0 in the
    # Butler-Volmer term (1/c0 = 14.89 for the published el = 2.631).
    p["c0"] = logistic(-p["el"] / p["A"])
    return s, p


def seed_positions(si, x0) -> list:
    """[(x, y, R)] of the initial seeds in internal units ([] for a front).
    Random positions come from one generator seeded by seed_rng, run alike on
    every rank: independent of the partition."""
    ini, g = si["initial"], si["geometry"]
    if ini["kind"] != "seeds":
        return []
    L, H, R = g["length"] / x0, g["height"] / x0, ini["seed_radius"] / x0
    if g["kind"] == "interval":
        H = 0.0
    if ini["seed_placement"] == "corner":
        return [(0.0, 0.0, R)]
    if ini["seed_placement"] == "center":
        return [(L / 2, H / 2, R)]
    rng = np.random.default_rng(ini["seed_rng"])
    xy = rng.uniform(0.0, 1.0, size=(ini["seed_count"], 2)) * (L, H)
    return [(float(x), float(y), R) for x, y in xy]


def published_numbers(case: Case) -> dict:
    """The numbers of the published MOOSE input that this case corresponds to
    (their units: um, s, RT per molar volume)."""
    s, p = nondimensionalise(case)
    um = Scales(1e-6, 1.0, s.temperature, s.z, s.molar_volume)
    si = case.si
    return {
        "AA (zF/RT, 1/V)": 1.0 / s.potential,
        "M0 (D in um^2/s)": si["electrolyte"]["diffusivity"] / um.length ** 2,
        "S1 (S/m)": si["electrode"]["conductivity"],
        "S2 (S/m)": si["electrolyte"]["conductivity"],
        "ft2 (zF c_s um^2/s)": s.z * FARADAY * s.site_density * um.length ** 2,
        "L": si["phase_field"]["interface_mobility"] * um.energy_density,
        "W": si["phase_field"]["barrier_height"] / um.energy_density,
        "kappa": si["phase_field"]["gradient_coefficient"] / (um.energy_density * 1e-12),
        "Ls": si["phase_field"]["reaction_rate_constant"],
        "1/c0": 1.0 / p["c0"],
        "dv": p["dv"],
    }
