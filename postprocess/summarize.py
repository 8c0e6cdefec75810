"""Summaries of many runs: one CSV of final metrics, one of all time series,
and the standard plots.

    anodex summarize RUNS_DIR        (or python -m postprocess.summarize RUNS_DIR)

RUNS_DIR is a sweep directory (with manifest.csv: its varied parameters
become columns) or any directory whose subdirectories are run directories.
Writes into RUNS_DIR:

* summary.csv: per run its id, status, the varied parameters, and at the
  last step t, deposit thickness and amount, tip position and velocity,
  electrode current, charge, steps and wall time;
* timeseries_all.csv: every run's time series with an id column;
* summary_series.png: deposit, tip position, tip velocity and electrode
  current against time, one line per run;
* summary_vs_<parameter>.png: the final deposit, tip and current against each
  varied parameter that takes numeric values, one line per combination of
  the other varied parameters (labelled), so a second swept variable can be
  told apart; 0-D SEI runs: their thickness, charge, current and resistance.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .plot_run import read_series  # noqa: E402

FINAL = {"t_s": "t_end_s", "deposit_thickness_m": "deposit_thickness_m",
         "metal_mol_m2": "metal_mol_m2", "tip_position_m": "tip_position_m",
         "tip_velocity_m_s": "tip_velocity_m_s", "electrode_current_A_m2": "electrode_current_A_m2",
         "charge_C_m2": "charge_C_m2", "collector_current_A_m2": "collector_current_A_m2",
         "collector_charge_C_m2": "collector_charge_C_m2", "wall_s": "wall_s",
         **{k: k for k in ("sei_thickness_m", "sei_charge_C_m2", "sei_current_A_m2",
                           "sei_resistance_ohm_m2")}}
SERIES = (("deposit_thickness_m", 1e6, "deposit thickness (um)"),
          ("tip_position_m", 1e6, "tip position (um)"),
          ("tip_velocity_m_s", 1e9, "tip velocity (nm/s)"),
          ("electrode_current_A_m2", 0.1, "electrode current (mA/cm^2)"))


SEI_SERIES = (("sei_thickness_m", 1e9, "SEI thickness (nm)"),
              ("sei_charge_C_m2", 1.0, "SEI charge (C/m^2)"),
              ("sei_current_A_m2", 1.0, "SEI current (A/m^2)"),
              ("sei_resistance_ohm_m2", 1e4, "SEI resistance rho L (ohm cm^2)"))


def series_for(ts) -> tuple:
    """SERIES with the current a run records (the collector's in the
    two-potential model, the electrode face's in the published model); a
    0-D SEI run's own."""
    if "sei_thickness_m" in ts and "deposit_thickness_m" not in ts:
        return SEI_SERIES
    current = "collector_current_A_m2" if "collector_current_A_m2" in ts else "electrode_current_A_m2"
    return (*SERIES[:3], (current, 0.1, current.replace("_A_m2", " (mA/cm^2)").replace("_", " ")))


_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*)")


def finished(run: Path) -> bool:
    """The run ended by itself (completed or stopped), not failed or running."""
    try:
        return json.loads((run / "status.json").read_text())["status"] in ("completed", "stopped")
    except (OSError, ValueError, KeyError):
        return False


def list_runs(root: Path):
    """[(id, run dir, {parameter: value})] from the manifest or the subdirectories."""
    manifest = root / "manifest.csv"
    if manifest.exists():
        with open(manifest, newline="") as f:
            rows = list(csv.DictReader(f))
        skip = {"id", "status", "reason"}
        return [(r["id"], root / r["id"], {k: v for k, v in r.items() if k not in skip})
                for r in rows]
    return [(p.name, p, {}) for p in sorted(root.iterdir()) if (p / "timeseries.csv").exists()]


def _numeric(values):
    """(numbers, unit) if every value is '<number> [unit]' with one unit, else None."""
    nums, units = [], set()
    for v in values:
        m = _NUMBER.fullmatch(str(v))
        if not m:
            return None
        nums.append(float(m.group(1)))
        units.add(m.group(2))
    return (np.array(nums), units.pop()) if len(units) == 1 else None


