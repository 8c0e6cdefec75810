"""A corpus of hostile and careless inputs (tests/test_hostile.py runs them).

Each input is what a user might type or leave on disk: case files, --set
options, sweep files, output and restart directories, checkpoints.  Every
one must be refused with exit status 2, no traceback, a short message that
names the file (or option) and the key, and nothing created, changed or
deleted anywhere in the scratch tree (which holds the user's "project").

Paths in argv and in the expected fragments: {p} is the project directory
(the current directory of the command; it holds case.toml and notes.txt),
{home} is $HOME (the project's parent), {run} a genuine finished run
directory inside the project, copied in fresh for each input.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# a tiny 1-D case, as raw TOML values (so that nan, inf and bad types can be written)
BASE = {
    "case": {"name": '"hostile"'},
    "geometry": {"kind": '"interval"', "length": '"20 um"', "cells": "[40]"},
    "initial": {"interface_position": '"8 um"'},
    "time": {"end": '"0.02 s"', "dt_initial": '"0.01 s"'},
}


def case_text(drop=(), **sections) -> str:
    """BASE with sections' raw values merged in; drop: "section.key" to leave out."""
    merged = {s: dict(v) for s, v in BASE.items()}
    for section, values in sections.items():
        merged.setdefault(section, {}).update(values)
    for dotted in drop:
        s, k = dotted.split(".")
        merged[s].pop(k, None)
    return "\n".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items())
                     for s, kv in merged.items())


@dataclass
class Hostile:
    id: str
    argv: list
    files: dict = field(default_factory=dict)  # path relative to {p} -> text or bytes
    mentions: tuple = ()  # fragments the message must contain
    ranks: tuple = (1,)
    prepare: Callable | None = None  # prepare(project_dir, run_dir) after the files
    code: int = 2
    needs_run: bool = False


CORPUS: list[Hostile] = []


def add(*items):
    CORPUS.extend(items)


def bad_case(cid, text, *mentions, argv=("run", "{p}/case.toml", "-o", "{p}/out"), **kw):
    add(Hostile(cid, list(argv), {"case.toml": text}, ("{p}/case.toml",) + mentions, **kw))


def value(cid, section, key, raw, *mentions):
    """The base case with one value replaced."""
    bad_case(cid, case_text(**{section: {key: raw}}), f"[{section}] {key}", *mentions)


# ---- case files: the file itself ----------------------------------------------
bad_case("empty-file", "", "empty")
bad_case("comments-only", "# nothing here\n\n   \n", "empty")
bad_case("binary-png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a text (UTF-8) file")
bad_case("invalid-utf8-in-string", b'[case]\nname = "\xff\xfe"\n', "not a text (UTF-8) file")
bad_case("toml-syntax", "[geometry\nkind = 1\n", "not valid TOML")
bad_case("toml-duplicate-key", "[time]\nend = \"1 s\"\nend = \"2 s\"\n", "not valid TOML")
bad_case("toml-duplicate-table", "[time]\n[time]\n", "not valid TOML")
bad_case("oversized-file", "# " + "x" * (1 << 20) + "\n", "bytes", "at most")
add(Hostile("case-is-a-directory", ["run", "{p}", "-o", "{p}/out"], {}, ("{p}", "not a file")))
add(Hostile("case-missing", ["run", "{p}/nope.toml", "-o", "{p}/out"], {},
            ("{p}/nope.toml", "no such case file")))
add(Hostile("check-binary", ["check", "{p}/case.toml"], {"case.toml": bytes(range(256))},
            ("{p}/case.toml", "not a text")))
add(Hostile("check-empty", ["check", "{p}/case.toml"], {"case.toml": ""}, ("{p}/case.toml", "empty")))

# ---- case files: structure -----------------------------------------------------
bad_case("unknown-section", case_text() + "[geomtry]\nkind = 1\n", "[geomtry]", "did you mean 'geometry'")
bad_case("many-unknown-sections", case_text() + "".join(f"[s{i}]\n" for i in range(300)),
         "unknown sections", "and 290 more")
bad_case("many-unknown-keys", case_text() + "[noise]\n" + "".join(f"k{i} = 1\n" for i in range(5000)),
         "[noise] unknown keys", "and 4990 more")
bad_case("very-long-key", case_text() + "[noise]\n" + "k" * 10000 + " = 1\n", "[noise]", "unknown key")
bad_case("section-as-value", "scales = 5\n" + case_text(), "[scales] must be a table")
bad_case("section-as-array-of-tables", case_text() + "[[output]]\nfield_interval = \"1 s\"\n",
         "[output] must be a table")
bad_case("nested-table", case_text() + "[noise.deeper]\nx = 1\n", "[noise] deeper", "unknown key")
bad_case("many-bad-values", case_text(noise={"amplitude": "-1", "seed": "-1"},
                                      time={"end": "-1", "dt_initial": "true"}),
         "[noise] amplitude", "[noise] seed", "[time] end", "[time] dt_initial")

# ---- case files: numbers ------------------------------------------------------------
value("axisymmetric-interval", "geometry", "axisymmetric", "true", 'needs kind = "rectangle"')
value("axisymmetric-not-a-flag", "geometry", "axisymmetric", '"yes"', "true or false")
bad_case("axisymmetric-published-model",
         case_text(geometry={"kind": '"rectangle"', "length": '"20 um"', "height": '"4 um"',
                             "cells": "[20, 4]", "axisymmetric": "true"}),
         "[geometry] axisymmetric", "do not run in an axisymmetric geometry")
bad_case("axisymmetric-adaptive",
         case_text(geometry={"kind": '"rectangle"', "length": '"20 um"', "height": '"4 um"',
                             "cells": "[20, 4]", "axisymmetric": "true"},
                   mesh_adaptivity={"enabled": "true"}),
         "[geometry] axisymmetric", "[mesh_adaptivity]")
