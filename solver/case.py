"""Case files: TOML in SI units -> validated, fully resolved case.

Every key has a type, a unit (dimension), a default and a validity check in
``SCHEMA``.  ``load_case`` reports *all* problems at once, each naming the
file, the ``[section] key``, what is wrong and what would be valid, before
anything is computed or written.  ``docs/case-reference.md`` is generated
from ``SCHEMA`` (``anodex check --reference``), so the reference and the code
cannot drift apart.

The defaults are the published Hong & Viswanathan (2018) input, written in SI
units (see ``docs/hong2018-units.md`` for the mapping).
"""
from __future__ import annotations

import copy
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from .units import UnitError, to_si

R_GAS = 8.314462618  # J/(mol K)
FARADAY = 96485.33212  # C/mol

# Hong & Viswanathan 2018 energy-density unit: RT per molar volume of Li at
# 300 K, used only to write the published dimensionless numbers in SI.
_E_HONG = R_GAS * 300.0 / 1.3e-5


AUTO_DIRECT_LIMIT = 30000  # unknowns; above this [solver] preset "auto" is iterative


class CaseError(ValueError):
    """Invalid case file: message lists every problem with file and key."""


@dataclass
class Param:
    kind: str  # quantity | number | int | bool | choice | str | str_list | int_list | table
    default: Any
    doc: str
    unit: str = "1"  # dimension name from units.DIMENSIONS, for quantities
    check: Callable[[Any], str | None] | None = None  # returns an error text or None
    choices: tuple = ()
    bounds: tuple | None = None  # (lo, hi): the physical range in SI, closed (BOUNDS)


def positive(x):
    return None if x > 0 else "must be > 0"


def nonnegative(x):
    return None if x >= 0 else "must be >= 0"


def open_unit(x):
    return None if 0 < x < 1 else "must lie strictly between 0 and 1"


def open_unit_closed(x):
    return None if 0 < x <= 1 else "must lie in (0, 1]"


def open_angle(x):
    return None if 0 < x < math.pi else "must lie strictly between 0 and pi (0 and 180 deg)"


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def plain_name(x, longest):
    """A name used for a path: no separators, no '..', no control characters."""
    if not _PLAIN_NAME.fullmatch(x):
        return ("must be a plain name of letters, digits, '.', '_' and '-', starting with a "
                "letter or digit (it names a directory)")
    if len(x) > longest:
        return f"must be at most {longest} characters, got {len(x)}"
    return None


def q(default, unit, doc, check=None):
    return Param("quantity", default, doc, unit, check)


