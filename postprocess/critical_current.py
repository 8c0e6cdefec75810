"""The critical stripping current against stack pressure, from a sweep of
stripping runs over current and pressure (the interface_voids block;
e.g. cases/sweeps/li_stripping_critical_current.toml).

    python -m postprocess.critical_current RUNS_DIR

Each finished run is a stripping run at one current density |I| (the
collector's current_density), stack pressure and temperature (from its
case.toml).  A run whose status says "contact lost" failed: voids took the
contact before its end; a run that reached its end held.  Per (pressure,
temperature) the critical current lies between the largest current that
held and the smallest that failed; its estimate is their geometric mean.
Without a held run it is below the smallest current tried, without a
failed one above the largest: the bound is written, the estimate left
empty.  A run that failed for another reason (Newton gave up) is listed
and left out.

Writes RUNS_DIR/critical_current.csv (pressure_Pa, temperature_K,
critical_current_A_m2, held_below_A_m2, failed_above_A_m2, runs) and
critical_current.png (the estimate with its bracket against pressure, one
line per temperature).
"""
from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from anodex.case import load_case  # noqa: E402

from .plot_run import save_figure_and_rows  # noqa: E402
from .summarize import list_runs  # noqa: E402

def classify(run: Path) -> tuple | None:
    """(pressure Pa, temperature K, |current| A/m^2, held?) of a finished
    stripping run; None for a run that did not end by itself or ended for
    another reason than its end or lost contact (with the reason printed)."""
    try:
        status = json.loads((run / "status.json").read_text())
    except (OSError, ValueError):
        print(f"left out, no status: {run}")
        return None
    reason = str(status.get("reason", ""))
    if status.get("status") == "completed":
        held = True
    elif status.get("status") == "stopped" and "contact lost" in reason:
        held = False
    else:
        print(f"left out, {status.get('status')}: {run.name} ({reason[:120]})")
        return None
    si = load_case(run / "case.toml").si
    if "interface_voids" not in si["model"]["blocks"]:
        print(f"left out, no interface_voids block: {run.name}")
        return None
    return (si["mechanics"]["stack_pressure"], si["material"]["temperature"],
            abs(si["collector"]["current_density"]), held)


def critical_currents(records) -> list[dict]:
    """One row per (pressure, temperature): the bracket and its geometric mean."""
    groups = defaultdict(list)
    for pressure, temperature, current, held in records:
        groups[(pressure, temperature)].append((current, held))
    rows = []
    for (pressure, temperature), runs in sorted(groups.items()):
        held = [c for c, ok in runs if ok]
        failed = [c for c, ok in runs if not ok]
        below = max(held) if held else math.nan
        above = min(failed) if failed else math.nan
        estimate = math.sqrt(below * above) if held and failed and below < above else math.nan
        if held and failed and below >= above:
            print(f"p = {pressure:g} Pa, T = {temperature:g} K: a current of {below:g} A/m^2 "
                  f"held while {above:g} A/m^2 failed: no single critical current")
        rows.append({"pressure_Pa": pressure, "temperature_K": temperature,
                     "critical_current_A_m2": estimate, "held_below_A_m2": below,
                     "failed_above_A_m2": above, "runs": len(runs)})
    return rows


def describe(row) -> str:
    """The estimate or the bound of one row, in mA/cm^2."""
    below, above = row["held_below_A_m2"] / 10, row["failed_above_A_m2"] / 10
    if math.isnan(above):
        return f"critical current above {below:.4g} mA/cm^2 (every current held)"
    if math.isnan(below):
        return f"critical current below {above:.4g} mA/cm^2 (every current lost contact)"
    return (f"critical current {row['critical_current_A_m2'] / 10:.4g} mA/cm^2 (held "
            f"{below:.4g}, lost contact {above:.4g})")


def plot(rows):
    """The figure: the estimate with its bracket against pressure."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    by_temperature = defaultdict(list)
    for r in rows:
        by_temperature[r["temperature_K"]].append(r)
    for temperature, group in sorted(by_temperature.items()):
        p = [r["pressure_Pa"] / 1e6 for r in group]
        lo = [r["held_below_A_m2"] / 10 for r in group]  # A/m^2 -> mA/cm^2
        hi = [r["failed_above_A_m2"] / 10 for r in group]
        est = [r["critical_current_A_m2"] / 10 for r in group]
        line, = ax.plot(p, est, "o-", label=f"{temperature:g} K")
        colour = line.get_color()
        bracketed = [(x, h, f) for x, h, f in zip(p, lo, hi) if h == h and f == f]
        if bracketed:
            ax.vlines(*zip(*bracketed), color=colour, alpha=0.5)
        # a bound alone: above every current tried (^), below every one (v)
        ax.plot([x for x, h, f in zip(p, lo, hi) if math.isnan(f) and not math.isnan(h)],
                [h for h, f in zip(lo, hi) if math.isnan(f) and not math.isnan(h)], "^",
                color=colour)
        ax.plot([x for x, h, f in zip(p, lo, hi) if math.isnan(h) and not math.isnan(f)],
                [f for h, f in zip(lo, hi) if math.isnan(h) and not math.isnan(f)], "v",
                color=colour)
    ax.set(xlabel="stack pressure (MPa)", ylabel="critical stripping current (mA/cm$^2$)",
           title="bars: held to lost contact; ^ v: a bound")
    ax.legend()
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs_dir", type=Path)
    a = ap.parse_args(argv)
    if not a.runs_dir.is_dir():
        raise SystemExit(f"{a.runs_dir}: not a directory of runs")
    records = [r for r in (classify(d) for _, d, _ in list_runs(a.runs_dir)) if r]
    if not records:
        raise SystemExit(f"no finished stripping runs with the interface_voids block under "
                         f"{a.runs_dir}")
    rows = critical_currents(records)
    save_figure_and_rows(plot(rows), rows, a.runs_dir, "critical_current")
    for r in rows:
        print(f"p = {r['pressure_Pa'] / 1e6:g} MPa, T = {r['temperature_K']:g} K: "
              f"{describe(r)} ({r['runs']} runs)")
    print(f"wrote {a.runs_dir / 'critical_current.csv'} and critical_current.png")


if __name__ == "__main__":
    main()
