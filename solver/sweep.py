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
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .case import SCHEMA, CaseError, dump_toml, validate

MANIFEST = "manifest.csv"
STATUSES = ("PENDING", "RUNNING", "DONE", "FAILED")
_SAFE = re.compile(r"[^A-Za-z0-9.+=_-]")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


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


def _axis_values(where, spec) -> list:
    """The values of one [vary] entry: a list, a range or a log-range."""
    if isinstance(spec, list):
        values = spec
    elif isinstance(spec, dict) and len(set(spec) & {"range", "logrange"}) == 1:
        kind = "range" if "range" in spec else "logrange"
        unknown = set(spec) - {kind, "unit"}
        if unknown:
            raise SweepError(f"{where}: unknown entries {sorted(unknown)} (valid: {kind}, unit)")
        r = spec[kind]
        if (not isinstance(r, list) or len(r) != 3 or not isinstance(r[2], int)
                or not all(isinstance(v, (int, float)) for v in r[:2])):
            raise SweepError(f"{where}: {kind} must be [start, stop, count] with an integer "
                             f"count, got {r!r}")
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
        nums = [float(f"{v:.12g}") for v in nums]
        unit = spec.get("unit")
        values = [f"{v:g} {unit}" for v in nums] if unit else nums
    else:
        raise SweepError(f"{where}: must be a list of values, {{range = [start, stop, count]}} "
                         f"or {{logrange = [start, stop, count]}} (with an optional unit), got {spec!r}")
    if not values:
        raise SweepError(f"{where}: empty list of values")
    return values


def _check_key(where, dotted):
    section, _, key = dotted.partition(".")
    if section not in SCHEMA or key not in SCHEMA[section]:
        valid = (f"valid keys of [{section}]: {', '.join(SCHEMA[section])}" if section in SCHEMA
                 else f"valid sections: {', '.join(SCHEMA)}")
        raise SweepError(f"{where}: unknown key path '{dotted}' ({valid})")


def _token(value) -> str:
    text = value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)
    text = re.sub(r"\s+(?=[A-Za-zµ])", "", text.strip())  # "-0.4 V" -> "-0.4V", "1 1/s" stays apart
    return _SAFE.sub("_", text) or "_"


