"""Nucleus density and size against overpotential, from a sweep of
nucleation runs (e.g. cases/sweeps/li_nucleation_overpotential.toml).

    python -m postprocess.nucleation_sweep SWEEP_DIR

For each run: N = the nuclei of nucleation.csv, born and not stalled (0
without the file); the
density along the collector n = N / H (H its length: a 2-D case is a slice,
its nuclei lines); the mean nucleus size R, the radius of N equal caps of
the contact angle holding the metal V (per unit depth) at the end of the
run; and
the overpotential eta = the mean local overpotential of the logged nuclei
(without nuclei: the applied potential plus the mean offset between local
and applied overpotential of the runs that have nuclei).  Runs at the same
applied potential (other seeds) are averaged.

Fits n = a |eta|^p and R = b |eta|^q (least squares in log-log over the
potentials with nuclei) and compares with

* classical theory of the line nucleus: the expected count of the same run,
  N_CNT = J(eta) H d t_end (every site bare for the whole run, d the slice
  thickness), whose local exponent is d ln J / d ln|eta| = dG*(eta)/(k_B T)
  (2-D: dG* ~ 1/|eta|; 3-D caps would give 2 dG*/(k_B T));
* experiment (Cu collector, Pei et al., Nano Lett. 17 (2017) 1132): n ~ eta^3
  and size ~ eta^-1.  At a fixed plated capacity, 3-D caps give
  size ~ n^(-1/3); the 2-D caps here give R ~ n^(-1/2).

Writes SWEEP_DIR/nucleation_sweep.csv and nucleation_sweep.png.
"""
from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from anodex.models import nucleation_theory as cnt  # noqa: E402
from anodex.case import load_case  # noqa: E402

from .plot_run import read_series  # noqa: E402
from .summarize import finished, list_runs  # noqa: E402


def run_record(run: Path) -> dict:
    """N, density, size, overpotential and the CNT expectation of one run."""
    case = load_case(run / "case.toml")
    si = case.si
    g, nuc = si["geometry"], si["nucleation"]
    nuclei = []  # a run in which no site nucleated writes no nucleation.csv
    if (run / "nucleation.csv").exists():
        with open(run / "nucleation.csv", newline="") as f:
            events = list(csv.DictReader(f))
        nuclei = [e for e in events if e["event"] == "born"]
    s = read_series(run)
    gamma, z = si["metal"]["surface_energy"], si["material"]["charge_number"]
    vm, T = si["material"]["molar_volume"], si["material"]["temperature"]
    depth = nuc["slice_thickness"] or cnt.atomic_diameter(vm)
    area = g["height"] * depth  # the sites' area
    # (stalled below its birth's critical radius; "dissolved" in older logs)
    count = (len(nuclei) - sum(e["event"] in ("stalled", "dissolved") for e in events)
             if nuclei else 0)
    metal_area = s["deposit_thickness_m"][-1] * g["height"]  # per unit depth
    eta = (float(np.mean([float(r["overpotential_V"]) for r in nuclei])) if nuclei
           else math.nan)
    two_potential = "electronic_conduction" in si["model"]["blocks"]
    applied = si["collector"]["potential"] if two_potential else si["boundary"]["applied_potential"]
    return {"run": run.name, "applied_V": applied,
            "count": count, "density_1_m": count / g["height"],
            "size_m": (cnt.cap_radius(metal_area / count, nuc["contact_angle"], 2) if count
                       else math.nan),
            "overpotential_V": eta, "t_end_s": float(s["t_s"][-1]), "area_m2": area,
            "length_m": g["height"],
            "cnt": (nuc["rate_prefactor"], gamma, vm, z, T, nuc["contact_angle"], depth)}


def expected_count(rec, eta) -> float:
    J0, gamma, vm, z, T, theta, d = rec["cnt"]
    J = cnt.rate(J0, gamma, vm, z, eta, T, theta, dim=2, length=d)
    return J * rec["area_m2"] * rec["t_end_s"]


def local_exponent(rec, eta) -> float:
    """d ln J / d ln|eta| = dG*(eta)/(k_B T) of the line nucleus (dG* ~ 1/|eta|)."""
    J0, gamma, vm, z, T, theta, d = rec["cnt"]
    return cnt.barrier(gamma, vm, z, eta, theta, dim=2, length=d) / (cnt.K_B * T)


