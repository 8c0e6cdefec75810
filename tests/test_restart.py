"""Checkpoints and restart: a run killed with SIGKILL and restarted (on the
same or another number of ranks) reproduces the uninterrupted run; a kill
while a checkpoint is being written leaves the previous one usable."""
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import read_timeseries
from test_cli import ENV, TINY, anodex

# Fixed steps so that rows line up (see test_cli.FIXED_STEP); 60 steps give
# the kill time to land in the middle of the run (with 30, a 2-rank run once
# ended before the poll below had seen its step-8 checkpoint: Debian 13
# chroot, both cores busy).
STEPS = ["--set", "time.error_tolerance=0", "--set", 'time.dt_max="0.01 s"',
         "--set", 'time.dt_min="0.01 s"', "--set", 'time.end="0.6 s"',
         "--set", 'output.field_interval="0.1 s"', "--set", "checkpoint.every_steps=4"]
COMPARED = ["t_s", "dt_s", "newton_its", "deposit_thickness_m", "tip_position_m",
            "reservoir_current_A_m2", "charge_C_m2", "metal_content_mol_m2",
            "ion_inflow_mol_m2"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("restart") / "full"
    anodex("run", TINY, "-o", out, *STEPS)
    return out


def checkpoint_step(run_dir):
    try:
        with np.load(run_dir / "checkpoint.npz") as z:
            return int(z["step"])
    except (OSError, ValueError, KeyError):
        return -1


def kill_mid_run(run_dir, ranks, after_step, rng):
    """Start the run, SIGKILL its whole process group at a random moment after
    the checkpoint of `after_step` exists; return the checkpoint's step."""
    cmd = [sys.executable, "-m", "anodex.cli", "run", str(TINY), "-o", str(run_dir), *STEPS]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", *cmd[1:]]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 600
    while checkpoint_step(run_dir) < after_step:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.3))
    # every process of the run's session: mpirun puts its ranks in process
    # groups of their own
    subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
    proc.wait()
    while subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True).stdout.strip():
        time.sleep(0.05)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "running", "the kill came after the run had finished"
    return checkpoint_step(run_dir)