value("overflow-conductivity", "electrolyte", "conductivity", '"1e400 S/m"', "overflows")
value("overflow-end-time", "time", "end", '"1e999 s"', "overflows")
value("overflow-potential", "boundary", "applied_potential", '"1e400 V"', "overflows")
value("overflow-after-unit", "geometry", "length", '"1e306 km"', "infinite")
value("nan-offset", "grand_potential", "electrode_mu_offset", "nan", "finite")
value("inf-offset", "grand_potential", "electrolyte_mu_offset", "inf", "finite")
value("minus-inf-chemical-potential", "initial", "chemical_potential", "-inf", "finite")
value("inf-newton-tolerance", "solver", "newton_tolerance", "inf", "finite")
value("nan-newton-tolerance", "solver", "newton_tolerance", "nan", "finite")
value("zero-newton-tolerance", "solver", "newton_tolerance", "0", "must be > 0")
value("huge-newton-tolerance", "solver", "newton_tolerance", "10.0", "physical range")
value("nan-quantity-string", "geometry", "length", '"nan m"', "cannot read")
value("huge-offset", "grand_potential", "electrode_energy_offset", "1e300", "physical range")
value("missing-unit", "electrolyte", "conductivity", "1.19", "missing unit")
value("unparsable-unit", "electrolyte", "conductivity", '"1.19 S/cm^"', "incomplete unit")
value("wrong-dimension", "electrolyte", "conductivity", '"1.19 V"', "needs S/m")
value("unknown-unit", "electrolyte", "conductivity", '"1.19 furlongs"', "unknown unit")
value("huge-unit-exponent", "geometry", "length", '"1 km^99999"', "out of range")
value("negative-temperature", "material", "temperature", '"-5 K"', "must be > 0")
value("temperature-of-the-sun", "material", "temperature", '"6000 K"', "physical range")
value("bool-temperature", "material", "temperature", "true", "boolean")
value("length-one-kilometre", "geometry", "length", '"1 km"', "physical range")
value("zero-charge-number", "material", "charge_number", "0", "must be > 0")
value("fractional-charge-number", "material", "charge_number", "2.5", "integer")
value("charge-number-100", "material", "charge_number", "100", "physical range")
value("transfer-coefficient-above-one", "phase_field", "transfer_coefficient", "1.5", "between 0 and 1")
value("negative-reaction-rate", "phase_field", "reaction_rate_constant", '"-1 1/s"', "must be >= 0")
value("long-quantity-string", "time", "end", '"' + "1" * 10000 + ' s"', "characters")
value("description-too-long", "case", "description", '"' + "d" * 20000 + '"', "at most")
value("max-steps-zero", "time", "max_steps", "0", "must be > 0")
value("max-steps-float", "time", "max_steps", "1e20", "integer")
value("noise-seed-negative", "noise", "seed", "-1", "must be >= 0")
value("seed-count-ten-million", "initial", "seed_count", "10000000", "physical range")
value("error-tolerance-negative", "time", "error_tolerance", "-1", "must be >= 0")
value("field-interval-zero", "output", "field_interval", '"0 s"', "must be > 0")
value("every-wall-negative", "checkpoint", "every_wall", '"-1 min"', "must be > 0")
value("derived-not-a-table", "output", "derived", '"total eta"', "must be a table of tables")
value("derived-entry-a-number", "output", "derived", "{ x = 3 }",
      "must be a table of the strings quantity, of and over")
value("derived-of-missing-field", "output", "derived",
      '{ x = { quantity = "total", of = "temperature", over = "domain" } }',
      "of 'temperature' is not an unknown or field of the model")
value("derived-over-missing-face", "output", "derived",
      '{ x = { quantity = "flux", of = "eta", over = "left" } }',
      "over 'left': flux is taken over electrode, reservoir")
value("derived-column-taken", "output", "derived",
      '{ t_s = { quantity = "total", of = "eta", over = "domain" } }',
      "the time series has a column 't_s' already")
value("stop-tip-fraction-zero", "time", "stop_tip_fraction", "0", "(0, 1]")
value("scales-femtometre", "scales", "length", '"1e-30 m"', "physical range")
value("scheme-rk4", "time", "scheme", '"rk4"', "'bdf1', 'bdf2'")
value("preset-number", "solver", "preset", "5", "must be one of")
value("blocks-unknown", "model", "blocks", '["bogus"]', "unknown model block")
value("blocks-empty", "model", "blocks", "[]", "non-empty list")
value("interface-outside", "initial", "interface_position", '"30 um"', "inside the domain")
bad_case("dt-initial-above-end", case_text(time={"dt_initial": '"1 s"'}), "[time] dt_initial", "larger than")
bad_case("dt-min-above-dt-max", case_text(time={"dt_min": '"2 s"', "dt_max": '"1 s"'}), "[time] dt_initial",
         "dt_min <= dt_initial <= dt_max")
bad_case("nucleation-with-boundary-values", case_text(nucleation={"enabled": "true"}),
         "[nucleation] enabled", "boundary_values = false")
bad_case("nucleation-on-the-published-model",
         case_text(nucleation={"enabled": "true"}, phase_field={"boundary_values": "false"}),
         "[nucleation] enabled", "needs the two-potential model")
bad_case("nucleation-removed-key", case_text(nucleation={"enabled": "true", "hold_time": '"1 s"'}),
         "hold_time", "unknown")
bad_case("nucleation-sites-bulk", case_text(nucleation={"enabled": "true", "sites": '"bulk"'}),
         "[nucleation] sites", "'collector', 'electrolyte', 'both'")
bad_case("nucleation-negative-volume-rate",
         case_text(nucleation={"enabled": "true", "sites": '"electrolyte"',
                               "electrolyte_rate_prefactor": '"-1e40 1/(m^3*s)"'}),
         "[nucleation] electrolyte_rate_prefactor", ">= 0")

# ---- case files: geometry and memory -----------------------------------------------
value("cells-two-billion", "geometry", "cells", "[2000000000]", "unknowns")
bad_case("cells-ten-billion-2d", case_text(geometry={"kind": '"rectangle"', "height": '"20 um"',
                                                      "cells": "[100000, 100000]"}),
         "[geometry] cells", "32-bit")
bad_case("cells-needs-more-memory", case_text(geometry={"kind": '"rectangle"', "height": '"20 um"',
                                                         "cells": "[20000, 20000]"}),
         "[geometry] cells", "GiB", "--ignore-memory-limit")
value("cells-zero", "geometry", "cells", "[0]", "positive integers")
value("cells-negative", "geometry", "cells", "[-5]", "positive integers")
value("cells-string", "geometry", "cells", '"many"', "positive integers")
bad_case("box-two-cell-counts", case_text(geometry={"kind": '"box"'}), "[geometry] cells",
         "a box needs 3 cell counts")


def mesh_case(cid, geometry, files, *mentions):
    """kind = "mesh" with a file (relative to the case file) and files on disk."""
    add(Hostile(cid, ["run", "{p}/case.toml", "-o", "{p}/out"],
                {"case.toml": case_text(geometry={"kind": '"mesh"', "unit": '"1 um"', **geometry},
                                        drop=("geometry.cells",)), **files},
                ("{p}/case.toml",) + mentions))


_SQUARE = ("$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$PhysicalNames\n2\n1 1 \"electrode\"\n"
           "2 9 \"electrolyte\"\n$EndPhysicalNames\n$Nodes\n4\n1 0 0 0\n2 1 0 0\n3 1 1 0\n"
           "4 0 1 0\n$EndNodes\n$Elements\n{n}\n{elements}$EndElements\n")
