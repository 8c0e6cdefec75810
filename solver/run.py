"""Run one case: build, step to the end or a stop condition, write output."""
from __future__ import annotations

import math
import signal
import time
from pathlib import Path

from mpi4py import MPI

from . import checkpoint
from .nonlinear import NewtonSolver
from .noise import step_average
from .observables import Observables
from .output import RunOutput, prepare_directory, run_logger, write_status
from .problem import Problem
from .stepping import GiveUp, Stepper
from .stochastic_nucleation import SubstrateNucleation


class Terminated(BaseException):
    """SIGTERM (a batch system's time limit, `kill`): ends the run through the
    normal failure path, so status.json says so and the checkpoint stays."""


_signalled = []  # SIGTERM received (the handler's exception may reach us wrapped)


def terminate_on_sigterm():
    """Raise Terminated on SIGTERM.  Raised inside a PETSc callback it comes
    back as a PETSc error (petsc4py 3.25), so the signal is also remembered:
    describe() reports it whatever exception carried it, and the step loop
    checks it after every step."""
    def handler(signum, frame):
        _signalled.append(signum)
        raise Terminated("terminated by SIGTERM")
    signal.signal(signal.SIGTERM, handler)


def describe(error: BaseException) -> str:
    """One line for status.json: what stopped the run."""
    from petsc4py import PETSc
    if _signalled or isinstance(error, Terminated):
        return "terminated by SIGTERM"
    if isinstance(error, PETSc.Error):
        return (f"PETSc error {error.ierr} in the solver (see run.log and the PETSc "
                "documentation; check [solver] petsc_options)")
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (SIGINT)"
    return f"{type(error).__name__}: {error}"


