"""Case files: TOML in SI units -> validated, fully resolved case.

Every key has a type, a unit (dimension), a default and a validity check in
``SCHEMA`` (anodex/schema.py: the generic sections, and the keys each
physics block declares).  ``load_case`` reports *all* problems at once, each naming the
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
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from . import blocks, compat, geometry
from .model import Model, build_model, model_blocks
from .schema import SCHEMA, Param
from .units import UnitError, to_si

blocks.load()  # (the blocks' keys complete SCHEMA)


class CaseError(ValueError):
    """Invalid case file: message lists every problem with file and key."""


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
    built_model: Model | None = field(default=None, repr=False, compare=False)
    # the case file (None: the embedded default case), the case as written
    # there, and the values set on it since (--set, Case.set): what set()
    # validates again and what a run in other processes is given
    file: str | None = None
    written: dict = field(default_factory=dict, repr=False, compare=False)
    overrides: dict = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> Case:
        """Read and validate a case file (None: the embedded default case)."""
        return load_case(path)

    def set(self, key: str, value) -> Case:
        """Change one value, written as in a case file: ``set("time.end",
        "2 h")``; None removes the key (its default applies again).  The
        whole case is validated again; CaseError (and the case unchanged) if
        it is not valid.  Returns the case."""
        return self.update({key: value})

    def update(self, values: dict) -> Case:
        """Change several values at once (keys that must change together:
        ``update({"geometry.kind": "interval", "geometry.cells": [200]})``),
        then validate the whole case; CaseError and the case unchanged if it
        is not valid.  Returns the case."""
        for key in values:
            if not isinstance(key, str) or not SET_KEY.fullmatch(key):
                raise CaseError(f"set({shown(key)}): the key is \"section.key\", e.g. "
                                "\"time.end\" (keys: anodex check --reference)")
        changed = _validated(self.file, self.written, {**self.overrides, **values},
                             way='case.set("{}", ...)')
        self.__dict__.update(changed.__dict__)
        return self

    @property
    def model(self) -> Model:
        """The case's Model (blocks, scales, internal parameters), built once."""
        if self.built_model is None:
            self.built_model = build_model(self.si)
        return self.built_model

    def to_toml(self) -> str:
        return dump_toml(self.raw, self.provenance)

    def __repr__(self):
        changed = "".join(f", {k} = {shown(v)}" for k, v in self.overrides.items())
        return f"<anodex.Case {self.si['case']['name']!r} from {self.source}{changed}>"


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
    if p.kind in ("str", "face"):
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
    if p.kind in ("number_list", "quantity_list"):
        return _list(p, value)
    if p.kind == "tables":
        if not isinstance(value, dict):
            return None, f"must be a table of tables, got {type(value).__name__}"
        return copy.deepcopy(value), None
    if p.kind == "table":
        if not isinstance(value, dict):
            return None, f"must be a table, got {type(value).__name__}"
        return _petsc_table(value)
    raise AssertionError(p.kind)


MAX_STRING = 10000  # characters of a string value
MAX_LIST = 10000  # entries of a list of numbers or quantities


def _list(p: Param, value):
    """A non-empty list of finite numbers, or of quantities of p.unit -> SI floats."""
    what = "numbers" if p.kind == "number_list" else f'quantities such as "1 {p.unit}"'
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        return None, f"must be a non-empty list of at most {MAX_LIST} {what}, got {shown(value)}"
    out = []
    for i, v in enumerate(value):
        if p.kind == "number_list":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                return None, f"entry {i + 1}: must be a finite number, got {shown(v)}"
            out.append(float(v))
            continue
        try:
            out.append(to_si(v, p.unit))
        except UnitError as e:
            return None, f"entry {i + 1}: {e}"
    return out, None
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


class SetKeys(set):
    """The (section, key) pairs set on top of the case file, and how they
    were set, which an error names: `--set section.key=...` on the command
    line (way "--set {}"), `case.set("section.key", ...)` in Python."""

    def __init__(self, pairs=(), way="--set {}"):
        super().__init__(pairs)
        self.way = way

    def name(self, section, key) -> str:
        return self.way.format(f"{section}.{key}")


