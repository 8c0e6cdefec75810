"""Passivating against mixed-conducting interphases, in 0-D over a year.

    python -m postprocess.sei_passivation OUT

Runs cases/li_argyrodite_sei.toml (passivating: electrons only tunnel,
L ~ ln t), cases/li_latp_sei.toml (a mixed-conducting interphase: electron
migration with a finite electronic conductivity, L ~ sqrt(t)), the same
with a negligible electronic conductivity (1e-18 S/m), and
cases/mg_film_sei.toml (an ion-blocking film on Mg) into OUT/<case>, and
draws OUT/sei_passivation.png: the thickness, the interphase resistance
rho L and the ohmic drop i rho L it puts on plating at 1 mA/cm^2, against
time.  The numbers at 1 day and 1 year go to OUT/sei_passivation.csv.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mpi4py import MPI  # noqa: E402

from anodex.case import load_case  # noqa: E402
from anodex.simulation import run_case  # noqa: E402

from .plot_run import read_series, save_figure_and_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = [  # (label, case, --set overrides, style)
    ("Li | argyrodite: passivating (tunnelling)", "li_argyrodite_sei", {}, "C0-"),
    ("Li | LATP-like MCI: kappa_e = 1e-9 S/m", "li_latp_sei", {}, "C3-"),
    ("the same, kappa_e = 1e-18 S/m", "li_latp_sei",
     {"sei.electronic_conductivity": "1e-18 S/m"}, "C3--"),
    ("Mg | ion-blocking film", "mg_film_sei", {}, "C2-"),
]
PLATING = 10.0  # A/m^2, 1 mA/cm^2
DAY = 86400.0


def run_all(out: Path) -> dict:
    """{label: time series} of the four 0-D runs (rerun: they take ms)."""
    series = {}
    for label, name, overrides, _ in RUNS:
        case = load_case(ROOT / "cases" / f"{name}.toml", overrides)
        path = out / (name + ("-negligible" if overrides else ""))
        run_case(case, path, overwrite=True, comm=MPI.COMM_SELF)
        series[label] = read_series(path)
    return series


def plot(series: dict, out: Path) -> Path:
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.6))
    rows = []
    for (label, _, _, style), ts in zip(RUNS, series.values()):
        days = ts["t_s"][1:] / DAY
        L, R = ts["sei_thickness_m"][1:], ts["sei_resistance_ohm_m2"][1:]
        ax[0].loglog(days, L * 1e9, style, label=label)
        ax[1].loglog(days, R * 1e4, style, label=label)
        ax[2].loglog(days, PLATING * R, style, label=label)
        for when in (1.0, 365.25):
            k = int(np.argmin(np.abs(days - when)))
            rows.append({"case": label, "t_days": days[k], "thickness_m": L[k],
                         "resistance_ohm_cm2": R[k] * 1e4, "drop_at_1mA_cm2_V": PLATING * R[k]})
    ax[0].set(xlabel="t (days)", ylabel="L (nm)", title="interphase thickness")
    ax[1].set(xlabel="t (days)", ylabel="rho L (ohm cm^2)", title="interphase resistance")
    ax[2].axhline(0.1, color="k", lw=0.8, ls=":")
    ax[2].set(xlabel="t (days)", ylabel="i rho L (V)",
              title="its ohmic drop at 1 mA/cm^2 (dotted: 0.1 V)")
    for a in ax:
        a.set_xlim(1e-3, 400)  # 1.4 min to a year
    ax[0].legend(fontsize=8)
    fig.suptitle("Passivating interphases plateau, mixed-conducting ones keep growing "
                 "(0-D, 298 K; cases/*_sei.toml)")
    return save_figure_and_rows(fig, rows, out, "sei_passivation")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(plot(run_all(args.out), args.out))


if __name__ == "__main__":
    main()