_TRIANGLES = "1 2 2 9 9 1 2 3\n2 2 2 9 9 1 3 4\n"
mesh_case("mesh-no-file-key", {}, {}, "[geometry] file", "needed for kind")
mesh_case("mesh-missing-file", {"file": '"nowhere.msh"'}, {}, "[geometry] file", "no such mesh file")
mesh_case("mesh-is-a-case-file", {"file": '"case.toml"'}, {}, "[geometry] file", "cannot read the mesh")
mesh_case("mesh-garbage", {"file": '"m.msh"'}, {"m.msh": bytes(range(256)) * 8},
          "[geometry] file", "cannot read the mesh")
mesh_case("mesh-mixed-cells", {"file": '"m.msh"'},
          {"m.msh": _SQUARE.format(n=2, elements="1 2 2 9 9 1 2 3\n2 3 2 9 9 1 2 3 4\n")},
          "[geometry] file", "one first-order cell type")
mesh_case("mesh-no-reservoir-group", {"file": '"m.msh"'},
          {"m.msh": _SQUARE.format(n=3, elements=_TRIANGLES + "3 1 2 1 1 4 1\n")},
          "[geometry] reservoir", "no 1-D physical group 'reservoir'", "electrode")
mesh_case("mesh-group-named-wrong", {"file": '"m.msh"', "electrode": '"anode"'},
          {"m.msh": _SQUARE.format(n=3, elements=_TRIANGLES + "3 1 2 1 1 4 1\n")},
          "[geometry] electrode", "'anode'")
value("interval-two-cell-counts", "geometry", "cells", "[40, 40]", "an interval needs 1 cell count")
bad_case("rectangle-three-counts", case_text(geometry={"kind": '"rectangle"', "height": '"20 um"',
                                                        "cells": "[40, 40, 40]"}),
         "[geometry] cells", "a rectangle needs 2 cell counts")
bad_case("interval-with-height", case_text(geometry={"height": '"20 um"'}), "[geometry] height",
         "no effect on an interval")

# ---- case files: names used for paths ---------------------------------------------
value("name-escapes", "case", "name", '"../../escaped"', "plain name")
value("name-with-slash", "case", "name", '"a/b"', "plain name")
value("name-empty", "case", "name", '""', "plain name")
value("name-300-characters", "case", "name", '"' + "n" * 300 + '"', "at most 100")
value("name-with-nul", "case", "name", '"a\\u0000b"', "plain name")
bad_case("name-escapes-without-o", case_text(case={"name": '"../../escaped"'}), "[case] name",
         argv=("run", "{p}/case.toml"))

# ---- case files: materials ------------------------------------------------------------
value("unknown-metal", "material", "metal", '"Unobtainium"', "Unobtainium")
value("unknown-electrolyte", "material", "electrolyte", '"XYZ"', "XYZ")

# ---- case files: protocols (the two-potential model, galvanostatic) ----------------------
# the two-potential model's blocks for Li on LLZO, the head of the cases below
TWO_POTENTIAL_LI = """[model]
blocks = ["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction"]
[material]
metal = "Li"
electrolyte = "LLZO"
"""
PROTOCOL_CASE = TWO_POTENTIAL_LI + """[geometry]
kind = "interval"
length = "30 um"
cells = [120]
[time]
end = "1 h"
[protocol]
"""
for cid, lines, frag in (
        ("protocol-unknown-verb", 'steps = ["Charge at 1 mA/cm2 for 1 h"]', "steps[0]"),
        ("protocol-current-in-volts", 'steps = ["Plate at 1 V for 1 h"]', "needs A/m^2"),
        ("protocol-no-end", 'steps = ["Plate at 1 mA/cm2"]', "give when the step ends"),
        ("protocol-cutoff-wrong-side", 'steps = ["Plate at 1 mA/cm2 until 0.5 V"]', "below 0 V"),
        ("protocol-hold-out-of-range", 'steps = ["Plate at 1 mA/cm2 for 1 s", "Hold at 30 V for 1 s"]',
         "outside [-20, 20] V"),
        ("protocol-steps-not-a-list", 'steps = "Plate at 1 mA/cm2 for 1 s"', "[protocol] steps"),
        ("protocol-repeat-zero", 'steps = ["Rest for 1 s"]\nrepeat = 0', "[protocol] repeat"),
        ("protocol-longer-than-the-run", 'steps = ["Rest for 2 h"]', "[time] end")):
    bad_case(cid, PROTOCOL_CASE + lines + "\n", frag)
bad_case("axisymmetric-axis-pressed", """[model]
blocks = ["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction",
          "metal_mechanics"]
[material]
metal = "Li"
electrolyte = "LLZO"
[geometry]
kind = "rectangle"
length = "20 um"
height = "4 um"
cells = [20, 4]
axisymmetric = true
[electrolyte]
poisson_ratio = 0.26
[metal]
creep_reference_rate = "1e-3 1/s"
creep_reference_stress = "1 MPa"
creep_stress_exponent = 6.6
[mechanics]
pressure_face = "bottom"
""", "[mechanics]", "the bottom face is the axis")
AXISYMMETRIC_STRIP = TWO_POTENTIAL_LI + """[geometry]
kind = "rectangle"
length = "20 um"
height = "4 um"
cells = [40, 8]
axisymmetric = true
[reaction]
gibbs_thomson = false
"""
FRONT = '[initial]\ninterface_position = "10 um"\n'
for cid, lines, frags in (
        ("axisymmetric-seeds", '[initial]\nkind = "seeds"\nseed_radius = "1 um"\n',
         ('[initial] kind = "seeds"', "torus")),
        ("axisymmetric-noise", FRONT + '[noise]\namplitude = "0.04 1/s"\n',
         ("[noise] amplitude", "2 pi r")),
        ("axisymmetric-crack", FRONT + "[electrolyte]\ncrack_conductivity_ratio = 10\n",
         ("[electrolyte] crack_conductivity_ratio", "tube"))):
    bad_case(cid, AXISYMMETRIC_STRIP + lines, *frags)
# (the published single-potential model has no collector circuit to cycle)
bad_case("protocol-on-a-model-without-a-circuit",
         case_text() + '[protocol]\nsteps = ["Rest for 1 s"]\n', "[protocol] steps",
         "cannot act on it")

# ---- case files: PETSc options ------------------------------------------------------
for cid, opts, frag in (
        ("petsc-bad-ksp-type", 'ksp_type = "nonsense"', "ksp_type"),
        ("petsc-bad-pc-type", 'pc_type = "nonsense"', "pc_type"),
        ("petsc-leading-dash", '"-ksp_type" = "gmres"', "leading '-'"),
        ("petsc-value-with-space", 'ksp_type = "gmres; rm -rf"', "ksp_type"),
        ("petsc-malformed-number", 'ksp_rtol = "abc"', "ksp_rtol"),
        ("petsc-missing-solver-package", 'pc_factor_mat_solver_type = "nosuch"', "pc_factor_mat_solver_type"),
        ("petsc-bad-sub-pc-type", 'fieldsplit_0_pc_type = "zz"', "fieldsplit_0_pc_type"),
        ("petsc-table-value", "ksp_type = { a = 1 }", "ksp_type"),
        ("petsc-split-fields-not-indices", 'pc_fieldsplit_1_fields = "x"',
         "pc_fieldsplit_1_fields")):
    bad_case(cid, case_text() + f"[solver.petsc_options]\n{opts}\n", "[solver] petsc_options", frag)