@pytest.mark.serial
@pytest.mark.parametrize("ranks_killed, ranks_restarted", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_killed_run_restarts_and_reproduces(uninterrupted, tmp_path, ranks_killed,
                                            ranks_restarted):
    rng = np.random.default_rng(ranks_killed * 10 + ranks_restarted)
    run_dir = tmp_path / "killed"
    step = kill_mid_run(run_dir, ranks_killed, after_step=8, rng=rng)
    assert 8 <= step < 60
    saved_case = (run_dir / "case.toml").read_text()
    anodex("run", "--restart", run_dir, ranks=ranks_restarted)
    # a restart that changes no value keeps case.toml as it was (its comments too)
    assert (run_dir / "case.toml").read_text() == saved_case
    assert not list(run_dir.glob("case.r*-before.toml"))
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "completed"
    full, uninterrupted = uninterrupted, read_timeseries(uninterrupted)
    restarted = read_timeseries(run_dir)
    assert [r["step"] for r in restarted] == list(range(61))  # no gap, no duplicate
    for col in COMPARED:
        a = np.array([r[col] for r in uninterrupted])
        b = np.array([r[col] for r in restarted])
        assert np.abs(a - b).max() <= 1e-6 * np.abs(a).max(), (col, np.abs(a - b).max())
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["restarts"][0]["step"] == step
    assert meta["restarts"][0]["mpi_ranks"] == ranks_restarted
    # one series per field with the uninterrupted run's output times: on as
    # many ranks (the same mesh in the same node order) the restart appends
    # to eta.xdmf and adds no file; on another number, eta.xdmf collects the
    # pieces eta.r0.xdmf (before the kill) and eta.r1.xdmf (after)
    pieces = sorted(p.name for p in run_dir.glob("eta*.xdmf"))
    if ranks_killed == ranks_restarted:
        assert pieces == ["eta.xdmf"] and meta["restarts"][0]["fields"] == "appended"
    else:
        assert pieces == ["eta.r0.xdmf", "eta.r1.xdmf", "eta.xdmf"]
    from anodex.api import load
    whole, cut = load(full), load(run_dir)
    assert cut.field_times("eta") == pytest.approx(whole.field_times("eta"), abs=1e-12)
    for index in (0, 3, -1):  # (3: 0.3 s, written after the kill in every case)
        x_whole, t_whole, eta_whole = whole.field("eta", index)
        x_cut, t_cut, eta_cut = cut.field("eta", index)
        assert t_cut == pytest.approx(t_whole)
        # node by node, in coordinate order (other rank counts order them otherwise)
        a, b = np.lexsort(x_whole.T[::-1]), np.lexsort(x_cut.T[::-1])
        assert np.abs(x_cut[b] - x_whole[a]).max() < 1e-15
        assert np.abs(eta_cut[b] - eta_whole[a]).max() < 1e-6


@pytest.mark.serial
def test_restart_needs_a_checkpoint(tmp_path):
    res = anodex("run", "--restart", tmp_path, check=False)
    assert res.returncode == 2
    assert "checkpoint.npz" in res.stderr


@pytest.mark.serial
def test_a_checkpoint_from_before_dt_failed_restarts(tmp_path):
    """Checkpoints written before the stepper saved dt_failed (stop 28's
    code) restart, with no step-size cap, instead of being refused."""
    run_dir = tmp_path / "old"
    anodex("run", TINY, "-o", run_dir, *STEPS[:6], "--set", 'time.end="0.08 s"',
           "--set", "checkpoint.every_steps=4")
    with np.load(run_dir / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files if k != "dt_failed"}
    assert "dt_failed" not in arrays and "dt_cap" in arrays
    np.savez(run_dir / "checkpoint.npz", **arrays)
    anodex("run", "--restart", run_dir, "--set", 'time.end="0.12 s"')
    assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"
    assert [r["step"] for r in read_timeseries(run_dir)] == list(range(13))


@pytest.mark.serial
def test_a_two_potential_checkpoint_from_before_the_protocol_restarts(tmp_path):
    """Checkpoints of the two-potential model written before the protocol
    state was saved (85fe0f1's code) restart with no protocol step done,
    instead of being refused."""
    run_dir = tmp_path / "old"
    case = TINY.parents[2] / "cases" / "li_llzo.toml"
    small = ["--set", 'geometry.kind="interval"', "--set", "geometry.cells=[60]",
             "--set", "checkpoint.every_steps=2"]
    anodex("run", case, "-o", run_dir, *small, "--set", 'time.end="6 s"')
    with np.load(run_dir / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("electronic_conduction.step")}
    assert "electronic_conduction.steps_done" not in arrays
    np.savez(run_dir / "checkpoint.npz", **arrays)
    anodex("run", "--restart", run_dir, "--set", 'time.end="8 s"')
    assert json.loads((run_dir / "status.json").read_text())["status"] == "completed"


def by_node(pb):
    """u_n and u_(n-1) of all owned nodes, gathered and ordered by node
    coordinates (comparable across partitions), on every rank."""
    from anodex import checkpoint
    owned = pb.Q.dofmap.index_map.size_local
    parts = pb.comm.allgather((checkpoint._node_keys(pb, owned), checkpoint._levels(pb)[:owned]))
    keys = np.concatenate([k for k, _ in parts])
    return np.concatenate([v for _, v in parts])[np.argsort(keys)]


def parts(run_dir):
    with np.load(run_dir / "checkpoint.npz") as z:
        return [str(p) for p in z["parts"]], [int(n) for n in z["part_nodes"]]


def test_kill_while_writing_keeps_the_last_checkpoint(mpi_tmp_path, monkeypatch):
    """A checkpoint write that dies half-way (simulated: the writer raises
    after part of a file is out), or whose manifest cannot replace the
    previous one, leaves the previous checkpoint intact; the next checkpoint
    removes the unfinished parts."""
    from helpers import Simulation
    from anodex import checkpoint
    from anodex.case import load_case
    sim = Simulation(load_case(TINY, {}))
    sim.run_to(0.02)
    checkpoint.save(mpi_tmp_path, sim.pb, sim.stepper.state())
    good, before = by_node(sim.pb), parts(mpi_tmp_path)
    sim.run_to(0.04)

    def dies_half_way(f, **arrays):
        f.write(b"PK\x03\x04 partial zip")
        raise OSError("killed while writing")

    monkeypatch.setattr(checkpoint.np, "savez", dies_half_way)
    with pytest.raises(checkpoint.CheckpointError, match="killed while writing"):
        checkpoint.save(mpi_tmp_path, sim.pb, sim.stepper.state())  # every rank raises
    monkeypatch.undo()
    sim.pb.comm.barrier()
    assert parts(mpi_tmp_path) == before
    assert len(list((mpi_tmp_path / "checkpoint.parts").iterdir())) == 2 * sim.pb.comm.size
    fresh = Simulation(load_case(TINY, {}))
    scalars = checkpoint.load(mpi_tmp_path, fresh.pb)
    assert np.array_equal(by_node(fresh.pb), good)  # the mesh may be partitioned anew
    assert abs(scalars["t"] * fresh.pb.scales.time - 0.02) < 1e-12
    # the parts written, the manifest's replacement fails (rank 0 alone
    # writes it): every rank raises, the previous checkpoint stays
    monkeypatch.setattr(checkpoint.os, "replace", lambda *a: (_ for _ in ()).throw(
        OSError("no space left on device")))
    with pytest.raises(checkpoint.CheckpointError, match="no space left"):
        checkpoint.save(mpi_tmp_path, sim.pb, sim.stepper.state())
    monkeypatch.undo()
    assert parts(mpi_tmp_path) == before
    checkpoint.load(mpi_tmp_path, fresh.pb)
    assert np.array_equal(by_node(fresh.pb), good)
    checkpoint.save(mpi_tmp_path, sim.pb, sim.stepper.state())
    sim.pb.comm.barrier()
    names = sorted(p.name for p in (mpi_tmp_path / "checkpoint.parts").iterdir())
    assert [f"checkpoint.parts/{n}" for n in names] == sorted(parts(mpi_tmp_path)[0])
    assert parts(mpi_tmp_path) != before


def test_every_rank_writes_its_own_nodes(mpi_tmp_path):
    """Nothing is gathered: the part of rank r holds rank r's owned nodes
    (their keys and values, as the rank has them), and the manifest counts
    them; the parts together hold every node of the mesh once."""
    from helpers import Simulation
    from anodex import checkpoint
    from anodex.case import load_case
    sim = Simulation(load_case(TINY, {}))
    sim.run_to(0.01)
    checkpoint.save(mpi_tmp_path, sim.pb, sim.stepper.state())
    comm, owned = sim.pb.comm, sim.pb.Q.dofmap.index_map.size_local
    names, nodes = parts(mpi_tmp_path)
    assert len(names) == comm.size and nodes == comm.allgather(owned)
    with np.load(mpi_tmp_path / names[comm.rank]) as z:
        x = sim.pb.Q.tabulate_dof_coordinates()[:owned]
        assert np.array_equal(z["keys"].view(np.int64).reshape(-1, 3),
                              np.round(x / (1e-9 * sim.pb.p["length"])).astype(np.int64))
        assert np.array_equal(z["values"][:, 0, 0], sim.pb.field_values(sim.pb.names[0],
                                                                          sim.pb.u_n)[:owned])
    assert sum(nodes) == sim.pb.Q.dofmap.index_map.size_global


def one_file(run_dir):
    """Rewrite the checkpoint as anodex wrote it up to commit 1348dd5: one file,
    the nodes sorted by key, no parts."""
    with np.load(run_dir / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files if k not in ("parts", "part_nodes")}
        loaded = [np.load(run_dir / str(name)) for name in z["parts"]]
    keys = np.concatenate([q["keys"] for q in loaded])
    order = np.argsort(keys)
    np.savez(run_dir / "checkpoint.npz", **arrays, keys=keys[order],
             values=np.concatenate([q["values"] for q in loaded])[order])
    for p in (run_dir / "checkpoint.parts").iterdir():
        p.unlink()


@pytest.mark.serial
def test_a_one_file_checkpoint_restarts_and_reproduces(uninterrupted, tmp_path):
    """A checkpoint of the one-file format (before the parts) restarts on 2
    ranks and gives the uninterrupted run's series."""
    run_dir = tmp_path / "old"
    anodex("run", TINY, "-o", run_dir, *STEPS, "--set", 'time.end="0.2 s"')
    one_file(run_dir)
    anodex("run", "--restart", run_dir, "--set", 'time.end="0.6 s"', ranks=2)
    whole, restarted = read_timeseries(uninterrupted), read_timeseries(run_dir)
    assert [r["step"] for r in restarted] == list(range(61))
    for col in COMPARED:
        a, b = (np.array([r[col] for r in rows]) for rows in (whole, restarted))
        assert np.abs(a - b).max() <= 1e-6 * np.abs(a).max(), col
    assert len(parts(run_dir)[0]) == 2  # the next checkpoint has parts


@pytest.mark.serial
def test_a_1d_restart_appends_to_the_same_series(tmp_path):
    """An interval's field files hold points as (x, 0) (XDMF has no 1-D
    geometry): a restart on as many ranks appends to eta.xdmf, and one that
    changes nothing adds no file.  (The saved points' second column once
    made every 1-D restart start new pieces eta.r0/.r1/.r2.)"""
    run_dir, case = tmp_path / "line", tmp_path / "line.toml"
    case.write_text('[geometry]\nkind = "interval"\nlength = "20 um"\ncells = [60]\n\n'
                    '[initial]\ninterface_position = "5 um"\n\n'
                    '[time]\nend = "0.08 s"\ndt_initial = "0.01 s"\ndt_max = "0.01 s"\n\n'
                    '[output]\nfield_interval = "0.04 s"\n')
    anodex("run", case, "-o", run_dir)
    files = sorted(p.name for p in run_dir.iterdir())
    anodex("run", "--restart", run_dir, "--set", 'time.end="0.12 s"')
    anodex("run", "--restart", run_dir)
    added = sorted(set(p.name for p in run_dir.iterdir()) - set(files))
    assert added == ["case.r1-before.toml"], added
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert [r["fields"] for r in meta["restarts"]] == ["appended", "appended"]
    from anodex.api import load
    assert load(run_dir).field_times("eta") == pytest.approx([0.0, 0.04, 0.08, 0.12])