def _where(section, key, from_cli) -> str:
    if (section, key) in from_cli:
        return from_cli.name(section, key)
    return f"[{section}] {key}"


def _name_set_key(error, from_cli) -> str:
    """A check's error about a key set by --set or case.set, headed by how
    it was set (the block checks name keys as the case file does)."""
    for section, key in from_cli:
        plain = f"[{section}] {key}"
        if error.startswith(plain) and error[len(plain):len(plain) + 1] in (":", "["):
            return f"{from_cli.name(section, key)}: {error}"
    return error


def validate(data: dict, source: str = "<case>", from_cli=SetKeys(), base_dir=None) -> Case:
    """Validate a parsed case dict; raise CaseError listing every problem.
    from_cli: the SetKeys that came from --set or Case.set (named so);
    base_dir: where relative file names in the case start (the case file's
    directory; None: the current directory)."""
    errors = _unknown_names(data, from_cli)
    raw, si, given = {}, {}, set()
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
            value = section_given.get(key, copy.deepcopy(_default(p, section, key, data)))
            if key in section_given:
                given.add((section, key))
            if value is not None:
                raw[section][key] = value
            si[section][key], err = _checked(p, value)
            if err:
                errors.append(f"{_where(section, key, from_cli)}: {err}")
    provenance, model = {}, None
    if not errors and si["geometry"]["kind"] == "mesh":
        errors = _mesh_file(raw, si, provenance, base_dir)
    if not errors:
        errors, model = _case_checks(raw, si, given, provenance, from_cli)
    if errors:
        listed = [_name_set_key(e, from_cli) for e in errors[:MAX_REPORTED]]
        more = (f"\n  ... and {len(errors) - MAX_REPORTED} more problems"
                if len(errors) > MAX_REPORTED else "")
        raise CaseError(f"{source}: invalid case file:\n  - " + "\n  - ".join(listed) + more)
    if si["geometry"]["kind"] == "interval":
        raw["geometry"].pop("height", None)  # not part of a 1-D case (nor its resolved file)
    case = Case(raw=raw, si=si, source=source, provenance=provenance, built_model=model)
    case.warnings += _resolution_warnings(si) + _inactive_key_warnings(si, given)
    return case


def _default(p: Param, section, key, data):
    """A key's default; [model] blocks: a standalone block's alone when the case
    gives its section and no [model] blocks (blocks.Block.standalone_section)."""
    if (section, key) == ("model", "blocks") and not isinstance(data.get("model"), dict):
        alone = [b.name for b in blocks.registered()
                 if b.standalone_section and isinstance(data.get(b.standalone_section), dict)]
        if len(alone) == 1:
            return alone
    return p.default


