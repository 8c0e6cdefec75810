"""Growth rate of a perturbed front against linear stability analysis.

    python -m postprocess.instability OUT_DIR [--parallel 2]

Runs cases/li_instability.toml at several wavelengths in two regimes (each
run once; finished runs are reused) and fits the growth rate omega of the
perturbation amplitude a(t) = tip - mean front (the eta = 1/2 contour's
largest x minus the deposit thickness) as d ln a/dt.  The prediction is the
linear stability of the sharp-interface problem the model approximates: a
single-ion electrolyte of conductivity s (Laplace's equation for the ionic
potential, phi_e = 0 at the reservoir a distance g ahead), an equipotential
metal, Butler-Volmer kinetics with Gibbs-Thomson capillarity and the
interface speed i V_m/(zF).  A mode cos(ky) exp(omega t) of a front carrying
the current density i (field E = i/s) grows at

    omega = V_m/(zF) * B S / (S + B) * (E - gamma V_m k^2/(zF)),
    S = s k coth(k g),  B = di/d|eta| = i0 zf sqrt(1 + (i/(2 i0))^2)

(B: Butler-Volmer's kinetic conductance at the current, alpha = 1/2; the
field lifts the crest into a more negative ionic potential, capillarity
opposes it; the resistances 1/S of the electrolyte and 1/B of the kinetics
act in series).  Derivation in docs/two-potential.md.  Writes
instability.csv and instability.png (also docs/figures/instability.png).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from solver.case import load_case  # noqa: E402
from solver.constants import FARADAY, GAS_CONSTANT  # noqa: E402

from .plot_run import read_series  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "cases" / "li_instability.toml"

# (regime, wavelength um, overrides): ohmic (E = 2e4 V/m, kinetics and
# electrolyte resistances comparable) and capillary (E = 500 V/m: the 2 um
# mode lies below the critical wavelength 2 pi sqrt(gamma V_m/(zF E)) = 2.4 um)
CAPILLARY = {"electrolyte.conductivity": '"0.1 S/m"', "collector.current_density": '"50 A/m^2"',
             "reaction.exchange_current_density": '"1000 A/m^2"',
             "phase_field.interface_length": '"0.25 um"', "initial.interface_width": '"0.25 um"',
             "phase_field.interface_relaxation_rate": '"0.05 1/s"', "time.end": '"1000 s"',
             "time.dt_max": '"20 s"', "output.field_interval": '"500 s"'}
RUNS = [("ohmic", 4.0, {}), ("ohmic", 8.0, {}), ("ohmic", 16.0, {}),
        ("capillary", 2.0, CAPILLARY), ("capillary", 4.0, CAPILLARY)]


def settings(wavelength_um, overrides):
    """--set items: one wavelength of height, h = l/4 (20 um long)."""
    ell = 0.25 if "phase_field.interface_length" in overrides else 0.5
    h = ell / 4
    items = {"geometry.height": f'"{wavelength_um} um"',
             "initial.perturbation_wavelength": f'"{wavelength_um} um"',
             "geometry.cells": f"[{round(20 / h)}, {round(wavelength_um / h)}]", **overrides}
    return [f"{k}={v}" for k, v in items.items()]


def run_one(out, regime, wavelength, overrides, ranks):
    run = out / f"{regime}_{wavelength:g}um"
    status = run / "status.json"
    if status.exists() and json.loads(status.read_text())["status"] == "completed":
        return run
    cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", "solver.cli", "run",
           str(BASE), "-o", str(run), "--overwrite"]
    for item in settings(wavelength, overrides):
        cmd += ["--set", item]
    print("[instability]", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=os.environ, capture_output=True)
    return run


def measured_rate(run: Path, skip=0.15):
    """d ln a/dt by least squares after the first `skip` of the run (the
    profile's relaxation from the initial tanh)."""
    s = read_series(run)
    a = s["tip_position_m"] - s["deposit_thickness_m"]
    late = s["t_s"] > skip * s["t_s"][-1]
    return float(np.polyfit(s["t_s"][late], np.log(a[late]), 1)[0]), s


def predicted_rate(si, wavelength, gap):
    """omega of the sharp-interface linear stability analysis (module docstring)."""
    z, T = si["material"]["charge_number"], si["material"]["temperature"]
    f = z * FARADAY / (GAS_CONSTANT * T)
    vm, gamma = si["material"]["molar_volume"], si["metal"]["surface_energy"]
    s, i = si["electrolyte"]["conductivity"], si["collector"]["current_density"]
    i0 = si["reaction"]["exchange_current_density"]
    k = 2 * math.pi / wavelength
    B = i0 * f * math.sqrt(1 + (i / (2 * i0)) ** 2)
    S = s * k / math.tanh(k * gap)
    return vm / (z * FARADAY) * B * S / (S + B) * (i / s - gamma * vm * k * k / (z * FARADAY))


def analyse(out: Path):
    rows = []
    for regime, wavelength, overrides in RUNS:
        run = out / f"{regime}_{wavelength:g}um"
        si = load_case(run / "case.toml").si
        omega, s = measured_rate(run)
        gap = float(np.mean(si["geometry"]["length"] - s["deposit_thickness_m"]))
        rows.append({"regime": regime, "wavelength_um": wavelength, "k_1_m": 2 * math.pi / (wavelength * 1e-6),
                     "omega_measured_1_s": omega,
                     "omega_predicted_1_s": predicted_rate(si, wavelength * 1e-6, gap),
                     "field_V_m": si["collector"]["current_density"] / si["electrolyte"]["conductivity"],
                     "interface_length_um": 1e6 * math.sqrt(2 * si["phase_field"]["gradient_coefficient"]
                                                           / si["phase_field"]["barrier_height"]),
                     "t_end_s": float(s["t_s"][-1])})
    return rows


def plot(rows, out: Path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, regime in zip(axes, ("ohmic", "capillary")):
        sel = [r for r in rows if r["regime"] == regime]
        si = load_case(out / f"{regime}_{sel[0]['wavelength_um']:g}um" / "case.toml").si
        gap = si["geometry"]["length"] - si["initial"]["interface_position"]
        lam = np.geomspace(0.5 * min(r["wavelength_um"] for r in sel),
                           2 * max(r["wavelength_um"] for r in sel), 200)
        ax.plot(lam, [predicted_rate(si, x * 1e-6, gap) for x in lam], "k-",
                label="linear stability (sharp interface)")
        ax.plot([r["wavelength_um"] for r in sel], [r["omega_measured_1_s"] for r in sel], "o",
                ms=8, label="two-potential phase field")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xscale("log")
        ax.set(xlabel="wavelength (um)", ylabel="growth rate omega (1/s)",
               title=f"{regime}: E = {sel[0]['field_V_m']:.3g} V/m, l = "
                     f"{sel[0]['interface_length_um']:.3g} um")
        ax.legend()
    fig.tight_layout()
    png = out / "instability.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=2, help="runs at once")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(lambda r: run_one(args.out, *r, args.ranks), RUNS))
    rows = analyse(args.out)
    with open(args.out / "instability.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    for r in rows:
        print(f"{r['regime']:9s} {r['wavelength_um']:5.1f} um: omega {r['omega_measured_1_s']:+.4g} 1/s, "
              f"predicted {r['omega_predicted_1_s']:+.4g} 1/s")
    print(plot(rows, args.out))


if __name__ == "__main__":
    main()
