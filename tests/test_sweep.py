"""Sweeps: expansion of every form, invalid sweeps, running with a failing
case, resuming after kill -9, the SLURM array script under a fake srun, and
summaries."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import read_timeseries
from anodex.sweep import SweepError, expand, load_sweep, read_manifest

BASE = """
[case]
name = "sweep-test"
[geometry]
{geometry}
[initial]
interface_position = "8 um"
[time]
end = "{end}"
dt_initial = "{dt}"
dt_min = "0.001 s"
dt_max = "{dt_max}"
[checkpoint]
every_steps = 1
[output]
field_interval = "0.1 s"
"""


ONE_D = 'kind = "interval"\nlength = "20 um"\ncells = [80]'
# long enough (~100 steps of a few hundredths of a second) to be killed mid-run
TWO_D = 'kind = "rectangle"\nlength = "20 um"\nheight = "10 um"\ncells = [40, 20]'


def write_sweep(tmp_path, body, end="0.1 s", name="s", runs="runs", geometry=ONE_D,
                dt="0.01 s", dt_max="0.05 s"):
    (tmp_path / "base.toml").write_text(BASE.format(end=end, geometry=geometry, dt=dt,
                                                    dt_max=dt_max))
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[sweep]\nname = "{name}"\nbase = "base.toml"\nruns_dir = "{runs}"\n' + body)
    return path


def anodex(*args, check=True, **kw):
    return subprocess.run([sys.executable, "-m", "anodex.cli", *map(str, args)],
                          capture_output=True, text=True, check=check, **kw)


def test_every_form_expands_to_the_cartesian_product_with_zips(tmp_path):
    path = write_sweep(tmp_path, """