def summarize(root) -> list[str]:
    root = Path(root)
    runs = list_runs(root)
    if not runs:
        raise SystemExit(f"anodex summarize: {root}: no runs (no manifest.csv and no "
                         "subdirectory with a timeseries.csv)")
    params = list(runs[0][2])
    summary, series, all_rows = [], {}, []
    for rid, run, values in runs:
        status_file = run / "status.json"
        status = json.loads(status_file.read_text()) if status_file.exists() else {}
        row = {"id": rid, "status": status.get("status", "not started"),
               "reason": status.get("reason", ""), **values}
        if (run / "timeseries.csv").exists():
            s = read_series(run)
            series[rid] = s
            row.update({name: s[col][-1] for col, name in FINAL.items() if col in s})
            row["steps"] = len(s["t_s"]) - 1
            with open(run / "timeseries.csv", newline="") as f:
                all_rows += [{"id": rid, **r} for r in csv.DictReader(f)]
        summary.append(row)
    columns = list(dict.fromkeys(k for r in summary for k in r))
    with open(root / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(summary)
    out = [f"wrote {root / 'summary.csv'} ({len(summary)} runs)"]
    if all_rows:
        with open(root / "timeseries_all.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(all_rows[0]))
            w.writeheader()
            w.writerows(all_rows)
        out.append(f"wrote {root / 'timeseries_all.csv'} ({len(all_rows)} rows)")

    if series:
        fig, axes = plt.subplots(2, 2, figsize=(12, 8))
        for (col, scale, label), ax in zip(series_for(next(iter(series.values()))), axes.flat):
            for rid, s in series.items():
                ax.plot(s["t_s"][1:], s[col][1:] * scale, label=rid)
            ax.set(xlabel="t (s)", ylabel=label)
        if len(series) <= 12:
            axes.flat[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(root / "summary_series.png", dpi=100)
        plt.close(fig)
        out.append(f"wrote {root / 'summary_series.png'}")
    done = [r for r in summary if "t_end_s" in r]
    # a key that takes one value in the runs is not a sweep axis (no plot
    # against it, no legend entry)
    varied = [p for p in params if len({r[p] for r in done}) > 1]
    for p in varied:
        png = _plot_against(root, done, p, [q for q in varied if q != p])
        if png:
            out.append(f"wrote {png}")
    return out


def _plot_against(root, done, p, others):
    """summary_vs_<p>.png: the final deposit, tip and current against the
    swept parameter p, one line per combination of the other swept values
    (labelled); None if p is not numeric or fewer than two runs finished."""
    parsed = _numeric([r[p] for r in done])
    if parsed is None or len(done) < 2:
        return None
    x, unit = parsed
    groups = {}
    for i, r in enumerate(done):
        groups.setdefault(tuple(r[q] for q in others), []).append(i)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    final = series_for(done[0])
    for ax, (col, scale, label) in zip(axes, (final[0], final[1], final[3])):
        y = np.array([r[col] for r in done]) * scale
        for key, members in groups.items():
            members = sorted(members, key=lambda i: x[i])
            ax.plot(x[members], y[members], "o-",
                    label=", ".join(f"{q} = {v}" for q, v in zip(others, key)) or None)
        ax.set(xlabel=f"{p} ({unit})" if unit else p, ylabel=f"final {label}")
    if others and len(groups) <= 12:  # (below the panels: it covered the first one's axis)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", fontsize=7,
                   ncol=min(len(groups), 3), frameon=False)
    fig.tight_layout(rect=(0, 0.06 * (-(-len(groups) // 3)) if others else 0, 1, 1))
    png = root / f"summary_vs_{p.replace('.', '_')}.png"
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs_dir")
    for line in summarize(ap.parse_args(argv).runs_dir):
        print(line)


if __name__ == "__main__":
    main()
