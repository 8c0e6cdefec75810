"""Parameter sweeps: one TOML file -> a directory of prepared cases + manifest.

A sweep file::

    [sweep]
    name = "li-llzo-potential"           # -> <runs_dir>/<name>/
    base = "../li_llzo.toml"             # relative to the sweep file
    runs_dir = "runs"                    # relative to the sweep file's directory
    id = "V{applied_potential}_T{temperature}"   # optional id template

    [vary]                               # Cartesian product of all entries
    "boundary.applied_potential" = ["-0.05 V", "-0.1 V"]              # a list
    "material.temperature" = { range = [280, 320, 3], unit = "K" }    # linear, 3 values
    "phase_field.exchange_current_density" = { logrange = [1, 100, 3], unit = "A/m^2" }

    [[zip]]                              # varied together (one axis of the product);
                                         # lists, ranges or log-ranges of equal length
    "material.metal" = ["Li", "Mg"]
    "material.electrolyte" = ["LLZO", "MgSc2Se4"]

Keys are dotted paths ``section.key`` into the case.  Every expanded case is
validated before anything is written.  Case ids are built from the varied
values (``applied_potential=-0.05V__temperature=280K``) or from the
template, so they are stable when the sweep is expanded again and readable
in a listing.  ``expand`` writes ``<name>/<id>/case.toml``, a copy of the
sweep file and ``manifest.csv`` (id, the varied values, status, reason); it
never overwrites anything that differs.
"""
from __future__ import annotations

import csv
import io
import itertools
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import MAX_CASES
from .case import CaseError, dump_toml, read_toml, short, shown, validate
from .schema import SCHEMA, plain_name

MANIFEST = "manifest.csv"
STATUSES = ("PENDING", "RUNNING", "DONE", "FAILED")
_SAFE = re.compile(r"[^A-Za-z0-9.+=_-]")


class SweepError(ValueError):
    """Invalid sweep file or a sweep directory that would be overwritten."""


@dataclass
class Sweep:
    name: str
    source: Path
    base: Path
    directory: Path  # <runs_dir>/<name>
    keys: list  # dotted keys, in column order
    cases: list  # [(id, {dotted key: value}, case data dict)]
    # {dotted key: the case's warning}: varied keys with no effect on a case
    no_effect: dict = field(default_factory=dict)


_MAX_ID_BYTES = 200  # ids name directories (and <id>.driver.log): below NAME_MAX = 255


def _number(v) -> str:
    """A range value as text: 12 significant digits, so close values stay apart."""
    return format(v, ".12g")


def _axis_count(where, spec) -> int:
    """How many values a [vary] entry gives, without making them."""
    if isinstance(spec, list):
        return len(spec)
    if isinstance(spec, dict) and len(set(spec) & {"range", "logrange"}) == 1:
        r = spec.get("range", spec.get("logrange"))
        if isinstance(r, list) and len(r) == 3 and isinstance(r[2], int) and not isinstance(r[2], bool):
            return r[2]
    return 1  # malformed: _axis_values says why