bad_case("check-petsc-bad-ksp-type", case_text() + '[solver.petsc_options]\nksp_type = "zz"\n',
         "[solver] petsc_options ksp_type", argv=("check", "{p}/case.toml"))


# ---- --set ------------------------------------------------------------------------------
def bad_set(cid, setting, *mentions, files=None):
    add(Hostile(cid, ["run", "{p}/case.toml", "-o", "{p}/out", "--set", setting],
                files or {"case.toml": case_text()}, mentions))


bad_set("set-without-equals", "time.end", "--set", "SECTION.KEY=VALUE")
bad_set("set-without-section", "end=1", "--set end=1", "SECTION.KEY=VALUE")
bad_set("set-path-like-key", "../x.y=1", "--set", "SECTION.KEY=VALUE")
bad_set("set-nan", "time.end=nan", "--set time.end", "finite number")
bad_set("set-inf", "time.end=inf", "--set time.end", "finite number")
bad_set("set-overflow", 'time.end="1e999 s"', "--set time.end", "overflows")
bad_set("set-unknown-section", "bogus.key=1", "[bogus]", "unknown section")
bad_set("set-unknown-key", "time.bogus=1", "[time] bogus", "unknown key")
bad_set("set-list-for-quantity", "time.end=[1,2]", "--set time.end", "quantity")
bad_set("set-cells-zero", "geometry.cells=[0]", "--set geometry.cells", "positive integers")
bad_set("set-name-escapes", 'case.name="../../up"', "--set case.name", "plain name")
bad_set("set-empty-value", "time.end=", "--set time.end", "cannot read")
bad_set("set-petsc-table", 'solver.petsc_options={ksp_type="zz"}', "[solver] petsc_options ksp_type")
bad_set("set-on-scalar-section", 'time.end="1 s"', "--set time.end", "not a [time] table",
        files={"case.toml": "time = 5\n" + case_text(drop=["time.end", "time.dt_initial"]).replace(
            "[time]\n", "")})
bad_set("set-negative-seed", "noise.seed=-3", "--set noise.seed", "must be >= 0")
bad_set("set-interval-height", 'geometry.height="5 um"', "--set geometry.height", "no effect")


# ---- output directories (1 and 2 ranks) -------------------------------------------
def out(cid, argv, *mentions, files=None, prepare=None, needs_run=False):
    add(Hostile(cid, argv, {"case.toml": case_text(), **(files or {})}, mentions, ranks=(1, 2),
                prepare=prepare, needs_run=needs_run))


OVERWRITE = ["run", "{p}/case.toml", "--overwrite", "-o"]
out("overwrite-cwd", OVERWRITE + ["."], "--overwrite refused", "current directory")
out("overwrite-cwd-absolute", OVERWRITE + ["{p}"], "--overwrite refused")
out("overwrite-parent", OVERWRITE + [".."], "--overwrite refused")
out("overwrite-home", OVERWRITE + ["{home}"], "--overwrite refused", "$HOME")
out("overwrite-root", OVERWRITE + ["/"], "--overwrite refused", "root")
out("output-empty-string", ["run", "{p}/case.toml", "-o", ""], "-o/--output", "empty path")
out("output-is-a-file", ["run", "{p}/case.toml", "-o", "{p}/notes.txt"], "{p}/notes.txt",
    "not a directory")
out("overwrite-a-file", OVERWRITE + ["{p}/notes.txt"], "{p}/notes.txt", "not a directory")
out("output-under-a-file", ["run", "{p}/case.toml", "-o", "{p}/notes.txt/sub"], "{p}/notes.txt/sub",
    "cannot create")
out("case-directory-overwrite", ["run", "{p}/cases/c.toml", "--overwrite", "-o", "{p}/cases"],
    "{p}/cases", "holds the case file", files={"cases/c.toml": case_text(), "cases/keep.txt": "mine"})
out("user-directory", ["run", "{p}/case.toml", "-o", "{p}/data"], "{p}/data", "not empty",
    files={"data/results.csv": "1,2\n"})
out("user-directory-overwrite", OVERWRITE + ["{p}/data"], "{p}/data", "does not hold an anodex run",
    files={"data/results.csv": "1,2\n"})
out("run-with-user-file-overwrite", OVERWRITE + ["{run}"], "{run}", "anodex did not write",
    "analysis.ipynb", prepare=lambda p, run: (run / "analysis.ipynb").write_text("{}"), needs_run=True)
out("run-holding-the-case-overwrite", ["run", "{run}/case.toml", "--overwrite", "-o", "{run}"],
    "{run}", "holds the case file", needs_run=True)
out("output-symlink-to-file", ["run", "{p}/case.toml", "-o", "{p}/link"], "{p}/link",
    "not a directory", prepare=lambda p, run: (p / "link").symlink_to(p / "notes.txt"))
out("restart-and-rerun", ["run", "--restart", "{run}", "--rerun", "{run}"], "--restart and --rerun",
    needs_run=True)
out("restart-with-output", ["run", "--restart", "{run}", "-o", "{p}/x"], "--restart takes no -o",
    needs_run=True)
out("rerun-user-directory", ["run", "--rerun", "{p}/data"], "{p}/data", "--rerun refused",
    files={"data/case.toml": case_text(), "data/mine.txt": "x"})


# ---- checkpoints and restarts (1 and 2 ranks) --------------------------------------
def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def damage(edit):
    """prepare: rewrite {run}/checkpoint.npz (the manifest) through edit(dict of arrays) -> bytes."""
    def prepare(p, run):
        with np.load(run / "checkpoint.npz") as z:
            arrays = {k: z[k] for k in z.files}
        (run / "checkpoint.npz").write_bytes(edit(arrays))
    return prepare


def damage_part(edit):
    """prepare: rewrite the checkpoint's last part through edit(dict of arrays) -> bytes."""
    def prepare(p, run):
        with np.load(run / "checkpoint.npz") as z:
            part = run / str(z["parts"][-1])
        with np.load(part) as z:
            arrays = {k: z[k] for k in z.files}
        part.write_bytes(edit(arrays))
    return prepare


