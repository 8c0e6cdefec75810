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
"""
from __future__ import annotations

import shlex
from pathlib import Path

from .sweep import read_manifest


def _sbatch_header(name, ntasks, time_limit, partition, log):
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}", f"#SBATCH --ntasks={ntasks}",
             f"#SBATCH --time={time_limit}", f"#SBATCH --output={log}"]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    return lines


def write_scripts(sweep, ranks=1, time_limit="01:00:00", partition=None, max_parallel=None,
                  image=None, local_scratch="${TMPDIR:-/tmp}", srun_args="") -> dict:
    """Write the scripts; returns {name: path}."""
    d = sweep.directory
    rows = read_manifest(d)
    out = d / "slurm"
    out.mkdir(exist_ok=True)
    q = shlex.quote
    anodex = f"apptainer exec {q(str(image))} anodex" if image else "anodex"
    array = f"0-{len(rows) - 1}" + (f"%{max_parallel}" if max_parallel else "")
    sweep_file = sweep.source  # (the copy in the sweep directory has relative paths)

    prewarm = _sbatch_header(f"{sweep.name}-prewarm", 1, time_limit, partition,
                             out / "prewarm-%j.out")
    prewarm += ["set -euo pipefail",
                f"export XDG_CACHE_HOME={q(str(d / 'jit-cache'))}",
                f"{anodex} sweep prewarm {q(str(sweep_file))}", ""]

    task = _sbatch_header(sweep.name, ranks, time_limit, partition, out / "%A_%a.out")
    task.insert(2, f"#SBATCH --array={array}")
    task += [
        "set -euo pipefail",
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
        f'srun {srun_args + " " if srun_args else ""}{anodex} "${{ARGS[@]}}"',
        'rm -rf "$XDG_CACHE_HOME"', ""]

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
    from .run import run_case
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