SCHEMA: dict[str, dict[str, Param]] = {
    "case": {
        "name": Param("str", "anodex-case", "short name, used in logs and metadata and as "
                      "the default output directory runs/<name>: letters, digits, '.', '_', "
                      "'-' (a plain directory name, at most 100 characters)",
                      check=lambda x: plain_name(x, 100)),
        "description": Param("str", "", "free text"),
    },
    "model": {
        "blocks": Param("str_list", ["ion_transport", "phase_field", "butler_volmer", "potential"],
                        "physics blocks to couple (solver/models/); the default is the full "
                        "grand-potential electrodeposition model"),
    },
    "geometry": {
        "kind": Param("choice", "rectangle", "domain shape; the electrode is at x = 0, "
                      "the electrolyte reservoir at x = length", choices=("interval", "rectangle")),
        "length": q("200 um", "m", "extent in x (electrode to reservoir)", positive),
        "height": q("200 um", "m", "extent in y (rectangle only)", positive),
        "cells": Param("int_list", [200, 200], "number of cells in x (and y); "
                       "quadrilaterals in 2-D"),
    },
    "material": {
        "metal": Param("str", "", "anode metal from the materials library (`anodex materials`), "
                       "e.g. \"Li\", \"Mg\"; fills charge_number, molar_volume, [metal] and the "
                       "phase-field energies unless the case gives them; \"\": none"),
        "electrolyte": Param("str", "", "solid electrolyte from the library, e.g. \"LLZO\", "
                             "\"MgSc2Se4\"; fills [electrolyte] (conductivity at the "
                             "temperature, diffusivity by Nernst-Einstein) unless the case gives "
                             "them, and the metal if not named; \"\": none"),
        "charge_number": Param("int", 1, "z of the metal ion", check=positive),
        "molar_volume": q("1.3e-5 m^3/mol", "m^3/mol", "molar volume of the metal "
                          "(site density c_s = 1/V_m); with a metal: M/rho", positive),
        "temperature": q("300 K", "K", "temperature; feeds RT in the kinetics and potentials, "
                         "the electrolyte conductivity law and Nernst-Einstein; with a named "
                         "electrolyte the default is the temperature of its measured "
                         "conductivity", positive),
    },
    "metal": {
        "molar_mass": q(None, "kg/mol", "M (library value if a metal is named)", positive),
        "density": q(None, "kg/m^3", "rho (library value if a metal is named)", positive),
        "surface_energy": q(None, "J/m^2", "gamma; if set and the case gives neither "
                            "[phase_field] gradient_coefficient nor barrier_height, they are "
                            "3 gamma l and 6 gamma / l (l: [phase_field] interface_length)",
                            positive),
        "shear_modulus": q(None, "Pa", "G (recorded; not used by the present blocks)", positive),
        "standard_potential": q(None, "V", "E0 vs SHE (recorded; not used by the present "
                                "blocks)"),
        "melting_point": q(None, "K", "the case temperature must lie below it", positive),
    },
    "electrode": {
        "conductivity": q("1e6 S/m", "S/m", "electronic conductivity of the metal (S1)", positive),
    },
    "electrolyte": {
        "conductivity": q("1.19 S/m", "S/m", "ionic conductivity (S2)", positive),
        "diffusivity": q("3.179e-10 m^2/s", "m^2/s", "ion diffusivity D (M0 = D t0/x0^2); "
                         "if unset while a conductivity is given or an electrolyte named: "
                         "Nernst-Einstein from the conductivity", positive),
        "site_density_ratio": Param("number", 5.5, "dv: site density of the electrode over "
                                    "that of the electrolyte", check=positive),
        "activation_energy": q(None, "J", "Arrhenius Ea of the named electrolyte's "
                               "conductivity (overrides the library; e.g. \"0.3 eV\")", positive),
        "vtf_pseudo_activation_energy": q(None, "J", "VTF B (polymer electrolytes)", positive),
        "vtf_temperature": q(None, "K", "VTF T0 (polymer electrolytes)", positive),
        "transference_number": Param("number", None, "t+ (recorded; the present ion "
                                     "transport block is the Nernst-Planck form of "
                                     "Chen et al. 2015)", check=open_unit_closed),
        "electronic_conductivity": q(None, "S/m", "electronic leakage (recorded; not used "
                                     "by the present blocks)", nonnegative),
        "permittivity": Param("number", None, "relative permittivity (recorded; not used by "
                              "the present blocks)", check=positive),
        "youngs_modulus": q(None, "Pa", "Young's modulus (recorded; not used by the present "
                            "blocks)", positive),
    },
    "phase_field": {
        "interface_length": q(None, "m", "l = sqrt(2 kappa/W), used with [metal] surface_energy "
                              "when kappa and W are not given (then 0.5 um if unset)", positive),
        "gradient_coefficient": q(f"{0.3 * _E_HONG * 1e-12:.6g} J/m", "J/m",
                                  "kappa, gradient energy coefficient", positive),
        "barrier_height": q(f"{2.4 * _E_HONG:.6g} J/m^3", "J/m^3",
                            "W, double-well barrier height", positive),
        "interface_relaxation_rate": q(None, "1/s", "L W, instead of interface_mobility: "
                                       "L = rate / W (the published input has 15/s); keeps "
                                       "the interface kinetics fast when W comes from a "
                                       "surface energy", positive),
        "interface_mobility": q(f"{6.25 / _E_HONG:.6g} m^3/(J*s)", "m^3/(J*s)",
                                "L, Allen-Cahn mobility", positive),
        "reaction_rate_constant": q("1e-3 1/s", "1/s", "Ls, Butler-Volmer kinetic "
                                    "coefficient of the phase-field equation", nonnegative),
        "exchange_current_density": q(None, "A/m^2", "i0, instead of reaction_rate_constant: "
                                      "Ls = i0 / (3 z F c_s l), from the flat-front velocity "
                                      "v = 3 l Ls (BV bracket) (tests/test_electrodeposition.py)",
                                      positive),
        "transfer_coefficient": Param("number", 0.5, "alpha, cathodic charge-transfer "
                                      "coefficient", check=open_unit),
        "boundary_values": Param("bool", True, "eta = 1 at the electrode and 0 at the "
                                 "reservoir; false: zero flux on every boundary (nucleation "
                                 "benchmarks)"),
        "driving_force": q("0 J/m^3", "J/m^3", "bulk free-energy difference df of the "
                           "driving_force block (PFHub benchmark 8: f = W g - df p + kappa/2 "
                           "|grad eta|^2)", nonnegative),
    },
    "grand_potential": {
        "electrode_mu_offset": Param("number", -13.8, "es, in units of RT"),
        "electrolyte_mu_offset": Param("number", 2.631, "el, in units of RT"),
        "electrode_energy_offset": Param("number", 13.8, "us, in units of RT"),
        "electrolyte_energy_offset": Param("number", 0.0695, "ul, in units of RT"),
        "prefactor": Param("number", 1.0, "A, in units of RT", check=positive),
    },
    "initial": {
        "kind": Param("choice", "front", "initial metal: a front parallel to the electrode "
                      "(interface_position, optional cosine perturbation), circular seeds "
                      "(seed_*), or none (bare: a collector on which nuclei form)",
                      choices=("front", "seeds", "bare")),
        "interface_position": q("20 um", "m", "x of the eta = 0.5 level at t = 0", positive),
        "interface_width": q("0.5 um", "m", "l in eta = (1 - tanh((x - x0)/l))/2", positive),
        "perturbation_amplitude": q("0 m", "m", "amplitude of a cosine perturbation of the "
                                    "front along y", nonnegative),
        "perturbation_wavelength": q("200 um", "m", "wavelength of that perturbation", positive),
        "chemical_potential": Param("number", 0.0, "w at t = 0, in units of RT"),
        "seed_radius": q("5 um", "m", "seeds: radius of the eta = 0.5 level of each seed "
                         "(profile (1 - tanh((r - R)/interface_width))/2)", positive),
        "seed_count": Param("int", 1, "seeds: how many", check=positive),
        "seed_placement": Param("choice", "center", "seeds: one at the domain's centre, one "
                                "at the corner x = y = 0 (a quarter of a centred seed, by "
                                "symmetry), or seed_count uniformly random positions (drawn from "
                                "seed_rng, the same on any number of ranks)",
                                choices=("center", "corner", "random")),
        "seed_rng": Param("int", 1, "seeds: random-number seed of the positions",
                          check=nonnegative),
    },
    "boundary": {
        "applied_potential": q("-0.45 V", "V", "electrode potential at x = 0"),
        "reservoir_potential": q("0 V", "V", "potential at x = length"),
        "reservoir_chemical_potential": Param("number", 0.0, "w at x = length, in units of "
                                              "RT (0: the reference concentration c0)"),
    },
    "noise": {
        "amplitude": q("0 1/s", "1/s", "Langevin-type noise on eta as in the published "
                       "input: a rate uniform in [-a, a] at each node", nonnegative),
        "correlation_time": q("0.02 s", "s", "the rate is redrawn every this much simulated "
                              "time, independent of the time step (a step sees the average "
                              "over the windows it spans); 0.02 s is the published input's "
                              "fixed step, at which it redrew every step", positive),
        "seed": Param("int", 20180, "seed; the noise depends only on it, the time window and "
                      "the node coordinates (not on the MPI partition or the steps taken)",
                      check=nonnegative),
    },
    "nucleation": {
        "enabled": Param("bool", False, "explicit stochastic nucleation on the electrode face "
                         "(a bare collector: needs [phase_field] boundary_values = false and "
                         "the potential and ion_transport blocks); see solver/stochastic_nucleation.py"),
        "rate_prefactor": q("0 1/(m^2*s)", "1/(m^2*s)", "J0 in J = J0 exp(-dG*/(k_B T)) "
                            "(no seed gives one: supply it)", nonnegative),
        "contact_angle": q("90 deg", "1", "theta of the nucleus on the collector, in (0, pi) "
                           "(\"60 deg\" or radians); wetting factor "
                           "f = (2 + cos)(1 - cos)^2/4", open_angle),
        "seed_factor": Param("number", 1.5, "an inserted nucleus has radius seed_factor x "
                             "max(r*, min_seed_radius)", check=lambda x: None if x > 1 else
                             "must be > 1 (a nucleus must be supercritical)"),
        "min_seed_radius": q("1 um", "m", "smallest radius a nucleus is inserted with (the "
                             "mesh must resolve it; r* is nanometres at typical overpotentials)",
                             positive),
        "exclusion_distance": q("2 um", "m", "no nucleus within this distance of another "
                                "(at least the cell size)", positive),
        "hold_time": q("0 s", "s", "a new nucleus is re-imposed (eta = max(eta, seed)) "
                       "after every step for this long", nonnegative),
        "site_depth": q("0 m", "m", "2-D: a site (electrode facet of length a) has area "
                        "a x site_depth; 0: a (square patches)", nonnegative),
        "seed": Param("int", 1, "random-number seed of the draws (hashed with the step "
                      "number and the site's coordinates: partition independent)",
                      check=nonnegative),
    },
    "time": {
        "end": q("400 s", "s", "end time", positive),
        "dt_initial": q("0.02 s", "s", "first time step", positive),
        "dt_min": q("1e-6 s", "s", "smallest step before the run gives up", positive),
        "dt_max": q("1 s", "s", "largest step", positive),
        "scheme": Param("choice", "bdf2", "time discretisation", choices=("bdf1", "bdf2")),
        "error_tolerance": Param("number", 0.02, "local error target per step: the "
                                 "error_norm of |q - q_pred|/(1 + |q|) over the nodes, for "
                                 "q = eta and c/c0, q_pred the linear extrapolation of the last "
                                 "two steps; 0 disables error control", check=nonnegative),
        "error_norm": Param("choice", "max", "max: the largest nodal error (every node "
                            "resolved in time); rms: the root mean square over the nodes, per "
                            "quantity (as CVODE's WRMS norm: lets single nodes of an "
                            "under-resolved front flip within a step)", choices=("max", "rms")),
        "double_well": Param("choice", "implicit", "time discretisation of the double-well "
                             "force of the phase field: implicit, or stabilized (linearised "
                             "about the extrapolated eta, second order; keeps each step's "
                             "equation for eta monotone at large steps)",
                             choices=("implicit", "stabilized")),
        "max_steps": Param("int", 1000000, "stop after this many accepted steps",
                           check=positive),
        "stop_tip_fraction": Param("number", 0.9, "stop when the tip passes this fraction "
                                   "of the length (1: never)",
                                   check=open_unit_closed),
        "stop_deposit_thickness": q("0 m", "m", "stop when the deposit-equivalent thickness "
                                    "(metal volume per electrode area) reaches this: a fixed "
                                    "plated capacity; 0: never", nonnegative),
    },
    "solver": {
        "preset": Param("choice", "auto", "linear solver: direct LU (MUMPS), fieldsplit "
                        "(FGMRES, ILU on (w, eta), BoomerAMG on the potential), amg (GMRES "
                        "with BoomerAMG; one unknown only, e.g. the phase field alone), or "
                        "auto (direct below 30000 unknowns, else fieldsplit, or amg for one "
                        "unknown)", choices=("auto", "direct", "fieldsplit", "amg")),
        "reuse_factorization": Param("bool", True, "direct preset: keep the LU factors "
                                     "across Newton iterations and time steps as the "
                                     "preconditioner of GMRES on the current Jacobian; "
                                     "refactorize when GMRES needs more than "
                                     "refactor_krylov_iterations or a Newton solve fails"),
        "refactor_krylov_iterations": Param("int", 8, "see reuse_factorization",
                                            check=positive),
        "newton_tolerance": Param("number", 1e-6, "convergence: max |J_ii^-1 F_i| over all "
                                  "unknowns (w in RT, potential in RT/zF)", check=positive),
        "max_newton_iterations": Param("int", 25, "per step before the step is cut",
                                       check=positive),
        "line_search": Param("choice", "basic", "SNES line search",
                             choices=("basic", "bt", "l2", "cp")),
        "max_eta_update": Param("number", 0.5, "Newton step limiter: largest change of eta "
                                "per iteration (the step is scaled down)", check=positive),
        "max_w_update": Param("number", 5.0, "limiter on w per iteration, in RT",
                              check=positive),
        "petsc_options": Param("table", {}, "extra PETSc options (prefix-free), applied last"),
    },
    "output": {
        "field_interval": q("10 s", "s", "write fields every this much simulated time "
                            "(and at the end)", positive),
    },
    "checkpoint": {
        "every_steps": Param("int", 100, "write checkpoint.npz every this many accepted steps "
                             "(also at every field output and at the end); 0: only those",
                             check=nonnegative),
        "every_wall": q("10 min", "s", "and whenever this much wall time has passed since "
                        "the last one", positive),
    },
    "scales": {
        "length": q("1 um", "m", "length scale x0 of the internal non-dimensional system",
                    positive),
        "time": q("1 s", "s", "time scale t0", positive),
    },
}


