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
    with pytest.raises(anodex.CaseError, match=r"time\.end.*needs s"):
        case.set("time.end", "3 V")
    with pytest.raises(anodex.CaseError, match="unknown key"):
        case.set("collector.potentail", "-0.2 V")
    with pytest.raises(anodex.CaseError, match="section.key"):
        case.set("potential", "-0.2 V")
    # the failed calls changed nothing
    assert case.si["collector"]["potential"] == pytest.approx(-0.25)
    assert case.overrides == {"collector.potential": "-250 mV"}
    default = anodex.Case.from_file()
    assert default.file is None and default.source == "<default case>"


def test_run_refuses_a_directory_that_is_not_a_run_before_writing(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    case = anodex.Case.from_file(ROOT / "cases" / "li_llzo.toml")
    with pytest.raises(anodex.CaseError, match="does not hold an anodex run.*nothing was deleted"):
        anodex.run(case, tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(ValueError, match="ranks"):
        anodex.run(case, tmp_path / "x", ranks=0)


def test_load_names_what_is_not_a_run(tmp_path):
    with pytest.raises(anodex.RunError, match="not an anodex run directory"):
        anodex.load(tmp_path)


def test_version_is_the_package_version():
    import solver
    assert anodex.__version__ == solver.__version__