[vary]
"boundary.applied_potential" = ["-0.4 V", "-0.5 V"]
"material.temperature" = { range = [290, 310, 3], unit = "K" }
"phase_field.reaction_rate_constant" = { logrange = [1e-4, 1e-2, 3], unit = "1/s" }
[[zip]]
"noise.seed" = [1, 2]
"noise.amplitude" = { range = [0.01, 0.02, 2], unit = "1/s" }
""")
    sweep = load_sweep(path)
    assert len(sweep.cases) == 2 * 3 * 3 * 2
    values = [v for _, v, _ in sweep.cases]
    assert {v["material.temperature"] for v in values} == {"290 K", "300 K", "310 K"}
    assert {v["phase_field.reaction_rate_constant"] for v in values} == {
        "0.0001 1/s", "0.001 1/s", "0.01 1/s"}
    # zipped: seed and amplitude vary together
    assert {(v["noise.seed"], v["noise.amplitude"]) for v in values} == {
        (1, "0.01 1/s"), (2, "0.02 1/s")}
    ids = [cid for cid, _, _ in sweep.cases]
    assert ids[0] == ("applied_potential=-0.4V__temperature=290K__"
                      "reaction_rate_constant=0.0001_1_s__seed=1__amplitude=0.01_1_s")
    assert len(set(ids)) == len(ids)
    expand(sweep)
    rows = read_manifest(sweep.directory)
    assert [r["id"] for r in rows] == ids and {r["status"] for r in rows} == {"PENDING"}
    case = (sweep.directory / ids[0] / "case.toml").read_text()
    assert 'applied_potential = "-0.4 V"' in case and "seed = 1" in case
    # expanding again is a no-op: same ids (stable), nothing rewritten
    stamp = (sweep.directory / ids[0] / "case.toml").stat().st_mtime_ns
    assert "already expanded" in expand(load_sweep(path))[0]
    assert (sweep.directory / ids[0] / "case.toml").stat().st_mtime_ns == stamp
    # a different sweep of the same name is refused, nothing changed
    path.write_text(path.read_text().replace('"-0.5 V"', '"-0.6 V"'))
    with pytest.raises(SweepError, match="different expansion"):
        expand(load_sweep(path))
    assert (sweep.directory / ids[0] / "case.toml").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("body, message", [
    ('[vary]\n"boundary.applied_potental" = ["-1 V"]\n',
     "unknown key path 'boundary.applied_potental'"),
    ('[vary]\n"nosuch.key" = [1]\n', "valid sections:"),
    ('[vary]\n"material.temperature" = { range = [290, 310, 0], unit = "K" }\n', "empty range"),
    ('[vary]\n"material.temperature" = []\n', "empty list"),
    ('[[zip]]\n"noise.seed" = [1, 2, 3]\n"noise.amplitude" = ["0.01 1/s", "0.02 1/s"]\n',
     "zipped lists must have equal lengths, got noise.seed: 3, noise.amplitude: 2"),
    ('id = "../{seed}"\n[vary]\n"noise.seed" = [1, 2]\n', "would escape the sweep directory"),
    ('id = "same"\n[vary]\n"noise.seed" = [1, 2]\n', "two cases get the id 'same'"),
    ('[vary]\n"electrolyte.conductivity" = ["1 S/m", "-1 S/m"]\n',
     "case 'conductivity=-1S_m' is invalid"),
    ('', "nothing to vary"),
])
def test_invalid_sweeps_are_rejected_clearly(tmp_path, body, message):
    if body.startswith("id"):  # an id template belongs to [sweep]
        head, _, rest = body.partition("\n")
        path = write_sweep(tmp_path, rest)
        path.write_text(path.read_text().replace('runs_dir = "runs"\n', f'runs_dir = "runs"\n{head}\n'))
    else:
        path = write_sweep(tmp_path, body)
    with pytest.raises(SweepError) as err:
        load_sweep(path)
    assert message in str(err.value)
    assert not (tmp_path / "runs").exists()


def test_sweep_name_cannot_be_a_path(tmp_path):
    path = write_sweep(tmp_path, '[vary]\n"noise.seed" = [1]\n')
    path.write_text(path.read_text().replace('name = "s"', 'name = "../s"'))
    with pytest.raises(SweepError, match=r"\[sweep\] name: must be a plain name"):
        load_sweep(path)


SIX_WITH_ONE_FAILING = """
[[zip]]
"boundary.applied_potential" = ["-0.40 V", "-0.42 V", "-0.44 V", "-0.46 V", "-0.48 V", "-0.50 V"]
"solver.newton_tolerance" = [1e-6, 1e-6, 1e-6, 1e-6, 1e-6, 1e-15]
"""


@pytest.mark.serial
def test_six_cases_one_failing_then_summary(tmp_path):
    path = write_sweep(tmp_path, SIX_WITH_ONE_FAILING)
    res = anodex("sweep", "run", path, "-j", "2", "-n", "1", check=False)
    assert res.returncode == 1, res.stdout + res.stderr  # a case failed
    assert "[sweep] 5/6 done, 1 failed, 0 running, 0 waiting" in res.stdout
    rows = read_manifest(tmp_path / "runs" / "s")
    status = {r["solver.newton_tolerance"]: (r["status"], r["reason"]) for r in rows}
    assert [r["status"] for r in rows].count("DONE") == 5
    assert status["1e-15"][0] == "FAILED" and "Newton failed" in status["1e-15"][1]
    # a FAILED recorded without a status.json (a case killed before it wrote
    # one) stays FAILED in `sweep status`
    failed = next(r for r in rows if r["status"] == "FAILED")
    (tmp_path / "runs" / "s" / failed["id"] / "status.json").unlink()
    shown = anodex("sweep", "status", path, check=False).stdout
    assert any(line.startswith("FAILED") and failed["id"] in line
               for line in shown.splitlines()), shown
    assert next(r for r in read_manifest(tmp_path / "runs" / "s")
                if r["id"] == failed["id"])["status"] == "FAILED"
    # without --resume a started sweep is not rerun
    again = anodex("sweep", "run", path, check=False)
    assert again.returncode == 2 and "--resume" in again.stderr
    # with it the failed case runs again, counted as waiting/running, not
    # also as failed (the counts once summed to 3 of 2 cases)
    again = anodex("sweep", "run", path, "--resume", "-n", "1", check=False)
    lines = [line for line in again.stdout.splitlines() if " done, " in line]
    assert lines[0].startswith("[sweep] 5/6 done, 0 failed, 1 running, 0 waiting"), lines
    assert lines[-1].startswith("[sweep] 5/6 done, 1 failed, 0 running, 0 waiting"), lines
    out = anodex("summarize", tmp_path / "runs" / "s").stdout
    assert "summary.csv (6 runs)" in out
    with open(tmp_path / "runs" / "s" / "summary.csv", newline="") as f:
        summary = list(csv.DictReader(f))
    assert [r["status"] for r in summary].count("completed") == 5
    assert all(float(r["deposit_thickness_m"]) > 8e-6 for r in summary if r["status"] == "completed")
    for png in ("summary_series.png", "summary_vs_boundary_applied_potential.png"):
        assert (tmp_path / "runs" / "s" / png).stat().st_size > 10000


@pytest.mark.slow  # 90 s; the chroot legs restart killed runs in tests/test_restart.py
@pytest.mark.serial
def test_resume_after_kill_9_of_driver_and_case(tmp_path):
    """Kill the driver and the running case with SIGKILL mid-sweep; --resume
    finishes only what is missing, continuing the killed case from its
    checkpoint, and its series equals an uninterrupted run's."""
    body = '[vary]\n"boundary.applied_potential" = ["-0.40 V", "-0.45 V", "-0.50 V"]\n'
    path = write_sweep(tmp_path, body, end="0.5 s", geometry=TWO_D, dt="0.005 s",
                       dt_max="0.005 s")
    d = tmp_path / "runs" / "s"
    driver = subprocess.Popen([sys.executable, "-m", "anodex.cli", "sweep", "run", str(path),
                               "-j", "1", "-n", "1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    victim = None
    deadline = time.time() + 300
    while time.time() < deadline and victim is None:
        time.sleep(0.2)
        try:
            rows = read_manifest(d)
        except (OSError, KeyError):
            continue
        done = [r for r in rows if r["status"] == "DONE"]
        running = [r for r in rows if r["status"] == "RUNNING"]
        if done and running and (d / running[0]["id"] / "checkpoint.npz").exists():
            series = d / running[0]["id"] / "timeseries.csv"
            if series.exists() and len(series.read_text().splitlines()) > 4:
                victim = running[0]["id"]
    assert victim, "the sweep never reached a killable state"
    # a second driver on the same sweep is refused (its attempts at the cases
    # the first one runs were refused and counted as failures before)
    second = anodex("sweep", "run", path, "--resume", "-n", "1", check=False)
    assert second.returncode == 2 and "a second `sweep run` refused" in second.stderr, \
        second.stderr
    finished = {r["id"]: (d / r["id"] / "timeseries.csv").stat().st_mtime_ns
                for r in read_manifest(d) if r["status"] == "DONE"}
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the case it runs
    driver.wait()
    time.sleep(0.5)
    res = anodex("sweep", "run", path, "--resume", "-n", "1")
    rows = read_manifest(d)
    assert [r["status"] for r in rows] == ["DONE"] * 3, res.stdout
    for cid, stamp in finished.items():  # finished cases were not rerun
        assert (d / cid / "timeseries.csv").stat().st_mtime_ns == stamp
    assert "--restart" in (d / f"{victim}.driver.log").read_text()
    meta = json.loads((d / victim / "metadata.json").read_text())
    assert len(meta["restarts"]) == 1
    # the continued series equals an uninterrupted run of the same case
    ref = tmp_path / "ref"
    anodex("run", d / victim / "case.toml", "-o", ref)
    a, b = read_timeseries(ref), read_timeseries(d / victim)
    assert len(a) == len(b)
    for col in ("t_s", "deposit_thickness_m", "metal_mol_m2", "tip_position_m"):
        x, y = np.array([r[col] for r in a]), np.array([r[col] for r in b])
        assert np.abs(x - y).max() <= 1e-6 * np.abs(x).max(), col


@pytest.mark.serial  # (starts its own processes)
def test_expand_warns_about_a_varied_key_with_no_effect(tmp_path):
    """The base case is the Hong model: the salt of a binary electrolyte is
    read by no block of it, so varying it changes nothing; expand says so,
    and --strict refuses the sweep without writing it."""
    body = ('[vary]\n"electrolyte.salt_concentration" = ["100 mol/m^3", "1000 mol/m^3"]\n'
            '"boundary.applied_potential" = ["-0.40 V", "-0.50 V"]\n')
    path = write_sweep(tmp_path, body)
    strict = anodex("sweep", "expand", path, "--strict", check=False)
    assert strict.returncode == 2 and "[vary] electrolyte.salt_concentration: varies a key " \
        "with no effect: [electrolyte] salt_concentration: no effect" in strict.stderr
    assert not (tmp_path / "runs" / "s").exists()
    out = anodex("sweep", "expand", path).stdout
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "electrolyte.salt_concentration" in warnings[0]
    assert "4 cases and manifest.csv written" in out


@pytest.mark.serial  # (starts its own processes)
def test_slurm_scripts_carry_what_a_cluster_asks(tmp_path):
    """Memory per CPU from the estimate (or given), the site's account, QOS,
    GRES, further #SBATCH lines and environment set-up, OMP_NUM_THREADS=1,
    requeue and a SIGTERM before the limit; bad options refused before any
    script is written."""
    from anodex.case import load_case
    from anodex.memory import estimate
    from anodex.slurm import MEMORY_MARGIN
    body = '[vary]\n"boundary.applied_potential" = ["-0.40 V", "-0.50 V"]\n'
    path = write_sweep(tmp_path, body, name="site")
    slurm = tmp_path / "runs" / "site" / "slurm"
    anodex("sweep", "slurm", path, "-n", "2", "--account", "proj42", "--qos", "long",
           "--gres", "gpu:1", "--sbatch=--constraint=skylake", "--setup",
           "module load openmpi", "--setup", "source ~/venv/bin/activate")
    script = (slurm / "array.sbatch").read_text()
    need = max(estimate(load_case(d / "case.toml"), 2)
               for d in (tmp_path / "runs" / "site").iterdir() if (d / "case.toml").exists())
    expected = int(MEMORY_MARGIN * need / 2 / 2 ** 20) + 1
    for line in (f"#SBATCH --mem-per-cpu={expected}M", "#SBATCH --account=proj42",
                 "#SBATCH --qos=long", "#SBATCH --gres=gpu:1", "#SBATCH --constraint=skylake",
                 "#SBATCH --requeue", "#SBATCH --signal=TERM@120"):
        assert line in script.splitlines(), line
    lines = script.splitlines()
    assert lines.index("module load openmpi") < lines.index("source ~/venv/bin/activate") \
        < lines.index("export OMP_NUM_THREADS=1") < next(
            i for i, line in enumerate(lines) if line.startswith("srun "))
    assert "module load openmpi" in (slurm / "prewarm.sbatch").read_text()
    anodex("sweep", "slurm", path, "--mem-per-cpu", "4G")
    assert "#SBATCH --mem-per-cpu=4G" in (slurm / "array.sbatch").read_text()
    for option, message in ((["--time", "2h"], "--time '2h': not a SLURM time limit"),
                            (["--time", "99:99:99"], "99 is out of range"),
                            (["--time", "1-24:00:00"], "24 is out of range"),
                            (["--time", "00:00:30"], "30 s, not more than the 120 s"),
                            (["--time", "2"], "120 s, not more than the 120 s"),
                            (["--bind", str(tmp_path / "nowhere")], "no such directory"),
                            (["--site", str(tmp_path / "none.toml")], "none.toml: no such file"),
                            (["--image", str(tmp_path / "no.sif")], "no such file"),
                            (["--mem-per-cpu", "lots"], "a size such as 4000M"),
                            (["--sbatch=constraint=x"], "an sbatch option such as")):
        res = anodex("sweep", "slurm", path, *option, check=False)
        assert res.returncode == 2 and message in res.stderr, (option, res.stderr)
    image = tmp_path / "anodex.sif"
    image.write_bytes(b"")
    anodex("sweep", "slurm", path, "--image", image, "--bind", tmp_path)
    assert (f"apptainer exec --bind {tmp_path / 'runs' / 'site'} --bind {tmp_path} "
            f"--bind \"${{TMPDIR:-/tmp}}\" {image} anodex") in (slurm / "array.sbatch").read_text()
    # the pre-warm job reads the sweep file and its base case: their directory
    # is bound without being asked for
    anodex("sweep", "slurm", path, "--image", image)
    prewarm = (slurm / "prewarm.sbatch").read_text()
    assert f"--bind {tmp_path} " in prewarm and f"sweep prewarm {path}" in prewarm, prewarm
    # a site file carries the cluster's settings; options override it
    site = tmp_path / "cluster-site.toml"
    site.write_text('account = "proj7"\nqos = "short"\ntime = "0-02:00:00"\n'
                    'setup = ["module load anodex"]\nsbatch = ["--exclusive"]\n')
    anodex("sweep", "slurm", path, "--site", site, "--qos", "long", "--setup", "ulimit -c 0")
    lines = (slurm / "array.sbatch").read_text().splitlines()
    for line in ("#SBATCH --account=proj7", "#SBATCH --qos=long", "#SBATCH --time=0-02:00:00",
                 "#SBATCH --exclusive"):
        assert line in lines, line
    assert lines.index("module load anodex") < lines.index("ulimit -c 0")
    site.write_text('acount = "proj7"\n')
    res = anodex("sweep", "slurm", path, "--site", site, check=False)
    assert res.returncode == 2 and "unknown key 'acount'" in res.stderr


def test_sweep_status_reads_the_exit_of_a_task_that_wrote_no_status(tmp_path):
    """A SLURM task whose run was refused (no status.json) or killed (status
    still 'running') leaves task_exit: the case is FAILED, with the code."""
    from anodex.sweep_run import case_state
    refused, killed = tmp_path / "refused", tmp_path / "killed"
    for d, code in ((refused, 2), (killed, 137)):
        d.mkdir()
        (d / "task_exit").write_text(f"{code} 4242 3\n")
    (killed / "status.json").write_text('{"status": "running"}')
    status, reason = case_state(refused)
    assert status == "FAILED" and "exited with 2" in reason and "slurm/4242_3.out" in reason
    status, reason = case_state(killed)
    assert status == "FAILED" and "137 (killed: SIGKILL, e.g. out of memory)" in reason
    (killed / "task_exit").unlink()
    assert case_state(killed)[0] == "RUNNING"


@pytest.mark.serial
def test_slurm_array_under_a_fake_srun_matches_sweep_run(tmp_path):
    body = '[vary]\n"boundary.applied_potential" = ["-0.40 V", "-0.50 V"]\n'
    local = write_sweep(tmp_path, body, name="local", runs="runs_local")
    cluster = write_sweep(tmp_path, body, name="cluster", runs="runs_cluster")
    anodex("sweep", "run", local, "-j", "2", "-n", "1")
    out = anodex("sweep", "slurm", cluster, "-n", "2", "--time", "00:10:00",
                 "--partition", "short", "--max-parallel", "4").stdout
    slurm = tmp_path / "runs_cluster" / "cluster" / "slurm"
    script = (slurm / "array.sbatch").read_text()
    assert "#SBATCH --array=0-1%4" in script and "#SBATCH --ntasks=2" in script
    assert "#SBATCH --partition=short" in script and "submit with" in out
    assert "--dependency=afterok" in (slurm / "submit.sh").read_text()
    # a fake srun: runs the command on SLURM_NTASKS ranks with mpirun, which
    # must not see the SLURM variables (Open MPI 5 would ask SLURM for nodes)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "srun").write_text('#!/bin/bash\nn="$SLURM_NTASKS"\n'
                               'for v in $(compgen -e | grep "^SLURM_"); do unset "$v"; done\n'
                               'exec mpirun -n "$n" "$@"\n')
    (shim / "srun").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{Path(sys.executable).parent}:{os.environ['PATH']}",
           "SLURM_JOB_ID": "4242", "SLURM_NTASKS": "2", "TMPDIR": str(tmp_path / "node")}
    (tmp_path / "node").mkdir()
    def sbatch(script, **extra):  # run a generated script; its output if it fails
        res = subprocess.run(["bash", slurm / script], env={**env, **extra}, capture_output=True,
                             text=True)
        assert res.returncode == 0, f"{script} {extra}: exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        return res

    sbatch("prewarm.sbatch")
    assert any((tmp_path / "runs_cluster" / "cluster" / "jit-cache").rglob("*.so"))
    for task in range(2):
        sbatch("array.sbatch", SLURM_ARRAY_TASK_ID=str(task))
    # each task removed its node-local cache (MPI may leave its own session files there)
    assert not list((tmp_path / "node").glob("anodex-jit-*"))
    status = anodex("sweep", "status", cluster).stdout
    assert status.count("DONE") == 2
    for row in read_manifest(tmp_path / "runs_local" / "local"):
        a = read_timeseries(tmp_path / "runs_local" / "local" / row["id"])
        b = read_timeseries(tmp_path / "runs_cluster" / "cluster" / row["id"])
        assert len(a) == len(b)
        for col in ("t_s", "deposit_thickness_m", "tip_position_m", "charge_C_m2"):
            x, y = np.array([r[col] for r in a]), np.array([r[col] for r in b])
            assert np.abs(x - y).max() <= 1e-6 * np.abs(x).max(), col
    # a task rerun on a finished case does nothing
    assert "already finished" in sbatch("array.sbatch", SLURM_ARRAY_TASK_ID="0").stdout


