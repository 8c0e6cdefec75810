"""SLURM job-array scripts for an expanded sweep.

`anodex sweep slurm SWEEP` writes, into <sweep dir>/slurm/:

* prewarm.sbatch: one small job that compiles the forms every case needs
  into <sweep dir>/jit-cache (`anodex sweep prewarm`: the residuals take
  their parameters as Constants, so cases that differ only in values share
  one compilation);
* array.sbatch: `--array=0-(K-1)%M`; task i reads row i of manifest.csv,
  copies the pre-warmed cache to node-local scratch (its own XDG_CACHE_HOME:
  no two tasks write one cache), then `srun` runs the case, or continues it
  from its checkpoint, or skips it when it has completed;
* submit.sh: submits the pre-warm job and the array after it
  (`--dependency=afterok`).

`anodex sweep status SWEEP` refreshes the manifest from the cases'
status.json files afterwards.

Every script asks for memory per CPU (the largest case's estimate,
memory.estimate, with MEMORY_MARGIN, unless given), sets OMP_NUM_THREADS=1
after the site's environment lines (--setup), and carries the site's
account, QOS, GRES and any further #SBATCH lines.  The array tasks are
requeued after a node failure or preemption and receive SIGTERM
SIGNAL_LEAD_S before their time limit: the run then ends as "terminated by
SIGTERM" with its last checkpoint, which the requeued or resubmitted task
continues.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .sweep import read_manifest

MEMORY_MARGIN = 1.5  # over memory.estimate: it is an estimate
SIGNAL_LEAD_S = 120
# SLURM's --time forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S
_TIME = re.compile(r"\d+(:\d{1,2}){0,2}|\d+-\d+(:\d{1,2}){0,2}")
# the keys a site file (--site FILE, TOML) may give: the Site fields
SITE_KEYS = ("time_limit", "partition", "account", "qos", "gres", "mem_per_cpu", "sbatch",
             "setup", "image", "local_scratch", "srun_args", "binds")


def _time_problem(limit: str) -> str | None:
    """Why limit is not a SLURM time limit, or None."""
    if not _TIME.fullmatch(limit):
        return "not a SLURM time limit"
    days, _, clock = limit.rpartition("-")
    parts = [int(x) for x in clock.split(":")]
    if days:  # D-H, D-H:M, D-H:M:S: hours below 24, minutes and seconds below 60
        limits = (24, 60, 60)
    else:  # M, M:S, H:M:S
        limits = {1: (None,), 2: (None, 60), 3: (None, 60, 60)}[len(parts)]
    for value, top in zip(parts, limits):
        if top is not None and value >= top:
            return f"{value} is out of range (hours < 24 after a day count, minutes and " \
                   "seconds < 60)"
    units = (3600, 60, 1) if days else {1: (60,), 2: (60, 1), 3: (3600, 60, 1)}[len(parts)]
    seconds = int(days or 0) * 86400 + sum(v * u for v, u in zip(parts, units))
    if seconds <= SIGNAL_LEAD_S:
        return (f"{seconds} s, not more than the {SIGNAL_LEAD_S} s before the limit at which "
                "the job is told to checkpoint and stop (--signal=TERM@"
                f"{SIGNAL_LEAD_S}): the run would have no time")
    return None


class SlurmError(ValueError):
    """An option the scripts cannot be written with (the message says which)."""


@dataclass
class Site:
    """What a cluster asks of every job: `anodex sweep slurm` options."""
    time_limit: str = "01:00:00"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gres: str | None = None
    mem_per_cpu: str | None = None  # e.g. "4G"; None: from the memory estimate
    sbatch: list = field(default_factory=list)  # further #SBATCH options, "--constraint=x"
    setup: list = field(default_factory=list)  # shell lines: module load, conda activate
    image: str | None = None  # Apptainer image
    local_scratch: str = "${TMPDIR:-/tmp}"
    srun_args: str = ""
    binds: list = field(default_factory=list)  # further directories the image must see

    def check(self):
        problem = _time_problem(self.time_limit)
        if problem:
            raise SlurmError(f"--time {self.time_limit!r}: {problem}; use minutes, "
                             "H:M:S or D-H:M:S, e.g. 02:00:00 or 1-00:00:00")
        missing = [b for b in self.binds if not Path(b).is_dir()]
        if missing:
            raise SlurmError(f"--bind {missing[0]}: no such directory")
        if self.image is not None and not Path(self.image).is_file():
            raise SlurmError(f"--image {self.image}: no such file (an Apptainer .sif image)")
        if self.mem_per_cpu is not None and not re.fullmatch(r"\d+[KMGT]?", self.mem_per_cpu):
            raise SlurmError(f"--mem-per-cpu {self.mem_per_cpu!r}: a size such as 4000M or 4G")
        bad = [s for s in self.sbatch if not s.startswith("--") or "\n" in s]
        if bad:
            raise SlurmError(f"--sbatch {bad[0]!r}: an sbatch option such as --constraint=skylake")


def _sbatch_header(name, ntasks, site: Site, log, memory):
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}", f"#SBATCH --ntasks={ntasks}",
             f"#SBATCH --time={site.time_limit}", f"#SBATCH --output={log}",
             f"#SBATCH --mem-per-cpu={memory}"]
    for option, value in (("partition", site.partition), ("account", site.account),
                          ("qos", site.qos), ("gres", site.gres)):
        if value:
            lines.append(f"#SBATCH --{option}={value}")
    lines += [f"#SBATCH {s}" for s in site.sbatch]
    return lines


def _environment(site: Site) -> list:
    return ["set -euo pipefail", *site.setup, "export OMP_NUM_THREADS=1"]


def read_site_file(path) -> dict:
    """A site file: TOML with any of SITE_KEYS (time_limit also as "time"),
    e.g. account = "proj42", setup = ["module load openmpi"]."""
    import tomllib
    try:
        data = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise SlurmError(f"--site {path}: no such file (a TOML file of the cluster's settings, "
                         "e.g. account = \"proj42\")") from None
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SlurmError(f"--site {path}: {e}") from None
    if "time" in data:
        data["time_limit"] = data.pop("time")
    unknown = sorted(set(data) - set(SITE_KEYS))
    if unknown:
        raise SlurmError(f"--site {path}: unknown key {unknown[0]!r}; valid keys: time, "
                         + ", ".join(k for k in SITE_KEYS if k != "time_limit"))
    for key, value in data.items():
        lists = key in ("sbatch", "setup", "binds")
        if (lists and not (isinstance(value, list) and all(isinstance(v, str) for v in value))) \
                or (not lists and not isinstance(value, str)):
            raise SlurmError(f"--site {path}: {key} = {value!r}: "
                             + ("a list of strings" if lists else "a string"))
    return data


def memory_per_cpu(directory, rows, ranks) -> str:
    """The largest case's memory estimate per rank, with MEMORY_MARGIN, in MB."""
    from .case import load_case
    from .memory import estimate
    need = max(estimate(load_case(directory / r["id"] / "case.toml"), ranks) for r in rows)
    return f"{int(MEMORY_MARGIN * need / ranks / 2 ** 20) + 1}M"


