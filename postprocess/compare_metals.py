"""Li vs Mg vs Zn deposits at the same overpotential, temperature and
electrolyte conductivity (cases/compare_li_mg_zn.toml).

    python -m postprocess.compare_metals OUT_DIR [-n RANKS] [--metals Li Mg Zn]
                                         [--set KEY=VALUE ...] [--plot-only]

Runs the base case once per metal, each as its own MPI job
(`mpirun -n RANKS anodex run ... --set material.metal="Mg"`) into
OUT_DIR/<metal>; a metal whose run already completed is not rerun, an
interrupted one continues from its checkpoint.  Then draws
OUT_DIR/compare_metals.png: the deposit (eta) of each metal at the same
deposited amount, and per metal the tip lead (tip position minus the mean
deposit thickness: how far the fastest protrusion runs ahead of a flat
deposit of the same amount), the deposit thickness and the current against
time.  The numbers behind the figure go to OUT_DIR/compare_metals.csv.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .plot_run import current_columns, read_series, save_figure_and_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "cases" / "compare_li_mg_zn.toml"


def run_metal(metal: str, out: Path, ranks: int, extra: list[str]):
    run = out / metal
    status = run / "status.json"
    if status.exists() and json.loads(status.read_text())["status"] in ("completed", "stopped"):
        print(f"[compare] {metal}: already done in {run}")
        return
    cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "anodex.cli", "run"]
    if (run / "checkpoint.npz").exists():  # an interrupted run: continue it
        cmd += ["--restart", str(run)]
    else:
        cmd += [str(BASE), "-o", str(run), "--overwrite", "--set", f'material.metal="{metal}"']
        for item in extra:
            cmd += ["--set", item]
    print("[compare]", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=os.environ)


def fields_at(run: Path, name: str):
    """Points and [(t, values)] of every output of one field."""
    import meshio
    with meshio.xdmf.TimeSeriesReader(run / f"{name}.xdmf") as reader:
        points, _ = reader.read_points_cells()
        steps = [reader.read_data(k) for k in range(reader.num_steps)]
    return points, [(t, data[name].ravel()) for t, data, _ in steps]


def plot(out: Path, metals: list[str]) -> Path:
    series = {m: read_series(out / m) for m in metals}
    x0 = {m: s["deposit_thickness_m"][0] for m, s in series.items()}
    # compare the morphologies at the largest growth every run reached
    growth = min(s["deposit_thickness_m"][-1] - x0[m] for m, s in series.items())
    fig, ax = plt.subplots(2, len(metals), figsize=(5 * len(metals), 9.5), squeeze=False)
    rows = []
    for k, m in enumerate(metals):
        s = series[m]
        points, snaps = fields_at(out / m, "eta")
        dep = np.interp([t for t, _ in snaps], s["t_s"], s["deposit_thickness_m"]) - x0[m]
        # the last output with at most the common growth
        pick = max(i for i in range(len(snaps)) if dep[i] <= growth * (1 + 1e-6))
        t, eta = snaps[pick]
        a = ax[0, k]
        # eta overshoots [0, 1] by round-off: clip, or those patches stay blank
        a.tricontourf(points[:, 0] * 1e6, points[:, 1] * 1e6, np.clip(eta, 0, 1),
                      levels=np.linspace(0, 1, 11), cmap="viridis", extend="both")
        a.tricontour(points[:, 0] * 1e6, points[:, 1] * 1e6, eta, levels=[0.5], colors="w")
        a.set(aspect="equal", xlabel="x (um)", ylabel="y (um)",
              title=f"{m}: t = {t:.0f} s, {dep[pick] * 1e6:.2f} um deposited")
        lead = (s["tip_position_m"] - s["deposit_thickness_m"]) * 1e6
        grown = (s["deposit_thickness_m"] - x0[m]) * 1e6
        ax[1, 0].plot(grown, lead, label=m)
        ax[1, 1 % len(metals)].plot(s["t_s"], grown, label=m)
        if len(metals) > 2:
            ax[1, 2].plot(s["t_s"][1:], s[current_columns(s)[0]][1:] / 10, label=m)
        rows.append({"metal": m, "t_end_s": s["t_s"][-1], "grown_um": grown[-1],
                     "tip_lead_end_um": lead[-1], "tip_lead_at_common_growth_um":
                     float(np.interp(growth * 1e6, grown, lead)),
                     "mean_current_mA_cm2": float(np.mean(s[current_columns(s)[0]][1:]) / 10),
                     "snapshot_t_s": t})
    ax[1, 0].set(xlabel="deposited thickness (um)", ylabel="tip lead (um)",
                 title="tip ahead of the mean deposit")
    ax[1, 1 % len(metals)].set(xlabel="t (s)", ylabel="deposited thickness (um)",
                               title="growth")
    if len(metals) > 2:
        ax[1, 2].set(xlabel="t (s)", ylabel="current (mA/cm^2)", title="collector current")
    for a in ax[1]:
        a.legend()
    return save_figure_and_rows(fig, rows, out, "compare_metals")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("-n", "--ranks", type=int, default=2)
    ap.add_argument("--metals", nargs="+", default=["Li", "Mg", "Zn"])
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="also override the base case (every metal)")
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.plot_only:
        for m in args.metals:
            run_metal(m, args.out.resolve(), args.ranks, args.set)
    print(f"[compare] {plot(args.out, args.metals)}")


if __name__ == "__main__":
    main()