def one_file(p, run):
    """prepare: the checkpoint as anodex wrote it up to commit 1348dd5 (one file,
    nodes sorted by key), with NaN fields."""
    with np.load(run / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files if k not in ("parts", "part_nodes")}
        parts = [np.load(run / str(name)) for name in z["parts"]]
    keys = np.concatenate([q["keys"] for q in parts])
    values = np.concatenate([q["values"] for q in parts])
    order = np.argsort(keys)
    (run / "checkpoint.npz").write_bytes(npz(**arrays, keys=keys[order], values=values[order] * np.nan))


def restart(cid, prepare, *mentions):
    add(Hostile(cid, ["run", "--restart", "{run}", "--set", 'time.end="0.05 s"'], {},
                ("{run}",) + mentions, ranks=(1, 2), prepare=prepare, needs_run=True))


restart("checkpoint-truncated", lambda p, run: (run / "checkpoint.npz").write_bytes(
    (run / "checkpoint.npz").read_bytes()[:3000]), "damaged", "--rerun")
restart("checkpoint-random-bytes", lambda p, run: (run / "checkpoint.npz").write_bytes(
    np.random.default_rng(1).bytes(5000)), "damaged")
restart("checkpoint-empty-file", lambda p, run: (run / "checkpoint.npz").write_bytes(b""), "damaged")
restart("checkpoint-without-arrays", damage(lambda a: npz(t=a["t"])), "lacks", "parts")
restart("checkpoint-without-step", damage(lambda a: npz(**{k: v for k, v in a.items() if k != "step"})),
        "lacks step")
restart("checkpoint-pickled", damage(lambda a: npz(**a, extra=np.array([{"x": 1}], dtype=object))),
        "Python objects")
restart("checkpoint-wrong-unknowns", damage(lambda a: npz(**{**a, "unknowns": np.array(["x", "y", "z"])})),
        "unknowns")
restart("checkpoint-wrong-mesh", damage(lambda a: npz(**{**a, "part_nodes": a["part_nodes"] - 3})),
        "mesh")
restart("checkpoint-part-outside-the-run", damage(lambda a: npz(**{**a, "parts": np.array(
    ["../../etc/passwd"] * len(a["parts"]))})), "list of parts", "damaged")
restart("checkpoint-part-missing", lambda p, run: next((run / "checkpoint.parts").iterdir()).unlink(),
        "parts are missing", "--rerun")
restart("checkpoint-part-truncated", lambda p, run: [f.write_bytes(f.read_bytes()[:200]) for f in
                                                     (run / "checkpoint.parts").iterdir()],
        "checkpoint.parts", "damaged", "--rerun")
restart("checkpoint-part-rows-dropped", damage_part(lambda a: npz(**{k: v[:-3] for k, v in a.items()})),
        "checkpoint.parts", "do not fit")
restart("checkpoint-nan-fields", damage_part(lambda a: npz(**{**a, "values": a["values"] * np.nan})),
        "NaN")
restart("checkpoint-one-file-nan-fields", one_file, "NaN")
restart("checkpoint-from-an-adaptive-run", damage(lambda a: npz(**a, part_cells=a["part_nodes"])),
        "[mesh_adaptivity]", "enabled = false")
restart("checkpoint-text-time", damage(lambda a: npz(**{**a, "t": np.array("soon")})), "t is not a number")
restart("restart-damaged-metadata", lambda p, run: (run / "metadata.json").write_text("{not json"),
        "metadata.json", "unreadable")
restart("restart-missing-timeseries", lambda p, run: (run / "timeseries.csv").unlink(),
        "timeseries.csv", "unreadable")
restart("restart-without-checkpoint", lambda p, run: (run / "checkpoint.npz").unlink(),
        "not a run directory with a checkpoint")
add(Hostile("restart-missing-directory", ["run", "--restart", "{p}/nowhere"], {},
            ("{p}/nowhere", "not a run directory"), ranks=(1, 2)))


# ---- sweep files (the sweep driver never starts MPI) -----------------------------
SWEEP_HEAD = '[sweep]\nname = "s"\nbase = "case.toml"\nruns_dir = "runs"\n'


def bad_sweep(cid, text, *mentions, base=None, action="expand", extra=()):
    files = {"sweep.toml": text, "case.toml": case_text() if base is None else base}
    add(Hostile(cid, ["sweep", action, "{p}/sweep.toml", *extra], files,
                ("{p}/sweep.toml",) + mentions))


VARY = '[vary]\n"noise.seed" = [1, 2]\n'
bad_sweep("sweep-zip-as-table", SWEEP_HEAD + '[zip]\n"noise.seed" = [1, 2]\n', "[[zip]]")
bad_sweep("sweep-vary-is-number", SWEEP_HEAD.replace("[sweep]", "vary = 5\n[sweep]"), "[vary]")
bad_sweep("sweep-base-is-number", SWEEP_HEAD.replace('base = "case.toml"', "base = 5") + VARY,
          "[sweep] base")
bad_sweep("sweep-base-toml-error", SWEEP_HEAD + VARY, "[sweep] base", "{p}/case.toml",
          "not valid TOML", base="[time\n")
bad_sweep("sweep-base-missing", SWEEP_HEAD.replace("case.toml", "gone.toml") + VARY,
          "[sweep] base", "gone.toml")
bad_sweep("sweep-base-binary", SWEEP_HEAD + VARY, "[sweep] base", "not a text", base=bytes(range(256)))
bad_sweep("sweep-base-empty", SWEEP_HEAD + VARY, "[sweep] base", "empty", base="")
bad_sweep("sweep-id-300-characters", SWEEP_HEAD + 'id = "' + "x" * 300 + '{seed}"\n' + VARY,
          "[sweep] id", "bytes long")
bad_sweep("sweep-id-nul", SWEEP_HEAD + 'id = "a\\u0000{seed}"\n' + VARY, "[sweep] id", "NUL")
bad_sweep("sweep-id-slash", SWEEP_HEAD + 'id = "a/{seed}"\n' + VARY, "[sweep] id", "escape")
bad_sweep("sweep-id-bad-placeholder", SWEEP_HEAD + 'id = "{nope}"\n' + VARY, "[sweep] id",
          "placeholders available")
bad_sweep("sweep-million-values", SWEEP_HEAD + '[vary]\n"electrolyte.conductivity" = '
          '{ logrange = [0.1, 10, 1000000], unit = "S/m" }\n', "1e+06 cases", "--max-cases")
bad_sweep("sweep-range-infinite", SWEEP_HEAD + '[vary]\n"time.end" = { range = [1, inf, 3], unit = "s" }\n',
          "[vary] time.end", "finite")
bad_sweep("sweep-range-zero-count", SWEEP_HEAD + '[vary]\n"time.end" = { range = [1, 2, 0], unit = "s" }\n',
          "[vary] time.end", "empty range")
bad_sweep("sweep-range-equal-values", SWEEP_HEAD + '[vary]\n"time.end" = '
          '{ range = [1, 1.0000000000001, 3], unit = "s" }\n', "[vary] time.end", "equal values")