# Physical ranges (SI, closed intervals).  Generous: a value outside is a
# typo or a unit slip (a conductivity in S/cm written as S/m is still inside),
# and refusing it before the run beats NaN in the output.  Counts are bounded
# by what PETSc's 32-bit indices and a workstation can hold.
_INT32 = 2 ** 31 - 1
BOUNDS = {
    "geometry.length": (1e-9, 1.0), "geometry.height": (1e-9, 1.0),
    "material.charge_number": (1, 6), "material.molar_volume": (1e-7, 1e-3),
    "material.temperature": (1.0, 3000.0),
    "metal.molar_mass": (1e-3, 1.0), "metal.density": (1.0, 1e5),
    "metal.surface_energy": (1e-4, 100.0), "metal.shear_modulus": (1e3, 1e13),
    "metal.standard_potential": (-10.0, 10.0), "metal.melting_point": (1.0, 5000.0),
    "electrode.conductivity": (1e-12, 1e10),
    "electrolyte.conductivity": (1e-15, 1e6), "electrolyte.diffusivity": (1e-30, 1e-3),
    "electrolyte.site_density_ratio": (1e-6, 1e6),
    "electrolyte.activation_energy": (1e-23, 1e-17),  # up to 62 eV
    "electrolyte.vtf_pseudo_activation_energy": (1e-23, 1e-17),
    "electrolyte.vtf_temperature": (0.0, 3000.0),
    "electrolyte.electronic_conductivity": (0.0, 1e10),
    "electrolyte.permittivity": (1.0, 1e6), "electrolyte.youngs_modulus": (1e3, 1e13),
    "phase_field.interface_length": (1e-12, 1.0),
    "phase_field.gradient_coefficient": (1e-30, 1e10),
    "phase_field.barrier_height": (1e-10, 1e15),
    "phase_field.interface_relaxation_rate": (1e-20, 1e20),
    "phase_field.interface_mobility": (1e-40, 1e10),
    "phase_field.reaction_rate_constant": (0.0, 1e20),
    "phase_field.exchange_current_density": (1e-20, 1e8),
    "phase_field.driving_force": (0.0, 1e15),
    "grand_potential.electrode_mu_offset": (-100.0, 100.0),
    "grand_potential.electrolyte_mu_offset": (-100.0, 100.0),
    "grand_potential.electrode_energy_offset": (-100.0, 100.0),
    "grand_potential.electrolyte_energy_offset": (-100.0, 100.0),
    "grand_potential.prefactor": (1e-3, 1e3),
    "initial.interface_width": (1e-12, 1.0),
    "initial.perturbation_amplitude": (0.0, 1.0),
    "initial.perturbation_wavelength": (1e-12, 1e3),
    "initial.chemical_potential": (-100.0, 100.0),
    "initial.seed_radius": (1e-12, 1.0), "initial.seed_count": (1, 100000),
    "boundary.applied_potential": (-20.0, 20.0), "boundary.reservoir_potential": (-20.0, 20.0),
    "boundary.reservoir_chemical_potential": (-100.0, 100.0),
    "noise.amplitude": (0.0, 1e15), "noise.correlation_time": (1e-15, 1e15),
    "nucleation.rate_prefactor": (0.0, 1e60), "nucleation.seed_factor": (1.0, 100.0),
    "nucleation.min_seed_radius": (1e-12, 1.0), "nucleation.exclusion_distance": (1e-12, 1.0),
    "nucleation.hold_time": (0.0, 1e15), "nucleation.site_depth": (0.0, 1.0),
    "time.end": (1e-15, 1e15), "time.dt_initial": (1e-18, 1e15),
    "time.dt_min": (1e-18, 1e15), "time.dt_max": (1e-18, 1e15),
    "time.error_tolerance": (0.0, 1.0), "time.max_steps": (1, _INT32),
    "time.stop_deposit_thickness": (0.0, 1.0),
    "solver.refactor_krylov_iterations": (1, 10000), "solver.newton_tolerance": (1e-16, 1.0),
    "solver.max_newton_iterations": (1, 10000), "solver.max_eta_update": (1e-6, 100.0),
    "solver.max_w_update": (1e-6, 1000.0),
    "output.field_interval": (1e-18, 1e15),
    "checkpoint.every_steps": (0, _INT32), "checkpoint.every_wall": (0.0, 1e9),
    "scales.length": (1e-12, 1.0), "scales.time": (1e-15, 1e15),
}
for _dotted, _bounds in BOUNDS.items():
    _section, _key = _dotted.split(".")
    SCHEMA[_section][_key].bounds = _bounds


