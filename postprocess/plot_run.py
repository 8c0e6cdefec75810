"""Plot a run: time series (deposit, tip, currents) and the final fields;
of a 0-D SEI run, the thickness and resistance.

    python -m postprocess.plot_run RUN_DIR [-o summary.png]
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_series(run: Path):
    with open(run / "timeseries.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}


def run_fields(run: Path) -> dict:
    """{name: unit} of the fields the run wrote (metadata.json), eta first."""
    fields = json.loads((run / "metadata.json").read_text())["fields"]
    return dict(sorted(fields.items(), key=lambda item: item[0] != "eta"))


def current_columns(series) -> list:
    """The time series' currents (A/m^2): through the electrode or collector
    face and the reservoir face, whichever the model records."""
    return [k for k in series if k.endswith("_current_A_m2")]


def read_last_fields(run: Path, names):
    """Points (m) and {name: (t, values)} of the last output of each field."""
    from solver.api import read_field
    fields, points = {}, None
    for name in names:
        if (run / f"{name}.xdmf").exists():
            points, t, values = read_field(run / f"{name}.xdmf", name)
            fields[name] = (t, values)
    return points, fields


def save_figure_and_rows(fig, rows: list, out: Path, stem: str) -> Path:
    """out/<stem>.png from fig (closed) and out/<stem>.csv from rows (dicts)."""
    fig.tight_layout()
    png = out / f"{stem}.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    with open(out / f"{stem}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return png


def plot_sei_0d(run: Path, ts, status, out: Path) -> Path:
    """A 0-D SEI run (geometry kind = "point"): thickness and resistance."""
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.5))
    days = ts["t_s"][1:] / 86400
    ax[0].plot(days, ts["sei_thickness_m"][1:] * 1e9)
    ax[0].set(xlabel="t (days)", ylabel="SEI thickness L (nm)", title="SEI thickness")
    ax[1].plot(days, ts["sei_resistance_ohm_m2"][1:] * 1e4)
    ax[1].set(xlabel="t (days)", ylabel="rho L (ohm cm^2)", title="SEI ionic resistance")
    for a in ax:
        a.set_xscale("log")
    fig.suptitle(f"{run.name}: {status['status']} ({status['reason']})")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_run(run: Path, out: Path | None = None) -> Path:
    run = Path(run)
    ts = read_series(run)
    status = json.loads((run / "status.json").read_text())
    out = Path(out) if out else run / "summary.png"
    if "deposit_thickness_m" not in ts and "sei_thickness_m" in ts:
        return plot_sei_0d(run, ts, status, out)
    units = run_fields(run)
    names = list(units)[:3]
    points, fields = read_last_fields(run, names)
    two_d = np.ptp(points[:, 1]) > 0
    fig, ax = plt.subplots(2, 3, figsize=(15, 8.5))
    t = ts["t_s"]
    ax[0, 0].plot(t, ts["deposit_thickness_m"] * 1e6)
    ax[0, 0].set(xlabel="t (s)", ylabel="deposit thickness (um)", title="metal deposited")
    ax[0, 1].plot(t, ts["tip_position_m"] * 1e6)
    ax[0, 1].set(xlabel="t (s)", ylabel="tip x (um)", title="eta = 1/2 tip position")
    for col in current_columns(ts):
        ax[0, 2].plot(t[1:], ts[col][1:] / 10, label=col.replace("_current_A_m2", " face"))
    ax[0, 2].set(xlabel="t (s)", ylabel="current (mA/cm^2)",
                 title="currents (see docs/case-reference.md for signs)")
    ax[0, 2].legend()
    for k, a in enumerate(ax[1]):
        if k >= len(names) or names[k] not in fields:
            a.set_axis_off()
            continue
        name = names[k]
        label = "eta (metal = 1)" if name == "eta" else f"{name} ({units[name]})"
        cmap = {"eta": "viridis", "c": "magma", "salt_concentration": "magma"}.get(name, "coolwarm")
        tf, v = fields[name]
        if two_d:
            im = a.tripcolor(points[:, 0] * 1e6, points[:, 1] * 1e6, v, cmap=cmap, shading="gouraud")
            if name == "eta":
                a.tricontour(points[:, 0] * 1e6, points[:, 1] * 1e6, v, levels=[0.5], colors="w")
            a.set_aspect("equal")
            a.set(xlabel="x (um)", ylabel="y (um)")
            fig.colorbar(im, ax=a, shrink=0.8)
        else:
            order = np.argsort(points[:, 0])
            a.plot(points[order, 0] * 1e6, v[order])
            a.set(xlabel="x (um)")
        a.set_title(f"{label} at t = {tf:.3g} s")
    fig.suptitle(f"{run.name}: {status['status']} ({status['reason']})")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    print(plot_run(args.run, args.output))


if __name__ == "__main__":
    main()