def _axis_values(where, spec) -> list:
    """The values of one [vary] entry: a list, a range or a log-range."""
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, dict) and len(set(spec) & {"range", "logrange"}) == 1:
        kind = "range" if "range" in spec else "logrange"
        unknown = set(spec) - {kind, "unit"}
        if unknown:
            raise SweepError(f"{where}: unknown entries {sorted(map(short, unknown))} (valid: "
                             f"{kind}, unit)")
        r = spec[kind]
        if (not isinstance(r, list) or len(r) != 3 or not isinstance(r[2], int)
                or isinstance(r[2], bool)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v) for v in r[:2])):
            raise SweepError(f"{where}: {kind} must be [start, stop, count] with finite start "
                             f"and stop and an integer count, got {shown(r)}")
        a, b, n = r
        if n < 1:
            raise SweepError(f"{where}: empty {kind} (count {n}); give at least 1 value")
        if kind == "logrange" and (a <= 0 or b <= 0):
            raise SweepError(f"{where}: logrange needs positive start and stop, got {a}, {b}")
        if kind == "range":
            nums = [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
        else:
            la, lb = math.log10(a), math.log10(b)
            nums = [10 ** (la + (lb - la) * i / (n - 1)) for i in range(n)] if n > 1 else [a]
        nums = [float(_number(v)) for v in nums]
        if len(set(nums)) < len(nums):
            raise SweepError(f"{where}: {kind} {shown(r)} gives equal values at 12 significant "
                             "digits; use fewer values or a wider span")
        unit = spec.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise SweepError(f"{where}: unit must be a string such as \"V\", got {shown(unit)}")
        values = [f"{_number(v)} {unit}" for v in nums] if unit else nums
    else:
        raise SweepError(f"{where}: must be a list of values, {{range = [start, stop, count]}} "
                         f"or {{logrange = [start, stop, count]}} (with an optional unit), got "
                         f"{shown(spec)}")
    if not values:
        raise SweepError(f"{where}: empty list of values")
    return values


def _check_key(where, dotted):
    section, _, key = dotted.partition(".")
    if section not in SCHEMA or key not in SCHEMA[section]:
        valid = (f"valid keys of [{section}]: {', '.join(SCHEMA[section])}" if section in SCHEMA
                 else f"valid sections: {', '.join(SCHEMA)}")
        raise SweepError(f"{where}: unknown key path '{short(dotted)}' ({valid})")


def _token(value) -> str:
    text = value if isinstance(value, str) else _number(value) if isinstance(value, float) else str(value)
    text = re.sub(r"\s+(?=[A-Za-zµ])", "", text.strip())  # "-0.4 V" -> "-0.4V", "1 1/s" stays apart
    return _SAFE.sub("_", text) or "_"


def _id_problem(cid: str) -> str | None:
    """Why `cid` cannot name a case directory, or None."""
    if "/" in cid or "\\" in cid or cid in (".", ".."):
        return "would escape the sweep directory (a path separator or '..')"
    if not cid or cid.startswith("."):
        return "is empty or starts with '.' (a hidden directory)"
    if not cid.isprintable():
        return "contains a control or NUL character"
    if len(cid.encode()) > _MAX_ID_BYTES:
        return f"is {len(cid.encode())} bytes long; ids are at most {_MAX_ID_BYTES}"
    return None


def _table(path, data, name) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise SweepError(f"{path}: [{name}] must be a table of \"section.key\" = values, got "
                         f"{name} = {shown(value)}" + (" (write [[zip]] for a zipped group)"
                                                       if name == "zip" else ""))
    return value


def load_sweep(path, max_cases=MAX_CASES) -> Sweep:
    """Read, expand and validate a sweep file (raises SweepError listing the
    problem).  Nothing is written."""
    path = Path(path)
    try:
        data = read_toml(path, "sweep file")
    except CaseError as e:
        raise SweepError(str(e)) from None
    unknown = set(data) - {"sweep", "vary", "zip"}
    if unknown:
        raise SweepError(f"{path}: unknown sections {sorted(map(short, unknown))} (valid: [sweep], "
                         "[vary], [[zip]])")
    head, name, base, base_data, runs_dir = _head(path, data)
    axes = _axes(path, data, max_cases)
    keys = [d for ks, _ in axes for d in ks]
    if len(set(keys)) != len(keys):
        raise SweepError(f"{path}: a key is varied twice: {sorted(k for k in keys if keys.count(k) > 1)}")
    if not axes:
        raise SweepError(f"{path}: nothing to vary: give [vary] entries or [[zip]] groups")
    leaves = [d.partition(".")[2] for d in keys]
    labels = leaves if len(set(leaves)) == len(leaves) else [d.replace(".", "_") for d in keys]
    cases, seen, no_effect = [], {}, {}
    for combo in itertools.product(*(values for _, values in axes)):
        values = dict(zip(keys, (v for group in combo for v in group)))
        tokens = {lab: _token(values[d]) for lab, d in zip(labels, keys)}
        cid = _case_id(path, head.get("id"), tokens, runs_dir / name)
        if cid in seen:
            raise SweepError(f"{path}: [sweep] id: two cases get the id '{cid}' "
                             f"({seen[cid]} and {values}); use a template with every varied key")
        seen[cid] = values
        case_data, warnings = _case_data(path, base, base_data, cid, values)
        cases.append((cid, values, case_data))
        for dotted in keys:
            section, _, key = dotted.partition(".")
            for warning in warnings:
                named, _, why = warning.partition(": ")
                if named.startswith(f"[{section}] ") and key in named[len(section) + 3:].split(", ") \
                        and why.startswith("no effect"):
                    no_effect.setdefault(dotted, f"{warning} (case {cid})")
    return Sweep(name, path.resolve(), base, runs_dir / name, keys, cases, no_effect)


def _head(path, data):
    """[sweep]: (the table, name, base case path, its data, runs directory)."""
    head = _table(path, data, "sweep")
    bad = set(head) - {"name", "base", "runs_dir", "id"}
    if bad:
        raise SweepError(f"{path}: [sweep] unknown keys {sorted(map(short, bad))} (valid: name, "
                         "base, runs_dir, id)")
    for key in ("base", "runs_dir", "id"):
        if key in head and (not isinstance(head[key], str) or not head[key]):
            raise SweepError(f"{path}: [sweep] {key} must be a non-empty string, got "
                             f"{shown(head[key])}")
        if key in head and not head[key].isprintable():
            raise SweepError(f"{path}: [sweep] {key}: contains a control or NUL character, "
                             f"got {shown(head[key])}")
    name = head.get("name", "")
    if not isinstance(name, str) or plain_name(name, 100):
        raise SweepError(f"{path}: [sweep] name: {plain_name(name, 100) if isinstance(name, str) else 'must be a string'}"
                         f", got {shown(name)}")
    if "base" not in head:
        raise SweepError(f"{path}: [sweep] base: missing (the case file the sweep varies)")
    base = (path.parent / head["base"]).resolve()
    try:
        base_data = read_toml(base, "base case file")
    except CaseError as e:
        raise SweepError(f"{path}: [sweep] base: {e}") from None
    return head, name, base, base_data, (path.parent / head.get("runs_dir", "runs")).resolve()


def _axes(path, data, max_cases) -> list:
    """[(keys, [value tuples])]: one axis per [vary] key and per [[zip]] group."""
    vary = _table(path, data, "vary")
    zips = data.get("zip", [])
    if not isinstance(zips, list) or not all(isinstance(g, dict) for g in zips):
        raise SweepError(f"{path}: zip must be written as [[zip]] groups (an array of tables), "
                         f"got {shown(zips)}")
    counts = [_axis_count(f"[vary] {d}", spec) for d, spec in vary.items()]
    counts += [max((_axis_count("[[zip]]", spec) for spec in g.values()), default=1) for g in zips]
    total = math.prod(counts) if counts else 0
    if total > max_cases:
        raise SweepError(f"{path}: the sweep has {total:.4g} cases, more than {max_cases}; "
                         "each is validated and gets a directory. Pass --max-cases N to allow "
                         "more")
    axes = []
    for dotted, spec in vary.items():
        where = f"{path}: [vary] {short(dotted)}"
        _check_key(where, dotted)
        axes.append(([dotted], [(v,) for v in _axis_values(where, spec)]))
    for k, group in enumerate(zips):
        where = f"{path}: [[zip]] #{k + 1}"
        if not group:
            raise SweepError(f"{where}: empty")
        lists = {}
        for dotted, spec in group.items():
            _check_key(f"{where} {short(dotted)}", dotted)
            lists[dotted] = _axis_values(f"{where} {short(dotted)}", spec)
        lengths = {d: len(v) for d, v in lists.items()}
        if len(set(lengths.values())) > 1:
            raise SweepError(f"{where}: zipped lists must have equal lengths, got "
                             + ", ".join(f"{d}: {n}" for d, n in lengths.items()))
        axes.append((list(lists), list(zip(*lists.values()))))
    return axes


def _case_id(path, template, tokens, directory) -> str:
    """A case's id: the template filled with the value tokens, or key=value pairs."""
    if template is None:
        cid = "__".join(f"{lab}={tok}" for lab, tok in tokens.items())
    else:
        try:
            cid = template.format(**tokens)
        except (KeyError, IndexError, ValueError, AttributeError) as e:
            raise SweepError(f"{path}: [sweep] id: cannot format {shown(template)}: "
                             f"{short(str(e))}; placeholders available: "
                             f"{', '.join(tokens)}") from None
    why = _id_problem(cid)
    if why:
        raise SweepError(f"{path}: [sweep] id: {shown(cid)} {why}; ids must be plain "
                         f"directory names inside {directory}")
    return cid


def _case_data(path, base, base_data, cid, values) -> tuple:
    """The base case with the varied values, validated; (its data, its
    warnings)."""
    case_data = {s: dict(v) if isinstance(v, dict) else v for s, v in base_data.items()}
    for dotted, v in values.items():
        section, _, key = dotted.partition(".")
        if not isinstance(case_data.setdefault(section, {}), dict):
            raise SweepError(f"{path}: [vary] {dotted}: the base case {base} gives "
                             f"{section} = {shown(case_data[section])}, not a table")
        case_data[section][key] = v
    try:
        case = validate(case_data, f"{base} with {cid}", base_dir=base.parent)
    except CaseError as e:
        raise SweepError(f"{path}: case '{cid}' is invalid:\n{e}") from None
    if case.si["geometry"]["kind"] == "mesh":  # the case is written elsewhere: name it fully
        case_data["geometry"]["file"] = case.si["geometry"]["file"]
    return case_data, case.warnings


# ---- manifest -----------------------------------------------------------------

def _format(v) -> str:
    return v if isinstance(v, str) else _number(v) if isinstance(v, float) else str(v)


def read_manifest(directory) -> list[dict]:
    with open(Path(directory) / MANIFEST, newline="") as f:
        return list(csv.DictReader(f))


def write_manifest(directory, rows: list[dict]):
    """Atomic: a kill while writing leaves the previous manifest."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = Path(directory) / MANIFEST
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


def expand(sweep: Sweep, strict=False) -> list[str]:
    """Write the prepared cases and the manifest; returns what was done, and
    a warning for each varied key that has no effect on a case (strict: a
    SweepError, nothing written).  Re-expanding the same sweep is a no-op;
    anything that differs from what is on disk is an error and nothing is
    written."""
    ineffective = [f"[vary] {k}: varies a key with no effect: {why}"
                   for k, why in sweep.no_effect.items()]
    if strict and ineffective:
        raise SweepError(f"{sweep.source}: " + "; ".join(ineffective) + " (--strict); nothing "
                         "was written")
    return [f"warning: {text}" for text in ineffective] + _expand(sweep)


def _expand(sweep: Sweep) -> list[str]:
    d = sweep.directory
    rows = [{"id": cid, **{k: _format(values[k]) for k in sweep.keys}, "status": "PENDING",
             "reason": ""} for cid, values, _ in sweep.cases]
    if (d / MANIFEST).exists():
        old = read_manifest(d)
        def varied(rs):
            return [{k: r.get(k) for k in ("id", *sweep.keys)} for r in rs]
        if varied(old) != varied(rows):
            raise SweepError(f"{d}: already holds a different expansion of sweep '{sweep.name}' "
                             f"({len(old)} cases); nothing was changed. Rename the sweep or "
                             "move that directory away")
        return [f"{d}: already expanded ({len(rows)} cases)"]
    if d.exists() and any(d.iterdir()):
        raise SweepError(f"{d}: exists and is not a sweep directory (no {MANIFEST}); "
                         "nothing was changed")
    if d.exists() and not d.is_dir():
        raise SweepError(f"{d}: exists and is not a directory; nothing was changed")
    # everything goes into a fresh sibling first and is renamed into place at
    # once: a failure half-way (disk full, a name the file system refuses)
    # leaves nothing that would block the corrected sweep
    try:
        d.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{sweep.name}.expanding-", dir=d.parent))
    except OSError as e:
        raise SweepError(f"{d}: cannot write the sweep: {e.strerror or e}") from None
    try:
        (tmp / "sweep.toml").write_text(sweep.source.read_text())
        for cid, values, data in sweep.cases:
            varied = ", ".join(f"{k} = {_format(v)}" for k, v in values.items())
            (tmp / cid).mkdir()
            (tmp / cid / "case.toml").write_text(
                f"# sweep {sweep.name}, case {cid}: {sweep.base} with {varied}\n" + dump_toml(data))
        write_manifest(tmp, rows)
        os.rename(tmp, d)  # d is absent or an empty directory
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SweepError(f"{d}: cannot write the sweep: {e.strerror or e}; nothing was "
                         "written") from None
    return [f"{d}: {len(rows)} cases and {MANIFEST} written"]
