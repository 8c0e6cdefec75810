"""Run directory: resolved case, metadata, status, time series, fields.

    case.toml        the case with every default filled in (re-runnable)
    metadata.json    versions, ranks, host, git SHA, command line, the blocks' seeds,
                     scales and published-form numbers, where each material
                     value came from (material_provenance), wall times
    status.json      running | completed | stopped | failed, with the reason
    timeseries.csv   one row per accepted step (SI units; anodex/observables.py)
    <field>.xdmf (+ .h5)
                     each block's output fields (Block.fields) at output
                     times, in SI units, coordinates in metres; one file per
                     field, because dolfinx writes a temporal collection per
                     function and readers (meshio, some ParaView modes) show
                     only one collection per file
    fields.bp        instead, with [output] format = "vtx": every field in one
                     ADIOS2 file (a directory), where dolfinx has ADIOS2
    run.log          the log
    <block log>.csv  a block's event log (Block.log_file; e.g. the nuclei)

Which directories may be used or replaced (``--overwrite``) is decided by
anodex/rundir.py, on rank 0, and broadcast.
"""
from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from dolfinx import fem

from . import __version__, compat, rundir
from .observables import columns


class OutputError(RuntimeError):
    pass


def prepare_directory(path, comm, overwrite=False, case_source=None):
    """Make `path` an empty run directory by the rules of anodex/rundir.py
    (rank 0 decides and acts; every rank raises alike)."""
    error = None
    if comm.rank == 0:
        try:
            rundir.prepare(path, overwrite, case_source)
        except rundir.OutputDirError as e:
            error = str(e)
    error = comm.bcast(error, root=0)
    if error:
        raise OutputError(error)
    return Path(path)


def write_status(path, state, reason, **extra):
    """status.json, written atomically (call on rank 0)."""
    data = {"status": state, "reason": reason, **extra,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    tmp = Path(path) / "status.json.tmp"
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, Path(path) / "status.json")


def output_fields(problem) -> dict:
    """{name: Field} of the blocks of a problem."""
    return {f.name: f for b in problem.blocks for f in b.fields()}


def git_sha():
    src = Path(__file__).resolve().parent
    try:
        return subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


XI = "http://www.w3.org/2001/XInclude"


def xdmf_steps(path) -> list:
    """The time-step grids of an XDMF file (dolfinx's, or a collection)."""
    import xml.etree.ElementTree as ET
    grids = ET.parse(path).getroot().find("Domain").findall("Grid")
    return next(g for g in grids if g.get("GridType") == "Collection").findall("Grid")


def xdmf_times(path) -> list:
    """The output times (s) of an XDMF file."""
    return [float(step.find("Time").get("Value")) for step in xdmf_steps(path)]


def write_collection(run_dir, name, suffixes):
    """<name>.xdmf: one temporal collection of the time steps of the files
    <name><suffix>.xdmf (each of one mesh, in the order written), each step
    with its own mesh (the file's Topology and Geometry, copied in place of
    dolfinx's reference to them), so ParaView shows the adapted meshes as
    one series.  A file's first time drops the steps of earlier files from
    that time on (the steps redone after a restart).  A piece that cannot be
    read (not written yet, or cut short by a kill) is left out.  Written
    whole, then renamed (rank 0)."""
    import xml.etree.ElementTree as ET
    ET.register_namespace("xi", XI)
    steps = []
    for suffix in suffixes:
        path = Path(run_dir) / f"{name}{suffix}.xdmf"
        try:
            domain = ET.parse(path).getroot().find("Domain")
        except (OSError, ET.ParseError):  # not written yet, or cut by a kill -9
            continue
        grids = domain.findall("Grid")
        mesh = next(g for g in grids if g.get("GridType") == "Uniform")
        series = next((g for g in grids if g.get("GridType") == "Collection"), None)
        found = []
        for step in ([] if series is None else series.findall("Grid")):
            for include in step.findall(f"{{{XI}}}include"):
                step.remove(include)
            for k, part in enumerate(mesh.findall("Topology") + mesh.findall("Geometry")):
                step.insert(k, part)
            found.append((float(step.find("Time").get("Value")), step))
        if found:
            steps = [s for s in steps if s[0] < found[0][0]] + found
    root = ET.Element("Xdmf", Version="3.0")
    collection = ET.SubElement(ET.SubElement(root, "Domain"), "Grid", Name=name,
                               GridType="Collection", CollectionType="Temporal")
    collection.extend(step for _, step in steps)
    target = Path(run_dir) / f"{name}.xdmf"
    tmp = target.with_name(target.name + ".tmp")
    ET.ElementTree(root).write(tmp, xml_declaration=True, encoding="utf-8")
    os.replace(tmp, target)


