"""Plot a run: a panel for each result its model records (deposit, tip,
currents, potential against capacity when cycling, SEI thickness, nuclei
and their radii, the space-charge profile) and the last output of up to
three fields (a line in 1-D, a map in 2-D, the middle slice in 3-D); of a
0-D SEI run, the thickness and resistance.

    python -m postprocess.plot_run RUN_DIR [-o summary.png]
"""
from __future__ import annotations

import argparse
import csv
import json
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402


def read_series(run: Path):
    with open(run / "timeseries.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) if r[k] else np.nan for r in rows]) for k in rows[0]}


def run_fields(run: Path) -> dict:
    """{name: unit} of the fields the run wrote (metadata.json), eta first."""
    fields = json.loads((run / "metadata.json").read_text())["fields"]
    return dict(sorted(fields.items(), key=lambda item: item[0] != "eta"))


# The published single-potential model (block `potential`) has one potential:
# the reaction is a sink of the electrolyte's current at the front and no
# electronic current is modelled, so its electrode face carries about none.
SINGLE_POTENTIAL_NOTE = ("single-potential model (published): the reservoir's current ends\n"
                         "in the reaction at the front; no electronic current is modelled,\n"
                         "so the electrode face carries ~0 (docs/two-potential.md)")


def current_columns(series) -> list:
    """The time series' currents (A/m^2): through the electrode or collector
    face and the reservoir face, whichever the model records."""
    return [k for k in series if k.endswith("_current_A_m2")]


def read_last_fields(run: Path, names):
    """Points (m) and {name: (t, values)} of the last output of each field."""
    from anodex.api import read_field
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


def _series_panels(run: Path, ts) -> list:
    """[(name, draw(ax))] of the time-series panels this run's columns and
    files call for, in order."""
    t = ts["t_s"]
    panels = []
    for name in ("deposit", "tip"):
        _against_time(panels, name, t, ts)
    if current_columns(ts):
        def currents(a):
            for k, col in enumerate(current_columns(ts)):  # (dashed: they often coincide)
                a.plot(t[1:], ts[col][1:] / 10, label=col.replace("_current_A_m2", " face"),
                       linestyle=("-", "--", ":")[k % 3])
            a.set(xlabel="t (s)", ylabel="current (mA/cm^2)",
                  title="currents (see docs/case-reference.md for signs)")
            if "electrode_current_A_m2" in ts and "charge_C_m2" in ts:
                # (between the reservoir's current and the electrode's ~0)
                a.text(0.02, 0.3, SINGLE_POTENTIAL_NOTE, transform=a.transAxes, fontsize=7,
                       va="center", bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
            a.legend()
        panels.append(("currents", currents))
    if "cycle" in ts and np.nanmax(ts["cycle"]) > 0:
        def cycling(a):
            # each cycle from its own start, as a tester plots it (a cycle
            # whose net charge is not zero shifts the next one otherwise)
            for c in np.unique(ts["cycle"][1:]):
                rows = np.flatnonzero(ts["cycle"] == c)
                start = ts["capacity_mAh_cm2"][max(rows[0] - 1, 0)]
                a.plot(ts["capacity_mAh_cm2"][rows] - start, ts["cell_potential_V"][rows],
                       label=f"cycle {int(c)}")
            a.set(xlabel="capacity passed in the cycle (mAh/cm^2, plating +)",
                  ylabel="cell potential (V)", title="cycling: potential against capacity")
            a.xaxis.set_major_locator(MaxNLocator(5))  # (long tick labels ran together)
            if len(np.unique(ts["cycle"][1:])) <= 10:
                a.legend(fontsize="small")
        panels.append(("cycling", cycling))
    elif "cell_potential_V" in ts:
        _against_time(panels, "potential", t, ts)
    _against_time(panels, "sei", t, ts)
    along = _sei_along_the_interface(run)
    if along is not None:
        def sei_profile(a):
            y, thickness, tf = along
            a.plot(y * 1e6, thickness * 1e9, marker=".")
            a.set(xlabel="y along the interface (um)", ylabel="SEI thickness (nm)",
                  title=f"SEI along the interface (eta = 1/2) at t = {tf:.6g} s")
        panels.append(("sei profile", sei_profile))
    if "contact_fraction" in ts:
        def contact(a):
            a.plot(t, ts["contact_fraction"], label="contact (metal touching electrolyte)")
            if "void_fraction" in ts:
                a.plot(t, ts["void_fraction"], linestyle="--", label="voids (of the interface)")
            a.set(xlabel="t (s)", ylabel="fraction of the interface", ylim=(-0.02, 1.02),
                  title="contact and voids")
            a.legend(fontsize="small")
        panels.append(("contact", contact))
    _against_time(panels, "interface resistance", t, ts)
    if "nuclei" in ts:
        events = _read_rows(run / "nucleation.csv")

        def nuclei(a):
            # births at their own times (nucleation.csv); the column counts the
            # nuclei alive in the state each row solved, so a birth at the end
            # of a step shows from the next row on
            born = sorted(float(e["t_s"]) for e in events if e["event"] == "born")
            if born:
                a.step([0.0, *born, t[-1]], [0, *range(1, len(born) + 1), len(born)],
                       where="post", label="born (nucleation.csv)")
            a.step(t, ts["nuclei"], where="post", linestyle="--", label="alive (time series)")
            a.set(xlabel="t (s)", ylabel="nuclei", title="nuclei")
            a.legend(fontsize="small")
        panels.append(("nuclei", nuclei))
        if any(e["event"] in ("born", "inserted") and e["radius_m"] for e in events):
            def radii(a):
                every = []
                for kind, marker in (("born", "."), ("inserted", "o")):
                    pts = [(float(e["t_s"]), float(e["radius_m"]) * 1e9) for e in events
                           if e["event"] == kind and e["radius_m"]]
                    if pts:
                        a.plot(*zip(*pts), marker, label=kind, linestyle="none")
                        every += [r for _, r in pts]
                # (log only over a decade or more: equal radii read 1.0506x10^0 on every tick)
                wide = max(every) > 10 * min(every)
                a.set(xlabel="t (s)", ylabel="radius (nm)", yscale="log" if wide else "linear",
                      title="nucleus radii (nucleation.csv)")
                if not wide:
                    _widen_flat(a, 0.05)
                a.legend(fontsize="small")
            panels.append(("nucleus radii", radii))
    profile = _read_rows(run / "space_charge_profile.csv")
    if profile:
        def space_charge(a):
            x = np.array([float(r["x_m"]) for r in profile]) * 1e9
            a.plot(x, [float(r["phi_V"]) for r in profile])
            a.set(xlabel="distance from the interface (nm)", ylabel="phi (V)",
                  title="space-charge layer: potential profile")
        panels.append(("space charge", space_charge))
    return panels


# panels of one column against time: name -> (column, scale, y label, title)
AGAINST_TIME = {
    "deposit": ("deposit_thickness_m", 1e6, "deposit thickness (um)", "metal deposited"),
    "tip": ("tip_position_m", 1e6, "tip x (um)", "eta = 1/2 tip position"),
    "potential": ("cell_potential_V", 1.0, "cell potential (V)", "collector potential"),
    "sei": ("sei_thickness_m", 1e9, "mean SEI thickness (nm)", "SEI: mean thickness"),
    "interface resistance": ("interface_resistance_ohm_cm2", 1.0,
                             "interface resistance (Ohm cm^2)", "interface resistance"),
}


def _axisymmetric(run: Path) -> bool:
    """The run's geometry turns about its axis (y is the radius r)."""
    try:
        return bool(tomllib.loads((run / "case.toml").read_text())["geometry"].get("axisymmetric"))
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return False


def _sei_along_the_interface(run: Path, bins=60):
    """(y, SEI thickness, t) at the front of a 2-D or 3-D run's last output:
    in each of `bins` strips across y, the node whose eta is nearest 1/2."""
    if not (run / "sei_thickness.xdmf").exists():
        return None
    points, fields = read_last_fields(run, ["eta", "sei_thickness"])
    if len(fields) < 2 or points.shape[1] < 2 or np.ptp(points[:, 1]) == 0:
        return None
    (tf, eta), (_, thickness) = fields["eta"], fields["sei_thickness"]
    y = points[:, 1]
    strip = np.minimum(((y - y.min()) / np.ptp(y) * bins).astype(int), bins - 1)
    picked = [np.flatnonzero(strip == k)[np.argmin(np.abs(eta[strip == k] - 0.5))]
              for k in range(bins) if np.any(strip == k)]
    return y[picked], thickness[picked], tf


def _against_time(panels, name, t, ts):
    """Add the panel `name` of AGAINST_TIME if the run records its column
    with a finite value (a bare collector's tip is -inf throughout)."""
    column, scale, ylabel, title = AGAINST_TIME[name]
    if column in ts and np.isfinite(ts[column]).any():
        def draw(a):
            a.plot(t, ts[column] * scale)
            a.set(xlabel="t (s)", ylabel=ylabel, title=title)
        panels.append((name, draw))


def _read_rows(path: Path) -> list:
    if not path.exists():
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def panels(run: Path) -> list:
    """The names of the panels plot_run draws for a run: its time-series
    panels, then one per field (at most three)."""
    ts = read_series(run)
    return [name for name, _ in _series_panels(run, ts)] + [
        f"field {name}" for name in list(run_fields(run))[:3] if (run / f"{name}.xdmf").exists()]


def _widen_flat(a, relative=1e-3):
    """A nearly constant series (a set current) gets a y range of at least
    `relative` of its level: its ticks then read -1 instead of -0.9999996."""
    y = np.concatenate([np.asarray(ln.get_ydata(), float) for ln in a.get_lines()] or [[]])
    y = y[np.isfinite(y)]
    if y.size and np.ptp(y) < relative * np.max(np.abs(y)):
        level, half = float(np.mean(y)), relative * float(np.max(np.abs(y)))
        a.set_ylim(level - half, level + half)


def _length_unit(span: float) -> tuple:
    """(factor from m, name) for a plot's coordinates: nm below 1 um of
    extent, um below 1 cm, else mm."""
    if span < 1e-6:
        return 1e9, "nm"
    return (1e6, "um") if span < 1e-2 else (1e3, "mm")


def _readable(v, unit: str) -> tuple:
    """(values, unit label) readable without an axis offset: a nearly
    uniform field as its variation about its mean, and values of magnitude
    below 1e-3 or above 1e4 scaled by a power of ten named in the label."""
    label = unit
    if np.size(v) and np.ptp(v) <= 1e-12 * np.max(np.abs(v)):  # (round-off: no profile)
        return np.zeros_like(v) + float(np.mean(v)), f"{unit}, uniform"
    if np.size(v) and np.ptp(v) < 1e-6 * np.max(np.abs(v)):
        shift = float(np.mean(v))
        v, label = v - shift, f"{unit} about {shift:.6g}"
    top = float(np.max(np.abs(v))) if np.size(v) else 0.0
    if top > 0 and not 1e-3 <= top < 1e4:
        power = int(np.floor(np.log10(top)))
        v, label = v / 10.0 ** power, f"1e{power} {label}"
    return v, label


def _draw_field(fig, a, points, name, unit, tf, v, radial=False):
    """The last output of a field: a line in 1-D, a map in 2-D, the middle
    z slice in 3-D; colour bars carry the unit."""
    label = "eta (metal = 1)" if name == "eta" else f"{name} ({unit})"
    cmap = {"eta": "viridis", "c": "magma", "salt_concentration": "magma"}.get(name, "coolwarm")
    span = np.ptp(points, axis=0)
    title = f"{label} at t = {tf:.6g} s"
    scale, length = _length_unit(float(span.max()))
    if span[1] == 0:
        order = np.argsort(points[:, 0])
        values, shown_unit = _readable(v[order], unit)
        a.plot(points[order, 0] * scale, values)
        a.set(xlabel=f"x ({length})",
              ylabel="eta (metal = 1)" if name == "eta" else f"{name} ({shown_unit})")
        a.ticklabel_format(axis="y", useOffset=False)
        a.set_title(title)
        return
    if points.shape[1] > 2 and span[2] > 0:  # 3-D: the node layer nearest mid-depth
        layers = np.unique(points[:, 2])
        z = layers[np.argmin(np.abs(layers - points[:, 2].min() - span[2] / 2))]
        on = np.abs(points[:, 2] - z) <= 1e-9 * span[2]
        points, v = points[on], v[on]
        title += f", slice z = {z * scale:.3g} {length}"
    if name != "eta":
        v, unit = _readable(v, unit)
    x, y = points[:, 0] * scale, points[:, 1] * scale
    im = a.tripcolor(x, y, v, cmap=cmap, shading="gouraud")
    if name == "eta" and v.min() < 0.5 < v.max():
        a.tricontour(x, y, v, levels=[0.5], colors="w")
    a.set_aspect("equal")
    a.set(xlabel=f"x ({length})", ylabel=f"{'r' if radial else 'y'} ({length})")
    bar = fig.colorbar(im, ax=a, shrink=0.8)
    bar.set_label("eta" if name == "eta" else unit)
    # (the values are scaled in _readable: no offset or x 10^n text above the
    # bar, where it ran into the panel's title)
    bar.formatter.set_useOffset(False)
    bar.formatter.set_scientific(False)
    bar.update_ticks()
    a.set_title(title)


def plot_run(run: Path, out: Path | None = None) -> Path:
    run = Path(run)
    ts = read_series(run)
    status = json.loads((run / "status.json").read_text())
    out = Path(out) if out else run / "summary.png"
    if "deposit_thickness_m" not in ts and "sei_thickness_m" in ts:
        return plot_sei_0d(run, ts, status, out)
    series = _series_panels(run, ts)
    units = run_fields(run)
    points, fields = read_last_fields(run, list(units)[:3])
    ncols = 3
    nrows = -(-(len(series) + len(fields)) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4.25 * nrows), squeeze=False)
    axes = list(axes.flat)
    for a, (_, draw) in zip(axes, series):
        draw(a)
        if a.get_yscale() == "linear":
            a.ticklabel_format(axis="y", useOffset=False)
            _widen_flat(a)
    radial = _axisymmetric(run)
    for a, (name, (tf, v)) in zip(axes[len(series):], fields.items()):
        _draw_field(fig, a, points, name, units[name], tf, v, radial)
    for a in axes[len(series) + len(fields):]:
        a.set_axis_off()
    fig.suptitle(f"{run.name}: {status['status']} ({status['reason']})")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    ap.add_argument("run", type=Path)
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    if not (args.run / "timeseries.csv").is_file() or not (args.run / "status.json").is_file():
        raise SystemExit(f"plot_run: {args.run}: not an anodex run directory (it needs "
                         "timeseries.csv and status.json)")
    print(plot_run(args.run, args.output))


if __name__ == "__main__":
    main()