@dataclass
class Case:
    """A validated case: ``raw`` as written (strings with units, defaults filled)
    and ``si`` as floats in SI units."""
    raw: dict
    si: dict
    source: str = "<default>"
    warnings: list = field(default_factory=list)
    # "section.key" -> where the value came from (material sections)
    provenance: dict = field(default_factory=dict)

    def __getitem__(self, section):
        return self.si[section]

    def to_toml(self) -> str:
        return dump_toml(self.raw, self.provenance)

    @property
    def interface_length(self) -> float:
        """Equilibrium interface length l = sqrt(2 kappa / W) (m)."""
        from .materials.resolve import interface_length
        return interface_length(self.si["phase_field"])

    @property
    def cell_size(self) -> float:
        g = self.si["geometry"]
        h = g["length"] / g["cells"][0]
        if g["kind"] == "rectangle":
            h = max(h, g["height"] / g["cells"][1])
        return h


def _convert(p: Param, value):
    """Return (si_value, error_text); None stays None (an unset optional key)."""
    if value is None:
        return None, None
    if p.kind == "quantity":
        try:
            return to_si(value, p.unit), None
        except UnitError as e:
            return None, str(e)
    if p.kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"must be a number, got {type(value).__name__} {shown(value)}"
        if not math.isfinite(value):
            return None, f"must be a finite number, got {value!r}"
        return float(value), None
    if p.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"must be an integer, got {type(value).__name__} {shown(value)}"
        return value, None
    if p.kind == "bool":
        if not isinstance(value, bool):
            return None, f"must be true or false, got {value!r}"
        return value, None
    if p.kind == "str":
        if not isinstance(value, str):
            return None, f"must be a string, got {type(value).__name__}"
        if len(value) > MAX_STRING:
            return None, f"must be at most {MAX_STRING} characters, got {len(value)}"
        return value, None
    if p.kind == "choice":
        if not isinstance(value, str) or value not in p.choices:
            return None, f"must be one of {', '.join(map(repr, p.choices))}, got {shown(value)}"
        return value, None
    if p.kind == "int_list":
        if (not isinstance(value, list) or not value
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
            return None, f"must be a list of positive integers, got {shown(value)}"
        return list(value), None
    if p.kind == "str_list":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return None, f"must be a non-empty list of strings, got {shown(value)}"
        return list(value), None
    if p.kind == "table":
        if not isinstance(value, dict):
            return None, f"must be a table, got {type(value).__name__}"
        return _petsc_table(value)
    raise AssertionError(p.kind)


MAX_STRING = 10000  # characters of a string value
_PETSC_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def short(text: str, at_most=60) -> str:
    """A name as written, made printable and cut to a readable length."""
    text = text if text.isprintable() else repr(text)
    return text if len(text) <= at_most else text[:at_most] + f"... ({len(text)} characters)"


def shown(value, at_most=80) -> str:
    """repr of a value, cut to a readable length (messages stay short)."""
    return short(repr(value), at_most)


def _petsc_table(value):
    """[solver] petsc_options: option names without the leading '-', values
    strings, finite numbers or booleans -> {name: string}."""
    out = {}
    for k, v in value.items():
        if not _PETSC_KEY.fullmatch(k) or len(k) > 200:
            hint = " (write it without the leading '-')" if k.startswith("-") else ""
            return None, (f"option name {shown(k)} is not a PETSc option name: letters, digits "
                          f"and '_'{hint}")
        if isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (int, float)) and math.isfinite(v):
            out[k] = repr(v)
        elif isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9_.,:+-]{0,200}", v):
            out[k] = v
        else:
            return None, (f"{k}: value must be a word, a finite number or a boolean, "
                          f"got {shown(v)}")
    return out, None


