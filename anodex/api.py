"""The Python interface (``import anodex``): cases, runs and their results.

    import anodex
    case = anodex.Case.from_file("cases/li_llzo.toml")
    case.set("collector.potential", "-0.2 V")
    result = anodex.run(case, "runs/li_llzo_0.2V")            # in this process
    result = anodex.run(case, "runs/li_llzo_0.2V", ranks=4)   # mpiexec -n 4
    result.status, result.reason      # "completed", "reached end time 100 s"
    result.timeseries                 # pandas DataFrame, SI columns (t_s, ...)
    result.fields                     # {"eta": Path(".../eta.xdmf"), ...}
    x, t, eta = result.field("eta")   # the last output of a field
    result.field_times("eta")         # the times of its outputs
    anodex.load("runs/li_llzo_0.2V")  # an existing run

A run in this process uses MPI.COMM_WORLD, so a script started with
``mpirun -n 4 python script.py`` runs its cases on 4 ranks; ``ranks=N``
starts ``mpiexec -n N`` (or ``launcher``) with the anodex command instead.
Both make exactly the run directory ``anodex run`` makes (docs/python-api.md).
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections import deque
from pathlib import Path

from .case import Case, CaseError, dump_toml

__all__ = ["Case", "CaseError", "Result", "RunError", "load", "run"]


class RunError(RuntimeError):
    """A run that could not start or left no run directory (says why)."""


def run(case: Case, outdir: str | Path | None = None, *, ranks: int | None = None,
        overwrite: bool = False, quiet: bool = False, launcher: str = "mpiexec",
        ignore_memory_limit: bool = False) -> Result:
    """Run `case` into `outdir` (default runs/<case name>) and return its
    Result.  ranks=None runs in this process (on MPI.COMM_WORLD); ranks=N
    starts `launcher -n N` (N = 1: no launcher).  ignore_memory_limit: run
    a case larger than this machine's memory estimate allows (a job whose
    ranks run elsewhere).  A run that fails returns
    its Result with status "failed" and the reason; a case or directory
    that cannot be used raises CaseError before anything is written; Ctrl-C
    raises KeyboardInterrupt after the run has written its checkpoint."""
    if not isinstance(case, Case):
        raise TypeError(f"run() takes an anodex.Case, not {type(case).__name__}")
    outdir = Path(outdir if outdir is not None else f"runs/{case.si['case']['name']}")
    if ranks is None:
        _run_here(case, outdir, overwrite, quiet, ignore_memory_limit)
    else:
        if not isinstance(ranks, int) or isinstance(ranks, bool) or ranks < 1:
            raise ValueError(f"ranks = {ranks!r}: a whole number >= 1 (None: this process)")
        from mpi4py import MPI

        from .cli import check_new_run
        from .rundir import PYTHON
        check_new_run(case, outdir, overwrite, MPI.COMM_SELF, ignore_memory_limit, ranks,
                      PYTHON)  # (before mpiexec)
        _run_in_processes(case, outdir, ranks, overwrite, quiet, launcher, ignore_memory_limit)
    return load(outdir)


def _run_here(case, outdir, overwrite, quiet, ignore_memory_limit):
    from mpi4py import MPI
    from petsc4py import PETSc

    from . import output
    from .cli import _warnings_only, check_new_run
    from .simulation import run_case
    from .rundir import PYTHON
    from .signals import (Terminated, interrupted, restore_handlers, signal_reason,
                          terminate_on_signals)
    comm = MPI.COMM_WORLD
    check_new_run(case, outdir, overwrite, comm, ignore_memory_limit, names=PYTHON)
    level, output.CONSOLE_LEVEL = output.CONSOLE_LEVEL, logging.WARNING if quiet else logging.INFO
    previous = terminate_on_signals(comm.size)
    # the JIT build's chatter (setuptools sets the root logger to INFO when it
    # first compiles) is filtered during the run, as on the command line
    root = logging.getLogger()
    root.addFilter(_warnings_only)
    try:
        run_case(case, outdir, overwrite=overwrite, comm=comm,
                 command_line=["anodex.run", case.file or "<default case>", str(outdir)])
    except (PETSc.Error, Terminated, KeyboardInterrupt) as e:
        # status.json records the failure; Ctrl-C goes on to the caller as
        # KeyboardInterrupt, SIGTERM as Terminated
        if interrupted() or isinstance(e, KeyboardInterrupt):
            raise KeyboardInterrupt(f"run interrupted; {outdir}/status.json records it") from None
        if signal_reason():
            raise
    finally:
        root.removeFilter(_warnings_only)
        restore_handlers(previous)
        output.CONSOLE_LEVEL = level
    if interrupted():  # (the signal surfaced as failed solves: the run gave up)
        raise KeyboardInterrupt(f"run interrupted; {outdir}/status.json records it")


def _run_in_processes(case, outdir, ranks, overwrite, quiet, launcher, ignore_memory_limit):
    """`anodex run` on `ranks` processes; its messages pass through."""
    from .case import toml_value
    with tempfile.TemporaryDirectory(prefix="anodex-case-") as tmp:
        if case.file is not None and None not in case.overrides.values():
            source = [case.file] + [a for k, v in case.overrides.items()
                                    for a in ("--set", f"{k}={toml_value(v)}")]
        else:  # the default case, one built in Python or with a key removed: its resolved file
            path = Path(tmp) / f"{case.si['case']['name']}.toml"
            path.write_text(dump_toml(case.raw))
            source = [str(path)]
        command = ([launcher, "-n", str(ranks)] if ranks > 1 else []) + [
            sys.executable, "-m", "mpi4py", "-m", "anodex.cli", "run", *source, "-o", str(outdir),
            *(["--overwrite"] if overwrite else []), *(["-q"] if quiet else []),
            *(["--ignore-memory-limit"] if ignore_memory_limit else [])]
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env,
                                    start_new_session=True)
        except FileNotFoundError:
            raise RunError(f"cannot start {command[0]!r} (ranks = {ranks}); give the MPI "
                           "launcher of this machine as launcher=\"...\"") from None
        tail = deque(maxlen=20)
        try:
            for line in proc.stderr:
                sys.stderr.write(line)
                tail.append(line.rstrip("\n"))
            code = proc.wait()
        except KeyboardInterrupt:
            # the ranks themselves get the interrupt: they checkpoint and stop
            # (a launcher may kill them at once: Open MPI 5's prterun did)
            _interrupt_ranks(proc, launched=ranks > 1)
            proc.wait()
            raise
    said = [line[len("anodex: "):] for line in tail if line.startswith("anodex: ")]
    if code == 2:
        raise CaseError(said[-1] if said else "\n".join(tail))
    if code == 130:
        raise KeyboardInterrupt(said[-1] if said else "run interrupted")
    if not (outdir / "status.json").exists():
        raise RunError(f"`{' '.join(command)}` ended with exit status {code} and no run in "
                       f"{outdir}:\n" + "\n".join(tail))


def _interrupt_ranks(proc, launched):
    """SIGINT to every anodex process of the launcher's session but the
    launcher (the ranks; without a launcher the one process itself)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            session = int(stat.read_text().rsplit(")", 1)[1].split()[3])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        pid = int(stat.parent.name)
        if (session == proc.pid and b"anodex.cli" in command
                and not (launched and pid == proc.pid)):
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pass


