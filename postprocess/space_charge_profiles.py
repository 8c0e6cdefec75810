"""Profiles of resolved space-charge layers (the space_charge block).

    python -m postprocess.space_charge_profiles RUN [RUN ...] [-o PNG] [--depth 8]

For each run directory: the potential, each defect's density (log scale)
and the charge density against the distance from the electrode, read from
space_charge_profile.csv, out to `depth` Debye lengths (or the 1/e width,
whichever is larger), with the numbers of space_charge.json in the legend.
Writes PNG (default: space_charge_profiles.png in the first run).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_run(run: Path):
    profile = np.genfromtxt(run / "space_charge_profile.csv", delimiter=",", names=True)
    return profile, json.loads((run / "space_charge.json").read_text())


def plot(runs: list[Path], out: Path, depth: float = 8.0) -> Path:
    fig, axes = plt.subplots(len(runs), 3, figsize=(15, 3.6 * len(runs)), squeeze=False)
    for row, run in zip(axes, runs):
        profile, result = read_run(run)
        reach = depth * max(result["debye_length_m"], result["width_m"])
        inside = profile["x_m"] <= reach
        x_nm = 1e9 * profile["x_m"][inside]
        title = (f"{run.name}\nstep {result['potential_step_V']:+.3g} V, sigma "
                 f"{result['surface_charge_C_m2']:+.3g} C/m^2, C {result['capacitance_uF_cm2']:.3g} uF/cm^2")
        row[0].plot(x_nm, profile["phi_V"][inside], "k-")
        row[0].set(xlabel="distance from the electrode (nm)", ylabel="potential (V)", title=title)
        for name in profile.dtype.names:
            if name.startswith("n_"):
                label = {"plus": "positive defect", "minus": "negative defect"}[name[2:-3]]
                row[1].semilogy(x_nm, 1e-6 * profile[name][inside], label=label)
        row[1].set(xlabel="distance from the electrode (nm)", ylabel="defect density (cm^-3)",
                   title=f"\nDebye length {1e9 * result['debye_length_m']:.3g} nm, 1/e width "
                         f"{1e9 * result['width_m']:.3g} nm")
        row[1].legend()
        row[2].plot(x_nm, profile["charge_density_C_m3"][inside], "r-")
        row[2].axhline(0, color="0.6", lw=0.8)
        row[2].set(xlabel="distance from the electrode (nm)", ylabel="charge density (C/m^3)",
                   title=f"\nlayer resistance {result['layer_resistance_ohm_cm2']:.3g} Ohm cm^2")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("-o", "--output", type=Path)
    ap.add_argument("--depth", type=float, default=8.0, help="Debye lengths shown")
    args = ap.parse_args(argv)
    print(plot(args.runs, args.output or args.runs[0] / "space_charge_profiles.png", args.depth))


if __name__ == "__main__":
    main()