def _suggest(word, options):
    close = difflib.get_close_matches(word, options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


MAX_REPORTED = 50  # problems listed in one message; the rest are counted


def _where(section, key, from_cli) -> str:
    return f"--set {section}.{key}" if (section, key) in from_cli else f"[{section}] {key}"


def validate(data: dict, source: str = "<case>", from_cli=frozenset()) -> Case:
    """Validate a parsed case dict; raise CaseError listing every problem.
    from_cli: the (section, key) pairs that came from --set (named so)."""
    errors, raw, si, given = [], {}, {}, set()
    for section, key in sorted(from_cli):
        if section not in SCHEMA:
            errors.append(f"--set {short(section)}.{short(key)}: unknown section "
                          f"[{short(section)}]{_suggest(section, SCHEMA)}; valid sections: "
                          f"{', '.join(SCHEMA)}")
        elif key not in SCHEMA[section]:
            errors.append(f"--set {section}.{short(key)}: unknown key [{section}] {short(key)}"
                          f"{_suggest(key, SCHEMA[section])}; valid keys: "
                          f"{', '.join(SCHEMA[section])}")
    only_from_cli = {sec for sec, v in data.items() if isinstance(v, dict) and v
                     and all((sec, k) in from_cli for k in v)}  # reported above
    unknown_sections = [sec for sec in data if sec not in SCHEMA and sec not in only_from_cli]
    if unknown_sections:
        hint = _suggest(unknown_sections[0], SCHEMA) if len(unknown_sections) == 1 else ""
        errors.append(f"unknown section{'s' * (len(unknown_sections) > 1)} "
                      f"{listing(f'[{sec}]' for sec in unknown_sections)}{hint}; "
                      f"valid sections: {', '.join(SCHEMA)}")
    for section in SCHEMA:
        if section in data and not isinstance(data[section], dict):
            errors.append(f"[{section}] must be a table of keys, got {type(data[section]).__name__} "
                          f"{shown(data[section])}")
    for section, params in SCHEMA.items():
        section_given = data.get(section, {}) if isinstance(data.get(section, {}), dict) else {}
        raw[section], si[section] = {}, {}
        unknown = [key for key in section_given if key not in params
                   and (section, key) not in from_cli]
        if len(unknown) == 1:
            errors.append(f"[{section}] {short(unknown[0])}: unknown key"
                          f"{_suggest(unknown[0], params)}; valid keys: {', '.join(params)}")
        elif unknown:
            errors.append(f"[{section}] unknown keys {listing(unknown)}; valid keys: "
                          f"{', '.join(params)}")
        for key, p in params.items():
            value = section_given.get(key, copy.deepcopy(p.default))
            if key in section_given:
                given.add((section, key))
            if value is not None:
                raw[section][key] = value
            val, err = _convert(p, value)
            if err is None and val is not None and p.check is not None:
                err = p.check(val)
                if err:
                    err = f"{err}, got {shown(value)}"
            if err is None and val is not None and p.bounds is not None:
                err = _out_of_bounds(p, val, value)
            if err:
                errors.append(f"{_where(section, key, from_cli)}: {err}")
            si[section][key] = val
    provenance = {}
    try:
        if not errors:
            from .materials.resolve import resolve
            errors += resolve(raw, si, given, provenance)
        if not errors:
            errors += _cross_checks(si, given, from_cli)
        if not errors:
            errors += _derived_checks(Case(raw=raw, si=si, source=source))
    except (OverflowError, ZeroDivisionError) as e:
        errors.append(f"the values give derived numbers that overflow ({e}); check the "
                      "magnitudes and units of the values given")
    if errors:
        listed = errors[:MAX_REPORTED]
        more = (f"\n  ... and {len(errors) - MAX_REPORTED} more problems"
                if len(errors) > MAX_REPORTED else "")
        raise CaseError(f"{source}: invalid case file:\n  - " + "\n  - ".join(listed) + more)
    if si["geometry"]["kind"] == "interval":
        raw["geometry"].pop("height", None)  # not part of a 1-D case (nor its resolved file)
    case = Case(raw=raw, si=si, source=source, provenance=provenance)
    case.warnings += _resolution_warnings(case) + _inactive_key_warnings(si, given)
    return case


def listing(names, at_most=10) -> str:
    """Names for a message: the first at_most, then how many more."""
    names = list(names)
    more = f" and {len(names) - at_most} more" if len(names) > at_most else ""
    return ", ".join(short(n) for n in names[:at_most]) + more


def _out_of_bounds(p: Param, val, value) -> str | None:
    lo, hi = p.bounds
    if lo <= val <= hi:
        return None
    unit = "" if p.kind != "quantity" or p.unit == "1" else f" {p.unit}"
    return f"outside the physical range [{lo:g}, {hi:g}]{unit}, got {shown(value)}"


def _derived_checks(case: Case) -> list[str]:
    """The internal (non-dimensional) parameters must be finite numbers."""
    from .scales import nondimensionalise
    _, p = nondimensionalise(case)
    bad = [k for k, v in p.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        return [f"the values give non-finite internal parameters {bad} (solver/scales.py); "
                "check the magnitudes and units of the values given, and [scales]"]
    return []


MAX_NOISE_WINDOWS = 10000  # per step (each window costs one hash of the nodes)


def _cross_checks(si, given=frozenset(), from_cli=frozenset()) -> list[str]:
    """Checks that involve several keys (the keys are named in the message)."""
    errors = []
    g, t = si["geometry"], si["time"]
    ndim = 1 if g["kind"] == "interval" else 2
    if len(g["cells"]) != ndim:
        need = "an interval needs 1 cell count, [nx]" if ndim == 1 else \
            "a rectangle needs 2 cell counts, [nx, ny]"
        errors.append(f"[geometry] cells: {need}; got {shown(g['cells'])}")
    switched = ("geometry", "kind") in from_cli and ("geometry", "height") not in from_cli
    if ndim == 1 and _set_differently(si, given, "geometry", "height") and not switched:
        # (a 2-D case shrunk with --set geometry.kind=interval only gets a warning)
        errors.append(f"{_where('geometry', 'height', from_cli)}: has no effect on an "
                      "interval (kind = \"interval\" is 1-D); remove it, or use kind = "
                      "\"rectangle\"")
    if not t["dt_min"] <= t["dt_initial"] <= t["dt_max"]:
        errors.append("[time] dt_initial: must satisfy dt_min <= dt_initial <= dt_max, got "
                      f"{t['dt_min']:g} s, {t['dt_initial']:g} s, {t['dt_max']:g} s")
    if t["dt_initial"] > t["end"]:
        errors.append(f"[time] dt_initial: larger than [time] end ({t['end']:g} s)")
    tau = si["noise"]["correlation_time"]
    if si["noise"]["amplitude"] > 0 and t["dt_max"] > MAX_NOISE_WINDOWS * tau:
        errors.append(f"[noise] correlation_time: {tau:g} s would make one step of dt_max = "
                      f"{t['dt_max']:g} s average over more than {MAX_NOISE_WINDOWS} noise "
                      f"windows; use at least {t['dt_max'] / MAX_NOISE_WINDOWS:g} s or lower "
                      "[time] dt_max")
    if si["initial"]["kind"] == "front" and not 0 < si["initial"]["interface_position"] < g["length"]:
        errors.append("[initial] interface_position: must lie inside the domain "
                      f"(0, {g['length']:g} m)")
    nuc = si["nucleation"]
    if nuc["enabled"]:
        if si["phase_field"]["boundary_values"]:
            errors.append("[nucleation] enabled: needs [phase_field] boundary_values = false "
                          "(a bare collector: eta is not held at 1 on the electrode)")
        missing = {"potential", "ion_transport", "phase_field"} - set(si["model"]["blocks"])
        if missing:
            errors.append(f"[nucleation] enabled: needs the model blocks {sorted(missing)} "
                          "(the local overpotential)")
        if si["metal"]["surface_energy"] is None:
            errors.append("[nucleation] enabled: needs [metal] surface_energy (or a "
                          "[material] metal from the library)")
    from .models import make_blocks
    try:
        unknowns = [u for b in make_blocks(si["model"]["blocks"]) for u in b.unknowns]
    except ValueError as e:
        errors.append(f"[model] blocks: {e}")
    else:
        if si["solver"]["preset"] == "amg" and len(unknowns) > 1:
            errors.append(f"[solver] preset: \"amg\" needs a single unknown; the blocks "
                          f"{si['model']['blocks']} solve for {', '.join(unknowns)}: use auto, "
                          "direct or fieldsplit")
    if errors:
        return errors
    pf = si["phase_field"]
    ell = math.sqrt(2 * pf["gradient_coefficient"] / pf["barrier_height"])
    h = g["length"] / g["cells"][0]
    if ndim == 2:
        h = max(h, g["height"] / g["cells"][1])
    # eta goes from 0.1 to 0.9 over 2 artanh(0.8) l = 2.197 l; with a coarser
    # mesh the interface lies inside one cell and cannot be represented.
    width = 2 * math.atanh(0.8) * ell
    if nuc["enabled"] and nuc["exclusion_distance"] < h:
        errors.append(f"[nucleation] exclusion_distance: {nuc['exclusion_distance'] * 1e6:.3g} um "
                      f"is below the cell size {h * 1e6:.3g} um; use at least the cell size")
    if h > width:
        errors.append(f"[geometry] cells: cell size {h * 1e6:.3g} um is larger than the "
                      f"10-90 % interface width {width * 1e6:.3g} um (from [phase_field] "
                      "gradient_coefficient and barrier_height): use at least "
                      f"{math.ceil(g['length'] / width)} cells in x")
    return errors


# keys that do nothing unless another key has a value: (key, active?, why not)
_CONDITIONAL_KEYS = (
    ("geometry", ("height",), lambda si: si["geometry"]["kind"] == "rectangle",
     'kind = "interval" (1-D)'),
    ("initial", ("interface_position", "perturbation_amplitude", "perturbation_wavelength"),
     lambda si: si["initial"]["kind"] == "front", 'initial kind is not "front"'),
    ("initial", ("seed_radius", "seed_count", "seed_placement", "seed_rng"),
     lambda si: si["initial"]["kind"] == "seeds", 'initial kind is not "seeds"'),
    ("nucleation", tuple(k for k in SCHEMA["nucleation"] if k != "enabled"),
     lambda si: si["nucleation"]["enabled"], "[nucleation] enabled = false"),
    ("noise", ("correlation_time", "seed"),
     lambda si: si["noise"]["amplitude"] > 0, "[noise] amplitude is 0"),
    ("solver", ("refactor_krylov_iterations",),
     lambda si: si["solver"]["reuse_factorization"], "[solver] reuse_factorization = false"),
)


def _set_differently(si, given, section, key) -> bool:
    """The case gives the key a value other than its default (a resolved
    case.toml gives every key, mostly at its default)."""
    if (section, key) not in given:
        return False
    default, _ = _convert(SCHEMA[section][key], SCHEMA[section][key].default)
    return si[section][key] != default


def _inactive_key_warnings(si, given) -> list[str]:
    """Keys the case sets that have no effect in its configuration."""
    out = []
    for section, keys, active, why in _CONDITIONAL_KEYS:
        unused = [k for k in keys if _set_differently(si, given, section, k)]
        if unused and not active(si):
            out.append(f"[{section}] {', '.join(unused)}: no effect ({why})")
    return out


def _resolution_warnings(case: Case) -> list[str]:
    h, ell = case.cell_size, case.interface_length
    if h > ell / 2 * (1 + 1e-3):  # the published kappa, W give ell = 0.49999 um
        return [f"cell size {h * 1e6:.3g} um exceeds half the interface length "
                f"{ell * 1e6:.3g} um: the front will pin to the grid and move in jumps "
                "(published-resolution behaviour; refine for grid-converged results)"]
    return []


MAX_CASE_BYTES = 1 << 20  # a case file is a page of settings, not data


def name_too_long(path) -> bool:
    """A name in the path is longer than file systems allow (255 bytes)."""
    return any(len(part.encode(errors="surrogateescape")) > 255 for part in Path(path).parts)


def read_toml(path, what="case file") -> dict:
    """Parse a TOML file; CaseError naming the file for anything that is not a
    readable, non-empty UTF-8 TOML document of sensible size."""
    p = Path(path)
    name = short(str(p), 200)  # (a path can be thousands of characters)
    if name_too_long(p):
        raise CaseError(f"{name}: cannot read the {what}: File name too long (a name in the "
                        "path is longer than 255 bytes)")
    try:
        exists, is_file = p.exists(), p.is_file()
    except OSError as e:  # a name too long, a loop of links
        raise CaseError(f"{name}: cannot read the {what}: "
                        f"{e.strerror or type(e).__name__}") from None
    if not exists:
        raise CaseError(f"{name}: no such {what}")
    if not is_file:
        raise CaseError(f"{name}: not a file (a {what} is a TOML file)")
    try:
        size = p.stat().st_size
        if size > MAX_CASE_BYTES:
            raise CaseError(f"{name}: {size} bytes; a {what} is at most {MAX_CASE_BYTES} bytes")
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise CaseError(f"{name}: not a text (UTF-8) file, byte {e.start}: a {what} is TOML "
                        "text") from None
    except OSError as e:
        raise CaseError(f"{name}: cannot read the {what}: {e.strerror or e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CaseError(f"{name}: not valid TOML: {shown(str(e), 300)}") from None
    if not data:
        raise CaseError(f"{name}: the {what} is empty (no sections or keys); "
                        "`anodex run` without a case runs the default case")
    return data


def apply_overrides(data: dict, overrides: dict, source: str) -> set:
    """Put --set values into the case data; returns the (section, key) pairs
    set.  CaseError, naming the option, for one that cannot apply."""
    from_cli = set()
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if not isinstance(data.setdefault(section, {}), dict):
            raise CaseError(f"--set {dotted}: {source} gives {section} = "
                            f"{shown(data[section])}, not a [{section}] table; fix the case file")
        data[section][key] = value
        from_cli.add((section, key))
    return from_cli


def load_case(path: str | Path | None = None, overrides: dict | None = None) -> Case:
    """Read and validate a case file (None: the embedded default case)."""
    if path is None:
        text = resources.files("solver").joinpath("data/default_case.toml").read_text()
        source, data = "<default case>", tomllib.loads(text)
    else:
        source, data = str(path), read_toml(path)
    from_cli = apply_overrides(data, overrides, source)
    return validate(data, source, from_cli)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dump_toml(raw: dict, provenance: dict | None = None) -> str:
    """Write a two-level case dict as TOML (the resolved case); values that did
    not come from the case file carry their source as a comment."""
    out, provenance = [], provenance or {}
    for section, values in raw.items():
        out.append(f"[{section}]")
        for k, v in values.items():
            line = f"{k} = {_toml_value(v)}"
            src = provenance.get(f"{section}.{k}", "case file")
            out.append(line if src == "case file" else f"{line}  # {src}")
        out.append("")
    return "\n".join(out)


def reference_markdown() -> str:
    """The case-file reference, generated from SCHEMA."""
    lines = ["# Case-file reference", "",
             "Generated from `solver/case.py` by `anodex check --reference`; do not edit.",
             "Quantities are strings `\"<number> <unit>\"` in any unit of the stated "
             "dimension (SI prefixes allowed: `\"0.5 um\"`, `\"1.19 S/m\"`, `\"-450 mV\"`). "
             "Defaults are the published Hong & Viswanathan (2018) input in SI units. "
             "Every number must be finite and inside its range (SI units, closed "
             "interval); a case that gives a key with no effect in its configuration "
             "gets a warning (an error for `height` on an interval).", ""]
    for section, params in SCHEMA.items():
        lines += [f"## [{section}]", "", "| key | type | unit | default | range | meaning |",
                  "|---|---|---|---|---|---|"]
        for key, p in params.items():
            kind = p.kind if p.kind != "choice" else " / ".join(p.choices)
            unit = p.unit if p.kind == "quantity" else ""
            default = "unset" if p.default is None else f"`{_toml_value(p.default)}`"
            bounds = f"{p.bounds[0]:g} to {p.bounds[1]:g}" if p.bounds else ""
            lines.append(f"| `{key}` | {kind} | {unit} | {default} | {bounds} | {p.doc} |")
        lines.append("")
    return "\n".join(lines)
