"""Run one case: build, step to the end or a stop condition, write output."""
from __future__ import annotations

import math
import time

from mpi4py import MPI

from .nonlinear import NewtonSolver
from .noise import uniform_field
from .observables import Observables
from .output import RunOutput, prepare_directory, run_logger
from .problem import Problem
from .stepping import GiveUp, Stepper


def run_case(case, outdir, overwrite=False, comm=MPI.COMM_WORLD, command_line=None):
    """Run `case` into `outdir`; returns the final status dict."""
    wall0 = time.perf_counter()
    path = prepare_directory(outdir, comm, overwrite)
    log = run_logger(path, comm)
    log.info(f"anodex: case {case.si['case']['name']} ({case.source}) on {comm.size} rank(s) -> {path}")
    for w in case.warnings:
        log.warning(w)
    pb = Problem(case, comm)
    pb.set_initial()
    ns = NewtonSolver(pb, case.si["solver"])
    stepper = Stepper(pb, ns, case.si["time"], log.info)
    obs = Observables(pb)
    out = RunOutput(path, pb, case, comm, command_line)  # status "running" from here on
    log.info(f"{out.meta['dofs']} unknowns, linear solver preset '{ns.preset}', "
             f"setup {time.perf_counter() - wall0:.1f} s")
    s, tcfg = pb.scales, case.si["time"]

    coords, seed = pb.Q.tabulate_dof_coordinates(), case.si["noise"]["seed"]

    def draw_noise(step):
        pb.noise.x.array[:] = uniform_field(coords, seed, step, pb.p["length"])

    t_end = tcfg["end"] / s.time
    interval = case.si["output"]["field_interval"] / s.time
    next_out = min(interval, t_end)
    tip_stop = case.si["time"]["stop_tip_fraction"] * pb.p["length"] * s.length
    out.append(obs.record(0, 0.0, 0.0, 0, 0))
    out.write_fields(0.0)
    state, reason = "completed", f"reached end time {tcfg['end']:g} s"
    last_report = time.perf_counter()
    try:
        while stepper.t < t_end * (1 - 1e-12):
            st = stepper.advance(next_out, draw_noise if pb.p["noise_amplitude"] > 0 else None)
            row = obs.record(stepper.step, stepper.t, st["dt"], st["newton"], st["krylov"])
            out.append(row)
            if stepper.t >= next_out * (1 - 1e-12):
                out.write_fields(stepper.t * s.time)
                next_out = min(next_out + interval, t_end)
            if time.perf_counter() - last_report > 10 or stepper.t >= t_end * (1 - 1e-12):
                last_report = time.perf_counter()
                log.info(f"t = {stepper.t * s.time:.4g} s, step {stepper.step}, dt = "
                         f"{st['dt'] * s.time:.3g} s, Newton {st['newton']}, tip = "
                         f"{row.get('tip_position_m', math.nan) * 1e6:.3f} um")
            if row.get("tip_position_m", -math.inf) > tip_stop:
                state, reason = "stopped", (f"tip passed {case.si['time']['stop_tip_fraction']:g} "
                                            "of the domain length")
                break
            if stepper.step >= tcfg["max_steps"]:
                state, reason = "stopped", f"reached max_steps = {tcfg['max_steps']}"
                break
    except GiveUp as e:
        state, reason = "failed", str(e)
        log.error(f"run gave up: {reason}")
    except BaseException as e:
        state, reason = "failed", f"{type(e).__name__}: {e}"
        raise
    finally:
        wall = time.perf_counter() - wall0
        summary = {"t_s": stepper.t * s.time, "steps": stepper.step,
                   "rejected_steps": stepper.rejected, "failed_solves": stepper.failed_solves}
        out.status(state, reason, **summary)
        try:
            out.write_fields(stepper.t * s.time)  # the last state, also after a failure
        finally:
            out.write_meta(finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"), wall_time_s=wall,
                           time_split_s={"assembly": ns.timing["assembly"],
                                         "solve": ns.timing["solve"], "output": out.output_time},
                           result=summary, status=state)
            out.close()
        log.info(f"{state}: {reason} (t = {stepper.t * s.time:.4g} s, {stepper.step} steps, "
                 f"{stepper.rejected} rejected, wall {wall:.1f} s)")
    return {"status": state, "reason": reason, **summary}