def load(outdir: str | Path) -> Result:
    """The run in `outdir` (finished, stopped, failed or still running)."""
    path = Path(outdir)
    if not (path / "status.json").is_file():
        raise RunError(f"{path}: not an anodex run directory (no status.json)")
    return Result(path)


class Result:
    """A run directory, read on demand (nothing is cached: a running run's
    files grow)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self):
        return f"<anodex.Result {self.path}: {self.status}>"

    def _json(self, name) -> dict:
        try:
            return json.loads((self.path / name).read_text())
        except FileNotFoundError:
            return {}

    @property
    def status(self) -> str:
        """starting, running, completed, stopped (a stop condition) or failed."""
        return self._json("status.json").get("status", "unknown")

    @property
    def reason(self) -> str:
        """Why the run ended (or what it is doing)."""
        return self._json("status.json").get("reason", "")

    @property
    def metadata(self) -> dict:
        """metadata.json: versions, ranks, scales, wall times, field units."""
        return self._json("metadata.json")

    @property
    def case(self) -> Case:
        """The run's resolved case (case.toml)."""
        from .case import load_case
        return load_case(self.path / "case.toml")

    @property
    def timeseries(self):
        """timeseries.csv as a pandas DataFrame (one row per accepted step; SI
        units, named in each column: t_s, electrode_current_A_m2, ...)."""
        import pandas
        return pandas.read_csv(self.path / "timeseries.csv")

    @property
    def fields(self) -> dict:
        """{field name: the file ParaView opens} (fields.bp for format vtx)."""
        names = self.metadata.get("fields", {})
        if (self.path / "fields.bp").exists():
            return {name: self.path / "fields.bp" for name in names}
        return {name: self.path / f"{name}.xdmf" for name in names
                if (self.path / f"{name}.xdmf").exists()}

    @property
    def field_units(self) -> dict:
        """{field name: SI unit}."""
        return dict(self.metadata.get("fields", {}))

    def field_times(self, name: str) -> list:
        """The times (s) of a field's outputs, across restarts and meshes."""
        return field_times(self.fields[name])

    def field(self, name: str, index: int = -1):
        """(points in m, time in s, values) of output `index` of a field
        (default the last); XDMF output."""
        if name not in self.fields:
            raise KeyError(f"{self.path} has no field {name!r}; it has {', '.join(self.fields)}")
        return read_field(self.fields[name], name, index)


