"""What --overwrite and --rerun may remove, that every started run leaves a
status.json, and the memory estimate (the refusals themselves are in the
hostile corpus, tests/test_hostile.py)."""
import csv
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hostile_corpus import case_text
from anodex import memory, rundir
from anodex.case import validate

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.serial  # no MPI in these: once is enough
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def anodex(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "anodex.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env=ENV)


@pytest.fixture
def finished_run(tmp_path):
    (tmp_path / "case.toml").write_text(case_text())
    res = anodex("run", tmp_path / "case.toml", "-o", tmp_path / "run")
    assert res.returncode == 0, res.stderr
    return tmp_path / "run"


def test_overwrite_replaces_only_the_earlier_run(finished_run):
    """Postprocessing output (summary.png, paraview/) counts as the run's; the
    directory itself is kept (a mount point or a symlink target stays)."""
    (finished_run / "summary.png").write_bytes(b"png")
    (finished_run / "paraview").mkdir()
    (finished_run / "paraview" / "eta.png").write_bytes(b"png")
    inode = finished_run.stat().st_ino
    first = json.loads((finished_run / "metadata.json").read_text())["started"]
    res = anodex("run", finished_run.parent / "case.toml", "-o", finished_run, "--overwrite",
                 "--set", 'time.end="0.01 s"')
    assert res.returncode == 0, res.stderr
    assert finished_run.stat().st_ino == inode
    names = {p.name for p in finished_run.iterdir()}
    assert "summary.png" not in names and "paraview" not in names
    assert json.loads((finished_run / "status.json").read_text())["status"] == "completed"
    assert json.loads((finished_run / "metadata.json").read_text())["started"] >= first


def test_rerun_starts_a_failed_run_again_from_its_own_case(finished_run):
    (finished_run / "status.json").write_text(json.dumps({"status": "failed", "reason": "x"}))
    res = anodex("run", "--rerun", finished_run)
    assert res.returncode == 0, res.stderr
    st = json.loads((finished_run / "status.json").read_text())
    assert st["status"] == "completed"
    rows = (finished_run / "timeseries.csv").read_text().splitlines()
    assert rows[1].split(",")[0] == "0"  # a fresh series from step 0


def test_plan_refuses_foreign_entries_and_removes_nothing(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text(json.dumps({"status": "completed"}))
    (run / "eta.xdmf").write_text("x")
    (run / "thesis.tex").write_text("mine")
    with pytest.raises(rundir.OutputDirError, match="thesis.tex"):
        rundir.plan(run, overwrite=True)
    assert {p.name for p in run.iterdir()} == {"status.json", "eta.xdmf", "thesis.tex"}
    (run / "thesis.tex").unlink()
    assert {p.name for p in rundir.plan(run, overwrite=True)} == {"status.json", "eta.xdmf"}


def test_a_link_inside_a_run_is_never_followed(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text(json.dumps({"status": "failed"}))
    (tmp_path / "precious").write_text("keep")
    (run / "eta.h5").symlink_to(tmp_path / "precious")
    with pytest.raises(rundir.OutputDirError, match="eta.h5"):
        rundir.plan(run, overwrite=True)


def test_a_run_that_fails_while_setting_up_records_why(tmp_path, monkeypatch):
    """A PETSc error while the solver is built (after the directory was made)
    still ends with status.json saying failed and why."""
    from mpi4py import MPI
    from petsc4py import PETSc

    import anodex.simulation as run_module

    class Broken:
        def __init__(self, *args, **kwargs):
            raise PETSc.Error(73)
    monkeypatch.setattr(run_module, "NewtonSolver", Broken)
    case = validate(tomllib.loads(case_text()), "<test>")
    with pytest.raises(PETSc.Error):
        run_module.run_case(case, tmp_path / "run", comm=MPI.COMM_SELF)
    st = json.loads((tmp_path / "run" / "status.json").read_text())
    assert st["status"] == "failed" and "PETSc error 73" in st["reason"]


def test_memory_estimate_grows_with_the_mesh_and_refuses_the_impossible():
    def si(cells, kind="interval"):
        geometry = {"kind": f'"{kind}"', "cells": str(cells)}
        if kind == "rectangle":
            geometry["height"] = '"20 um"'
        text = case_text(geometry=geometry)
        return validate(tomllib.loads(text), "c.toml")
    small, large = si([40]), si([400000])
    assert memory.unknowns(small) == 41 * 3
    assert memory.estimate(large) > memory.estimate(small) + 400000 * 3 * 1000
    assert memory.check(small) is None
    too_big = si([20000, 20000], "rectangle")
    why = memory.check(too_big)
    assert "GiB" in why and "--ignore-memory-limit" in why
    assert memory.check(too_big, ignore_limit=True) is None
    assert "32-bit" in memory.check(si([2000000000]), ignore_limit=True)


def _run_then_signal(tmp_path, signal_number):
    """Start a long run that writes no checkpoint by itself, send it a signal
    once it has taken 3 steps; (exit status, stderr, status.json)."""
    import time
    (tmp_path / "case.toml").write_text(case_text(
        time={"end": '"1000 s"', "stop_tip_fraction": "1"},
        checkpoint={"every_steps": "100000", "every_wall": '"100000 s"'},
        output={"field_interval": '"1000 s"'}))
    proc = subprocess.Popen([sys.executable, "-m", "anodex.cli", "run", tmp_path / "case.toml",
                             "-o", tmp_path / "run"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    series = tmp_path / "run" / "timeseries.csv"
    deadline = time.time() + 300
    while (time.time() < deadline and proc.poll() is None
           and not (series.exists() and len(series.read_text().splitlines()) > 4)):
        time.sleep(0.1)
    assert proc.poll() is None, f"the run ended before the signal: {proc.stderr.read()}"
    assert not (tmp_path / "run" / "checkpoint.npz").exists()
    proc.send_signal(signal_number)
    code = proc.wait(timeout=120)
    return code, proc.stderr.read().decode(), json.loads((tmp_path / "run" / "status.json").read_text())


def test_a_running_run_is_never_restarted_rerun_or_replaced(tmp_path):
    """While a run writes into its directory, --restart, --rerun and
    --overwrite are refused (exit 2, one line naming the running process),
    and the run goes on undisturbed; once it has ended (here by SIGTERM, so
    the kernel released its lock) --restart continues it."""
    import signal
    import time
    (tmp_path / "case.toml").write_text(case_text(
        time={"end": '"1000 s"', "stop_tip_fraction": "1"},
        checkpoint={"every_steps": "2"}, output={"field_interval": '"1000 s"'}))
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "anodex.cli", "run", tmp_path / "case.toml",
                             "-o", run], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (
            (run / "checkpoint.npz").exists()
            and len((run / "timeseries.csv").read_text().splitlines()) > 4):
        time.sleep(0.1)
    assert proc.poll() is None, f"the run ended too early: {proc.stderr.read()}"
    for argv in (["--restart", run], ["--rerun", run],
                 [tmp_path / "case.toml", "-o", run, "--overwrite"]):
        res = anodex("run", *argv)
        assert res.returncode == 2, (argv, res.stdout, res.stderr)
        assert "a running anodex writes into it (pid " in res.stderr, res.stderr
        assert "Traceback" not in res.stderr and len(res.stderr.splitlines()) == 1
        assert proc.poll() is None  # (the run goes on)
    rows_before = len((run / "timeseries.csv").read_text().splitlines())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 1
    steps = [int(r["step"]) for r in csv.DictReader((run / "timeseries.csv").open())]
    assert steps == list(range(len(steps))) and len(steps) + 1 >= rows_before
    st = json.loads((run / "status.json").read_text())
    res = anodex("run", "--restart", run, "--set", f"time.max_steps={st['steps'] + 2}")
    assert res.returncode == 0, res.stderr


def test_a_lock_file_that_is_a_link_is_refused_not_followed(finished_run):
    """A .anodex.lock that is a symbolic link (or a directory) is not the
    lock anodex writes: a restart or rerun is refused, the link's target is
    left as it was."""
    victim = finished_run.parent / "victim.txt"
    victim.write_text("mine")
    lock = finished_run / rundir.LOCK_FILE
    lock.unlink()
    lock.symlink_to(victim)
    for argv in (["--restart", finished_run, "--set", "time.max_steps=100000"],
                 ["--rerun", finished_run]):
        res = anodex("run", *argv)
        assert res.returncode == 2 and "not the lock file anodex writes (a link)" in res.stderr, \
            res.stderr
    assert victim.read_text() == "mine" and lock.is_symlink()


def _checkpoint_is_the_last_row(run):
    """The checkpoint written on the signal holds the last accepted step: its
    step and time are the time series' last row (read independently)."""
    import numpy as np
    with np.load(run / "checkpoint.npz") as z:
        step, t = int(z["step"]), float(z["t"])
    time_scale = json.loads((run / "metadata.json").read_text())["scales"]["time_s"]
    rows = list(csv.DictReader((run / "timeseries.csv").open()))
    assert step == int(rows[-1]["step"]) >= 3
    assert t * time_scale == pytest.approx(float(rows[-1]["t_s"]), rel=1e-12)


def test_sigterm_ends_the_run_with_its_reason_and_a_checkpoint(tmp_path):
    """A batch system's time limit (SIGTERM): status.json says failed and why,
    the exit status is 1, and a checkpoint of the last accepted step is
    written, which `--restart` continues."""
    import signal
    code, err, st = _run_then_signal(tmp_path, signal.SIGTERM)
    assert code == 1
    assert st["status"] == "failed" and st["reason"] == "terminated by SIGTERM"
    _checkpoint_is_the_last_row(tmp_path / "run")
    assert "Traceback" not in err
    res = subprocess.run([sys.executable, "-m", "anodex.cli", "run", "--restart", tmp_path / "run",
                          "--set", 'time.max_steps=' + str(st["steps"] + 2)], cwd=ROOT,
                         capture_output=True, text=True, env=ENV)
    assert res.returncode == 0, res.stderr
    steps = [int(r["step"]) for r in csv.DictReader((tmp_path / "run" / "timeseries.csv").open())]
    assert steps == list(range(st["steps"] + 3))  # no gap, no duplicate


def test_sigusr1_ends_the_run_as_sigterm_does(tmp_path):
    """A batch system's warning before its limit (SLURM --signal=USR1@T):
    status.json says why, and the checkpoint of the last step is written
    (before, the process died of it with status.json still "running")."""
    import signal
    code, err, st = _run_then_signal(tmp_path, signal.SIGUSR1)
    assert code == 1 and "Traceback" not in err
    assert st["status"] == "failed" and st["reason"] == "terminated by SIGUSR1"
    _checkpoint_is_the_last_row(tmp_path / "run")


def test_ctrl_c_ends_the_run_with_one_line_and_a_checkpoint(tmp_path):
    """Ctrl-C (SIGINT): exit status 130, one line naming status.json and the
    restart that continues from the checkpoint written then, no traceback."""
    import signal
    code, err, st = _run_then_signal(tmp_path, signal.SIGINT)
    assert code == 130 and "Traceback" not in err  # (the log goes to stderr too)
    run = tmp_path / "run"
    assert err.strip().splitlines()[-1] == (
        f"anodex: interrupted (Ctrl-C); {run}/status.json records it; `anodex run --restart "
        f"{run}` continues from its last checkpoint")
    assert st["status"] == "failed" and st["reason"] == "interrupted (SIGINT)"
    _checkpoint_is_the_last_row(run)


def test_version(tmp_path):
    """--version answers without loading the physics: also where the
    FEniCSx stack is broken (here a dolfinx that fails to import)."""
    from anodex import __version__
    res = subprocess.run([sys.executable, "-m", "anodex.cli", "--version"], cwd=ROOT,
                         capture_output=True, text=True, env=ENV)
    assert res.returncode == 0 and res.stdout.strip() == f"anodex {__version__}"
    (tmp_path / "dolfinx").mkdir()
    (tmp_path / "dolfinx" / "__init__.py").write_text("raise ImportError('broken stack')\n")
    broken = {**ENV, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    res = subprocess.run([sys.executable, "-m", "anodex.cli", "--version"], cwd=ROOT,
                         capture_output=True, text=True, env=broken)
    assert res.returncode == 0 and res.stdout.strip() == f"anodex {__version__}", res.stderr
    res = subprocess.run([sys.executable, "-m", "anodex.cli", "info"], cwd=ROOT,
                         capture_output=True, text=True, env=broken)
    # (info names the part that does not load; materials needs none of it)
    assert res.returncode == 1 and "dolfinx      cannot be imported: ImportError: broken stack" \
        in res.stdout, res.stdout + res.stderr
    assert res.stdout.startswith(f"anodex {__version__}\nnumpy ")
    res = subprocess.run([sys.executable, "-m", "anodex.cli", "materials", "Li"], cwd=ROOT,
                         capture_output=True, text=True, env=broken)
    assert res.returncode == 0 and res.stdout.startswith("Li: lithium (metal)"), res.stderr


def test_console_levels_and_the_progress_line(tmp_path):
    """-q prints no INFO line; the default prints the progress line with the
    end time, the percentage and an ETA but not the rejected steps, which
    run.log keeps (it keeps every line)."""
    (tmp_path / "case.toml").write_text(case_text(time={"end": '"0.3 s"'}))
    runs = {}
    for flag in ("-q", None):
        out = tmp_path / f"run{flag}"
        res = subprocess.run([sys.executable, "-m", "anodex.cli", "run", tmp_path / "case.toml",
                              "-o", out, *([flag] if flag else [])], cwd=ROOT,
                             capture_output=True, text=True, env=ENV)
        assert res.returncode == 0, res.stderr[-2000:]
        runs[flag] = res.stderr, (out / "run.log").read_text()
    quiet, log = runs["-q"]
    assert " INFO " not in quiet and " INFO t = " in log
    console, log = runs[None]
    progress = [line for line in console.splitlines() if " INFO t = " in line]
    assert progress and "of 0.3 s (100.0 %)" in progress[-1] and "ETA ~" in progress[-1]
    rejected = [line for line in log.splitlines() if ": rejected, error" in line]
    assert rejected and " DEBUG " in rejected[0]
    assert ": rejected, error" not in console


def test_progress_is_refreshed_in_place_on_a_terminal(tmp_path):
    """On a terminal (script(1) gives the run a pseudo-terminal) the progress
    line is rewritten in place (carriage return, erase line) and the next
    line starts below it; run.log has no control characters and a line per
    accepted step."""
    import re
    import shlex
    (tmp_path / "case.toml").write_text(case_text(time={"end": '"0.3 s"'}))
    command = shlex.join([sys.executable, "-m", "anodex.cli", "run", str(tmp_path / "case.toml"),
                          "-o", str(tmp_path / "run")])
    res = subprocess.run(["script", "-qec", command, "/dev/null"], cwd=ROOT, capture_output=True,
                         env=ENV)  # (bytes: text mode would turn each \r into a newline)
    out = res.stdout.decode()
    assert res.returncode == 0, out[-2000:]
    assert re.search(r"\r\x1b\[K[^\r\n]* INFO t = [^\r\n]*of 0.3 s \(100.0 %\)", out)
    # the line after the last progress line ("completed: ...") starts on a new line
    assert re.search(r"ETA ~[^\r\n]*\r?\n[^\r\n]* INFO completed: ", out)
    log = (tmp_path / "run" / "run.log").read_text()
    steps = json.loads((tmp_path / "run" / "status.json").read_text())["steps"]
    assert "\r" not in log and "\x1b" not in log
    assert len(re.findall(r" DEBUG step \d+: t = ", log)) == steps


def test_progress_line_is_asked_for_where_output_is_a_pipe(tmp_path):
    """--progress line refreshes the progress in place where stderr is a
    pipe (as under mpirun on a terminal); --progress lines never does."""
    (tmp_path / "case.toml").write_text(case_text(time={"end": '"0.3 s"'}))
    for mode, in_place in (("line", True), ("lines", False)):
        res = subprocess.run([sys.executable, "-m", "anodex.cli", "run", str(tmp_path / "case.toml"),
                              "-o", str(tmp_path / mode), "--progress", mode], cwd=ROOT,
                             capture_output=True, env=ENV)
        assert res.returncode == 0, res.stderr[-2000:]
        assert (b"\r\x1b[K" in res.stderr) == in_place, mode


def test_the_progress_names_a_missing_front_instead_of_an_infinite_tip():
    """A stripped-out film (or a bare collector) has no eta = 1/2 contour:
    its tip is -inf in the time series, and the progress line says so in
    words ("tip = -inf um" before)."""
    from anodex.models.phase_field import PhaseField
    block = PhaseField.__new__(PhaseField)
    assert block.progress({"tip_position_m": float("-inf")}) == "no metal front"
    assert block.progress({"tip_position_m": 2.5e-6}) == "tip = 2.500 um"