def files_read(directory, rows) -> set:
    """The directories, outside the sweep's, of the files its cases read
    (mesh files): the container must see them too."""
    from .case import load_case
    out = set()
    for r in rows:
        mesh = load_case(directory / r["id"] / "case.toml").si["geometry"]["file"]
        if mesh:
            parent = Path(mesh).resolve().parent
            if not parent.is_relative_to(Path(directory).resolve()):
                out.add(str(parent))
    return out


def _task_body(site: Site, d: Path, anodex: str) -> list:
    """The array task's shell lines: its case from the manifest, a node-local
    JIT cache, then run, continue or skip the case, recording a failed exit."""
    q, local_scratch, srun_args = shlex.quote, site.local_scratch, site.srun_args
    return [
        *_environment(site),
        f"SWEEP_DIR={q(str(d))}",
        "# row i + 2 of the manifest (after the header); ids have no commas or quotes",
        'ID=$(sed -n "$((SLURM_ARRAY_TASK_ID + 2))p" "$SWEEP_DIR/manifest.csv" | cut -d, -f1)',
        'CASE_DIR="$SWEEP_DIR/$ID"',
        "# node-local JIT cache for this task, seeded from the pre-warmed one",
        f'export XDG_CACHE_HOME="{local_scratch}/anodex-jit-${{SLURM_JOB_ID}}-${{SLURM_ARRAY_TASK_ID}}"',
        'mkdir -p "$XDG_CACHE_HOME"',
        'if [ -d "$SWEEP_DIR/jit-cache" ]; then cp -r "$SWEEP_DIR/jit-cache/." "$XDG_CACHE_HOME/"; fi',
        'if grep -qs \'"status": "\\(completed\\|stopped\\)"\' "$CASE_DIR/status.json"; then',
        '  echo "case $ID already finished"; exit 0',
        "fi",
        'if [ -f "$CASE_DIR/checkpoint.npz" ]; then',
        '  ARGS=(run --restart "$CASE_DIR")',
        'elif [ -f "$CASE_DIR/status.json" ]; then',
        '  ARGS=(run --rerun "$CASE_DIR")',
        "else",
        '  ARGS=(run "$CASE_DIR/case.toml" -o "$CASE_DIR")',
        "fi",
        "# a task that ends without the run's own status (refused, killed: out of",
        "# memory) leaves its exit code for `anodex sweep status`",
        'rm -f "$CASE_DIR/task_exit"',
        "CODE=0",
        f'srun {srun_args + " " if srun_args else ""}{anodex} "${{ARGS[@]}}" || CODE=$?',
        'if [ "$CODE" -ne 0 ]; then',
        '  echo "$CODE ${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID} $SLURM_ARRAY_TASK_ID" > "$CASE_DIR/task_exit"',
        '  rm -rf "$XDG_CACHE_HOME"; exit "$CODE"',
        "fi",
        'rm -rf "$XDG_CACHE_HOME"', ""]


