"""Run the cases of an expanded sweep, J at a time, each its own MPI job.

Each case runs as `mpirun -n N python -m mpi4py -m anodex.cli run ...` in a
child process (one case per process: a crash or a kill of one case never
touches the others or the driver).  The truth about a case is its own
status.json; the manifest is refreshed from it.  So a killed driver loses
nothing: `--resume` marks finished cases DONE without rerunning them and
runs every other one again: from its checkpoint where it has one (an
interrupted or failed run: `anodex run --restart`), else from the start.

The children get SIGKILL when the driver dies (Linux PR_SET_PDEATHSIG), so
a killed driver leaves no case running unattended.  The driver itself never
starts MPI: an mpirun started from an MPI process fails.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import CHECKPOINT_FILE as CHECKPOINT
from . import rundir
from .sweep import SweepError, expand, read_manifest, write_manifest

POLL_S = 0.2


def case_state(case_dir: Path) -> tuple[str, str]:
    """(manifest status, reason) from a case directory's status.json, or
    from the exit code a SLURM task left when the run wrote no final status
    (refused before it started, killed: out of memory)."""
    f = case_dir / "status.json"
    task_exit = _task_exit(case_dir)
    if not f.exists():
        return ("FAILED", task_exit) if task_exit else ("PENDING", "")
    try:
        st = json.loads(f.read_text())
    except (OSError, json.JSONDecodeError):
        return "FAILED", "unreadable status.json"
    if st.get("status") in ("completed", "stopped"):
        return "DONE", st.get("reason", "")
    if st.get("status") == "failed":
        return "FAILED", st.get("reason", "")
    if task_exit:
        return "FAILED", task_exit
    return "RUNNING", "interrupted (status 'running' but no driver runs it)"


def _task_exit(case_dir: Path) -> str:
    """The reason a SLURM task's exit code file gives ('' if none)."""
    try:
        code, job, task = (case_dir / "task_exit").read_text().split()[:3]
    except (OSError, ValueError):
        return ""
    killed = {"137": " (killed: SIGKILL, e.g. out of memory)", "143": " (SIGTERM)"}
    return (f"SLURM task {job}_{task} exited with {code}{killed.get(code, '')}; see "
            f"slurm/{job}_{task}.out")


def refresh(directory: Path) -> list[dict]:
    """The manifest with every status taken from the case directories; a
    FAILED the driver recorded for a case that ended before writing a status
    (killed, refused before the run) stays FAILED, with its reason."""
    rows = read_manifest(directory)
    for r in rows:
        status, reason = case_state(directory / r["id"])
        if not (status == "PENDING" and r["status"] == "FAILED"):
            r["status"], r["reason"] = status, reason
    write_manifest(directory, rows)
    return rows


def run_command(case_dir: Path, ranks: int, python=sys.executable) -> list[str]:
    """The command that runs (or continues) one case."""
    cli = [python, "-m", "mpi4py", "-m", "anodex.cli", "run"]
    if (case_dir / CHECKPOINT).exists():
        cli += ["--restart", str(case_dir)]
    elif (case_dir / "status.json").exists():  # a failed attempt: start it again
        cli += ["--rerun", str(case_dir)]
    else:  # the prepared case.toml
        cli += [str(case_dir / "case.toml"), "-o", str(case_dir)]
    return ["mpirun", "-n", str(ranks), *cli]


def _die_with_parent():
    """In the child: receive SIGKILL when the driver dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _fmt(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def _child_environment() -> dict:
    """Never hand an MPI job's identity to the children (a driver started
    under mpirun would make every mpirun it starts fail); allow
    oversubscription."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_COMM_WORLD", "PMIX_", "PMI_", "OMPI_MCA_ess", "OMPI_MCA_orte"))}
    env.update({"OMPI_MCA_rmaps_base_oversubscribe": "1",
                "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe"})
    return env


def _start(d, cid, ranks, env) -> subprocess.Popen:
    """Start case `cid` of the sweep in `d`, its output in <cid>.driver.log."""
    cmd = run_command(d / cid, ranks)
    with open(d / f"{cid}.driver.log", "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)


def run_sweep(sweep, jobs: int, ranks: int, resume: bool, log=print) -> dict:
    """Run every case that is not DONE (with resume) or every PENDING case
    (without: refuses a sweep that already started).  Returns status counts."""
    d = sweep.directory
    for line in expand(sweep):
        log(f"[sweep] {line}")
    try:  # (one driver per sweep, for its life: a second one's cases were refused as running)
        rundir.claim(d, "a second `sweep run`")
    except rundir.OutputDirError as e:
        raise SweepError(str(e)) from None
    rows = refresh(d)
    started = [r for r in rows if r["status"] != "PENDING"]
    if started and not resume:
        counts = {s: sum(r["status"] == s for r in rows) for s in ("DONE", "FAILED", "RUNNING")}
        raise SweepError(f"{d}: the sweep has already run ({', '.join(f'{n} {s}' for s, n in counts.items() if n)}); "
                         "pass --resume to run only what is not DONE")
    todo = [r["id"] for r in rows if r["status"] != "DONE"]
    by_id = {r["id"]: r for r in rows}
    env = _child_environment()
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    durations, t_start = [], time.time()

    def progress():
        # (a failed case waiting to run again under --resume counts as waiting)
        n = {s: sum(r["status"] == s and r["id"] not in todo for r in rows)
             for s in ("DONE", "FAILED")}
        left = len(todo) + len(running)
        remaining = ""
        if durations and left:
            mean = sum(durations) / len(durations)
            remaining = f", about {_fmt(mean * left / max(1, jobs))} left ({_fmt(mean)} per case)"
        log(f"[sweep] {n['DONE']}/{len(rows)} done, {n['FAILED']} failed, {len(running)} running, "
            f"{len(todo)} waiting; {_fmt(time.time() - t_start)} elapsed{remaining}")

    log(f"[sweep] {sweep.name}: {len(todo)} of {len(rows)} cases to run, {jobs} at a time "
        f"on {ranks} rank(s) each")
    while todo or running:
        while todo and len(running) < jobs:
            cid = todo.pop(0)
            running[cid] = (_start(d, cid, ranks, env), time.time())
            by_id[cid]["status"], by_id[cid]["reason"] = "RUNNING", ""
            write_manifest(d, rows)
            progress()
        time.sleep(POLL_S)
        for cid, (proc, t0) in list(running.items()):
            code = proc.poll()
            if code is None:
                continue
            del running[cid]
            durations.append(time.time() - t0)
            status, reason = case_state(d / cid)
            if status in ("PENDING", "RUNNING"):  # ended without a final status
                status = "FAILED"
                reason = (f"killed by signal {-code}" if code < 0 else
                          f"exit code {code} before a final status; see {cid}.driver.log")
            by_id[cid]["status"], by_id[cid]["reason"] = status, reason
            write_manifest(d, rows)
            progress()
    return {s: sum(r["status"] == s for r in rows) for s in ("DONE", "FAILED")}