bad_sweep("sweep-unknown-key", SWEEP_HEAD + '[vary]\n"time.ending" = [1]\n', "time.ending",
          "valid keys of [time]")
bad_sweep("sweep-name-escapes", SWEEP_HEAD.replace('"s"', '"../x"') + VARY, "[sweep] name")
bad_sweep("sweep-name-number", SWEEP_HEAD.replace('"s"', "5") + VARY, "[sweep] name")
bad_sweep("sweep-zip-lengths", SWEEP_HEAD + '[[zip]]\n"noise.seed" = [1, 2]\n"noise.amplitude" = ["0 1/s"]\n',
          "[[zip]] #1", "equal lengths")
bad_sweep("sweep-file-binary", bytes(range(256)), "not a text")
bad_sweep("sweep-file-empty", "", "empty")
bad_sweep("sweep-runs-dir-number", SWEEP_HEAD.replace('runs_dir = "runs"', "runs_dir = 5") + VARY,
          "[sweep] runs_dir")
bad_sweep("sweep-invalid-case", SWEEP_HEAD + '[vary]\n"electrolyte.conductivity" = ["-1 S/m"]\n',
          "[electrolyte] conductivity", "must be > 0")
bad_sweep("sweep-base-section-scalar", SWEEP_HEAD + VARY, "[vary] noise.seed", "not a table",
          base="noise = 1\n" + case_text())
add(Hostile("sweep-run-zero-jobs", ["sweep", "run", "{p}/sweep.toml", "-j", "0"],
            {"sweep.toml": SWEEP_HEAD + VARY, "case.toml": case_text()}, ("-j/--jobs", "must be a whole number")))
value("unit-dangling-operator", "electrolyte", "conductivity", '"1.19 S/"', "incomplete unit")
value("unit-open-parenthesis", "phase_field", "interface_mobility", '"1 m^3/(J*s"', "incomplete unit")

# ---- names the file system refuses -------------------------------------------------
LONG = "{p}/" + "y" * 5000
add(Hostile("output-name-too-long", ["run", "{p}/case.toml", "-o", LONG], {"case.toml": case_text()},
            ("File name too long",), ranks=(1, 2)))
add(Hostile("case-name-too-long", ["run", LONG], {}, ("File name too long",)))
add(Hostile("check-name-too-long", ["check", LONG], {}, ("File name too long",)))
add(Hostile("restart-name-too-long", ["run", "--restart", LONG], {}, ("File name too long",),
            ranks=(1, 2)))
add(Hostile("sweep-name-too-long", ["sweep", "expand", LONG], {}, ("File name too long",)))
add(Hostile("case-is-a-device", ["run", "/dev/zero", "-o", "{p}/out"], {}, ("/dev/zero", "not a file")))
add(Hostile("summarize-missing-directory", ["summarize", "{p}/nowhere"], {},
            ("{p}/nowhere", "not a directory of runs")))
add(Hostile("materials-long-name", ["materials", "Z" * 3000], {}, ("unknown material", "...")))


# ---- the two-potential model's keys (issue 16) ---------------------------------
TWO_POTENTIAL = {"model": {"blocks": '["phase_field", "charge_transfer", "electronic_conduction", '
                                     '"ionic_conduction"]'},
                 "phase_field": {"boundary_values": "false"}}


def two_potential(cid, extra, *mentions):
    """The base case on the two-potential model, with `extra` {section: {key: raw}}."""
    sections = {s: dict(v) for s, v in TWO_POTENTIAL.items()}
    for s, v in extra.items():
        sections.setdefault(s, {}).update(v)
    bad_case(cid, case_text(**sections), *mentions)


two_potential("profile-times-decrease", {"collector": {
    "profile": '"table"', "profile_times": '["0 s", "10 s", "5 s"]', "profile_values": "[1, -1, 1]"}},
    "[collector] profile_times", "must start at 0 s and increase")
two_potential("profile-values-count", {"collector": {
    "profile": '"table"', "profile_times": '["0 s", "10 s"]', "profile_values": "[1]"}},
    "[collector] profile_values", "one value per time")
two_potential("profile-time-without-unit", {"collector": {
    "profile": '"table"', "profile_times": "[0, 10]", "profile_values": "[1, 2]"}},
    "[collector] profile_times", "entry 1", "missing unit")
two_potential("profile-value-string", {"collector": {
    "profile": '"table"', "profile_times": '["0 s", "10 s"]', "profile_values": '[1, "x"]'}},
    "[collector] profile_values", "entry 2", "finite number")
two_potential("profile-period-too-short", {"collector": {
    "profile": '"table"', "profile_times": '["0 s", "10 s"]', "profile_values": "[1, -1]",
    "profile_period": '"5 s"'}}, "[collector] profile_period", "exceed the last profile time")
two_potential("control-misspelt", {"collector": {"control": '"galvanic"'}},
              "[collector] control", "must be one of")
two_potential("cathodic-transfer-coefficient-above-one", {"reaction": {"cathodic_transfer_coefficient": "1.5"}},
              "[reaction] cathodic_transfer_coefficient", "strictly between 0 and 1")
two_potential("negative-reaction-exchange-current", {"reaction": {"exchange_current_density": '"-10 A/m^2"'}},
              "[reaction] exchange_current_density", "must be > 0")
two_potential("crack-in-one-dimension", {"electrolyte": {"crack_conductivity_ratio": "10"}},
              "[electrolyte] crack_conductivity_ratio", "needs a 2-D or 3-D geometry")
two_potential("binary-salt-transference-zero", {
    "model": {"blocks": '["phase_field", "charge_transfer", "electronic_conduction", '
                        '"ionic_conduction", "salt_transport"]'},
    "electrolyte": {"salt_transference_number": "0"}},
    "[electrolyte] salt_transference_number", "strictly between 0 and 1")
two_potential("binary-salt-with-conductivity", {
    "model": {"blocks": '["phase_field", "charge_transfer", "electronic_conduction", '
                        '"ionic_conduction", "salt_transport"]'},
    "electrolyte": {"conductivity": '"1 S/m"'}},
    "[electrolyte] salt_concentration", "conflicts with the given conductivity")
two_potential("sheet-conductance-as-conductivity", {"collector": {
    "control": '"galvanostatic"', "current_density": '"10 A/m^2"', "sheet_conductance": '"5.96e7 S/m"'}},
    "[collector] sheet_conductance", "S")
two_potential("sheet-conductance-zero", {"collector": {
    "control": '"galvanostatic"', "current_density": '"10 A/m^2"', "sheet_conductance": '"0 S"'}},
    "[collector] sheet_conductance", "must be > 0")

# issue 34: the double layers, the cut-off potential, the electrolyte's leakage
two_potential("double-layer-capacitance-negative", {"double_layer": {"capacitance": '"-20 uF/cm^2"'}},
              "[double_layer] capacitance", "must be >= 0")