SIGNATURE = """
import json, sys
from mpi4py import MPI
sys.path.insert(0, "tests")
from conftest import one_d_case
from anodex.problem import Problem
print(Problem(one_d_case(**json.loads(sys.argv[1])), MPI.COMM_SELF).F_ufl.signature())
"""


@pytest.mark.serial  # (starts its own processes)
def test_forms_do_not_depend_on_parameter_values():
    """What lets one pre-warm serve a whole sweep: two cases that differ only in
    values compile to the same forms (same UFL signatures).  Each is built in
    a fresh process, as every case of a sweep is: in one long-lived process
    the signature of a later Problem can depend on the objects earlier ones
    created (it did in a pytest worker on dolfinx 0.11 / UFL 2026.1, once
    in the suite, not reproduced alone)."""
    values = [{}, {"boundary.applied_potential": "-0.3 V", "noise.amplitude": "0.1 1/s",
                   "electrolyte.conductivity": "2 S/m",
                   "phase_field.reaction_rate_constant": "0.01 1/s"}]
    root = Path(__file__).resolve().parents[1]
    signatures = [subprocess.run([sys.executable, "-c", SIGNATURE, json.dumps(v)], cwd=root,
                                 capture_output=True, text=True, check=True).stdout.split()[-1]
                  for v in values]
    assert signatures[0] == signatures[1]


