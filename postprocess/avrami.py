"""Transformed fraction and Avrami exponent of seeded runs (PFHub benchmark 8b).

    python -m postprocess.avrami RUNS_DIR [RUN_DIR ...] [--window 0.1 0.9]

RUNS_DIR is a sweep directory (e.g. cases/sweeps/pfhub8b_repeats.toml
expanded and run) or any directory of run directories; single run
directories are accepted too.  For each run it

* reads the transformed fraction X(t) = (metal volume) / (domain area) from
  timeseries.csv (deposit_thickness_m is the metal volume per height);
* computes the sharp-interface prediction for the *same* seeds: every seed
  grows as dR/dt = v (1 - r*/R) (Allen-Cahn, v = M df kappa/gamma,
  gamma = sqrt(kappa W)/(3 sqrt 2), r* = gamma/df), and X is the area of the
  union of the discs clipped to the domain, counted on a raster;
* fits the Avrami (JMAK) law X = 1 - exp(-K t^n) by least squares of
  ln(-ln(1 - X)) on ln t over X in the window (default 0.1-0.9).

Writes RUNS_DIR/avrami.csv (per run: n and ln K of the phase field and of
the sharp-interface prediction, t at X = 1/2 for both, the largest
|X_pf - X_sharp|) and RUNS_DIR/avrami.png (X against t, and the Avrami plot),
and prints the mean and sample standard deviation of n over the runs.
Site saturation in 2-D with constant speed from zero radius gives n = 2
(Avrami, J. Chem. Phys. 8 (1940) 212); seeds that start at 2.2 r* and are
first slowed by curvature give a smaller apparent n.
"""
from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from anodex.case import load_case  # noqa: E402
from anodex.models.phase_field import seed_positions  # noqa: E402

from .plot_run import read_series  # noqa: E402
from .summarize import finished, list_runs  # noqa: E402

RASTER = 1000  # points per side of the sharp-interface area count


def transformed_fraction(run: Path, case=None):
    """t (s) and X(t) of a run: metal volume over domain area."""
    case = case or load_case(run / "case.toml")
    s = read_series(run)
    return s["t_s"], s["deposit_thickness_m"] / case.si["geometry"]["length"]


def growth_law(case):
    """(v in m/s, r* in m) of the sharp-interface limit of the Allen-Cahn
    model with a constant driving force: dR/dt = v (1 - r*/R)."""
    pf = case.si["phase_field"]
    kappa, W, M, df = (pf["gradient_coefficient"], pf["barrier_height"],
                       pf["interface_mobility"], pf["driving_force"])
    gamma = math.sqrt(kappa * W) / (3 * math.sqrt(2))
    return M * df * kappa / gamma, gamma / df


def seed_radius(t, R0, v, r_star):
    """R(t) from dR/dt = v (1 - r*/R), R(0) = R0 > r*, exactly:
    v t = R - R0 + r* ln((R - r*)/(R0 - r*)), inverted by interpolation."""
    t = np.asarray(t, dtype=float)
    t_max = float(t.max()) if t.size else 0.0
    R = R0 + np.linspace(0.0, 1.0, 20001) ** 2 * (v * t_max + 10 * r_star + R0)
    tR = (R - R0 + r_star * np.log((R - r_star) / (R0 - r_star))) / v
    return np.interp(t, tR, R)


def sharp_interface_fraction(case, t, front_speed=None):
    """X(t) of the union of growing discs around the case's seeds, clipped
    to the domain (counted on a RASTER x RASTER grid of cell centres);
    front_speed (m/s) replaces the sharp-interface v, e.g. by the speed of a
    flat front measured on the same mesh."""
    g = case.si["geometry"]
    seeds = seed_positions(case.si, 1.0)
    v, r_star = growth_law(case)
    v = front_speed or v
    R0 = case.si["initial"]["seed_radius"]
    if R0 <= r_star:
        raise ValueError(f"seed radius {R0:g} m is not above r* = {r_star:g} m: "
                         "the sharp-interface seeds do not grow")
    x = (np.arange(RASTER) + 0.5) / RASTER * g["length"]
    y = (np.arange(RASTER) + 0.5) / RASTER * g["height"]
    X, Y = np.meshgrid(x, y, indexing="ij")
    dist = np.full(X.shape, np.inf)
    for xc, yc, _, _ in seeds:
        dist = np.minimum(dist, np.hypot(X - xc, Y - yc))
    dist = np.sort(dist.ravel())
    return np.searchsorted(dist, seed_radius(t, R0, v, r_star)) / dist.size