def _unknown_names(data, from_cli) -> list[str]:
    """Sections and --set keys that the schema does not know; non-table sections."""
    errors = []
    for section, key in sorted(from_cli):
        if section not in SCHEMA:
            errors.append(f"{from_cli.name(short(section), short(key))}: unknown section "
                          f"[{short(section)}]{_suggest(section, SCHEMA)}; valid sections: "
                          f"{', '.join(SCHEMA)}")
        elif key not in SCHEMA[section]:
            errors.append(f"{from_cli.name(section, short(key))}: unknown key [{section}] "
                          f"{short(key)}"
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
    return errors


def _checked(p: Param, value):
    """(SI value, error text or None): converted, checked, inside the bounds."""
    val, err = _convert(p, value)
    if err is None and val is not None and p.check is not None:
        err = p.check(val)
        if err:
            err = f"{err}, got {shown(value)}"
    if err is None and val is not None and p.bounds is not None:
        for v in val if isinstance(val, list) else [val]:
            err = err or _out_of_bounds(p, v, value)
    return val, err


def _case_checks(raw, si, given, provenance, from_cli) -> tuple:
    """Of a case whose every key is valid: the library and the blocks' derived
    values, the checks across keys, finite internal parameters.  (errors,
    the case's Model or None)."""
    from .materials.resolve import resolve
    model = None
    t = si["time"]
    if ("time", "dt_initial") not in given and t["dt_initial"] > t["dt_max"]:
        # (a case that sets only dt_max below the default first step)
        t["dt_initial"], raw["time"]["dt_initial"] = t["dt_max"], f"{t['dt_max']!r} s"
        provenance["time.dt_initial"] = "derived: the default, capped at [time] dt_max"
    try:
        errors = resolve(raw, si, given, provenance)
        if not errors:
            errors = _cross_checks(si, given, from_cli)
        if not errors:
            model = build_model(si)
            errors = _derived_checks(model)
    except blocks.BlockError as e:
        errors = [f"{e.where}: {e}"]
    except (OverflowError, ZeroDivisionError) as e:
        errors = [f"the values give derived numbers that overflow ({e}); check the "
                  "magnitudes and units of the values given"]
    return errors, model


def listing(names, at_most=10) -> str:
    """Names for a message: the first at_most, then how many more."""
    names = list(names)
    more = f" and {len(names) - at_most} more" if len(names) > at_most else ""
    return ", ".join(short(n) for n in names[:at_most]) + more


def _out_of_bounds(p: Param, val, value) -> str | None:
    lo, hi = p.bounds
    if lo <= val <= hi:
        return None
    unit = "" if p.kind not in ("quantity", "quantity_list") or p.unit == "1" else f" {p.unit}"
    return f"outside the physical range [{lo:g}, {hi:g}]{unit}, got {shown(value)}"


def _derived_checks(model: Model) -> list[str]:
    """The internal (non-dimensional) parameters must be finite numbers."""
    bad = [k for k, v in model.p.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        return [f"the values give non-finite internal parameters {bad} (the blocks' "
                "internal(), anodex/models/); check the magnitudes and units of the values "
                "given, and [scales]"]
    return []


def _mesh_file(raw, si, provenance, base_dir) -> list[str]:
    """kind = "mesh": read the file (relative to the case file), check its
    groups, take the extents from it; the resolved case names it absolutely."""
    g = si["geometry"]
    if not g["file"]:
        return ["[geometry] file: needed for kind = \"mesh\" (a Gmsh .msh file; `anodex mesh` "
                "makes those of meshes/)"]
    path = Path(g["file"]).expanduser()
    path = str(path if path.is_absolute() else Path(base_dir or ".") / path)
    path = os.path.abspath(path)
    try:
        m = geometry.mesh_file({**g, "file": path})
        info = geometry.mesh_info({**g, "file": path})
    except geometry.MeshError as e:
        return [f"[geometry] file: {e}"]
    errors = [f"[geometry] {key}: the mesh has no {m.dim - 1}-D physical group "
              f"{shown(g[key])}; its groups: {listing(m.facet_groups) or 'none'}"
              for key in ("electrode", "reservoir") if g[key] not in m.facet_groups]
    raw["geometry"]["file"] = g["file"] = path
    for key, extent in zip(("length", "height", "depth"), info.extent):
        if extent > 0:
            g[key] = extent
            raw["geometry"][key] = f"{extent!r} m"
            provenance[f"geometry.{key}"] = "the extent of the mesh file"
    return errors


def _geometry_checks(si, given, from_cli) -> list[str]:
    errors, g = [], si["geometry"]
    ndim = geometry.DIMENSION.get(g["kind"])
    if ndim and len(g["cells"]) != ndim:
        need = {1: "an interval needs 1 cell count, [nx]",
                2: "a rectangle needs 2 cell counts, [nx, ny]",
                3: "a box needs 3 cell counts, [nx, ny, nz]"}[ndim]
        errors.append(f"[geometry] cells: {need}; got {shown(g['cells'])}")
    if g.get("first_cell") is not None:
        if not ndim:
            errors.append("[geometry] first_cell: grades the built-in interval, rectangle and "
                          "box; a mesh file carries its own grading")
        elif len(g["cells"]) == ndim:
            try:
                geometry.grading_ratio(g["length"], g["cells"][0], g["first_cell"])
            except geometry.MeshError as e:
                errors.append(str(e))
    switched = ("geometry", "kind") in from_cli and ("geometry", "height") not in from_cli
    if ndim == 1 and _set_differently(si, given, "geometry", "height") and not switched:
        # (a 2-D case shrunk with --set geometry.kind=interval only gets a warning)
        errors.append(f"{_where('geometry', 'height', from_cli)}: has no effect on an "
                      "interval (kind = \"interval\" is 1-D); remove it, or use kind = "
                      "\"rectangle\"")
    return errors


def _time_checks(t) -> list[str]:
    errors = []
    if not t["dt_min"] <= t["dt_initial"] <= t["dt_max"]:
        errors.append("[time] dt_initial: must satisfy dt_min <= dt_initial <= dt_max, got "
                      f"{t['dt_min']:g} s, {t['dt_initial']:g} s, {t['dt_max']:g} s")
    if t["dt_initial"] > t["end"]:
        errors.append(f"[time] dt_initial: larger than [time] end ({t['end']:g} s)")
    return errors


def _model_checks(si) -> list[str]:
    """The blocks form a model (model.model_blocks), and the solver suits it."""
    try:
        selected = model_blocks(si)
    except blocks.BlockError as e:
        return [f"{e.where}: {e}"]
    unknowns = [] if si["geometry"]["kind"] == "point" else [
        u for b in selected for u in b.case_unknowns(si)]
    if si["solver"]["preset"] == "amg" and len(unknowns) > 1:
        return [f"[solver] preset: \"amg\" needs a single unknown; the blocks "
                f"{si['model']['blocks']} solve for {', '.join(u.name for u in unknowns)}: use "
                "auto, direct or fieldsplit"]
    return []


def _cross_checks(si, given=frozenset(), from_cli=SetKeys()) -> list[str]:
    """Checks that involve several keys (the keys are named in the message):
    generic ones, then those of the case's blocks (Block.check), then the
    mesh against what the blocks must resolve (Block.resolution_checks)."""
    errors = _geometry_checks(si, given, from_cli) + _time_checks(si["time"])
    selected = blocks.block_classes(si)
    for block in selected:
        errors += block.check(si, given)
    errors += (_model_checks(si) + _adaptivity_checks(si) + _output_checks(si)
               + _required_block_checks(si, selected, given, from_cli)
               + _axisymmetric_checks(si, selected))
    if errors or si["geometry"]["kind"] == "point":
        return errors
    errors += _boundary_checks(si, selected)
    if errors:
        return errors
    info = _mesh_info(si)
    for block in selected:
        errors += block.resolution_checks(si, info)[0]
    return errors


def _axisymmetric_checks(si, selected) -> list[str]:
    """[geometry] axisymmetric: a rectangle, and blocks whose forms hold in it
    (Block.axisymmetric)."""
    if not si["geometry"]["axisymmetric"]:
        return []
    if si["geometry"]["kind"] != "rectangle":
        return [f"[geometry] axisymmetric: needs kind = \"rectangle\" (x along the axis, y the "
                f"radius), got kind = \"{si['geometry']['kind']}\""]
    if si["mesh_adaptivity"]["enabled"]:
        return ["[geometry] axisymmetric: not with [mesh_adaptivity] enabled yet (its "
                "triangles are not verified about the axis); use a uniform or graded rectangle"]
    unfit = [b.name for b in selected if not b.axisymmetric]
    return [f"[geometry] axisymmetric: the block(s) {', '.join(unfit)} do not run in an "
            "axisymmetric geometry (point sites, or not verified there: docs/mechanics.md); "
            "use a rectangle or a box"] if unfit else []


def _required_block_checks(si, selected, given, from_cli) -> list[str]:
    """A key that asks for a block the model lacks (Block.required_by) is
    an error, not the warning of an unused key: the run would go on without
    what the key asks for (a [protocol] that nothing runs)."""
    return [f"{_where(section, key, from_cli)}: this model cannot act on it "
            f"({block.unselected(si)}); add the block, or remove the key"
            for block in blocks.registered() if block not in selected
            for section, key in block.required_by
            if _set_differently(si, given, section, key)]


def _boundary_checks(si, selected) -> list[str]:
    """A face key (Param kind "face") of a selected block names a face
    of the geometry (geometry.face_names)."""
    faces = geometry.face_names(si["geometry"])
    return [f"[{section}] {key}: the geometry has no boundary {shown(si[section][key])}; "
            f"its boundaries: {', '.join(faces)}"
            for b in selected for section, params in b.params.items()
            for key, p in params.items() if p.kind == "face"
            and si[section][key] is not None and si[section][key] not in faces]


def _mesh_info(si):
    """What the blocks must resolve is met by the finest cells of an adaptive
    mesh, those at the interface: the base cells / 2^levels."""
    info = geometry.mesh_info(si["geometry"])
    adapt = si["mesh_adaptivity"]
    if adapt["enabled"]:
        info.uniform_size /= 2 ** adapt["levels"]
        if info.sizes is not None:
            info.sizes = info.sizes / 2 ** adapt["levels"]
    return info


def _output_checks(si) -> list[str]:
    why = compat.vtx_unavailable() if si["output"]["format"] == "vtx" else None
    return [f"[output] format = \"vtx\": {why}; use \"xdmf\""] if why else []


def _adaptivity_checks(si) -> list[str]:
    if si["mesh_adaptivity"]["enabled"] and si["geometry"]["kind"] not in ("rectangle", "box"):
        return [f"[mesh_adaptivity] enabled: refines the built-in rectangle and box (as "
                f"triangles, tetrahedra), not kind = \"{si['geometry']['kind']}\""]
    return []


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
    kind = si["geometry"]["kind"]
    conditional = []
    if kind == "interval":
        conditional.append(("geometry", ("height",), 'kind = "interval" (1-D)'))
    if kind != "box":
        conditional.append(("geometry", ("depth",), f'kind = "{kind}" (a box has a depth)'))
    if kind == "point":
        conditional.append(("geometry", ("length", "height", "cells", "first_cell", "file",
                                          "unit", "electrode", "reservoir"),
                            'kind = "point" (0-D)'))
    elif kind == "mesh":
        conditional.append(("geometry", ("cells",), 'kind = "mesh" (the file has the cells)'))
    else:
        conditional.append(("geometry", ("file", "unit", "electrode", "reservoir"),
                            f'kind = "{kind}" (a built-in mesh)'))
    if not si["solver"]["reuse_factorization"]:
        conditional.append(("solver", ("refactor_krylov_iterations",),
                            "[solver] reuse_factorization = false"))
    selected = blocks.block_classes(si)
    shared = {name for b in selected for name in b.reads_keys_of}
    for block in blocks.registered():
        if block.selected(si):
            conditional += block.inactive_keys(si)
            continue
        if block.name in shared:  # (another block reads its keys)
            continue
        why = block.unselected(si)
        read = {(sec, k) for b in selected for sec, keys in b.params.items() for k in keys}
        conditional += [(section, tuple(k for k in keys if (section, k) not in read), why)
                        for section, keys in block.params.items()]
    reported = set()  # (a key several unselected blocks read: said once)
    for section, keys, why in conditional:
        unused = [k for k in keys if _set_differently(si, given, section, k)
                  and (section, k) not in reported]
        reported.update((section, k) for k in unused)
        if unused:
            out.append(f"[{section}] {', '.join(unused)}: no effect ({why})")
    return out


def _resolution_warnings(si) -> list[str]:
    info = _mesh_info(si)
    return [text for b in blocks.block_classes(si)
            for text in b.resolution_checks(si, info)[1] + b.warnings(si)]


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


def apply_overrides(data: dict, overrides: dict, source: str, way="--set {}") -> SetKeys:
    """Put --set (or Case.set) values into the case data; returns the
    SetKeys set.  CaseError, naming the option, for one that cannot apply."""
    from_cli = SetKeys(way=way)
    for dotted, value in (overrides or {}).items():
        section, _, key = dotted.partition(".")
        if not isinstance(data.setdefault(section, {}), dict):
            raise CaseError(f"{way.format(dotted)}: {source} gives {section} = "
                            f"{shown(data[section])}, not a [{section}] table; fix the case file")
        if value is None:  # (Case.set(key, None): the key removed, back to its default)
            data[section].pop(key, None)
            continue
        data[section][key] = value
        from_cli.add((section, key))
    return from_cli


# a key of --set and Case.set: section.key
SET_KEY = re.compile(r"[a-z_]+\.[a-z_0-9]+")


def load_case(path: str | Path | None = None, overrides: dict | None = None,
              rederive=False) -> Case:
    """Read and validate a case file (None: the embedded default case).
    rederive: a run's resolved case.toml, whose derived keys are derived again
    (from the overrides too: a restart that adds protocol cycles gets the
    later end)."""
    if path is None:
        text = resources.files(__package__).joinpath("data/default_case.toml").read_text()
        written = tomllib.loads(text)
    else:
        written = read_toml(path)
        if rederive:
            for section, key in derived_keys(Path(path).read_text()):
                written.get(section, {}).pop(key, None)
    return _validated(None if path is None else str(path), written, overrides or {})


def derived_keys(text: str) -> set:
    """(section, key) of the lines dump_toml marked `# derived: ...`."""
    out, section = set(), None
    for line in text.splitlines():
        head = re.fullmatch(r"\[(\w+)\]", line.strip())
        if head:
            section = head.group(1)
            continue
        assignment, sep, comment = line.rpartition("  # ")
        if section and sep and comment.startswith("derived: "):
            out.add((section, assignment.split("=", 1)[0].strip()))
    return out


def _validated(path, written, overrides, way="--set {}") -> Case:
    """The case of file `path` (its parsed text `written`) with `overrides`
    (set `way`: SetKeys)."""
    source = "<default case>" if path is None else path
    data = copy.deepcopy(written)
    from_cli = apply_overrides(data, overrides, source, way)
    case = validate(data, source, from_cli, None if path is None else Path(path).parent)
    case.file, case.written, case.overrides = path, written, dict(overrides)
    return case


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dump_toml(raw: dict, provenance: dict | None = None) -> str:
    """Write a two-level case dict as TOML (the resolved case); values that did
    not come from the case file carry their source as a comment."""
    out, provenance = [], provenance or {}
    for section, values in raw.items():
        out.append(f"[{section}]")
        for k, v in values.items():
            line = f"{k} = {toml_value(v)}"
            src = provenance.get(f"{section}.{k}", "case file")
            out.append(line if src == "case file" else f"{line}  # {src}")
        out.append("")
    return "\n".join(out)


def reference_markdown() -> str:
    """The case-file reference, generated from SCHEMA."""
    from .schema import OWNER
    lines = ["# Case-file reference", "",
             "Generated from the schema (`anodex/schema.py` and the blocks' `params` in "
             "`anodex/models/`) by `anodex check --reference`; do not edit.",
             "Quantities are strings `\"<number> <unit>\"` in any unit of the stated "
             "dimension (SI prefixes allowed: `\"0.5 um\"`, `\"1.19 S/m\"`, `\"-450 mV\"`; "
             "battery units too: `\"1 mA/cm2\"`, `\"2 mAh/cm^2\"`, `\"10 uF/cm2\"`, `\"1.5 h\"`, "
             "`\"3 day\"`, `\"2 years\"`, and a temperature alone in `\"25 degC\"`; "
             "anodex/units.py). "
             "Defaults are the published Hong & Viswanathan (2018) input in SI units. "
             "Every number must be finite and inside its range (SI units, closed "
             "interval); a case that gives a key with no effect in its configuration "
             "gets a warning (an error for `height` on an interval, and for a key that "
             "asks for a block the model lacks, such as `[protocol] steps`). The block column "
             "names the physics block that declares a key (blank: generic).", ""]
    for section, params in SCHEMA.items():
        lines += [f"## [{section}]", "",
                  "| key | type | unit | default | range | block | meaning |",
                  "|---|---|---|---|---|---|---|"]
        for key, p in params.items():
            kind = p.kind if p.kind != "choice" else " / ".join(p.choices)
            unit = p.unit if p.kind in ("quantity", "quantity_list") else ""
            default = "unset" if p.default is None else f"`{toml_value(p.default)}`"
            bounds = f"{p.bounds[0]:g} to {p.bounds[1]:g}" if p.bounds else ""
            block = OWNER.get((section, key), "")
            lines.append(f"| `{key}` | {kind} | {unit} | {default} | {bounds} | {block} | {p.doc} |")
        lines.append("")
    return "\n".join(lines)