def load_sweep(path) -> Sweep:
    """Read, expand and validate a sweep file (raises SweepError listing the problem)."""
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"{path}: no such sweep file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{path}: not valid TOML: {e}") from None
    unknown = set(data) - {"sweep", "vary", "zip"}
    if unknown:
        raise SweepError(f"{path}: unknown sections {sorted(unknown)} (valid: [sweep], [vary], [[zip]])")
    head = data.get("sweep", {})
    bad = set(head) - {"name", "base", "runs_dir", "id"}
    if bad:
        raise SweepError(f"{path}: [sweep] unknown keys {sorted(bad)} (valid: name, base, runs_dir, id)")
    name = head.get("name", "")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SweepError(f"{path}: [sweep] name must be letters, digits, '.', '_' or '-' "
                         f"(it names a directory), got {name!r}")
    if "base" not in head:
        raise SweepError(f"{path}: [sweep] base: missing (the case file the sweep varies)")
    base = (path.parent / head["base"]).resolve()
    if not base.is_file():
        raise SweepError(f"{path}: [sweep] base: no such case file {base}")
    runs_dir = (path.parent / head.get("runs_dir", "runs")).resolve()

    axes = []  # each axis: (keys, list of value tuples)
    for dotted, spec in data.get("vary", {}).items():
        where = f"{path}: [vary] {dotted}"
        _check_key(where, dotted)
        axes.append(([dotted], [(v,) for v in _axis_values(where, spec)]))
    for k, group in enumerate(data.get("zip", [])):
        where = f"{path}: [[zip]] #{k + 1}"
        if not group:
            raise SweepError(f"{where}: empty")
        lists = {}
        for dotted, spec in group.items():
            _check_key(f"{where} {dotted}", dotted)
            lists[dotted] = _axis_values(f"{where} {dotted}", spec)
        lengths = {d: len(v) for d, v in lists.items()}
        if len(set(lengths.values())) > 1:
            raise SweepError(f"{where}: zipped lists must have equal lengths, got "
                             + ", ".join(f"{d}: {n}" for d, n in lengths.items()))
        axes.append((list(lists), list(zip(*lists.values()))))
    keys = [d for ks, _ in axes for d in ks]
    if len(set(keys)) != len(keys):
        raise SweepError(f"{path}: a key is varied twice: {sorted(k for k in keys if keys.count(k) > 1)}")
    if not axes:
        raise SweepError(f"{path}: nothing to vary: give [vary] entries or [[zip]] groups")

    base_data = tomllib.loads(base.read_text())
    leaves = [d.partition(".")[2] for d in keys]
    labels = leaves if len(set(leaves)) == len(leaves) else [d.replace(".", "_") for d in keys]
    template = head.get("id")
    cases, seen = [], {}
    for combo in itertools.product(*(values for _, values in axes)):
        values = dict(zip(keys, (v for group in combo for v in group)))
        tokens = {lab: _token(values[d]) for lab, d in zip(labels, keys)}
        if template is None:
            cid = "__".join(f"{lab}={tok}" for lab, tok in tokens.items())
        else:
            try:
                cid = template.format(**tokens)
            except (KeyError, IndexError, ValueError) as e:
                raise SweepError(f"{path}: [sweep] id: cannot format {template!r}: {e}; "
                                 f"placeholders available: {', '.join(labels)}") from None
        if "/" in cid or "\\" in cid or cid in (".", "..") or cid.startswith(".") or not cid:
            raise SweepError(f"{path}: [sweep] id: '{cid}' would escape the sweep directory "
                             f"{runs_dir / name}; ids must be plain directory names")
        if cid in seen:
            raise SweepError(f"{path}: [sweep] id: two cases get the id '{cid}' "
                             f"({seen[cid]} and {values}); use a template with every varied key")
        seen[cid] = values
        case_data = {s: dict(v) for s, v in base_data.items()}
        for dotted, v in values.items():
            section, _, key = dotted.partition(".")
            case_data.setdefault(section, {})[key] = v
        try:
            validate(case_data, f"{base} with {cid}")
        except CaseError as e:
            raise SweepError(f"{path}: case '{cid}' is invalid:\n{e}") from None
        cases.append((cid, values, case_data))
    return Sweep(name, path.resolve(), base, runs_dir / name, keys, cases)


# ---- manifest -----------------------------------------------------------------

def _format(v) -> str:
    return v if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)


def read_manifest(directory) -> list[dict]:
    with open(Path(directory) / MANIFEST, newline="") as f:
        return list(csv.DictReader(f))


def write_manifest(directory, rows: list[dict]):
    """Atomic: a kill while writing leaves the previous manifest."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path = Path(directory) / MANIFEST
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


def expand(sweep: Sweep) -> list[str]:
    """Write the prepared cases and the manifest; returns what was done.
    Re-expanding the same sweep is a no-op; anything that differs from what
    is on disk is an error and nothing is written."""
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
    for cid, _, _ in sweep.cases:
        if (d / cid).exists():
            raise SweepError(f"{d / cid}: exists; nothing was changed")
    d.mkdir(parents=True, exist_ok=True)
    (d / "sweep.toml").write_text(sweep.source.read_text())
    for cid, values, data in sweep.cases:
        varied = ", ".join(f"{k} = {_format(v)}" for k, v in values.items())
        (d / cid).mkdir()
        (d / cid / "case.toml").write_text(
            f"# sweep {sweep.name}, case {cid}: {sweep.base} with {varied}\n" + dump_toml(data))
    write_manifest(d, rows)
    return [f"{d}: {len(rows)} cases and {MANIFEST} written"]
