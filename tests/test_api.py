"""The Python interface (docs/python-api.md): its code blocks run as written,
and the objects behave as documented."""
import re
from pathlib import Path

import pytest

import anodex

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.serial  # (runs anodex on 2 ranks through mpiexec)


def test_the_documented_examples_run(tmp_path, monkeypatch):
    """Every ```python block of docs/python-api.md, in order, in one namespace
    (their own asserts included); then the 2-rank run against the 1-rank
    run of the same case."""
    (tmp_path / "cases").symlink_to(ROOT / "cases")
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "python-api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    ns = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/python-api.md block {i + 1}", "exec"), ns)
    one, two = ns["one"], ns["two"]
    assert one.metadata["mpi_ranks"] == 1 and two.metadata["mpi_ranks"] == 2
    a, b = one.timeseries, two.timeseries
    assert list(a["step"]) == list(b["step"])
    for column in ("collector_current_A_m2", "metal_mol_m2"):
        assert b[column].to_numpy() == pytest.approx(a[column].to_numpy(), rel=1e-6, abs=1e-12)
    # the field read back is the run's: eta between 0 and 1 and some metal
    points, t, eta = one.field("eta")
    assert t == pytest.approx(4.0) and len(points) == len(eta) == 31 * 31
    assert 0.05 < (eta > 0.5).mean() < 0.95


def test_set_validates_the_whole_case_and_leaves_it_unchanged_on_error():
    case = anodex.Case.from_file(ROOT / "cases" / "li_llzo.toml")
    assert case.si["collector"]["potential"] == pytest.approx(-0.1)
    assert case.set("collector.potential", "-250 mV") is case
    assert case.si["collector"]["potential"] == pytest.approx(-0.25)
    assert case.raw["collector"]["potential"] == "-250 mV"
    # errors name the call, not the command line's --set
    with pytest.raises(anodex.CaseError, match=r'case\.set\("time\.end", \.\.\.\): .*needs s'):
        case.set("time.end", "3 V")
    with pytest.raises(anodex.CaseError, match=r'case\.set\("collector\.potentail", '
                                               r'\.\.\.\): unknown key'):
        case.set("collector.potentail", "-0.2 V")
    with pytest.raises(anodex.CaseError, match="section.key"):
        case.set("potential", "-0.2 V")
    # (a block's check of a key set in Python too)
    with pytest.raises(anodex.CaseError, match=r'case\.set\("protocol\.steps", \.\.\.\): '
                                               r'\[protocol\] steps\[0\]: .*a potential \(V\)'):
        case.set("protocol.steps", ["Plate at 1 mV for 60 s"])
    # keys that must change together: one at a time is refused, both at once pass
    with pytest.raises(anodex.CaseError, match="cells"):
        case.set("geometry.kind", "interval")
    case.update({"geometry.kind": "interval", "geometry.cells": [50]})
    assert case.si["geometry"]["cells"] == [50]
    # a key with no effect in 1-D warns; None removes it (its default again)
    assert any("height" in w for w in case.warnings)
    case.update({"geometry.height": None})
    assert not any("height" in w for w in case.warnings)
    case.update({"geometry.kind": "rectangle", "geometry.cells": [120, 120],
                 "geometry.height": "30 um"})
    # the failed calls changed nothing
    assert case.si["collector"]["potential"] == pytest.approx(-0.25)
    assert case.overrides == {"collector.potential": "-250 mV", "geometry.kind": "rectangle",
                              "geometry.cells": [120, 120], "geometry.height": "30 um"}
    default = anodex.Case.from_file()
    assert default.file is None and default.source == "<default case>"


