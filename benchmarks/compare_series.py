"""Time series of two sets of runs, column by column: the largest relative
difference per run (every column but wall_s), to show that a change of the
code changes no result.

    for c in cases/*.toml; do anodex run $c -o BEFORE/$(basename $c .toml) \
        --set time.max_steps=100; done        # on the old commit, then AFTER on the new
    python benchmarks/compare_series.py BEFORE AFTER
"""
import csv
import sys
from pathlib import Path


def read(path):
    with open(path / "timeseries.csv") as f:
        return list(csv.DictReader(f))


def largest_difference(before, after):
    """(relative difference, where), rows matched by step; a step one side
    lacks is an infinite difference."""
    steps = [r["step"] for r in before], [r["step"] for r in after]
    if steps[0] != steps[1]:
        return float("inf"), f"steps differ ({len(before)} vs {len(after)} rows)"
    worst = (0.0, "")
    for x, y in zip(before, after):
        for c in (c for c in x if c != "wall_s"):
            if x[c] == y.get(c):
                continue
            u, v = float(x[c] or "nan"), float(y.get(c) or "nan")
            d = abs(u - v) / max(abs(u), abs(v)) if u != v else 0.0
            if not d <= worst[0]:  # (NaN counts as a difference)
                worst = (d, f"{c} at step {x['step']}")
    return worst


def main(before_root, after_root):
    overall = (0.0, "")
    for before in sorted(p for p in Path(before_root).iterdir() if (p / "timeseries.csv").exists()):
        after = Path(after_root) / before.name
        if not (after / "timeseries.csv").exists():
            print(f"{before.name}: no time series in {after_root}")
            overall = (float("inf"), before.name)
            continue
        a, b = read(before), read(after)
        d, where = largest_difference(a, b)
        columns = "" if list(a[0]) == list(b[0]) else " (columns differ)"
        print(f"{before.name:30s} {len(a):5d} rows  largest relative difference {d:.3g} "
              f"{where}{columns}")
        if not d <= overall[0]:
            overall = (d, f"{before.name}: {where}")
    print("largest:", overall)


if __name__ == "__main__":
    main(*sys.argv[1:3])
