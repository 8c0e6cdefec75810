"""Benchmark: the published Hong & Viswanathan (2018) case to a chosen time.

    mpirun -n 2 python -m mpi4py benchmarks/hong2018.py --end-time 20 [--set KEY=VALUE ...]

Runs cases/hong2018_li_dendrite.toml (or --case, e.g. the adaptive
cases/hong2018_adaptive.toml) through the normal `anodex run` path
into benchmarks/runs/<label>, then prints a Markdown record (machine,
versions, command, wall time, steps, rejected steps, Newton and Krylov
iterations, DOFs, peak memory per rank, time split and the physical
outputs) to append to benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sys
from pathlib import Path

from mpi4py import MPI

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from anodex.case import load_case  # noqa: E402
from anodex.cli import _overrides  # noqa: E402
from anodex.simulation import run_case  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--end-time", type=float, default=20.0, help="simulated seconds")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--label", default=None)
    ap.add_argument("--case", default=str(ROOT / "cases" / "hong2018_li_dendrite.toml"))
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    overrides = _overrides(args.set)
    overrides["time.end"] = f"{args.end_time} s"
    case = load_case(Path(args.case), overrides)
    label = args.label or f"t{args.end_time:g}-n{comm.size}"
    out = ROOT / "benchmarks" / "runs" / label
    result = run_case(case, out, overwrite=True, comm=comm, command_line=sys.argv)
    peak_mb = comm.gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, root=0)
    if comm.rank:
        return
    meta = json.loads((out / "metadata.json").read_text())
    with open(out / "timeseries.csv") as f:
        rows = list(csv.DictReader(f))
    steps = len(rows) - 1
    newton = sum(int(r["newton_its"]) for r in rows)
    krylov = sum(int(r["krylov_its"]) for r in rows)
    last = rows[-1]
    v = meta["versions"]
    split = meta["time_split_s"]
    wall = meta["wall_time_s"]
    t_end = float(last["t_s"])
    reached = [f"t = {m:g} s: {float(next(r for r in rows if float(r['t_s']) >= m)['wall_s']):.0f} s"
               for m in (1, 10, 100, 400) if m <= t_end * (1 + 1e-9)]
    stepping = wall - meta.get("setup_time_s", 0.0)
    meshes = meta.get("adaptations", [])
    dofs = (f"{meta['dofs']}" if not meshes else
            f"{min(m['dofs'] for m in meshes)} to {max(m['dofs'] for m in meshes)} over "
            f"{len(meshes) - 1} adaptations ({meshes[0]['dofs']} at t = 0, {meshes[-1]['dofs']} "
            f"at the end)")
    adapting = f", adaptation {split['adaptation']:.1f} s" if "adaptation" in split else ""
    current = next((f", {name} current {float(last[col]) / 10:.1f} mA/cm^2" for name, col in
                    (("electrode", "electrode_current_A_m2"),
                     ("collector", "collector_current_A_m2")) if col in last), "")
    print(f"""
### Hong 2018, t = {t_end:g} s, {comm.size} rank(s) — {label}

- machine: {platform.node()}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}
- versions: anodex {meta['anodex']}, dolfinx {v['dolfinx']}, PETSc {v['petsc']}, {v['mpi_library']}
- command: `mpirun -n {comm.size} python -m mpi4py benchmarks/hong2018.py --end-time {args.end_time:g} {'--case ' + os.path.relpath(args.case, ROOT) + ' ' if args.case != str(ROOT / 'cases' / 'hong2018_li_dendrite.toml') else ''}{' '.join('--set ' + s for s in args.set)}`
- status: {result['status']} ({result['reason']})
- DOFs: {dofs}; steps: {steps} accepted, {result['rejected_steps']} rejected, {result['failed_solves']} failed Newton solves; mean accepted dt {t_end / max(steps, 1):.3g} s
- Newton iterations: {newton} ({newton / max(steps, 1):.2f} per accepted step, counting rejected and failed attempts); Krylov: {krylov} ({krylov / max(newton, 1):.1f} per Newton iteration)
- wall time: {wall:.1f} s ({wall / max(t_end, 1e-30):.1f} s per simulated second; projected to t = 400 s: {wall / max(t_end, 1e-30) * 400 / 3600:.2f} h at the same rate); set-up {meta.get('setup_time_s', 0.0):.1f} s, then {stepping / max(steps, 1):.2f} s per accepted step, {stepping / max(newton, 1):.3f} s per Newton iteration
- wall time to {'; '.join(reached) or '-'}
- time split (rank 0): assembly {split['assembly']:.1f} s, preconditioner set-up {split['preconditioner_setup']:.1f} s ({split['factorizations']} factorizations), rest of the linear solves {split['linear_solve']:.1f} s, output {split['output']:.1f} s{adapting}
- peak memory per rank: {', '.join(f'{m:.0f} MB' for m in peak_mb)}
- physics at t = {t_end:g} s: deposit thickness {float(last['deposit_thickness_m']) * 1e6:.3f} um, tip at {float(last['tip_position_m']) * 1e6:.3f} um{current}
""")


if __name__ == "__main__":
    main()
