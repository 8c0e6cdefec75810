"""Deposition on Li | LLZO with and without its space-charge layer.

    python -m postprocess.space_charge_effect OUT [-n RANKS]

Runs cases/li_llzo.toml (two-potential model, a 15 um cosine perturbation
under -0.1 V) to `end` (400 s) twice: as it is (OUT/without) and with the interface_space_charge
block (OUT/with), whose [space_charge] values are those of
cases/li_llzo_space_charge.toml plus a Stern layer of 0.3 F/m^2 (eps/d of
a few angstrom of eps_r ~ 10: an assumption).  Finished runs are reused.
Draws OUT/space_charge_effect.png: the perturbation's amplitude (the front's
Fourier mode) against time, the current density along the front at the
end (the metal gained per row of nodes between the last two field outputs)
and the layer's diffuse step along it; the numbers go to
OUT/space_charge_effect.csv.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from anodex.case import load_case  # noqa: E402
from anodex.constants import FARADAY  # noqa: E402

from .compare_metals import fields_at  # noqa: E402
from .instability import amplitude  # noqa: E402
from .plot_run import read_series, save_figure_and_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "cases" / "li_llzo.toml"
trapezoid = getattr(np, "trapezoid", None) or np.trapz  # (numpy 2 renamed it)
LAYER = ROOT / "cases" / "li_llzo_space_charge.toml"
STERN = "0.3 F/m^2"


def layer_settings() -> list[str]:
    """--set items: the layer block and the [space_charge] values of LAYER."""
    blocks = load_case(BASE).si["model"]["blocks"] + ["interface_space_charge"]
    items = [f"model.blocks={json.dumps(blocks)}",
             f'space_charge.stern_capacitance="{STERN}"']
    for key, value in tomllib.loads(LAYER.read_text())["space_charge"].items():
        items.append(f"space_charge.{key}={json.dumps(value)}")
    return items


def run(out: Path, name: str, items: list[str], ranks: int, end: str) -> Path:
    path = out / name
    status = path / "status.json"
    if status.exists() and json.loads(status.read_text())["status"] == "completed":
        return path
    cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "anodex.cli", "run",
           str(BASE), "-o", str(path), "--overwrite"]
    for item in items + [f'time.end="{end}"']:
        cmd += ["--set", item]
    print("[space-charge effect]", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=os.environ)
    return path


def front(points, eta):
    """y and x of the eta = 1/2 contour, one x per row of nodes (the largest)."""
    ys = np.unique(np.round(points[:, 1], 12))
    xs = []
    for y in ys:
        row = np.abs(points[:, 1] - y) < 1e-12
        x, e = points[row, 0], eta[row]
        order = np.argsort(x)
        x, e = x[order], e[order]
        cross = np.nonzero((e[:-1] >= 0.5) & (e[1:] < 0.5))[0]
        i = cross[-1]
        xs.append(x[i] + (e[i] - 0.5) / (e[i] - e[i + 1]) * (x[i + 1] - x[i]))
    return ys, np.array(xs)


def local_current(path: Path):
    """y (m) and i (A/m^2) along the front: the metal a row of nodes gained
    between the last two field outputs, int eta dx (a translating profile
    gains its displacement), times zF/V_m per time."""
    points, steps = fields_at(path, "eta")
    (t0, e0), (t1, e1) = steps[-2], steps[-1]
    ys = np.unique(np.round(points[:, 1], 12))
    gained = np.array([trapezoid(*reversed(sorted_row(points, e1 - e0, y))) for y in ys])
    si = load_case(path / "case.toml").si
    z, vm = si["material"]["charge_number"], si["material"]["molar_volume"]
    return ys, gained / (t1 - t0) * z * FARADAY / vm


def plot(out: Path, runs: dict) -> Path:
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.6))
    rows = []
    for label, path in runs.items():
        s = read_series(path)
        a = amplitude(s)
        ax[0].plot(s["t_s"], 1e6 * a, label=label)
        y, i = local_current(path)
        ax[1].plot(1e6 * y, i, label=label)
        rows.append({"case": label, "amplitude_start_um": 1e6 * a[0],
                     "amplitude_end_um": 1e6 * a[-1],
                     "growth_rate_1_s": float(np.polyfit(s["t_s"], np.log(a), 1)[0]),
                     "current_mean_A_m2": float(np.mean(i)), "current_max_A_m2": float(i.max()),
                     "current_min_A_m2": float(i.min())})
    points, steps = fields_at(runs["with the layer"], "psi_d")
    _, eta = fields_at(runs["with the layer"], "eta")[1][-1]
    y, x = front(points, eta)
    psi = np.array([np.interp(xf, *sorted_row(points, steps[-1][1], yf)) for yf, xf in zip(y, x)])
    ax[2].plot(1e6 * y, 1e3 * psi, "C1-")
    ax[0].set(xlabel="time (s)", ylabel="amplitude (um)",
              title="perturbation amplitude (the front's Fourier mode)")
    ax[1].set(xlabel="y along the front (um)", ylabel="deposition current (A/m^2)",
              title=f"current along the front at t = {steps[-1][0]:g} s")
    ax[2].set(xlabel="y along the front (um)", ylabel="diffuse step psi_d (mV)",
              title=f"the layer's diffuse step (rest {1e3 * psi.mean():.0f} mV mean)")
    for a in ax[:2]:
        a.legend()
    png = save_figure_and_rows(fig, rows, out, "space_charge_effect")
    for r in rows:
        print(r)
    return png


def sorted_row(points, values, y):
    """x and values of one row of nodes, sorted by x."""
    row = np.abs(points[:, 1] - y) < 1e-12
    order = np.argsort(points[row, 0])
    return points[row, 0][order], values[row][order]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("-n", "--ranks", type=int, default=1)
    ap.add_argument("--end", default="400 s", help="end time of both runs")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    runs = {"without a layer": run(args.out, "without", [], args.ranks, args.end),
            "with the layer": run(args.out, "with", layer_settings(), args.ranks, args.end)}
    print(plot(args.out, runs))


if __name__ == "__main__":
    main()