def avrami_fit(t, X, window=(0.1, 0.9)):
    """(n, ln K) of X = 1 - exp(-K t^n): least squares of ln(-ln(1-X)) on
    ln t over the points with X in the window (at least 3 needed)."""
    t, X = np.asarray(t), np.asarray(X)
    keep = (X >= window[0]) & (X <= window[1]) & (t > 0)
    if keep.sum() < 3:
        raise ValueError(f"only {int(keep.sum())} points with X in {window}: run longer "
                         "or widen the window")
    n, lnK = np.polyfit(np.log(t[keep]), np.log(-np.log1p(-X[keep])), 1)
    return float(n), float(lnK)


def analyse(run: Path, window=(0.1, 0.9), front_speed=None) -> dict:
    case = load_case(run / "case.toml")
    t, X = transformed_fraction(run, case)
    X_sharp = sharp_interface_fraction(case, t, front_speed)
    n, lnK = avrami_fit(t, X, window)
    n_s, lnK_s = avrami_fit(t, X_sharp, window)
    return {"t": t, "X": X, "X_sharp": X_sharp, "n": n, "lnK": lnK, "n_sharp": n_s,
            "lnK_sharp": lnK_s, "t_half": float(np.interp(0.5, X, t)),
            "t_half_sharp": float(np.interp(0.5, X_sharp, t)),
            "max_dX": float(np.max(np.abs(X - X_sharp))), "X_end": float(X[-1])}


def plot(results: dict, path: Path, window):
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for i, (rid, r) in enumerate(results.items()):
        colour = f"C{i % 10}"
        ax1.plot(r["t"], r["X"], color=colour, lw=1.2, label=rid if len(results) <= 12 else None)
        ax1.plot(r["t"], r["X_sharp"], color=colour, lw=0.8, ls="--")
        ok = (r["X"] > 0) & (r["X"] < 1) & (r["t"] > 0)
        ax2.plot(np.log(r["t"][ok]), np.log(-np.log1p(-r["X"][ok])), color=colour, lw=1)
    for lo in (math.log(-math.log1p(-window[0])), math.log(-math.log1p(-window[1]))):
        ax2.axhline(lo, color="grey", lw=0.6, ls=":")
    ns = np.array([r["n"] for r in results.values()])
    ax1.set(xlabel="t (s)", ylabel="transformed fraction X",
            title="phase field (solid) vs sharp interface, same seeds (dashed)")
    ax2.set(xlabel="ln t", ylabel="ln(-ln(1 - X))",
            title=f"Avrami: n = {ns.mean():.3f} +- {ns.std(ddof=1) if ns.size > 1 else 0:.3f} "
                  f"({ns.size} runs, fit over X in {window[0]:g}-{window[1]:g})")
    if len(results) <= 12:
        ax1.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path, help="sweep/runs directory or run directories")
    ap.add_argument("--window", nargs=2, type=float, default=(0.1, 0.9),
                    help="range of X fitted (default 0.1 0.9)")
    ap.add_argument("--front-speed", type=float, default=None,
                    help="speed (m/s) of a flat front for the sharp-interface prediction "
                         "(default: M df kappa/gamma)")
    a = ap.parse_args(argv)
    window = tuple(a.window)
    runs = []
    for p in a.paths:
        if (p / "timeseries.csv").exists():
            runs.append((p.name, p))
        else:
            runs += [(rid, d) for rid, d, _ in list_runs(p) if (d / "timeseries.csv").exists()]
    unfinished = [rid for rid, d in runs if not finished(d)]
    if unfinished:
        print(f"left out, not finished: {', '.join(unfinished)}")
    runs = [(rid, d) for rid, d in runs if rid not in unfinished]
    if not runs:
        raise SystemExit(f"no finished run directories with timeseries.csv under {a.paths}")
    results = {rid: analyse(d, window, a.front_speed) for rid, d in runs}
    out = a.paths[0] if len(a.paths) == 1 and not (a.paths[0] / "timeseries.csv").exists() \
        else Path(".")
    keys = ("n", "lnK", "n_sharp", "lnK_sharp", "t_half", "t_half_sharp", "max_dX", "X_end")
    with open(out / "avrami.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("id",) + keys)
        for rid, r in results.items():
            w.writerow((rid,) + tuple(f"{r[k]:.6g}" for k in keys))
    plot(results, out / "avrami.png", window)
    for k in ("n", "n_sharp", "t_half", "t_half_sharp", "max_dX"):
        v = np.array([r[k] for r in results.values()])
        sd = v.std(ddof=1) if v.size > 1 else 0.0
        print(f"{k:13s} mean {v.mean():.4f}  sd {sd:.4f}  min {v.min():.4f}  max {v.max():.4f}")
    print(f"wrote {out / 'avrami.csv'} and {out / 'avrami.png'} ({len(results)} runs)")


if __name__ == "__main__":
    main()