def run_case(case, outdir, overwrite=False, comm=MPI.COMM_WORLD, command_line=None,
             restart=False):
    """Run `case` into `outdir`; returns the final status dict.  restart: continue
    the run in `outdir` from its checkpoint (any number of ranks)."""
    wall0 = time.perf_counter()
    path = Path(outdir) if restart else prepare_directory(outdir, comm, overwrite, case.source)
    if comm.rank == 0 and not restart:  # from here on every run has a status.json
        write_status(path, "starting", "building the problem")
    log = run_logger(path, comm)
    log.info(f"anodex: case {case.si['case']['name']} ({case.source}) on {comm.size} rank(s) -> {path}")
    for w in case.warnings:
        log.warning(w)
    try:
        pb = Problem(case, comm)
        saved = checkpoint.load(path, pb) if restart else None
        if not restart:
            pb.set_initial()
        ns = NewtonSolver(pb, case.si["solver"])
        stepper = Stepper(pb, ns, case.si["time"], log.info)
        obs = Observables(pb)
        nucleation = SubstrateNucleation(pb, case) if case.si["nucleation"]["enabled"] else None
        s, tcfg = pb.scales, case.si["time"]
        interval = case.si["output"]["field_interval"] / s.time
        next_out = min(interval, tcfg["end"] / s.time)
        if restart:
            stepper.restore(saved)
            obs.restore(saved)
            if nucleation:
                nucleation.restore(saved)
            next_out = min(saved["next_out"], tcfg["end"] / s.time)
            if next_out <= stepper.t * (1 + 1e-12):  # the end time was extended
                next_out = min(stepper.t + interval, tcfg["end"] / s.time)
            log.info(f"restarted from the checkpoint at step {stepper.step}, "
                     f"t = {stepper.t * s.time:.6g} s")
        out = RunOutput(path, pb, case, comm, command_line,  # status "running" from here on
                        restart_step=stepper.step if restart else None)
    except BaseException as e:
        reason = f"set-up failed: {describe(e)}"
        if comm.rank == 0:
            write_status(path, "failed", reason)
        log.error(reason)
        raise
    setup_s = time.perf_counter() - wall0
    log.info(f"{out.meta['dofs']} unknowns, linear solver preset '{ns.preset}', "
             f"setup {setup_s:.1f} s")

    # wall seconds of earlier invocations (restarts continue the clock)
    wall_before = float(saved.get("wall_s", 0.0)) if restart else 0.0
    coords, seed = pb.Q.tabulate_dof_coordinates(), case.si["noise"]["seed"]

    def draw_noise(t0, t1):
        pb.noise.x.array[:] = step_average(coords, seed, t0, t1, pb.p["noise_correlation_time"],
                                           pb.p["length"])

    ckpt_cfg = case.si["checkpoint"]
    last_checkpoint = [time.perf_counter()]

    def write_checkpoint():
        t0 = time.perf_counter()
        checkpoint.save(path, pb, {**stepper.state(), **obs.state(), "next_out": next_out,
                                   **(nucleation.state() if nucleation else {}),
                                   "wall_s": wall_before + time.perf_counter() - wall0})
        out.output_time += time.perf_counter() - t0
        last_checkpoint[0] = time.perf_counter()

    def checkpoint_due(wrote_fields):
        by_steps = ckpt_cfg["every_steps"] and stepper.step % ckpt_cfg["every_steps"] == 0
        by_wall = comm.bcast(time.perf_counter() - last_checkpoint[0] > ckpt_cfg["every_wall"]
                             if comm.rank == 0 else None, root=0)
        return wrote_fields or by_steps or by_wall

    t_end = tcfg["end"] / s.time
    tip_fraction = case.si["time"]["stop_tip_fraction"]
    tip_stop = tip_fraction * pb.p["length"] * s.length if tip_fraction < 1 else math.inf
    if not restart:
        out.append({**obs.record(0, 0.0, 0.0, 0, 0), "wall_s": time.perf_counter() - wall0})
        out.write_fields(0.0)
    state, reason = "completed", f"reached end time {tcfg['end']:g} s"
    last_report = time.perf_counter()
    try:
        while stepper.t < t_end * (1 - 1e-12):
            st = stepper.advance(next_out, draw_noise if pb.p["noise_amplitude"] > 0 else None)
            if _signalled:  # (in case a solver swallowed the exception)
                raise Terminated("terminated by SIGTERM")
            row = obs.record(stepper.step, stepper.t, st["dt"], st["newton"], st["krylov"])
            row["wall_s"] = wall_before + time.perf_counter() - wall0  # rank 0 writes it
            out.append(row)
            if nucleation:
                before = obs.metal_mol_m2()
                if nucleation.after_step(stepper.step, stepper.t, st["dt"]):
                    stepper.reset_history()
                    obs.nucleated += obs.metal_mol_m2() - before
                out.append_nuclei(nucleation.log_rows)
                nucleation.log_rows = []
            wrote_fields = stepper.t >= next_out * (1 - 1e-12)
            if wrote_fields:
                out.write_fields(stepper.t * s.time)
                next_out = min(next_out + interval, t_end)
            if checkpoint_due(wrote_fields):
                write_checkpoint()
            if time.perf_counter() - last_report > 10 or stepper.t >= t_end * (1 - 1e-12):
                last_report = time.perf_counter()
                log.info(f"t = {stepper.t * s.time:.4g} s, step {stepper.step}, dt = "
                         f"{st['dt'] * s.time:.3g} s, Newton {st['newton']}, tip = "
                         f"{row.get('tip_position_m', math.nan) * 1e6:.3f} um")
            if row.get("tip_position_m", -math.inf) > tip_stop:
                state, reason = "stopped", (f"tip passed {case.si['time']['stop_tip_fraction']:g} "
                                            "of the domain length")
                break
            if 0 < tcfg["stop_deposit_thickness"] <= row.get("deposit_thickness_m", 0.0):
                state, reason = "stopped", (f"deposit reached {tcfg['stop_deposit_thickness']:g} m "
                                            "(stop_deposit_thickness)")
                break
            if stepper.step >= tcfg["max_steps"]:
                state, reason = "stopped", f"reached max_steps = {tcfg['max_steps']}"
                break
        write_checkpoint()  # lets a finished run be extended with --restart
    except GiveUp as e:  # every rank gives up together
        # (a SIGTERM inside a solve can surface as failed solves down to dt_min)
        state, reason = "failed", "terminated by SIGTERM" if _signalled else str(e)
        write_checkpoint()
        log.error(f"run gave up: {reason}; checkpoint written at step {stepper.step} "
                  f"(t = {stepper.t * s.time:.6g} s)")
    except BaseException as e:
        state, reason = "failed", describe(e)
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
                           setup_time_s=setup_s,
                           time_split_s={**ns.time_split(), "output": out.output_time},
                           result=summary, status=state)
            out.close()
        log.info(f"{state}: {reason} (t = {stepper.t * s.time:.4g} s, {stepper.step} steps, "
                 f"{stepper.rejected} rejected, wall {wall:.1f} s)")
    return {"status": state, "reason": reason, **summary}
