"""Run directories: which files anodex writes into one, and when an existing
directory may be written into or replaced.

The rules (README, "What anodex guarantees"):

* a missing directory is created; an empty one is used;
* a directory holding nothing but the case file being run (a case prepared
  by ``anodex sweep expand``) is used, the case file replaced by the
  resolved case;
* any other non-empty directory is refused, unless ``--overwrite`` is given;
* ``--overwrite`` replaces only an anodex run directory (one with anodex's
  ``status.json`` or ``metadata.json``) whose every entry is a file anodex
  writes.  It removes those files one by one, never the directory itself and
  never anything else: a directory with other files in it is refused, and
  so are ``/``, ``$HOME``, the current directory and its parents, and the
  directory holding the case file (or any parent of it);
* a path that is a file, not a directory, is refused, never deleted;
* a run directory a running anodex holds (its lock file, below) is never
  restarted, rerun or replaced: the lock is an flock(2) on ``.anodex.lock``,
  which the kernel releases when the run's process ends however it ends (on
  a file system without flock the directory is not locked).

Nothing here uses MPI: the run decides on rank 0 and broadcasts, the sweep
driver (which never starts MPI) calls it directly.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
from pathlib import Path

from . import CHECKPOINT_FILE
from .case import listing, name_too_long, short

# what `anodex run` and the postprocessing tools write into a run directory
# (besides the blocks' field and log files: block_files())
LOCK_FILE = ".anodex.lock"  # held by the running process (never removed: see claim)
_FIXED = {"case.toml", "metadata.json", "status.json", "timeseries.csv", "run.log",
          CHECKPOINT_FILE, "summary.png", LOCK_FILE}
_PATTERNS = (
    re.compile(r"(status\.json|timeseries\.csv|metadata\.json|%s)\.tmp" % re.escape(CHECKPOINT_FILE)),
    re.compile(r"case\.r[0-9]+-before\.toml"),
)
# [output] format = "vtx": fields[.r<N>][.m<k>].bp, a directory of ADIOS2's files
_VTX_DIR = re.compile(r"fields(\.r[0-9]+)?(\.m[0-9]+)?\.bp")
_VTX_FILE = re.compile(r"(data|md|mmd)\.[0-9]+|md\.idx|profiling\.json")
# anodex/checkpoint.py: checkpoint.parts/<token>.<rank>.npz
_PARTS, _PART_FILE = "checkpoint.parts", re.compile(r"[0-9a-f]{12}\.[0-9]+\.npz")
_PICTURES = "paraview"  # postprocess/paraview_view.py: <run>/paraview/*.png
STATES = ("starting", "running", "completed", "stopped", "failed")


class OutputDirError(RuntimeError):
    """An output directory that may not be used or replaced (says why)."""


def _field_files(fields) -> re.Pattern:
    names = "|".join(re.escape(f) for f in fields)
    return re.compile(rf"({names})(\.r[0-9]+)?(\.m[0-9]+)?\.(xdmf|h5)")


def block_files() -> tuple:
    """(field names, names of the log and result files) of every registered block."""
    from .blocks import registered
    blocks = [cls() for cls in registered()]
    results = {f for b in blocks for name in b.result_files for f in (name, f"{name}.tmp")}
    return (tuple(f.name for b in blocks for f in b.fields()),
            {f for b in blocks if b.log_file for f in (b.log_file, f"{b.log_file}.tmp")}
            | results)


def run_fields(path: Path) -> tuple:
    """The field names a run in `path` wrote (metadata.json) and those of
    the registered blocks."""
    fields = block_files()[0]
    try:
        meta = json.loads((path / "metadata.json").read_text())
        written = meta.get("fields")
        if isinstance(written, dict) and all(isinstance(f, str) for f in written):
            return tuple(written) + fields
    except (OSError, ValueError):
        pass
    return fields


def is_anodex_file(path: Path, fields=None) -> bool:
    """True for a (non-link) entry of a run directory that anodex writes."""
    name = path.name
    if path.is_symlink():
        return False
    if path.is_dir():
        if _VTX_DIR.fullmatch(name):
            return all(_VTX_FILE.fullmatch(p.name) and p.is_file() and not p.is_symlink()
                       for p in path.iterdir())
        if name == _PARTS:
            return all(_PART_FILE.fullmatch(p.name) and p.is_file() and not p.is_symlink()
                       for p in path.iterdir())
        return name == _PICTURES and all(p.suffix == ".png" and p.is_file() and not p.is_symlink()
                                         for p in path.iterdir())
    block_fields, logs = block_files()
    return (name in _FIXED or name in logs or any(p.fullmatch(name) for p in _PATTERNS)
            or bool(_field_files(fields or block_fields).fullmatch(name)))


def is_run_directory(path: Path) -> bool:
    """A directory with anodex's status.json or metadata.json in it."""
    try:
        st = json.loads((path / "status.json").read_text())
        if isinstance(st, dict) and st.get("status") in STATES:
            return True
    except (OSError, ValueError):
        pass
    try:
        meta = json.loads((path / "metadata.json").read_text())
        return isinstance(meta, dict) and "anodex" in meta
    except (OSError, ValueError):
        return False


