"""The example block examples/blocks/heat.py is a whole installation (issue
35): copied into anodex/models/ of a scratch copy of the package, or put on
the path with an entry point of the group anodex.blocks, its [heat] section
runs with `anodex run`, and the steady temperatures match the closed form."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import read_timeseries

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "blocks"
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1"}

# heat.toml: L = 100 um in 40 cells, k = 1 W/(m K), q = 1e8 W/m^3,
# q_s = 1e4 W/m^2, T_c = 300 K
L, H, K, Q, Q_S, T_C = 100e-6, 100e-6 / 40, 1.0, 1e8, 1e4, 300.0


def closed_form():
    """Steady T(x) = T_c + q_s (L - x)/k + q (L^2 - x^2)/(2k): T(0) and the
    mean of the P1 interpolant, which for a 1-D profile is exact at the nodes
    and lies below the parabola by q h^2/(12 k) on average (the trapezoidal
    rule's error for u'' = -q/k)."""
    heated = T_C + Q_S * L / K + Q * L * L / (2 * K)
    mean = T_C + Q_S * L / (2 * K) + Q * L * L / (3 * K)
    return heated, mean - Q * H * H / (12 * K)


def _run(pythonpath, out, *extra, ranks=1):
    cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "anodex.cli",
           "run", str(EXAMPLE / "heat.toml"), "-o", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=out.parent,
                          env={**ENV, "PYTHONPATH": os.pathsep.join(map(str, pythonpath))})


def _check(out):
    assert json.loads((out / "status.json").read_text())["status"] == "completed"
    last = read_timeseries(out)[-1]
    heated, mean = closed_form()
    assert last["t_s"] == pytest.approx(0.5, rel=1e-12)
    assert abs(last["heated_temperature_K"] - heated) < 1e-6
    assert abs(last["mean_temperature_K"] - mean) < 1e-6
    assert (out / "temperature.xdmf").exists()


@pytest.mark.serial
def test_the_heat_block_dropped_into_the_package_runs_its_case(tmp_path):
    package = tmp_path / "copy"
    shutil.copytree(ROOT / "anodex", package / "anodex",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(EXAMPLE / "heat.py", package / "anodex" / "models" / "heat.py")
    for ranks in (1, 2):
        out = tmp_path / f"run{ranks}"
        res = _run([package], out, ranks=ranks)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
        _check(out)
    # the section is validated like any other, before anything runs
    res = _run([package], tmp_path / "bad", "--set", "heat.cooled_boundary=left")
    assert res.returncode != 0
    assert ("[heat] cooled_boundary: the geometry has no boundary 'left'; its boundaries: "
            "electrode, reservoir, bottom, top") in res.stderr
    assert not (tmp_path / "bad").exists()
    # a sweep over its keys expands and writes cluster jobs like any other
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'[sweep]\nname = "heat-flux"\nbase = "{EXAMPLE / "heat.toml"}"\n'
                     f'runs_dir = "{tmp_path / "runs"}"\nid = "q{{heat_flux}}"\n\n[vary]\n'
                     '"heat.heat_flux" = ["1e4 W/m^2", "2e4 W/m^2"]\n')
    for action in (["expand"], ["slurm", "--partition", "batch"]):
        res = subprocess.run([sys.executable, "-m", "anodex.cli", "sweep", *action, str(sweep)],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path,
                             env={**ENV, "PYTHONPATH": str(package)})
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert (tmp_path / "runs" / "heat-flux" / "slurm" / "array.sbatch").exists()
    assert len(list((tmp_path / "runs" / "heat-flux").glob("*/case.toml"))) == 2
    # a block module that cannot be imported stops anodex, naming it
    (package / "anodex" / "models" / "broken.py").write_text("import no_such_module\n")
    res = _run([package], tmp_path / "broken")
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert ("anodex: cannot load the block module anodex.models.broken: "
            "ModuleNotFoundError: No module named 'no_such_module'") in res.stderr
    # one that only one rank cannot import (a node without it) stops both
    # ranks with its reason (before, the other rank waited until killed)
    (package / "anodex" / "models" / "broken.py").write_text(
        "from mpi4py import MPI\n"
        "if MPI.COMM_WORLD.rank == 1:\n    raise ImportError('not on this node')\n")
    res = _run([package], tmp_path / "broken2", ranks=2)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert ("anodex: cannot load the block module anodex.models.broken: "
            "ImportError: not on this node") in res.stderr
    assert not (tmp_path / "broken2").exists()
    # and without the block the section is unknown
    res = _run([ROOT], tmp_path / "none")
    assert res.returncode != 0 and "unknown section [heat]" in res.stderr


@pytest.mark.serial
def test_the_heat_block_as_an_entry_point_of_another_package(tmp_path):
    """A distribution on the path whose entry_points.txt names the module in
    the group anodex.blocks (what `pip install` of a plugin package writes)."""
    site = tmp_path / "site"
    (site / "anodex_heat").mkdir(parents=True)
    shutil.copy(EXAMPLE / "heat.py", site / "anodex_heat" / "heat.py")
    (site / "anodex_heat" / "__init__.py").write_text("")
    info = site / "anodex_heat-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: anodex-heat\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[anodex.blocks]\nheat = anodex_heat.heat\n")
    out = tmp_path / "run"
    res = _run([site, ROOT], out)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    _check(out)
