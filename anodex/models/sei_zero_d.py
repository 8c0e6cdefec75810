"""The 0-D SEI mode: the thickness L(t) of a flat SEI under one growth law
(sei_laws.py), for days to years in seconds of wall time.  A case with
``[geometry] kind = "point"`` and an ``[sei]`` section runs it: the sei
block's 0-D mode (SEI.run_without_space).

Two quantities are integrated together by PETSc's adaptive Dormand-Prince
Runge-Kutta (TS "rk", "5dp"):

    dL/dt = V j(L)/(z F),     dQ/dt = j(L)

Q, the charge the SEI reaction consumed (C/m^2), is the time integral of
the current, not derived from L: the check z F (L - L0)/V = Q compares two
integrals (Faraday's law of the SEI).  The electrode potential is the
[sei] electrode_potential key, constant.
"""
from __future__ import annotations

import csv
import json
import time

from mpi4py import MPI

from ..constants import FARADAY
from ..units import readable_time
from .sei_laws import coefficients, current_density, growth_rate

COLUMNS = ("step", "t_s", "dt_s", "sei_thickness_m", "sei_charge_C_m2", "sei_current_A_m2",
           "sei_resistance_ohm_m2", "wall_s")
SAMPLES = 200  # the step is at most t_end/SAMPLES: the time series draws the curve


def integrate(law: str, p: dict, L0: float, t_end: float, rtol: float = 1e-10):
    """[(t, dt, L, Q, wall)] at t = 0 and every accepted step to t_end (s);
    wall: seconds since the call."""
    from petsc4py import PETSc
    wall0 = time.perf_counter()
    prefix = "anodex_sei_"
    opts = PETSc.Options(prefix)
    opts["ts_adapt_dt_max"] = t_end / SAMPLES
    ts = PETSc.TS().create(comm=PETSc.COMM_SELF)
    ts.setOptionsPrefix(prefix)
    ts.setProblemType(PETSc.TS.ProblemType.NONLINEAR)
    ts.setType("rk")
    ts.setRKType("5dp")
    c, dphi = coefficients(law, p), p.get("electrode_potential", 0.0)
    u = PETSc.Vec().createSeq(2)
    u.setValues([0, 1], [L0, 0.0])
    u.assemble()

    def rhs(ts_, t, x, out):
        L = x.getValue(0)
        rate = growth_rate(law, L, dphi, c)
        out.setValues([0, 1], [rate, p["charge_number"] * FARADAY / p["molar_volume"] * rate])
        out.assemble()
    ts.setRHSFunction(rhs, u.duplicate())
    rows = []

    def monitor(ts_, step, t, x):
        rows.append((t, t - rows[-1][0] if rows else 0.0, x.getValue(0), x.getValue(1),
                     time.perf_counter() - wall0))
    ts.setMonitor(monitor)
    ts.setTime(0.0)
    ts.setMaxTime(t_end)
    ts.setExactFinalTime(PETSc.TS.ExactFinalTime.MATCHSTEP)
    ts.setMaxSteps(10 ** 7)
    # first step: a millionth of the time L0 takes to double at the initial rate
    ts.setTimeStep(min(t_end / SAMPLES, 1e-6 * L0 / max(growth_rate(law, L0, dphi, c), 1e-300)))
    # the charge's absolute tolerance: the charge of rtol L0 of SEI
    q0 = p["charge_number"] * FARADAY * L0 / p["molar_volume"]
    atol = u.duplicate()
    atol.setValues([0, 1], [rtol * L0, rtol * q0])
    atol.assemble()
    ts.setTolerances(rtol=rtol, atol=atol)
    ts.setFromOptions()
    ts.solve(u)
    del opts["ts_adapt_dt_max"]
    ts.destroy()
    return rows


def run_point(case, p, outdir, overwrite=False, comm=MPI.COMM_WORLD, command_line=None):
    """Run a 0-D SEI case into outdir with the law's parameters p at the case
    temperature (sei.rate_parameters; every rank computes the same, rank 0
    writes): timeseries.csv, case.toml, metadata.json, status.json, run.log."""
    from .. import __version__, compat
    from ..output import git_sha, prepare_directory, run_logger, write_status
    wall0 = time.perf_counter()
    path = prepare_directory(outdir, comm, overwrite, case.source)
    root = comm.rank == 0
    if root:
        write_status(path, "running", "0-D SEI")
    log = run_logger(path, comm)
    si = case.si
    law = si["sei"]["law"]
    L0, t_end = si["sei"]["initial_thickness"], si["time"]["end"]
    log.info(f"anodex: case {si['case']['name']} ({case.source}): 0-D SEI, law {law}, "
             f"T = {p['temperature']:g} K, to {t_end:g} s -> {path}")
    for warning in case.warnings:
        log.warning(warning)
    setup = time.perf_counter() - wall0
    try:
        rows = integrate(law, p, L0, t_end)
    except Exception as e:
        reason = f"{type(e).__name__}: {e}"
        if root:
            write_status(path, "failed", reason)
        log.error(f"failed: {reason}")
        raise
    rho = si["sei"]["ionic_resistivity"]
    wall = time.perf_counter() - wall0
    L_end, Q_end = rows[-1][2], rows[-1][3]
    summary = {"t_s": rows[-1][0], "steps": len(rows) - 1, "sei_thickness_m": L_end,
               "sei_charge_C_m2": Q_end}
    if root:
        (path / "case.toml").write_text(case.to_toml())
        with open(path / "timeseries.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            for step, (t, dt, L, Q, seconds) in enumerate(rows):
                writer.writerow([step] + [f"{v:.17g}" for v in (
                    t, dt, L, Q, current_density(law, L, p.get("electrode_potential", 0.0), p),
                    rho * L, setup + seconds)])
        meta = {"anodex": __version__, "versions": compat.versions(), "mpi_ranks": comm.size,
                "git_sha": git_sha(), "command_line": command_line, "case_source": case.source,
                "mode": "0-D SEI (geometry kind = point)", "law": law,
                "rate_parameters_at_T": p, "integrator": "PETSc TS rk 5dp, rtol 1e-10",
                "result": summary, "wall_time_s": wall,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (path / "metadata.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        write_status(path, "completed", f"reached end time {readable_time(t_end)}", **summary)
    comm.barrier()  # the files are complete when any rank returns
    log.info(f"completed: L = {L_end:.6g} m after {t_end:g} s ({len(rows) - 1} steps, "
             f"SEI charge {Q_end:.6g} C/m^2, wall {wall:.2f} s)")
    return {"status": "completed", "reason": f"reached end time {readable_time(t_end)}", **summary}