def _protected(target: Path, case_source) -> str | None:
    """Why `target` may never be replaced, or None."""
    def ancestors_or_self(p):
        p = p.resolve()
        return [p, *p.parents]
    if target == Path(target.anchor):
        return "it is the file-system root"
    home = os.environ.get("HOME")
    if home and target == Path(home).resolve():
        return "it is your home directory ($HOME)"
    if target in ancestors_or_self(Path.cwd()):
        return "it is the current directory or one of its parents"
    if case_source is not None and Path(case_source).exists():
        if target in ancestors_or_self(Path(case_source).parent):
            return f"it holds the case file {case_source}"
    return None


# how the user gives the output directory and its options, which errors
# name: on the command line, and in Python (anodex.run)
COMMAND_LINE = {"output": "-o/--output", "overwrite": "--overwrite",
                "ignore_memory_limit": "--ignore-memory-limit"}
PYTHON = {"output": "outdir", "overwrite": "overwrite=True",
          "ignore_memory_limit": "ignore_memory_limit=True"}


def plan(path, overwrite=False, case_source=None, names=COMMAND_LINE) -> list[Path]:
    """Check that `path` may be used as an output directory; returns the
    entries to remove first (non-empty only with overwrite).  Raises
    OutputDirError saying why not and what to do instead (the options as
    `names` calls them)."""
    try:
        return _plan(path, overwrite, case_source, names)
    except OSError as e:  # a name too long, a loop of links, no permission
        raise OutputDirError(f"{short(str(path), 200)}: cannot be used as the output directory: "
                             f"{e.strerror or type(e).__name__}") from None


def _plan(path, overwrite, case_source, names):
    o, again = names["output"], names["overwrite"]
    if str(path) == "":
        raise OutputDirError(f"{o}: empty path; give a directory such as runs/mycase")
    path = Path(path)
    name = short(str(path), 200)
    if "\0" in str(path):
        raise OutputDirError(f"{o}: the path contains a NUL character")
    if name_too_long(path):
        raise OutputDirError(f"{name}: cannot create the output directory: File name too long "
                             "(a name in the path is longer than 255 bytes)")
    if path.exists() and not path.is_dir():
        raise OutputDirError(f"{name}: exists and is not a directory; anodex never replaces a "
                             f"file with a run: choose a directory with {o}")
    if not path.exists():
        above = next(a for a in path.absolute().parents if a.exists())
        if not above.is_dir() or not os.access(above, os.W_OK | os.X_OK):
            why = "not a directory" if not above.is_dir() else "not writable"
            raise OutputDirError(f"{name}: cannot create the output directory: "
                                 f"{short(str(above), 200)} is {why}")
        return []
    entries = [e for e in path.iterdir() if e.name != LOCK_FILE]
    if not entries:
        return []
    if (case_source is not None and [e.name for e in entries] == ["case.toml"]
            and (path / "case.toml").resolve() == Path(case_source).resolve()):
        return []  # a case prepared by `anodex sweep expand`
    if not overwrite:
        raise OutputDirError(f"{name}: output directory exists and is not empty; choose another "
                             f"with {o} or pass {again} to replace the anodex run in it")
    target = path.resolve()
    why = _protected(target, case_source)
    if why:
        raise OutputDirError(f"{name}: {again} refused: {why}; anodex replaces only a "
                             "directory that holds nothing but an earlier anodex run")
    if not is_run_directory(path):
        raise OutputDirError(f"{name}: {again} refused: it does not hold an anodex run (no "
                             "anodex status.json or metadata.json); nothing was deleted")
    refuse_if_running(path, again)
    fields = run_fields(path)
    foreign = [e.name for e in entries if not is_anodex_file(e, fields)]
    if foreign:
        raise OutputDirError(f"{name}: {again} refused: it holds {len(foreign)} entr"
                             f"{'y' if len(foreign) == 1 else 'ies'} anodex did not write "
                             f"({listing(sorted(foreign))}); move them away or choose another {o}. "
                             "Nothing was deleted")
    return entries


