"""The hostile-input corpus (tests/hostile_corpus.py), each input in a fresh
scratch tree: $HOME/proj is the user's project and the current directory.

Every input must be refused with the expected exit status, without a Python
traceback, with a message under MAX_MESSAGE bytes that names the file (or
option) and the key, and with nothing in the scratch tree created, changed
or deleted.  Output-directory and checkpoint inputs run on 1 and 2 ranks."""
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_corpus import CORPUS, case_text

pytestmark = pytest.mark.serial
ROOT = Path(__file__).resolve().parents[1]
MAX_MESSAGE = 4096  # bytes of stdout + stderr (without mpirun's own notices)


def snapshot(top: Path) -> dict:
    """path -> (kind, mode, size, sha256 or link target) of everything below top."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[str(p)] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[str(p)] = ("dir", st.st_mode)
            else:
                out[str(p)] = ("file", st.st_mode, st.st_size,
                               hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@pytest.fixture(scope="module")
def template_run(tmp_path_factory):
    """A genuine finished 1-D run (the base case of the corpus)."""
    top = tmp_path_factory.mktemp("template")
    (top / "case.toml").write_text(case_text())
    subprocess.run([sys.executable, "-m", "anodex.cli", "run", top / "case.toml", "-o",
                    top / "run"], check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    return top / "run"


def anodex_command(argv, ranks):
    cli = [sys.executable, "-m", "anodex.cli"] if ranks == 1 else [
        "mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "anodex.cli"]
    return cli + argv


def mpirun_notice(text):
    """Open MPI's own report of a non-zero exit (not anodex's message)."""
    keep, skipping = [], False
    for line in text.splitlines():
        if line.startswith("-----"):
            skipping = not skipping
            continue
        if not skipping:
            keep.append(line)
    return "\n".join(keep)


# The 2-rank runs of an input (mpirun: 2-3 s each) are slow: their code is
# anodex's own MPI handling, the same on every dolfinx, so the chroot legs
# (make test-compat) run each input on 1 rank only; Debian 12 runs both.
CASES = [pytest.param(h, n, id=f"{h.id}-n{n}", marks=[pytest.mark.slow] if n > 1 else [])
         for h in CORPUS for n in h.ranks]


def test_the_corpus_is_large_and_varied():
    assert len(CORPUS) >= 100
    assert len({h.id for h in CORPUS}) == len(CORPUS)
    kinds = {h.argv[0] + (" " + h.argv[1] if h.argv[0] == "sweep" else "") for h in CORPUS}
    assert {"run", "check", "sweep expand", "sweep run"} <= kinds
    assert sum(2 in h.ranks for h in CORPUS) >= 30


@pytest.mark.parametrize("hostile,ranks", CASES)
def test_hostile_input_is_refused_cleanly(hostile, ranks, tmp_path, template_run):
    scratch = tmp_path / "scratch"
    home = scratch / "home"
    project = home / "proj"
    project.mkdir(parents=True)
    (project / "notes.txt").write_text("the user's own notes\n")
    for rel, content in hostile.files.items():
        f = project / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(content.encode() if isinstance(content, str) else content)
    run = project / "runs" / "earlier"
    if hostile.needs_run:
        shutil.copytree(template_run, run)
    if hostile.prepare:
        hostile.prepare(project, run)
    subst = {"{p}": str(project), "{home}": str(home), "{run}": str(run)}

    def fill(text):
        for k, v in subst.items():
            text = text.replace(k, v)
        return text

    repo_runs = (ROOT / "runs").exists()
    before = snapshot(scratch)
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(ROOT),
           "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(anodex_command([fill(a) for a in hostile.argv], ranks),
                         capture_output=True, cwd=project, env=env, timeout=300)
    out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
    message = mpirun_notice(out) if ranks > 1 else out
    assert res.returncode == hostile.code, message[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "PETSC ERROR" not in out, out[-3000:]
    assert len(message.encode()) < MAX_MESSAGE, (len(message.encode()), message[:3000])
    for fragment in hostile.mentions:
        assert fill(fragment) in message, (fill(fragment), message[:3000])
    assert snapshot(scratch) == before, "the scratch tree changed"
    assert (ROOT / "runs").exists() == repo_runs