def test_run_refuses_a_directory_that_is_not_a_run_before_writing(tmp_path):
    """... naming the arguments of anodex.run, not the command line's flags."""
    (tmp_path / "notes.txt").write_text("mine")
    case = anodex.Case.from_file(ROOT / "cases" / "li_llzo.toml")
    with pytest.raises(anodex.CaseError, match="not empty; choose another with outdir or pass "
                                               "overwrite=True"):
        anodex.run(case, tmp_path)
    with pytest.raises(anodex.CaseError, match="overwrite=True refused: it does not hold an "
                                               "anodex run.*nothing was deleted"):
        anodex.run(case, tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    big = anodex.Case.from_file(ROOT / "cases" / "li_llzo.toml").set("geometry.cells",
                                                                      [20000, 20000])
    with pytest.raises(anodex.CaseError, match="ignore_memory_limit=True"):
        anodex.run(big, tmp_path / "big")
    with pytest.raises(ValueError, match="ranks"):
        anodex.run(case, tmp_path / "x", ranks=0)


def test_load_names_what_is_not_a_run(tmp_path):
    with pytest.raises(anodex.RunError, match="not an anodex run directory"):
        anodex.load(tmp_path)


def test_version_is_the_package_version():
    text = (ROOT / "pyproject.toml").read_text()
    assert anodex.__version__ == re.search(r'^version = "(.+)"$', text, re.M).group(1)


@pytest.mark.serial
def test_an_installed_copy_imports_as_anodex_alone(tmp_path):
    """`pip install .` into a fresh target: one top-level package, anodex,
    with the post-processing inside it; it imports and runs from outside the
    checkout (`anodex --version`, `python -m anodex.postprocess.plot_run`,
    and the summary `anodex sweep summarize` loads)."""
    import os
    import subprocess
    import sys
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    top = {p.name for p in target.iterdir() if not p.name.endswith(".dist-info")}
    assert top - {"bin"} == {"anodex"}, top
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = ("import anodex, anodex.cli\n"
             "print(anodex.__file__)\n"
             "print(anodex.cli.postprocess_module('summarize').__name__)\n")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    where, summarize = res.stdout.split()
    assert Path(where).is_relative_to(target) and summarize == "anodex.postprocess.summarize"
    res = subprocess.run([sys.executable, "-m", "anodex.cli", "--version"], capture_output=True,
                         text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0 and res.stdout.strip() == f"anodex {anodex.__version__}", res
    res = subprocess.run([sys.executable, "-m", "anodex.postprocess.plot_run", "--help"],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert res.returncode == 0 and "usage" in res.stdout, res.stderr[-2000:]


def test_an_interrupt_of_the_script_stops_its_mpi_run(tmp_path):
    """SIGINT to the Python process alone (Jupyter's "interrupt kernel") while
    anodex.run(..., ranks=2) runs: the processes get it too, write their
    checkpoint and stop; the script ends with KeyboardInterrupt long before
    the run's end (before, the run went on to its end)."""
    import json
    import signal
    import subprocess
    import sys
    import time
    script = tmp_path / "study.py"
    script.write_text(
        # (as a Jupyter kernel does: a pytest-xdist worker starts its children
        # with SIGINT ignored, and Python then keeps ignoring it)
        "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import anodex\n"
        f"case = anodex.Case.from_file({str(ROOT / 'cases' / 'li_llzo.toml')!r})\n"
        "case.update({'geometry.kind': 'interval', 'geometry.cells': [120]})\n"
        "case.set('time.end', '1000000 s').set('time.dt_max', '0.5 s')\n"
        "case.update({'checkpoint.every_steps': 0, 'checkpoint.every_wall': '1000000 s',\n"
        "             'output.field_interval': '1000000 s'})\n"
        f"anodex.run(case, {str(tmp_path / 'run')!r}, ranks=2, quiet=True)\n")
    proc = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    series = tmp_path / "run" / "timeseries.csv"
    deadline = time.time() + 120
    while (time.time() < deadline and proc.poll() is None
           and not (series.exists() and len(series.read_text().splitlines()) > 5)):
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "failed" and status["t_s"] < 1000
    assert status["reason"] in ("interrupted (SIGINT)", "terminated by SIGTERM")
    # no checkpoint is due before the end: the interrupt wrote this one, of
    # the last step with a row
    import numpy as np
    with np.load(tmp_path / "run" / "checkpoint.npz") as z:
        assert int(z["step"]) == status["steps"] == int(series.read_text().splitlines()[-1].split(",")[0])