@pytest.mark.serial  # (no MPI in it: once is enough)
def test_a_summary_plot_draws_one_line_per_value_of_the_other_swept_key(tmp_path, monkeypatch):
    """summary_vs_<p>.png of a 2-key sweep: one labelled line per value of
    the other key, its points in the order of p (before, one scatter)."""
    import matplotlib.pyplot as plt
    from postprocess import summarize
    done = [{"a": f"{a} V", "b": b, "t_end_s": 1.0, "deposit_thickness_m": a * k * 1e-6,
             "tip_position_m": 1e-6, "tip_velocity_m_s": 0.0, "electrode_current_A_m2": a * k}
            for k, b in ((1, "x"), (2, "y")) for a in (3, 1, 2)]
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    png = summarize._plot_against(tmp_path, done, "a", ["b"])
    assert png == tmp_path / "summary_vs_a.png" and png.exists()
    figures = [f for f in figures if hasattr(f, "axes")]  # (not a close("all"))
    lines = figures[0].axes[0].lines
    assert [ln.get_label() for ln in lines] == ["b = x", "b = y"]
    for k, ln in enumerate(lines, start=1):
        assert list(ln.get_xdata()) == [1, 2, 3]
        assert list(ln.get_ydata()) == pytest.approx([k * 1.0, k * 2.0, k * 3.0])