def field_times(path: Path) -> list:
    """The output times (s) in an XDMF file."""
    from .output import xdmf_times
    return xdmf_times(path)


def read_field(path: Path, name: str, index: int = -1):
    """(points (N, 3), t, values) of output `index` of field `name` in an XDMF
    file: dolfinx's own, or the temporal collection anodex writes over the
    pieces of a restarted or adaptive run (anodex/output.py)."""
    import xml.etree.ElementTree as ET
    domain = ET.parse(path).getroot().find("Domain")
    grids = domain.findall("Grid")
    if any(g.get("GridType") == "Uniform" for g in grids):  # dolfinx's file
        import meshio
        from meshio.xdmf import common
        # dolfinx writes a 1-D mesh's topology as XDMF "PolyLine" of 2 nodes
        # per element, a name meshio's reader lacks: it is meshio's "line"
        common.xdmf_to_meshio_type.setdefault("PolyLine", "line")
        with meshio.xdmf.TimeSeriesReader(path) as reader:
            points, _ = reader.read_points_cells()
            t, data, _ = reader.read_data(_checked_index(index, reader.num_steps, path))
        return _three_columns(points), float(t), data[name].ravel()
    from .output import xdmf_steps
    steps = xdmf_steps(path)  # the collection: each step with its own mesh
    step = steps[_checked_index(index, len(steps), path)]
    points = _three_columns(_hdf(path, step.find("Geometry/DataItem")))
    values = _hdf(path, step.find(f"Attribute[@Name='{name}']/DataItem"))
    return points, float(step.find("Time").get("Value")), values.ravel()


def _three_columns(points):
    """Points as (N, 3): 1-D and 2-D files store fewer coordinates."""
    import numpy as np
    points = np.asarray(points, dtype=float)
    return np.hstack([points, np.zeros((len(points), 3 - points.shape[1]))])


def _checked_index(index, n, path) -> int:
    """index as a non-negative position among n outputs; IndexError outside."""
    if not -n <= index < n:
        raise IndexError(f"{path}: output {index} of {n} (indices {-n} to {n - 1})")
    return index % n


def _hdf(xdmf: Path, item):
    """The array an XDMF DataItem names in its HDF5 file ("file.h5:/dataset")."""
    import h5py
    import numpy as np
    file, _, dataset = item.text.strip().partition(":")
    with h5py.File(Path(xdmf).parent / file, "r") as f:
        return np.asarray(f[dataset])
