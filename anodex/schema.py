"""The case-file schema: every key's type, unit, default, documentation,
check and physical range, by section.

Generic sections (case, model, geometry, materials, time, solver, output,
checkpoint, scales) are declared here; each physics block declares its own
keys (``Block.params``, anodex/models/) and the registry adds them with
``assemble``.  ``SCHEMA`` is the assembled whole, in section order.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Callable

from .units import UnitError, dimension_of, to_si

AUTO_DIRECT_LIMIT = 30000  # unknowns; above this [solver] preset "auto" is iterative
INT32 = 2 ** 31 - 1

@dataclass
class Param:
    kind: str  # quantity | number | int | bool | choice | str | str_list | int_list |
    # number_list | quantity_list | table | tables (a table of tables) | face (the
    # name of a face of the geometry: geometry.face_names)
    default: Any
    doc: str
    unit: str = "1"  # dimension name from units.DIMENSIONS, for quantities
    check: Callable[[Any], str | None] | None = None  # returns an error text or None
    choices: tuple = ()
    bounds: tuple | None = None  # (lo, hi): the physical range in SI, closed


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


def q(default, unit, doc, check=None, bounds=None):
    """A quantity: a string "<number> <unit>" of the dimension `unit` in the case file."""
    return Param("quantity", default, doc, unit, check, bounds=bounds)



GENERIC: dict[str, dict[str, Param]] = {
    "case": {
        "name": Param("str", "anodex-case", "short name, used in logs and metadata and as "
                      "the default output directory runs/<name>: letters, digits, '.', '_', "
                      "'-' (a plain directory name, at most 100 characters)",
                      check=lambda x: plain_name(x, 100)),
        "description": Param("str", "", "free text"),
    },
    "model": {
        # (the default: the blocks that declare themselves in_default_model)
        "blocks": Param("str_list", [], "physics blocks to couple (anodex/models/); the "
                        "default is the full grand-potential electrodeposition model"),
    },
    "geometry": {
        "kind": Param("choice", "rectangle", "domain: a built-in interval (1-D), rectangle of "
                      "quadrilaterals (2-D) or box of hexahedra (3-D), with the electrode at "
                      "x = 0 and the electrolyte reservoir at x = length; or a mesh file "
                      "(file); \"point\": no space, the 0-D mode of the sei block (an SEI "
                      "over days to years)", choices=("interval", "rectangle", "box", "mesh",
                                                      "point")),
        "length": q("200 um", "m", "extent in x (electrode to reservoir); a mesh: from the "
                    "file", positive),
        "height": q("200 um", "m", "extent in y (rectangle, box); a mesh: from the file",
                    positive),
        "depth": q("200 um", "m", "extent in z (box); a mesh: from the file", positive),
        "axisymmetric": Param("bool", False, "rectangle: a cylinder about the x axis (the "
                              "bottom face y = 0 is the axis, y the radius r, height the "
                              "cylinder's radius); every form and integral carries r, "
                              "the mechanics its hoop strain; only blocks that hold in it"),
        "cells": Param("int_list", [200, 200], "number of cells in x, y and z, as many as the "
                       "kind has dimensions (not for a mesh file)"),
        "first_cell": q(None, "m", "interval, rectangle, box: grade the cells in x "
                        "geometrically from this size at the electrode (x = 0) to fill the "
                        "length with the given number of cells (nanometre layers next to "
                        "micrometre features); unset: uniform", positive, (1e-14, 1.0)),
        "file": Param("str", "", "mesh: a Gmsh .msh (or meshio XDMF) file, relative to the "
                      "case file; one first-order cell type; physical groups name the "
                      "boundaries (meshes/README.md)"),
        "unit": q("1 m", "m", "mesh: the length of one coordinate unit of the file (\"1 um\" "
                  "for the meshes of meshes/)", positive),
        "electrode": Param("str", "electrode", "mesh: the physical group of the electrode "
                           "boundary"),
        "reservoir": Param("str", "reservoir", "mesh: the physical group of the electrolyte "
                           "reservoir boundary"),
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
    "electrolyte": {
        "activation_energy": q(None, "J", "Arrhenius Ea of the named electrolyte's "
                               "conductivity (overrides the library; e.g. \"0.3 eV\")", positive),
        "vtf_pseudo_activation_energy": q(None, "J", "VTF B (polymer electrolytes)", positive),
        "vtf_temperature": q(None, "K", "VTF T0 (polymer electrolytes)", positive),
        "transference_number": Param("number", None, "t+ (recorded; the present ion "
                                     "transport block is the Nernst-Planck form of "
                                     "Chen et al. 2015)", check=open_unit_closed),
        "permittivity": Param("number", None, "relative permittivity (recorded; not used by "
                              "the present blocks)", check=positive),
        "youngs_modulus": q(None, "Pa", "Young's modulus (the metal_mechanics block)",
                            positive),
    },
    "time": {
        "end": q("400 s", "s", "end time", positive),
        "dt_initial": q("0.02 s", "s", "first time step", positive),
        "dt_min": q("1e-6 s", "s", "smallest step before the run gives up", positive),
        "dt_max": q("1 s", "s", "largest step", positive),
        "scheme": Param("choice", "bdf2", "time discretisation", choices=("bdf1", "bdf2")),
        "error_tolerance": Param("number", 0.02, "local error target per step: the "
                                 "error_norm of |q - q_pred|/(1 + |q|) over the nodes, for "
                                 "the blocks' error indicators q (eta and c/c0 in the "
                                 "electrodeposition model), q_pred the linear extrapolation of the last "
                                 "two steps; 0 disables error control", check=nonnegative),
        "error_norm": Param("choice", "max", "max: the largest nodal error (every node "
                            "resolved in time); rms: the root mean square over the nodes, per "
                            "quantity (as CVODE's WRMS norm: lets single nodes of an "
                            "under-resolved front flip within a step)", choices=("max", "rms")),
        "max_steps": Param("int", 1000000, "stop after this many accepted steps",
                           check=positive),
    },
    "solver": {
        "preset": Param("choice", "auto", "linear solver: direct LU (MUMPS), fieldsplit "
                        "(FGMRES; ILU on the evolution unknowns, or a Schur complement over "
                        "the metal multiplier with BoomerAMG; BoomerAMG on the potentials, "
                        "their constant modes solved exactly where one floats), amg (GMRES "
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
        "petsc_options": Param("table", {}, "extra PETSc options (prefix-free), applied last"),
    },
    "output": {
        "field_interval": q("10 s", "s", "write fields every this much simulated time "
                            "(and at the end)", positive),
        "format": Param("choice", "xdmf", "field files: xdmf (<field>.xdmf + .h5, any dolfinx) "
                        "or vtx (fields.bp, ADIOS2, where dolfinx has it: docs/output.md)",
                        choices=("xdmf", "vtx")),
    },
    "checkpoint": {
        "every_steps": Param("int", 100, "write checkpoint.npz every this many accepted steps "
                             "(also at every field output and at the end); 0: only those",
                             check=nonnegative),
        "every_wall": q("10 min", "s", "and whenever this much wall time has passed since "
                        "the last one", positive),
    },
    "mesh_adaptivity": {
        "enabled": Param("bool", False, "rebuild the mesh every `interval` steps: the "
                         "[geometry] cells as triangles (tetrahedra), refined `levels` times "
                         "where the fields change too much across a cell (rectangle, box)"),
        "levels": Param("int", 3, "refinement levels above the base mesh: the finest cells "
                        "are the base cells / 2^levels", check=nonnegative, bounds=(0, 12)),
        "interval": Param("int", 10, "accepted steps between adaptations at most (a run "
                          "also adapts as soon as a field leaves the refined band)", check=positive,
                          bounds=(1, 10 ** 9)),
        "buffer_layers": Param("int", 2, "layers of cells around the marked ones refined too "
                               "(the interface moves between adaptations)", check=nonnegative,
                               bounds=(0, 20)),
    },
    "scales": {
        "length": q("1 um", "m", "length scale x0 of the internal non-dimensional system",
                    positive),
        "time": q("1 s", "s", "time scale t0", positive),
    },
}


# Physical ranges of the generic keys (SI, closed intervals).  Generous: a
# value outside is a typo or a unit slip (a conductivity in S/cm written as
# S/m is still inside), and refusing it before the run beats NaN in the
# output.  Counts are bounded by what PETSc's 32-bit indices and a
# workstation can hold.  Blocks give the ranges of their keys in Param.
BOUNDS = {
    "geometry.length": (1e-9, 1.0), "geometry.height": (1e-9, 1.0),
    "geometry.depth": (1e-9, 1.0), "geometry.unit": (1e-12, 1.0),
    "material.charge_number": (1, 6), "material.molar_volume": (1e-7, 1e-3),
    "material.temperature": (1.0, 3000.0),
    "metal.molar_mass": (1e-3, 1.0), "metal.density": (1.0, 1e5),
    "metal.surface_energy": (1e-4, 100.0), "metal.shear_modulus": (1e3, 1e13),
    "metal.standard_potential": (-10.0, 10.0), "metal.melting_point": (1.0, 5000.0),
    "electrolyte.activation_energy": (1e-23, 1e-17),  # up to 62 eV
    "electrolyte.vtf_pseudo_activation_energy": (1e-23, 1e-17),
    "electrolyte.vtf_temperature": (0.0, 3000.0),
    "electrolyte.permittivity": (1.0, 1e6), "electrolyte.youngs_modulus": (1e3, 1e13),
    "time.end": (1e-15, 1e15), "time.dt_initial": (1e-18, 1e15),
    "time.dt_min": (1e-18, 1e15), "time.dt_max": (1e-18, 1e15),
    "time.error_tolerance": (0.0, 1.0), "time.max_steps": (1, INT32),
    "solver.refactor_krylov_iterations": (1, 10000), "solver.newton_tolerance": (1e-16, 1.0),
    "solver.max_newton_iterations": (1, 10000),
    "output.field_interval": (1e-18, 1e15),
    "checkpoint.every_steps": (0, INT32), "checkpoint.every_wall": (0.0, 1e9),
    "scales.length": (1e-12, 1.0), "scales.time": (1e-15, 1e15),
}
for _dotted, _bounds in BOUNDS.items():
    _section, _key = _dotted.split(".")
    GENERIC[_section][_key].bounds = _bounds

# Where sections stand in the schema (and the reference, and a resolved
# case.toml): the generic head, the blocks' own sections in the order the
# blocks declare them, the generic tail.
HEAD = ("case", "model", "geometry", "material", "metal", "electrode", "electrolyte")
TAIL = ("time", "solver", "output", "checkpoint", "mesh_adaptivity", "scales")

SCHEMA: dict[str, dict[str, Param]] = {}  # the assembled schema (assemble())
OWNER: dict[tuple, str] = {}  # (section, key) -> the block that declares it


class SchemaError(ValueError):
    """Two blocks declare one key (a programming error, found at registration)."""


def _check_param(block, section, key, p: Param):
    """A block's quantity has a unit the parser knows, and its default reads in
    it (a typo in a block is the block's error, not the case file's)."""
    if p.kind not in ("quantity", "quantity_list"):
        return
    try:
        dimension_of(p.unit)
        for value in p.default if isinstance(p.default, list) else [p.default]:
            if value is not None:
                to_si(value, p.unit)
    except UnitError as e:
        raise SchemaError(f"block '{block}' declares [{section}] {key} with unit {p.unit!r} "
                          f"and default {p.default!r}: {e}") from None


def assemble(blocks) -> None:
    """Rebuild SCHEMA in place from the generic sections and the `params` of
    `blocks` (classes, in registry order).  A key several blocks read is
    declared by each of them as the same Param object; OWNER names them all.
    [model] blocks defaults to the blocks that are in_default_model."""
    head = {s: dict(GENERIC.get(s, {})) for s in HEAD}
    tail = {s: dict(GENERIC.get(s, {})) for s in TAIL}
    owner = {(s, k): "" for s, keys in GENERIC.items() for k in keys}
    for block in blocks:
        for section, params in block.params.items():
            keys = tail[section] if section in tail else head.setdefault(section, {})
            for key, p in params.items():
                _check_param(block.name, section, key, p)
                by = owner.get((section, key))
                if by is not None and (not by or keys[key] is not p):
                    by = by or "the generic schema (anodex/schema.py)"
                    raise SchemaError(f"block '{block.name}' declares [{section}] {key}, "
                                      f"which {by} already declares")
                owner[(section, key)] = f"{by}, {block.name}" if by else block.name
                keys[key] = p
    head["model"]["blocks"] = replace(GENERIC["model"]["blocks"], default=[
        b.name for b in blocks if b.in_default_model])
    SCHEMA.clear()
    SCHEMA.update({s: keys for s, keys in {**head, **tail}.items() if keys})
    OWNER.clear()
    OWNER.update(owner)
