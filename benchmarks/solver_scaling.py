"""Benchmark: Krylov iterations per Newton iteration of a case's linear
solver as the mesh is refined and the ranks grow (issue 37).

    python benchmarks/solver_scaling.py --case cases/li_instability.toml \
        --end-time 0.1 --cells 40,16 80,32 160,64 --ranks 1 [--set KEY=VALUE ...]

Runs each (cells, ranks) pair through `benchmarks/hong2018.py` (the normal
`anodex run` path, with mpirun for ranks > 1) into benchmarks/runs/, and
prints a Markdown table: unknowns, steps, failed Newton solves, Newton and
Krylov iterations, Krylov per Newton, wall time and peak memory per rank,
and the growth of Krylov per Newton against the first row.  With --after T
the iterations of the steps ending after T seconds are counted apart (a
start-up transient's clipped Newton iterations set the count before it).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(case, end, cells, ranks, sets, after):
    label = f"scaling-{Path(case).stem}-{'x'.join(cells.split(','))}-n{ranks}"
    cmd = [sys.executable, "-m", "mpi4py", str(ROOT / "benchmarks" / "hong2018.py"),
           "--case", case, "--end-time", str(end), "--label", label,
           "--set", f"geometry.cells=[{cells}]", "--set", "output.field_interval=1e9 s"]
    for s in sets:
        cmd += ["--set", s]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks)] + cmd
    record = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    out = ROOT / "benchmarks" / "runs" / label
    if record.returncode != 0 or not (out / "metadata.json").exists():
        raise SystemExit(f"{' '.join(cmd)} failed:\n{record.stderr[-3000:]}")
    meta = json.loads((out / "metadata.json").read_text())
    status = json.loads((out / "status.json").read_text())
    rows = list(csv.DictReader((out / "timeseries.csv").open()))
    newton = sum(int(r["newton_its"]) for r in rows)
    krylov = sum(int(r["krylov_its"]) for r in rows)
    late = [r for r in rows if float(r["t_s"]) > after]
    late_newton = sum(int(r["newton_its"]) for r in late)
    late_krylov = sum(int(r["krylov_its"]) for r in late)
    peak = [line for line in record.stdout.splitlines() if "peak memory" in line.lower()]
    return {"cells": cells, "ranks": ranks, "unknowns": meta.get("dofs", "?"),
            "status": status["status"], "t": float(rows[-1]["t_s"]), "steps": len(rows) - 1,
            "failed": status.get("failed_solves", 0), "newton": newton, "krylov": krylov,
            "late": late_krylov / max(late_newton, 1), "late_newton": late_newton,
            "wall": meta["wall_time_s"], "peak": peak[0].split(": ", 1)[1] if peak else "?"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--end-time", type=float, required=True, help="simulated seconds")
    ap.add_argument("--cells", nargs="+", required=True, help="e.g. 40,16 80,32")
    ap.add_argument("--ranks", nargs="+", type=int, default=[1])
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    ap.add_argument("--after", type=float, default=0.0,
                    help="also count the steps ending after this time (s) apart")
    args = ap.parse_args()
    print("| cells | ranks | unknowns | status, t (s) | steps | failed solves | Newton | "
          f"Krylov | Krylov per Newton | growth | after {args.after:g} s: Newton, Krylov per "
          "Newton | growth | wall (s) | peak memory per rank |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    first = None
    for cells in args.cells:
        for ranks in args.ranks:
            r = run(args.case, args.end_time, cells, ranks, args.set, args.after)
            per = r["krylov"] / max(r["newton"], 1)
            first = first or (per, r["late"])
            print(f"| {r['cells'].replace(',', ' × ')} | {r['ranks']} | {r['unknowns']} | "
                  f"{r['status']}, {r['t']:g} | {r['steps']} | {r['failed']} | {r['newton']} | "
                  f"{r['krylov']} | {per:.1f} | {100 * (per / first[0] - 1):+.0f} % | "
                  f"{r['late_newton']}, {r['late']:.1f} | "
                  f"{100 * (r['late'] / first[1] - 1):+.0f} % | "
                  f"{r['wall']:.1f} | {r['peak']} |", flush=True)


if __name__ == "__main__":
    main()
