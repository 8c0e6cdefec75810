"""The 0-D SEI mode against PyBaMM's solvent-diffusion-limited SEI over a year.

    .venv/bin/python benchmarks/sei_vs_pybamm.py --pybamm-python PY [--z-sei 2]

PY: a Python with PyBaMM (not a dependency of anodex: `python3 -m venv
/tmp/pb && /tmp/pb/bin/pip install pybamm`); this script runs its PyBaMM
half there and reads the result as JSON.  PyBaMM's single-particle model with "SEI": "solvent-
diffusion limited" at zero current (a cell at rest: the SEI grows, nothing
else changes), O'Kane 2022 parameters with the SEI values below (chosen for
the comparison, not in the repository's cases), against anodex's 0-D mode
for the same values: [sei] charge_number = solvent_stoichiometry = z_sei
(PyBaMM counts one electron per solvent molecule, docs/sei.md).  Prints
L(1 year) of both and their largest relative difference over the year.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

YEAR = 365.25 * 86400.0
SEI = {"diffusivity": 3.1e-22, "concentration": 1850.0, "molar_volume": 7.3e-5,
       "L0": 3.2e-9, "activation_energy": 2.7e4, "T": 313.15, "T_ref": 298.15}


def pybamm_thickness(times, z_sei):
    import pybamm
    pv = pybamm.ParameterValues("OKane2022")
    pv.update({"SEI solvent diffusivity [m2.s-1]": SEI["diffusivity"],
               "Bulk solvent concentration [mol.m-3]": SEI["concentration"],
               "SEI partial molar volume [m3.mol-1]": SEI["molar_volume"],
               "Initial SEI thickness [m]": SEI["L0"],
               "SEI growth activation energy [J.mol-1]": SEI["activation_energy"],
               "Reference temperature [K]": SEI["T_ref"], "Ambient temperature [K]": SEI["T"],
               "Initial temperature [K]": SEI["T"], "Current function [A]": 0.0,
               "Ratio of lithium moles to SEI moles": float(z_sei)})
    model = pybamm.lithium_ion.SPM({"SEI": "solvent-diffusion limited"})
    sim = pybamm.Simulation(model, parameter_values=pv,
                            solver=pybamm.IDAKLUSolver(rtol=1e-10, atol=1e-14))
    sol = sim.solve(t_eval=[0.0, YEAR], t_interp=times)
    return sol["X-averaged negative SEI thickness [m]"].entries


def anodex_thickness(times, z_sei):
    from anodex.case import validate
    from anodex.simulation import run_case
    from mpi4py import MPI
    data = {"case": {"name": "sei-vs-pybamm"}, "material": {"temperature": f"{SEI['T']!r} K"},
            "geometry": {"kind": "point"}, "time": {"end": "1 year"},
            "sei": {"law": "solvent_diffusion", "initial_thickness": f"{SEI['L0']!r} m",
                    "molar_volume": f"{SEI['molar_volume']!r} m^3/mol", "charge_number": z_sei,
                    "solvent_stoichiometry": float(z_sei),
                    "solvent_diffusivity": f"{SEI['diffusivity']!r} m^2/s",
                    "solvent_concentration": f"{SEI['concentration']!r} mol/m^3",
                    "activation_energy": f"{SEI['activation_energy']!r} J/mol",
                    "reference_temperature": f"{SEI['T_ref']!r} K"}}
    out = Path(tempfile.mkdtemp()) / "run"
    run_case(validate(data, "<sei-vs-pybamm>"), out, comm=MPI.COMM_SELF)
    rows = np.genfromtxt(out / "timeseries.csv", delimiter=",", names=True)
    return np.interp(times, rows["t_s"], rows["sei_thickness_m"])


def times():
    t = np.concatenate([[0.0], np.logspace(3, np.log10(YEAR), 40)])
    t[-1] = YEAR
    return t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--z-sei", type=int, default=1)
    ap.add_argument("--pybamm-python", help="a Python interpreter with PyBaMM")
    ap.add_argument("--emit-pybamm", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.emit_pybamm:  # (run by the PyBaMM interpreter)
        print(json.dumps(list(map(float, pybamm_thickness(times(), args.z_sei)))))
        return
    done = subprocess.run([args.pybamm_python, __file__, "--emit-pybamm", "--z-sei",
                           str(args.z_sei)], capture_output=True, text=True, check=True)
    theirs = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    ours = anodex_thickness(times(), args.z_sei)
    print(f"z_sei = {args.z_sei}: L(1 year) anodex {ours[-1]:.9g} m, PyBaMM {theirs[-1]:.9g} m, "
          f"difference {ours[-1] / theirs[-1] - 1:.2e}; largest over the year "
          f"{np.abs(ours[1:] / theirs[1:] - 1).max():.2e} (anodex's steps interpolated linearly)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