two_potential("double-layer-capacitance-as-charge", {"double_layer": {"capacitance": '"20 uC/cm^2"'}},
              "[double_layer] capacitance", "F/m^2")
two_potential("cutoff-potential-zero", {"collector": {
    "control": '"galvanostatic"', "current_density": '"10 A/m^2"', "cutoff_potential": '"0 V"'}},
    "[collector] cutoff_potential", "must be > 0")
two_potential("electronic-conductivity-negative", {"electrolyte": {"electronic_conductivity": '"-1e-6 S/m"'}},
              "[electrolyte] electronic_conductivity", "must be >= 0")


# ---- the space-charge blocks (issue 17) ---------------------------------------------
def standalone(cid, name, base, keys, drop, sections, mentions):
    """A case of `sections` (raw TOML) plus [name] = base updated by keys,
    without the keys in drop."""
    own = {k: v for k, v in {**base, **keys}.items() if k not in drop}
    text = "".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items())
                   for s, kv in {**sections, name: own}.items())
    bad_case(cid, text, *mentions)


def space_charge(cid, sc, *mentions, drop=(), **sections):
    """A standalone space-charge case (no [model]): [space_charge] keys as raw TOML."""
    base = {"carriers": '"frenkel_pair"', "relative_permittivity": "60",
            "potential_step": '"0.1 V"'}
    geometry = {"kind": '"interval"', "length": '"200 nm"', "cells": "[100]",
                **sections.pop("geometry", {})}
    standalone(cid, "space_charge", base, sc, drop,
               {"case": {"name": '"sc"'}, **sections, "geometry": geometry}, mentions)

space_charge("sc-no-permittivity", {}, "[space_charge] relative_permittivity", "not set",
             drop=("relative_permittivity",))
space_charge("sc-single-without-background", {"carriers": '"single"'},
             "[space_charge] background_concentration", "needs the immobile background")
space_charge("sc-background-above-saturation", {
    "carriers": '"single"', "background_concentration": '"1e23 cm^-3"',
    "available_site_fraction": "0.5"}, "[space_charge] background_concentration",
    "below the carriers' saturation density")
space_charge("sc-site-fraction-above-one", {"available_site_fraction": "1.5"},
             "[space_charge] available_site_fraction", "(0, 1]")
space_charge("sc-charge-number-zero", {"carrier_charge_number": "0"},
             "[space_charge] carrier_charge_number", "must not be 0")
space_charge("sc-site-density-as-molar", {"site_density": '"50 mol/m^3"'},
             "[space_charge] site_density", "unit")
space_charge("sc-formation-energy-without-unit", {"formation_energy": "0.5"},
             "[space_charge] formation_energy", "missing unit")
space_charge("sc-steady-ends-before-ramp", {"ramp_time": '"10 s"'}, "[time] end",
             "before its step is applied in full", time={"end": '"1 s"'})
space_charge("sc-transport-alone", {}, "[model] blocks", "defect_transport moves the defects",
             model={"blocks": '["defect_transport"]'})
space_charge("sc-first-cell-impossible", {}, "[geometry] first_cell", "cannot start 100 cells",
             geometry={"first_cell": '"1 um"'})
space_charge("sc-first-cell-subatomic", {}, "[geometry] first_cell", "outside the physical range",
             geometry={"first_cell": '"1e-30 m"'})
space_charge("sc-transport-with-open-reservoir", {"far_boundary": '"semi_infinite"'},
             "[space_charge] far_boundary", "defect_transport needs",
             model={"blocks": '["space_charge", "defect_transport"]'})


# ---- the SEI (issue 18) -----------------------------------------------------------------
def sei(cid, keys, *mentions, drop=(), **sections):
    """A 0-D SEI case ([geometry] kind = "point"): [sei] keys as raw TOML."""
    base = {"law": '"solvent_diffusion"', "solvent_diffusivity": '"2.5e-22 m^2/s"',
            "solvent_concentration": '"2636 mol/m^3"'}
    standalone(cid, "sei", base, keys, drop, {"case": {"name": '"sei"'}, "geometry": {
        "kind": '"point"'}, "time": {"end": '"1 year"'}, **sections}, mentions)

value("noise-lattice-negative", "noise", "lattice_spacing", '"-1 um"', ">= 0")
value("output-format-unknown", "output", "format", '"vtk"', "xdmf", "vtx")
value("noise-lattice-without-unit", "noise", "lattice_spacing", "1", "unit")
value("adaptivity-on-an-interval", "mesh_adaptivity", "enabled", "true", "rectangle and box")
value("adaptivity-negative-levels", "mesh_adaptivity", "levels", "-1", ">= 0")
value("adaptivity-jump-above-one", "mesh_adaptivity", "interface_jump", "1.5", "1")
value("adaptivity-levels-as-text", "mesh_adaptivity", "levels", '"four"', "integer")
sei("sei-negative-thickness", {"initial_thickness": '"-5 nm"'}, "[sei] initial_thickness",
    "must be > 0")
sei("sei-law-without-its-keys", {"law": '"tunnelling"'}, "[sei] exchange_current_density",
    "law = \"tunnelling\" needs them", drop=("solvent_diffusivity", "solvent_concentration"))
sei("sei-key-of-another-law", {"electronic_conductivity": '"1e-12 S/m"'},
    "[sei] electronic_conductivity", "not a key of law = \"solvent_diffusion\"")
sei("sei-law-misspelt", {"law": '"solvent-diffusion"'}, "[sei] law", "must be one of")
sei("sei-diffusivity-in-wrong-unit", {"solvent_diffusivity": '"2.5e-22 m/s"'},
    "[sei] solvent_diffusivity", "m^2/s")
sei("sei-time-in-years-typo", {}, "[time] end", "unit", time={"end": '"1 yaer"'})
sei("sei-point-with-deposition", {}, "[geometry] kind = \"point\"", "the 0-D SEI mode",
    model={"blocks": '["phase_field", "charge_transfer", "electronic_conduction", '
                     '"ionic_conduction", "sei"]'})
sei("sei-zero-molar-volume", {"molar_volume": '"0 m^3/mol"'}, "[sei] molar_volume", "must be > 0")
two_potential("sei-patch-in-one-dimension", {
    "model": {"blocks": '["phase_field", "charge_transfer", "electronic_conduction", '
                        '"ionic_conduction", "sei"]'},
    "sei": {"solvent_diffusivity": '"2.5e-22 m^2/s"', "solvent_concentration": '"2636 mol/m^3"',
            "initial_profile": '"patch"'}},
    "[sei] initial_profile", "1-D interval")