def write_scripts(sweep, ranks=1, site: Site | None = None, max_parallel=None) -> dict:
    """Write the scripts; returns {name: path}.  SlurmError for a bad option."""
    site = site or Site()
    site.check()
    d = sweep.directory
    rows = read_manifest(d)
    out = d / "slurm"
    out.mkdir(exist_ok=True)
    q = shlex.quote
    memory = site.mem_per_cpu or memory_per_cpu(d, rows, ranks)
    image, local_scratch = site.image, site.local_scratch
    # the pre-warm job reads the sweep file and its base case where they lie
    inputs = {str(Path(f).resolve().parent) for f in (sweep.source, sweep.base)}
    binds = [str(d), *sorted((set(site.binds) | files_read(d, rows) | inputs) - {str(d)})]
    anodex = (f"apptainer exec {' '.join(f'--bind {q(b)}' for b in binds)} "
              f"--bind \"{local_scratch}\" {q(str(Path(image).resolve()))} anodex"
              if image else "anodex")
    array = f"0-{len(rows) - 1}" + (f"%{max_parallel}" if max_parallel else "")
    sweep_file = sweep.source  # (the copy in the sweep directory has relative paths)

    prewarm = _sbatch_header(f"{sweep.name}-prewarm", 1, site, out / "prewarm-%j.out",
                             site.mem_per_cpu or memory_per_cpu(d, rows, 1))
    prewarm += [*_environment(site),
                f"export XDG_CACHE_HOME={q(str(d / 'jit-cache'))}",
                f"{anodex} sweep prewarm {q(str(sweep_file))}", ""]

    task = _sbatch_header(sweep.name, ranks, site, out / "%A_%a.out", memory)
    task.insert(2, f"#SBATCH --array={array}")
    task[3:3] = ["#SBATCH --requeue", f"#SBATCH --signal=TERM@{SIGNAL_LEAD_S}"]
    task += _task_body(site, d, anodex)

    submit = ["#!/bin/bash", "# submit the pre-warm job, then the array after it", "set -euo pipefail",
              f"cd {q(str(out))}",
              "JID=$(sbatch --parsable prewarm.sbatch)",
              'sbatch --dependency=afterok:"$JID" array.sbatch', ""]
    paths = {}
    for name, lines in (("prewarm.sbatch", prewarm), ("array.sbatch", task), ("submit.sh", submit)):
        p = out / name
        p.write_text("\n".join(lines))
        p.chmod(0o755)
        paths[name] = p
    return paths


def prewarm(sweep, log=print):
    """Compile the forms of each distinct model of the sweep (its blocks, the
    mesh kind and the blocks' form_keys) by running one step of a
    representative case in a scratch directory; the JIT cache is wherever
    XDG_CACHE_HOME points."""
    import tempfile

    from mpi4py import MPI

    from .case import validate
    from .simulation import run_case
    seen = set()
    for cid, _, data in sweep.cases:
        case = validate(data, cid)
        blocks = case.model.blocks
        key = (tuple(b.name for b in blocks), case.si["geometry"]["kind"],
               *(case.si[section][k] for b in blocks for section, k in b.form_keys))
        if key in seen:
            continue
        seen.add(key)
        one_step = dict(data)
        one_step["time"] = {**data.get("time", {}),
                            "end": case.raw["time"]["dt_initial"]}
        with tempfile.TemporaryDirectory() as tmp:
            run_case(validate(one_step, cid), Path(tmp) / "run", comm=MPI.COMM_SELF)
        log(f"[prewarm] compiled the forms of {cid} (model {key})")
    return len(seen)