def clear(entries: list[Path]):
    """Remove the anodex files `plan` returned (the directory stays)."""
    for e in entries:
        if e.is_dir():
            for p in e.iterdir():
                p.unlink()
            e.rmdir()
        else:
            e.unlink()


def prepare(path, overwrite=False, case_source=None) -> Path:
    """Make `path` an empty (or prepared) run directory, by the rules above."""
    path = Path(path)
    doomed = plan(path, overwrite, case_source)
    try:
        path.mkdir(parents=True, exist_ok=True)
        claim(path, "--overwrite")  # (before anything is removed)
        clear(doomed)
    except OSError as e:
        raise OutputDirError(f"{short(str(path), 200)}: cannot create the output directory: "
                             f"{e.strerror or e}") from None
    return path


def rerun_plan(path, hold=False) -> list[Path]:
    """Entries to remove so that the run in `path` can start again from its
    own case.toml (`anodex run --rerun`): every anodex file but the case
    (hold: and hold the directory's lock once it passed the checks)."""
    try:
        entries = _rerun_plan(Path(path))
        if hold:
            claim(path, "--rerun")
        return entries
    except OSError as e:
        raise OutputDirError(f"{short(str(path), 200)}: cannot be rerun: "
                             f"{e.strerror or type(e).__name__}") from None


def _rerun_plan(path):
    name = short(str(path), 200)
    if not (path / "case.toml").is_file():
        raise OutputDirError(f"{name}: --rerun needs a run directory with its case.toml")
    entries = [e for e in path.iterdir() if e.name not in ("case.toml", LOCK_FILE)]
    if entries and not is_run_directory(path):
        raise OutputDirError(f"{name}: --rerun refused: it does not hold an anodex run")
    fields = run_fields(path)
    foreign = [e.name for e in entries if not is_anodex_file(e, fields)]
    if foreign:
        raise OutputDirError(f"{name}: --rerun refused: it holds {listing(sorted(foreign))}, which anodex "
                             "did not write; nothing was deleted")
    return entries


# {resolved run directory: the open lock file this process holds}
_held: dict = {}


def _try_lock(path: Path, create=True):
    """The lock file of `path` opened and flock'ed, None if another process
    holds it, or "unlocked" where the file system has no flock (or, with
    create False, where there is no lock file: no run has held it)."""
    lock = path / LOCK_FILE
    if lock.is_symlink() or lock.is_dir():  # (never followed, never written through)
        raise OutputDirError(f"{short(str(lock), 200)}: not the lock file anodex writes (a "
                             f"{'link' if lock.is_symlink() else 'directory'}); remove it")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW | (os.O_CREAT if create else 0), 0o644)
    except FileNotFoundError:
        return "unlocked"  # (create False: no run has held it)
    except OSError as e:  # (a read-only directory: the run itself will say)
        _unlocked(path, e)
        return "unlocked"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as e:  # (no flock here, e.g. a Lustre mount without -o flock)
        os.close(fd)
        _unlocked(path, e)
        return "unlocked"


def _unlocked(path, error):
    import logging
    logging.getLogger("anodex").warning(
        f"{short(str(path), 200)}: cannot lock the run directory ({error.strerror or error}): "
        "nothing stops a second anodex from writing into it while this one runs")


def _busy(path: Path, what: str) -> OutputDirError:
    try:
        holder = (path / LOCK_FILE).read_text().strip() or "another process"
    except OSError:
        holder = "another process"
    return OutputDirError(f"{short(str(path), 200)}: {what} refused: a running anodex writes "
                          f"into it ({holder}); wait for it to end or stop it first (nothing "
                          "was changed)")


def refuse_if_running(path: Path, what: str):
    """OutputDirError when a running anodex holds `path` (the lock is only
    tried: claim takes it)."""
    if path.resolve() in _held:
        return
    fd = _try_lock(path, create=False)  # (a check changes nothing on disk)
    if fd is None:
        raise _busy(path, what)
    if fd != "unlocked":
        os.close(fd)  # (closing releases it)


def claim(path, what: str):
    """Hold `path`'s lock for this process until release(path) or its end;
    OutputDirError (saying `what` is refused) while another process holds it."""
    path = Path(path)
    key = path.resolve()
    if key in _held:
        return
    fd = _try_lock(path)
    if fd is None:
        raise _busy(path, what)
    if fd == "unlocked":
        return
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
    _held[key] = fd


def release(path):
    """Let go of `path`'s lock (the file stays: removing it would let a
    second process lock a new file while a third still holds the old one)."""
    fd = _held.pop(Path(path).resolve(), None)
    if fd is not None:
        os.close(fd)