# ---- the metal_mechanics block's keys (issue 38) -------------------------------
def mechanics(cid, sections, *mentions, kind='"interval"'):
    """The two-potential base case of Li | LLZO with metal_mechanics: the
    creep law and the electrolyte's Poisson ratio given, then `sections`."""
    blocks = ('["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction", '
              '"metal_mechanics"]')
    shape = {"cells": "[8, 4]", "height": '"4 um"'} if kind == '"rectangle"' else {}
    given = {"model": {"blocks": blocks}, "geometry": {"kind": kind, **shape},
             "material": {"metal": '"Li"', "electrolyte": '"LLZO"'},
             "metal": {"creep_reference_rate": '"0 1/s"'},
             "electrolyte": {"poisson_ratio": "0.26"}}
    for section, keys in sections.items():
        given.setdefault(section, {}).update(keys)
        for key in [k for k, v in keys.items() if v is None]:  # None: left out
            del given[section][key]
    two_potential(cid, given, *mentions)


mechanics("mechanics-roller-face-unknown", {"mechanics": {"roller_faces": '["top"]'}},
          "[mechanics] roller_faces", "no face 'top'", "electrode, reservoir")
mechanics("mechanics-pressure-face-unknown", {"mechanics": {"pressure_face": '"side"'}},
          "[mechanics] pressure_face", "no boundary")
mechanics("mechanics-poisson-ratio-half", {"metal": {"poisson_ratio": "0.5"}},
          "[metal] poisson_ratio", "between -1 and 0.5")
mechanics("mechanics-negative-modulus", {"electrolyte": {"youngs_modulus": '"-150 GPa"'}},
          "[electrolyte] youngs_modulus", "must be > 0")
mechanics("mechanics-modulus-without-unit", {"metal": {"youngs_modulus": "7.8e9"}},
          "[metal] youngs_modulus", "unit")
mechanics("mechanics-pressure-wrong-unit", {"mechanics": {"stack_pressure": '"5 MPa/s"'}},
          "[mechanics] stack_pressure", "Pa")
mechanics("mechanics-negative-creep-rate", {"metal": {"creep_reference_rate": '"-1 1/s"'}},
          "[metal] creep_reference_rate")
mechanics("mechanics-creep-exponent-below-one", {"metal": {"creep_stress_exponent": "0.5"}},
          "[metal] creep_stress_exponent")
mechanics("mechanics-creep-law-not-in-the-library", {"metal": {"creep_reference_rate": '"1e-3 1/s"'}},
          "[metal] creep_reference_stress", "library has none for Li")
mechanics("mechanics-electrolyte-poisson-ratio-missing", {"electrolyte": {"poisson_ratio": None}},
          "[electrolyte] poisson_ratio", "library has none for LLZO")
two_potential("mechanics-overpotential-without-reaction",
              {"model": {"blocks": '["metal_mechanics", "mechanical_overpotential"]'}},
              "mechanical_overpotential", "charge_transfer_overpotential")
mechanics("mechanics-pressure-face-held", {"mechanics": {"roller_faces": '["electrode", "reservoir"]'}},
          "[mechanics] roller_faces", "pressure_face", "would do nothing")
mechanics("mechanics-body-free-to-slide", {"mechanics": {"roller_faces": '["reservoir"]'}},
          "[mechanics] roller_faces", "nothing holds the body along y", kind='"rectangle"')
mechanics("mechanics-negative-ramp", {"mechanics": {"pressure_ramp_time": '"-1 s"'}},
          "[mechanics] pressure_ramp_time")
mechanics("mechanics-small-strain-limit-zero", {"mechanics": {"small_strain_limit": "0"}},
          "[mechanics] small_strain_limit")
mechanics("mechanics-small-strain-limit-text", {"mechanics": {"small_strain_limit": '"10 %"'}},
          "[mechanics] small_strain_limit")


# ---- the metal_vacancies block's keys (issue 38) -------------------------------
def vacancies(cid, keys, *mentions):
    blocks = ('["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction", '
              '"metal_vacancies"]')
    two_potential(cid, {"model": {"blocks": blocks},
                        "vacancies": {"diffusivity": '"1e-12 m^2/s"', **keys}}, *mentions)


two_potential("vacancies-diffusivity-missing", {"model": {"blocks": (
    '["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction", '
    '"metal_vacancies"]')}}, "[vacancies] diffusivity", "needs")
vacancies("vacancies-negative-sink-time", {"sink_time": '"-1 s"'}, "[vacancies] sink_time",
          "must be >= 0")
vacancies("vacancies-injection-above-one", {"injection_fraction": "1.5"},
          "[vacancies] injection_fraction")
vacancies("vacancies-diffusivity-wrong-unit", {"diffusivity": '"1e-12 m/s"'},
          "[vacancies] diffusivity", "m^2/s")


# ---- the interface_voids block's keys (issue 38) -------------------------------
def voids(cid, keys, *mentions, metal=None):
    blocks = ('["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction", '
              '"metal_mechanics", "metal_vacancies", "interface_voids"]')
    two_potential(cid, {"model": {"blocks": blocks},
                        "material": {"metal": '"Li"', "electrolyte": '"LLZO"'},
                        "metal": metal or {"creep_reference_rate": '"1e-3 1/s"',
                                           "creep_reference_stress": '"1 MPa"'},
                        "electrolyte": {"poisson_ratio": "0.26"},
                        "vacancies": {"diffusivity": '"1e-14 m^2/s"'}, "voids": keys}, *mentions)


voids("voids-nucleation-excess-zero", {"nucleation_excess": "0"}, "[voids] nucleation_excess",
      "must be > 0")
voids("voids-contact-loss-above-one", {"contact_loss_fraction": "1.5"},
      "[voids] contact_loss_fraction")
voids("voids-condensation-rate-unitless", {"condensation_rate": "10"},
      "[voids] condensation_rate", "unit")
voids("voids-height-negative", {"void_height": '"-1 um"'}, "[voids] void_height", "must be > 0")
voids("voids-height-a-pressure", {"void_height": '"1 MPa"'}, "[voids] void_height", "length")
voids("voids-nucleation-rate-negative", {"nucleation_rate": '"-1 1/s"'},
      "[voids] nucleation_rate", "must be >= 0")
voids("voids-site-spacing-zero", {"nucleation_rate": '"1 1/s"', "site_spacing": '"0 um"'},
      "[voids] site_spacing", "must be > 0")
voids("voids-contact-loss-unreachable", {"contact_loss_fraction": "0.05"},
      "[voids] contact_loss_fraction", "fit at most")
voids("voids-elastic-metal", {}, "[metal] creep_reference_rate", "closes no void",
      metal={"creep_reference_rate": '"0 1/s"'})
two_potential("voids-without-vacancies", {"model": {"blocks": (
    '["phase_field", "charge_transfer", "electronic_conduction", "ionic_conduction", '
    '"interface_voids"]')}}, "interface_voids", "vacancy_excess")