class RunOutput:
    def __init__(self, path, problem, case, comm, command_line, restart_step=None, mesh=0):
        """restart_step: continue the run in `path` after that step (the time
        series is cut there; fields go to <name>.r<N>.xdmf for the N-th restart,
        and <name>.xdmf becomes the temporal collection of the pieces).
        An adaptive run writes each mesh's fields to <name>[.r<N>].m<k>.xdmf
        (k: the adaptation that made it, `mesh` at the start) and keeps
        <name>.xdmf as the temporal collection of them all (write_collection)."""
        self.path, self.pb, self.comm = Path(path), problem, comm
        self.root = comm.rank == 0
        self.wall_start = time.time()
        self.suffix = ""  # of the field files: .r<N> after the N-th restart
        self.new_mesh = None  # the suffix of the files of an adapted mesh, until opened
        self.output_time, self.last_field_time = 0.0, None
        self.adaptive = case.si["mesh_adaptivity"]["enabled"]
        self.vtx = case.si["output"]["format"] == "vtx"
        first_mesh = f".m{mesh}" if self.adaptive else ""
        if restart_step is not None:
            self._continue(case, command_line, restart_step, first_mesh)
            return
        self.meta = {
            "anodex": __version__, "versions": compat.versions(), "mpi_ranks": comm.size,
            "host": socket.gethostname(), "platform": platform.platform(),
            "python": sys.version.split()[0], "git_sha": git_sha(),
            "command_line": command_line or sys.argv, "case_source": case.source,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "scales": problem.scales.as_dict(),
            "material_provenance": case.provenance,
            "internal_parameters": problem.p,
            "blocks": [b.name for b in problem.blocks],
            "unknowns": {u.name: u.scale for u in problem.unknowns},
            "fields": {name: f.unit for name, f in output_fields(problem).items()},
            "dofs": problem.V.dofmap.index_map.size_global * problem.V.dofmap.index_map_bs,
        }
        for b in problem.blocks:
            self.meta.update(b.metadata(problem))
        self.columns = columns(problem.blocks)
        if self.root:
            (self.path / "case.toml").write_text(case.to_toml())
            self._csv = open(self.path / "timeseries.csv", "w", newline="")
            self._writer = csv.DictWriter(self._csv, fieldnames=self.columns)
            self._writer.writeheader()
        self.write_meta()
        self.status("running", "started")
        self._setup_fields(first_mesh)

    def _continue(self, case, command_line, step, first_mesh):
        """Reopen a run directory for a restart: nothing on disk is lost."""
        meta = self.comm.bcast(json.loads((self.path / "metadata.json").read_text())
                               if self.root else None, root=0)
        meta["fields"] = {name: f.unit for name, f in output_fields(self.pb).items()}
        for b in self.pb.blocks:  # (entries the restarted case adds, merged into the run's)
            for key, value in b.metadata(self.pb).items():
                old = meta.get(key)
                meta[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) \
                    else value
        restarts = meta.setdefault("restarts", [])
        restarts.append({"step": step, "mpi_ranks": self.comm.size,
                         "command_line": command_line or sys.argv,
                         "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        self.meta = meta
        restart = suffix = f".r{len(restarts)}"
        append = False
        if not (self.adaptive or self.vtx):
            suffix, append = self._continue_series(suffix)
            restarts[-1]["fields"] = "appended" if append else f"new pieces {suffix}"
        if self.root:
            resolved, saved = case.to_toml(), (self.path / "case.toml").read_text()
            # changed by --set (as values: the saved file's comments do not count)
            if tomllib.loads(resolved) != tomllib.loads(saved):
                shutil.copy2(self.path / "case.toml", self.path / f"case{restart}-before.toml")
                (self.path / "case.toml").write_text(resolved)
            series = self.path / "timeseries.csv"
            with open(series, newline="") as f:
                reader = csv.DictReader(f)
                kept = [r for r in reader if int(r["step"]) <= step]
            # a column the restarted case no longer writes keeps its history
            new = columns(self.pb.blocks)
            self.columns = new[:-1] + [c for c in reader.fieldnames if c not in new] + new[-1:]
            tmp = series.with_name("timeseries.csv.tmp")
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(kept)
            os.replace(tmp, series)
            self._cut_block_logs(step)
            self._csv = open(series, "a", newline="")
            self._writer = csv.DictWriter(self._csv, fieldnames=self.columns)
        self.columns = self.comm.bcast(self.columns if self.root else None, root=0)
        self.write_meta()
        self.status("running", f"restarted from the checkpoint at step {step}")
        self.suffix = suffix
        self._setup_fields(suffix + first_mesh, append)

    def _cut_block_logs(self, step):
        """The blocks' event logs lose the rows of steps after the checkpoint
        (a killed run logged them; the restart logs them again). Rank 0."""
        for b in self.pb.blocks:
            path = self.path / b.log_file if b.log_file else None
            if path is None or not path.exists():
                continue
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                kept = [r for r in reader if int(r["step"]) <= step]
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=reader.fieldnames)
                writer.writeheader()
                writer.writerows(kept)
            os.replace(tmp, path)

    def _continue_series(self, suffix) -> tuple:
        """A restart continues each field's one series; returns (the suffix of
        the files it writes, whether it appends to existing ones).  On the
        same mesh in the same node order (the same number of ranks) it
        appends to the last files: no file is added.  Otherwise the first
        run's <name>.xdmf becomes the piece <name>.r0.xdmf, the restart
        writes <name><suffix>.xdmf, and <name>.xdmf is their temporal
        collection (write_collection), the file a user opens; rewritten at
        once, so it always exists."""
        parts = self.meta.setdefault("field_parts", [""])
        if self._same_mesh_as(parts[-1]):
            return parts[-1], True
        if self.root:
            for name in self.meta["fields"]:
                if parts == [""] and (self.path / f"{name}.xdmf").exists():
                    os.replace(self.path / f"{name}.xdmf", self.path / f"{name}.r0.xdmf")
        if parts == [""]:
            parts[:] = [".r0"]
        parts.append(suffix)
        if self.root:
            for name in self.meta["fields"]:
                write_collection(self.path, name, parts)
        return suffix, False

    def _same_mesh_as(self, piece) -> bool:
        """The field files <name><piece>.h5 hold this mesh's nodes in the order
        this run writes them (each rank's owned nodes, rank by rank, in
        metres), so its outputs can be appended there (collective)."""
        import h5py
        import numpy as np
        pb, names = self.pb, list(self.meta["fields"])
        owned = pb.mesh.geometry.index_map().size_local
        mine = pb.mesh.geometry.x[:owned, :pb.ndim] * pb.scales.unit("m")
        gathered = self.comm.gather(mine, root=0)
        same = None
        if self.root:
            try:
                with h5py.File(self.path / f"{names[0]}{piece}.h5", "r") as f:
                    saved = np.asarray(f["/Mesh/mesh/geometry"])
                mine = np.concatenate(gathered)
                # (an interval's file holds points as (x, 0): XDMF has no 1-D geometry)
                if saved.ndim == 2 and saved.shape[1] > mine.shape[1] \
                        and not saved[:, mine.shape[1]:].any():
                    saved = saved[:, :mine.shape[1]]
                scale = np.abs(mine).max()
                same = bool(saved.shape == mine.shape
                            and np.abs(saved - mine).max() <= 1e-12 * scale
                            and all((self.path / f"{n}{piece}.xdmf").exists() for n in names))
            except (OSError, KeyError, ValueError):  # no file, or one a kill -9 damaged
                same = False
        return self.comm.bcast(same, root=0)

    def remesh(self, problem, adaptation, t_seconds):
        """After a mesh adaptation: the next field output starts the files
        <name>[.r<N>].m<k>.xdmf of the new mesh (an XDMF file holds one)."""
        self.pb = problem
        self.record_mesh(adaptation, t_seconds)
        self.new_mesh = f"{self.suffix}.m{adaptation}"

    def record_mesh(self, adaptation, t_seconds):
        """metadata.json: the run's meshes, [{adaptation, t_s, nodes, cells, dofs}]."""
        pb = self.pb
        dofs = pb.V.dofmap.index_map.size_global * pb.V.dofmap.index_map_bs
        self.meta["dofs"] = dofs
        self.meta.setdefault("adaptations", []).append(
            {"adaptation": adaptation, "t_s": t_seconds, "dofs": dofs,
             "nodes": pb.Q.dofmap.index_map.size_global,
             "cells": pb.mesh.topology.index_map(pb.ndim).size_global})

    def _setup_fields(self, suffix, append=False):
        """The files of the fields (append: existing ones of this mesh, whose
        outputs are kept: only later times are written)."""
        pb = self.pb
        if self.adaptive:
            self.meta.setdefault("mesh_files", []).append(suffix)
        self.fields, self.files = output_fields(pb), {}
        self.functions = {}
        for name in self.fields:
            self.functions[name] = fem.Function(pb.Q)
            self.functions[name].name = name
        if self.vtx:
            self.files["fields"] = compat.vtx_file(self.comm, self.path / f"fields{suffix}.bp",
                                                   list(self.functions.values()))
            return
        # each XDMF file is opened for one write and closed: an HDF5 file
        # left open lost its header to a kill -9, and with it every step
        # written before (measured: h5py "bad object header version number")
        self.xdmf = {name: self.path / f"{name}{suffix}.xdmf" for name in self.fields}
        if append:
            times = self.comm.bcast(xdmf_times(next(iter(self.xdmf.values())))
                                    if self.root else None, root=0)
            self.last_field_time = max(times, default=None)
            return
        with self._metres():
            for path in self.xdmf.values():
                with compat.xdmf_file(self.comm, path) as f:
                    f.write_mesh(pb.mesh)

    @contextlib.contextmanager
    def _metres(self):
        """The mesh coordinates in metres while files are written."""
        x, unit = self.pb.mesh.geometry.x, self.pb.scales.unit("m")
        x *= unit
        try:
            yield
        finally:
            x /= unit

    def append_logs(self):
        """Append the blocks' event rows to their log files (rank 0; the rows
        are the same on every rank) and clear them."""
        for b in self.pb.blocks:
            rows = b.log_rows if b.log_file else None
            if self.root and rows:
                f = self.path / b.log_file
                new = not f.exists()
                with open(f, "a", newline="") as fh:
                    writer = csv.DictWriter(fh, fieldnames=b.log_columns)
                    if new:
                        writer.writeheader()
                    writer.writerows(rows)
            if rows:
                rows.clear()

    def write_fields(self, t_seconds):
        """Write the fields at time t (s); a repeated time is skipped."""
        if self.last_field_time is not None and t_seconds <= self.last_field_time:
            return
        self.last_field_time = t_seconds
        t0 = time.perf_counter()
        if self.new_mesh:
            for f in self.files.values():
                f.close()
            self._setup_fields(self.new_mesh)
            self.new_mesh = None
        for name, field in self.fields.items():
            self.functions[name].x.array[:] = field.values(self.pb)
        if self.vtx:
            with self._metres():
                self.files["fields"].write(t_seconds)
        else:
            for name, f in self.functions.items():
                with compat.xdmf_file(self.comm, self.xdmf[name], "a") as file:
                    file.write_function(f, t_seconds)
        # a collection over the pieces (not over the one file of a run that
        # was never split: dolfinx appends to its own file)
        parts = self.meta["mesh_files"] if self.adaptive else self.meta.get("field_parts")
        if parts and parts != [""] and self.root and not self.vtx:
            for name in self.fields:
                write_collection(self.path, name, parts)
        self.output_time += time.perf_counter() - t0

    def append(self, row):
        if self.root:
            self._writer.writerow({k: (f"{v:.17g}" if isinstance(v, float) else v)
                                   for k, v in row.items()})
            self._csv.flush()

    def status(self, state, reason, **extra):
        if self.root:
            write_status(self.path, state, reason, **extra)

    def write_results(self, results: dict):
        """Files of the blocks' final results (rank 0): a dict to .json, a
        {column: array} to .csv; each written whole, then renamed."""
        if not self.root:
            return
        for name, content in results.items():
            tmp = self.path / f"{name}.tmp"
            if name.endswith(".json"):
                tmp.write_text(json.dumps(content, indent=2, default=float) + "\n")
            else:
                with open(tmp, "w", newline="") as f:
                    writer = csv.writer(f)
                    writer.writerow(list(content))
                    writer.writerows(zip(*[[f"{v:.17g}" for v in col] for col in content.values()]))
            os.replace(tmp, self.path / name)

    def write_meta(self, **extra):
        self.meta.update(extra)
        if self.root:
            (self.path / "metadata.json").write_text(json.dumps(self.meta, indent=2, default=str) + "\n")

    def close(self):
        for f in self.files.values():
            f.close()
        if self.root:
            self._csv.close()


# the level of the log lines printed (run.log keeps every line, DEBUG up):
# the command line's -q (WARNING) and -v (DEBUG) set it
CONSOLE_LEVEL = logging.INFO
# progress lines are refreshed in place on a terminal
CONSOLE_IS_TERMINAL = sys.stderr.isatty()


class ConsoleHandler(logging.StreamHandler):
    """stderr; on a terminal a progress line (a record with progress=True)
    is rewritten in place, and the next other line starts below it."""

    def __init__(self):
        super().__init__(sys.stderr)
        self.in_place = False

    def emit(self, record):
        if not CONSOLE_IS_TERMINAL:
            return super().emit(record)
        try:
            msg = self.format(record)
            if getattr(record, "progress", False):
                self.stream.write("\r\033[K" + msg)
                self.in_place = True
            else:
                self.stream.write(("\n" if self.in_place else "") + msg + "\n")
                self.in_place = False
            self.flush()
        except Exception:
            self.handleError(record)

    def close(self):
        if self.in_place:
            self.stream.write("\n")
            self.in_place = False
        super().close()


def run_logger(path, comm):
    """Logger that prints (CONSOLE_LEVEL up) and writes run.log (every line,
    progress lines every 10 s) on rank 0 only."""
    log = logging.getLogger("anodex")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    if comm.rank == 0:
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
        console, file = ConsoleHandler(), logging.FileHandler(Path(path) / "run.log")
        console.setLevel(CONSOLE_LEVEL)
        file.addFilter(lambda record: getattr(record, "to_file", True))
        for h in (console, file):
            h.setFormatter(fmt)
            log.addHandler(h)
    else:
        log.addHandler(logging.NullHandler())
    return log