def power_fit(x, y):
    """(exponent, prefactor) of y = a x^p by least squares of ln y on ln x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(y) & (y > 0)
    if ok.sum() < 2:
        raise ValueError(f"a power law needs 2 potentials with nuclei, got {int(ok.sum())}")
    p, lna = np.polyfit(np.log(np.abs(x[ok])), np.log(y[ok]), 1)
    return float(p), float(math.exp(lna))


def summarise(records):
    """Per applied potential: means and sample sds over the seeds."""
    offsets = [r["overpotential_V"] - r["applied_V"] for r in records if r["count"]]
    offset = float(np.mean(offsets)) if offsets else 0.0
    groups = defaultdict(list)
    for r in records:
        groups[r["applied_V"]].append(r)
    rows = []
    for V in sorted(groups, reverse=True):
        rs = groups[V]
        etas = [r["overpotential_V"] for r in rs if r["count"]]
        eta = float(np.mean(etas)) if etas else V + offset
        dens = np.array([r["density_1_m"] for r in rs])
        sizes = np.array([r["size_m"] for r in rs if r["count"]])
        rows.append({"applied_V": V, "overpotential_V": eta, "runs": len(rs),
                     "count_mean": float(np.mean([r["count"] for r in rs])),
                     "density_1_m": float(dens.mean()),
                     "density_sd": float(dens.std(ddof=1)) if len(rs) > 1 else 0.0,
                     "size_m": float(sizes.mean()) if sizes.size else math.nan,
                     "size_sd": float(sizes.std(ddof=1)) if sizes.size > 1 else 0.0,
                     "t_end_s": float(np.mean([r["t_end_s"] for r in rs])),
                     "count_cnt": float(np.mean([expected_count(r, eta) for r in rs])),
                     "density_cnt": float(np.mean([expected_count(r, eta) / r["length_m"]
                                                   for r in rs])),
                     "cnt_exponent": local_exponent(rs[0], eta)})
    return rows


def plot(rows, fits, path: Path, title: str):
    eta = np.array([abs(r["overpotential_V"]) for r in rows]) * 1e3
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    d = np.array([r["density_1_m"] for r in rows]) * 1e-6
    dsd = np.array([r["density_sd"] for r in rows]) * 1e-6
    ax1.errorbar(eta, d, yerr=dsd, fmt="o", label="phase field (mean +- sd over seeds)")
    xs = np.linspace(eta.min(), eta.max(), 50)
    p, a = fits["density"]
    ax1.plot(xs, a * (xs * 1e-3) ** p * 1e-6, "-", label=f"fit: n ~ |eta|^{p:.2f}")
    ax1.plot(eta, np.array([r["density_cnt"] for r in rows]) * 1e-6, "k--",
             label="CNT: J(eta) H d t_end / H (all sites bare)")
    ax1.set(xscale="log", yscale="log", xlabel="|overpotential| (mV)",
            ylabel="nuclei per um of collector", title=title)
    ax1.legend(fontsize=8)
    s = np.array([r["size_m"] for r in rows]) * 1e6
    ssd = np.array([r["size_sd"] for r in rows]) * 1e6
    ax2.errorbar(eta, s, yerr=ssd, fmt="s", color="C2", label="phase field")
    q, b = fits["size"]
    ax2.plot(xs, b * (xs * 1e-3) ** q * 1e6, "-", color="C3", label=f"fit: R ~ |eta|^{q:.2f}")
    ax2.set(xscale="log", yscale="log", xlabel="|overpotential| (mV)",
            ylabel="mean nucleus radius at the end (um)",
            title="size at the same plated capacity")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):  # the potentials themselves as ticks (a narrow log range)
        ax.set_xticks(eta)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.0f"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir", type=Path)
    a = ap.parse_args(argv)
    runs = [d for _, d, _ in list_runs(a.sweep_dir)]
    unfinished = [d.name for d in runs if not finished(d)]
    if unfinished:
        print(f"left out, not finished: {', '.join(unfinished)}")
    runs = [d for d in runs if finished(d)]
    if not runs:
        raise SystemExit(f"no finished runs under {a.sweep_dir}")
    rows = summarise([run_record(d) for d in runs])
    fits = {"density": power_fit([r["overpotential_V"] for r in rows],
                                 [r["density_1_m"] for r in rows]),
            "size": power_fit([r["overpotential_V"] for r in rows], [r["size_m"] for r in rows])}
    keys = ("applied_V", "overpotential_V", "runs", "count_mean", "density_1_m", "density_sd",
            "size_m", "size_sd", "t_end_s", "count_cnt", "density_cnt", "cnt_exponent")
    with open(a.sweep_dir / "nucleation_sweep.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        for r in rows:
            w.writerow([f"{r[k]:.6g}" for k in keys])
    plot(rows, fits, a.sweep_dir / "nucleation_sweep.png", a.sweep_dir.name)
    for r in rows:
        print(f"V = {r['applied_V']:+.3f} V  eta = {r['overpotential_V']:+.4f} V  "
              f"N = {r['count_mean']:.2f} (CNT {r['count_cnt']:.3g})  "
              f"n = {r['density_1_m'] * 1e-6:.4g} +- {r['density_sd'] * 1e-6:.2g} /um  "
              f"R = {r['size_m'] * 1e6:.3f} um  t_end = {r['t_end_s']:.4g} s  "
              f"CNT exponent {r['cnt_exponent']:.2f}")
    print(f"fitted: density ~ |eta|^{fits['density'][0]:.3f}, size ~ |eta|^{fits['size'][0]:.3f}")
    print(f"wrote {a.sweep_dir / 'nucleation_sweep.csv'} and nucleation_sweep.png")


if __name__ == "__main__":
    main()
