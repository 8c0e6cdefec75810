"""The command line end to end, and agreement between 1, 2 and 3 MPI ranks."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import read_timeseries

pytestmark = pytest.mark.serial
HERE = Path(__file__).resolve().parent
TINY = HERE / "data" / "tiny_2d.toml"
GOLD = HERE / "data" / "gold_tiny_2d_fixed_step"  # holds timeseries.csv
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1",
       "PYTHONPATH": str(HERE.parent)}


def anodex(*args, ranks=1, check=True):
    cmd = [sys.executable, "-m", "anodex.cli", *map(str, args)]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "anodex.cli",
               *map(str, args)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=900)
    if check and res.returncode != 0:
        raise AssertionError(f"{cmd} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def digest(directory):
    """Every file under directory (the checkpoint's parts too) by content."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    anodex("run", TINY, "-o", out)
    return out


def test_run_writes_a_complete_result(tiny_run):
    names = {p.name for p in tiny_run.iterdir()}
    assert {"case.toml", "metadata.json", "status.json", "timeseries.csv", "eta.xdmf", "eta.h5",
            "c.xdmf", "phi.xdmf", "run.log"} <= names
    status = json.loads((tiny_run / "status.json").read_text())
    assert status["status"] == "completed" and "end time" in status["reason"]
    meta = json.loads((tiny_run / "metadata.json").read_text())
    for key in ("anodex", "versions", "mpi_ranks", "host", "git_sha", "command_line", "seed",
                "wall_time_s", "time_split_s", "scales", "published_form"):
        assert key in meta, key
    assert meta["seed"] == 7 and meta["mpi_ranks"] == 1
    assert {"dolfinx", "petsc", "mpi4py", "mpi_library"} <= set(meta["versions"])
    rows = read_timeseries(tiny_run)
    assert rows[-1]["t_s"] == pytest.approx(0.3)
    assert rows[-1]["deposit_thickness_m"] > rows[0]["deposit_thickness_m"]


def test_fields_open_with_named_arrays_in_si_units(tiny_run):
    import meshio
    last = {}
    for name in ("eta", "c", "phi"):
        with meshio.xdmf.TimeSeriesReader(tiny_run / f"{name}.xdmf") as reader:
            points, _ = reader.read_points_cells()
            times = [reader.read_data(k)[0] for k in range(reader.num_steps)]
            last[name] = reader.read_data(reader.num_steps - 1)[1][name].ravel()
        assert times == pytest.approx([0.0, 0.1, 0.2, 0.3]), name
        # coordinates in metres: the domain is 20 um x 10 um
        assert points[:, 0].max() == pytest.approx(20e-6) and points[:, 1].max() == pytest.approx(10e-6)
    assert -0.02 < last["eta"].min() and last["eta"].max() < 1.02
    # applied potential on the electrode face, in V
    on_electrode = points[:, 0] == 0.0
    assert np.allclose(last["phi"][on_electrode], -0.45, atol=1e-12)
    assert last["phi"].min() == pytest.approx(-0.45, abs=1e-6)
    # at the reservoir w = 0: c0 = 0.067159 sites x (c_s/dv = 13986 mol/m^3) = 939.3 mol/m^3
    on_reservoir = points[:, 0] == pytest.approx(20e-6)
    assert np.allclose(last["c"][on_reservoir], 939.3, rtol=1e-3)
    # (migration piles ions up ahead of the -0.45 V electrode: c peaks above c0)
    assert last["c"].min() >= -1e-9 * last["c"].max()


def test_resolved_case_reruns_identically(tiny_run, tmp_path):
    res = anodex("check", tiny_run / "case.toml")
    assert "OK" in res.stdout


def test_existing_output_is_never_overwritten(tiny_run):
    before = digest(tiny_run)
    res = anodex("run", TINY, "-o", tiny_run, check=False)
    assert res.returncode == 2
    assert "not empty" in res.stderr and "--overwrite" in res.stderr
    assert digest(tiny_run) == before


def test_bad_case_fails_before_any_output(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[electrolyte]\nconductivity = "-1 S/m"\n')
    res = anodex("run", bad, "-o", tmp_path / "out", check=False)
    assert res.returncode == 2
    assert str(bad) in res.stderr and "[electrolyte] conductivity" in res.stderr
    assert not (tmp_path / "out").exists()


def test_info_lists_the_stack():
    out = anodex("info").stdout
    for word in ("anodex", "dolfinx", "basix", "ufl", "ffcx", "petsc", "petsc4py", "mpi4py",
                 "mpi_library", "adios2", "jit cache"):
        assert word in out


COMPARED = ["t_s", "dt_s", "deposit_thickness_m", "tip_position_m", "electrode_current_A_m2",
            "reservoir_current_A_m2", "charge_C_m2", "metal_content_mol_m2"]


@pytest.fixture(scope="module")
def fixed_step_serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("fixed") / "n1"
    anodex("run", TINY, "-o", out, *FIXED_STEP)
    return read_timeseries(out)


# A fixed step: with adaptive steps two runs that differ by roundoff can take
# different accept/reject decisions near the threshold, and rows stop lining up.
# The horizon is short (10 steps): this front is unstable (coarse grid,
# noise), and any perturbation of an instability grows, roundoff included.
FIXED_STEP = ["--set", "time.error_tolerance=0", "--set", 'time.dt_max="0.01 s"',
              "--set", 'time.dt_min="0.01 s"', "--set", 'time.end="0.1 s"']
# The electrode-face current is carried by a metal 8e5 times more conductive
# than the electrolyte: a potential difference at Newton tolerance (~3e-9 V)
# shows up in it amplified, so it is compared more loosely.
TOLERANCE = {"electrode_current_A_m2": 1e-4}


def assert_same_series(reference, other):
    """Same steps; every compared column equal within its tolerance (relative
    to the column's largest magnitude)."""
    assert len(reference) == len(other) == 11
    for col in COMPARED:
        a = np.array([r[col] for r in reference])
        b = np.array([r[col] for r in other])
        scale = np.abs(a).max()
        assert np.abs(a - b).max() <= TOLERANCE.get(col, 1e-6) * scale, (col, np.abs(a - b).max(), scale)


@pytest.mark.parametrize("ranks", [2, 3])
def test_time_series_independent_of_rank_count(fixed_step_serial, tmp_path, ranks):
    """Same case (with noise) on 1 and N ranks: same steps, same integrals to
    solver tolerance."""
    out = tmp_path / f"n{ranks}"
    anodex("run", TINY, "-o", out, *FIXED_STEP, ranks=ranks)
    assert_same_series(fixed_step_serial, read_timeseries(out))


def test_a_two_rank_run_repeats_exactly(tmp_path):
    """The same 2-rank run twice (noise, adaptive steps, the fieldsplit
    solver): the same number of steps, the same Newton and Krylov counts
    (so the same accept/reject decisions), the times and step sizes to
    1e-12 of the largest, every other column to 1e-9 of its largest
    magnitude.  With PT-Scotch on several threads the mesh partition changed
    from run to run, and so did the Krylov counts and the accept/reject
    decisions.  Bit-for-bit equality is not asserted: on Debian unstable
    (dolfinx 0.11) 1 of 5 repeats differed in the 16th digit of the
    reservoir current at step 0, growing to 1.4e-11 of the charge by the
    end, with the same partition and step sequence (measured; not traced
    to its source, a summation order that depends on more than the data);
    in a later CI run the step sizes, chosen from the error estimate,
    carried that round-off into the last digits of t_s."""
    series = []
    for k in range(2):
        out = tmp_path / f"repeat{k}"
        anodex("run", TINY, "-o", out, "--set", 'solver.preset="fieldsplit"', ranks=2)
        series.append(read_timeseries(out))
    first, second = series
    assert len(first) == len(second)
    exact, times = ("step", "newton_its", "krylov_its"), ("t_s", "dt_s")
    for col in first[0]:
        if col == "wall_s":
            continue
        a = np.array([r[col] for r in first])
        b = np.array([r[col] for r in second])
        if col in exact:
            assert np.array_equal(a, b), col
        else:
            scale = np.nanmax(np.abs(a), initial=0.0)
            tol = 1e-12 if col in times else 1e-9
            assert np.allclose(a, b, rtol=0, atol=tol * scale, equal_nan=True), col


def test_time_series_matches_gold_on_this_dolfinx(fixed_step_serial):
    """The fixed-step tiny case against one committed time series (made with
    dolfinx 0.5.2 by `anodex run tests/data/tiny_2d.toml` with FIXED_STEP):
    every dolfinx generation that CI runs must reproduce it to solver
    tolerance.  Regenerate only for an intended change of the physics."""
    assert_same_series(read_timeseries(GOLD), fixed_step_serial)


def test_a_run_that_gives_up_says_why(tmp_path):
    """An unattainable Newton tolerance: the step is cut down to dt_min, then
    the run stops as failed, with the reason, its last state and exit code 1."""
    out = tmp_path / "hopeless"
    res = anodex("run", TINY, "-o", out, "--set", "solver.newton_tolerance=1e-15",
                 "--set", "solver.max_newton_iterations=3", "--set", 'time.dt_min="0.001 s"',
                 check=False)
    assert res.returncode == 1
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed"
    assert "Newton failed" in status["reason"] and "dt_min" in status["reason"]
    log = (out / "run.log").read_text()
    assert "cutting dt" in log and "DIVERGED_MAX_IT" in log


def test_a_listing_into_a_closed_pipe_ends_quietly():
    """`anodex materials | head`: the reader closes the pipe early; the
    listing ends as any Unix tool's does (SIGPIPE, no message).  Before,
    PETSc's signal handler printed 'Caught signal number 13 Broken Pipe'
    and MPI_ABORT (exit 59)."""
    res = subprocess.run(f"{sys.executable} -m anodex.cli materials | true", shell=True,
                         capture_output=True, text=True, env=ENV, cwd=HERE.parent, timeout=300)
    assert "PETSC ERROR" not in res.stderr and "MPI_ABORT" not in res.stderr, res.stderr[-2000:]
