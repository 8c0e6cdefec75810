"""Run one case: build, step to the end or a stop condition, write output.

The loop is generic: the blocks draw their per-step random numbers
(before_solve), change the state between steps (after_step), add their
columns to the time series and may end the run (stop)."""
from __future__ import annotations

import gc
import time
from pathlib import Path

from mpi4py import MPI

from . import checkpoint, observables, output, rundir
from .adapt import Adaptor, transfer
from .blocks import Note
from .nonlinear import NewtonSolver
from .output import RunOutput, prepare_directory, run_logger, write_status
from .problem import Problem
from .signals import Terminated, agreed, deferred, signal_reason
from .stepping import GiveUp, Stepper
from .units import readable_time


def describe(error: BaseException) -> str:
    """One line for status.json: what stopped the run."""
    from petsc4py import PETSc
    if signal_reason():
        return signal_reason()
    if isinstance(error, Terminated):
        return str(error)
    if isinstance(error, PETSc.Error):
        return (f"PETSc error {error.ierr} in the solver (see run.log and the PETSc "
                "documentation; check [solver] petsc_options)")
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (SIGINT)"
    return f"{type(error).__name__}: {error}"


def run_case(case, outdir, overwrite=False, comm=MPI.COMM_WORLD, command_line=None,
             restart=False):
    """Run `case` into `outdir`; returns the final status dict.  restart: continue
    the run in `outdir` from its checkpoint (any number of ranks; the caller
    claims its lock, as `anodex run --restart` does).  Rank 0 releases the
    directory's lock (anodex/rundir.py) when the run ends."""
    zero_d = case.model.without_space_block
    try:
        if zero_d is not None:
            if restart:
                raise ValueError(f"a run of {zero_d.without_space} (geometry kind = \"point\") "
                                 "has no checkpoint: run it again with a later [time] end")
            return zero_d.run_without_space(case, outdir, overwrite, comm, command_line)
        run = Run(case, outdir, overwrite, comm, restart)
        run.build(command_line)
        try:
            return run.loop()
        finally:
            # (the solver's PETSc objects freed now: a script may run many cases)
            if getattr(run, "ns", None) is not None:
                run.ns.destroy()
    finally:
        if comm.rank == 0:
            rundir.release(outdir)


def _clock(seconds) -> str:
    """h:mm:ss (or "?" before there is anything to go by)."""
    if not seconds == seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Run:
    def __init__(self, case, outdir, overwrite, comm, restart):
        self.wall0 = time.perf_counter()
        self.case, self.comm, self.restart = case, comm, restart
        self.path = Path(outdir) if restart else prepare_directory(outdir, comm, overwrite,
                                                                    case.source)
        if comm.rank == 0 and not restart:  # from here on every run has a status.json
            write_status(self.path, "starting", "building the problem")
        self.log = run_logger(self.path, comm)
        self.log.info(f"anodex: case {case.si['case']['name']} ({case.source}) on {comm.size} "
                      f"rank(s) -> {self.path}")
        for warning in case.warnings:
            (self.log.info if isinstance(warning, Note) else self.log.warning)(warning)

    def build(self, command_line):
        """Problem, solver, stepper and output, from scratch or a checkpoint;
        a failure is recorded in status.json."""
        case, restart = self.case, self.restart
        try:
            self.adaptor = None
            if case.si["mesh_adaptivity"]["enabled"]:
                self.adaptor = Adaptor(case, self.comm)
                self.pb = pb = (Problem(case, self.comm, checkpoint.load_mesh(
                    self.path, self.comm, self.adaptor.cell_name)) if restart
                    else self.initial_adapted_problem())
            else:
                self.pb = pb = Problem(case, self.comm)
            saved = checkpoint.load(self.path, pb) if restart else {}
            if not restart and self.adaptor is None:
                pb.set_initial()
            self.ns = NewtonSolver(pb, case.si["solver"])
            self.stepper = Stepper(pb, self.ns, case.si["time"], self.log.info, self.log.debug)
            self.t_end = pb.scales.to_internal(case.si["time"]["end"], "s")
            self.interval = pb.scales.to_internal(case.si["output"]["field_interval"], "s")
            self.next_out = min(self.interval, self.t_end)
            if restart:
                self._restore(saved)
            self.t_start = self.stepper.t  # (the progress line's ETA counts from here)
            self.out = RunOutput(self.path, pb, case, self.comm, command_line,  # "running" now
                                 restart_step=self.stepper.step if restart else None,
                                 mesh=int(saved.get("adaptations", 0)))
            if self.adaptor and not restart:
                self.out.record_mesh(0, 0.0)
            if restart and self.adaptor:  # (adaptations after the checkpoint are redone)
                self.adaptor.adaptations = int(saved["adaptations"])
                self.out.meta["adaptations"] = [a for a in self.out.meta.get("adaptations", [])
                                                if a["adaptation"] <= self.adaptor.adaptations]
        except BaseException as e:
            reason = f"set-up failed: {describe(e)}"
            if self.comm.rank == 0:
                write_status(self.path, "failed", reason)
            self.log.error(reason)
            raise
        # wall seconds of earlier invocations (restarts continue the clock)
        self.wall_before = float(saved.get("wall_s", 0.0))
        self.setup_s = time.perf_counter() - self.wall0
        self.last_checkpoint = time.perf_counter()
        self.log.info(f"{self.out.meta['dofs']} unknowns, linear solver preset "
                      f"'{self.ns.preset}', setup {self.setup_s:.1f} s")

    def initial_adapted_problem(self):
        """The initial state on a mesh refined `levels` times, one level per
        pass: each pass refines where the previous one's initial fields
        change too much across a cell."""
        pb = Problem(self.case, self.comm, self.adaptor.base)
        pb.set_initial()
        for level in range(1, self.case.si["mesh_adaptivity"]["levels"] + 1):
            pb = Problem(self.case, self.comm, self.adaptor.refine(pb, level))
            pb.set_initial()
        return pb

    def adapt(self):
        """A new mesh for the current state (anodex/adapt.py): the problem,
        solver and stepper rebuilt on it, the blocks' and stepper's state
        carried over with both history levels, new field files."""
        t0 = time.perf_counter()
        gc.collect()  # (see the note on the old solver below)
        old = self.pb
        pb = Problem(self.case, self.comm, self.adaptor.refine(old))
        transfer(old, pb)
        for new_block, old_block in zip(pb.blocks, old.blocks):
            new_block.restore(old_block.state())
        ns = NewtonSolver(pb, self.case.si["solver"])
        ns.timing, ns.factorizations = self.ns.timing, self.ns.factorizations  # (the run's totals)
        # the old mesh's solver and problem freed here, and the collector run
        # before and after, not whenever it gets to them: on dolfinx 0.9 the
        # first run of a fresh JIT cache failed every Newton solve after its
        # third adaptation, the same run with a warm cache passed (measured
        # in the Debian 13 chroot; collections at these two points cure it,
        # either alone does not; the cause inside dolfinx is not known)
        self.ns.destroy()
        self.ns = ns
        stepper = Stepper(pb, self.ns, self.case.si["time"], self.log.info, self.log.debug)
        stepper.restore(self.stepper.state())
        self.pb, self.stepper = pb, stepper
        del old, stepper
        gc.collect()
        self.adaptor.adaptations += 1
        self.out.remesh(pb, self.adaptor.adaptations, self.seconds(self.stepper.t))
        self.adaptor.seconds += time.perf_counter() - t0
        self.log.info(f"adapted the mesh ({self.adaptor.adaptations}): {self.out.meta['dofs']} "
                      f"unknowns, {time.perf_counter() - t0:.2f} s")

    def _restore(self, saved):
        self.stepper.restore(saved)
        for b in self.pb.blocks:
            b.restore(saved)
        self.next_out = min(saved["next_out"], self.t_end)
        if self.next_out <= self.stepper.t * (1 + 1e-12):  # the end time was extended
            self.next_out = min(self.stepper.t + self.interval, self.t_end)
        self.log.info(f"restarted from the checkpoint at step {self.stepper.step}, "
                      f"t = {self.seconds(self.stepper.t):.6g} s")

    def seconds(self, t):
        return self.pb.scales.to_si(t, "s")

    def wall(self):
        return self.wall_before + time.perf_counter() - self.wall0

    def write_checkpoint(self):
        t0 = time.perf_counter()
        scalars = {**self.stepper.state(), "next_out": self.next_out, "wall_s": self.wall()}
        if self.adaptor:
            scalars["adaptations"] = self.adaptor.adaptations
        for b in self.pb.blocks:
            scalars.update(b.state())
        with deferred():
            checkpoint.save(self.path, self.pb, scalars, with_mesh=self.adaptor is not None)
        self.out.output_time += time.perf_counter() - t0
        self.last_checkpoint = time.perf_counter()

    def checkpoint_last_step(self):
        """A signal ended the run: a checkpoint of the last accepted step (the
        solve it interrupted is dropped: u goes back to u_n), so `--restart`
        loses no finished step.  A second signal meanwhile is ignored."""
        if self.stepper.step != self.row_step:
            # (the signal came between a step's acceptance and its row: the
            # last checkpoint stays, so the restarted series has no gap)
            self.log.info("no checkpoint written: the last step has no row yet")
            return
        self.pb.u.x.array[:] = self.pb.u_n.x.array
        try:
            self.write_checkpoint()
            self.log.info(f"checkpoint written at step {self.stepper.step} "
                          f"(t = {self.seconds(self.stepper.t):.6g} s)")
        except Terminated:
            pass

    def checkpoint_due(self, wrote_fields):
        cfg, comm = self.case.si["checkpoint"], self.comm
        by_steps = cfg["every_steps"] and self.stepper.step % cfg["every_steps"] == 0
        by_wall = comm.bcast(time.perf_counter() - self.last_checkpoint > cfg["every_wall"]
                             if comm.rank == 0 else None, root=0)
        return wrote_fields or by_steps or by_wall

    def step(self):
        """One accepted step with its row, events, fields and checkpoint;
        returns (row, a reason to stop or None)."""
        pb, stepper = self.pb, self.stepper

        def before_solve(t0, t1):
            for b in pb.blocks:
                b.before_solve(pb, t0, t1)
        changes = [(b.next_change(pb, stepper.t), b.data_jumps) for b in pb.blocks]
        row = None

        def accepted(st):
            """The accepted step's row, events, fields and checkpoint, in the
            stepper's critical section (a signal that came meanwhile, or that
            a solver swallowed, ends the run after them)."""
            nonlocal pb, stepper, row  # (an adaptation replaces pb and stepper)
            row = observables.record(pb, stepper.step, stepper.t, st["dt"], st["newton"],
                                     st["krylov"], st["integrals"])
            row["wall_s"] = self.wall()
            self.out.append(row)
            # (before the blocks' events of this step: a protocol step's end)
            self.log.debug(f"step {stepper.step}: t = {self.seconds(stepper.t):.6g} s, dt = "
                           f"{self.seconds(st['dt']):.3g} s, Newton {st['newton']}, Krylov "
                           f"{st['krylov']}")
            changed = [b.after_step(pb, stepper.step, stepper.t, st["dt"], row)
                       for b in pb.blocks]
            # a block's event changed the state, or the step landed on a jump
            # of the data (a control's step, not a ramp's kink): the history
            # of the smooth solution before it does not belong to the next step
            jumped = any(jumps and stepper.t >= t * (1 - 1e-12) for t, jumps in changes)
            if any(changed) or jumped:
                stepper.reset_history()
            control_jumped = jumped or any(b.control_jumped for b in pb.blocks)
            self.out.append_logs()  # (before an adaptation replaces the blocks)
            self.row_step = stepper.step
            if self.adaptor and (stepper.step % self.case.si["mesh_adaptivity"]["interval"] == 0
                                 or self.adaptor.front_escaped(pb)):
                self.adapt()
                pb, stepper = self.pb, self.stepper
            wrote_fields = stepper.t >= self.next_out * (1 - 1e-12)
            if wrote_fields:
                self.out.write_fields(self.seconds(stepper.t))
                self.next_out = min(self.next_out + self.interval, self.t_end)
            if self.checkpoint_due(wrote_fields):
                self.write_checkpoint()
            self.ns.after_control_jump = control_jumped
        st = stepper.advance(min([self.next_out] + [t for t, _ in changes]), before_solve,
                             accepted)
        agreed(self.comm)  # (several ranks stop on a signal together, here)
        self._report(st, row)
        stops = [r for r in (b.stop(row) for b in pb.blocks) if r]
        if stepper.step >= self.case.si["time"]["max_steps"]:
            stops.append(f"reached max_steps = {self.case.si['time']['max_steps']}")
        return stops[0] if stops else None

    def _report(self, st, row):
        """A progress line on the console every second on a terminal
        (refreshed in place) or every 10 s otherwise, which run.log keeps
        every 10 s, and at the end (run.log's per-step DEBUG lines are
        written by step)."""
        t, now = self.stepper.t, time.perf_counter()
        end = t >= self.t_end * (1 - 1e-12) or self.done() is not None
        to_file = now - self.last_report > 10 or end
        if not (to_file or (output.CONSOLE_IS_TERMINAL and now - self.last_shown > 1)):
            return
        self.last_shown = now
        if to_file:
            self.last_report = now
        extra = "".join(f", {p}" for p in (b.progress(row) for b in self.pb.blocks) if p)
        # how far: the time's fraction, or a block's program's when further or
        # when the program set [time] end (a protocol that ends by cut-offs,
        # whose end is only a bound: its time fraction says nothing)
        programs = [f for f in (b.fraction_done() for b in self.pb.blocks) if f is not None]
        program = max(programs, default=0.0)
        end_derived = self.case.provenance.get("time.end", "").startswith("derived")
        if programs and (end_derived or program >= t / self.t_end):  # (a protocol's steps)
            where, pace = f" ({100 * program:.1f} % of the steps)", program
        else:  # (the pace of this run, which may be a restart: from t_start)
            where = f" of {self.seconds(self.t_end):.4g} s ({100 * t / self.t_end:.1f} %)"
            pace = (t - self.t_start) / max(self.t_end - self.t_start, 1e-300)
        self.log.info(f"t = {self.seconds(t):.4g} s{where}, step "
                      f"{self.stepper.step}, dt = {self.seconds(st['dt']):.3g} s, Newton "
                      f"{st['newton']}{extra}, {self._eta(pace)}",
                      extra={"progress": True, "to_file": to_file})

    def _eta(self, done):
        """Wall time so far and the rest, assuming the run keeps its present
        pace towards its end (the step size grows or shrinks: an estimate)."""
        wall = time.perf_counter() - self.wall0
        rest = wall * (1 - done) / done if done > 0 else float("nan")
        return f"wall {_clock(wall)}, ETA ~{_clock(rest)}"

    def loop(self):
        """Step to the end or a stop; record how the run ended."""
        self.last_report = self.last_shown = time.perf_counter()
        self.row_step = self.stepper.step  # (the step whose row was written last)
        if not self.restart:
            self.out.append({**observables.record(self.pb, 0, 0.0, 0.0, 0, 0, self.pb.integrals()),
                             "wall_s": time.perf_counter() - self.wall0})
            self.out.write_fields(0.0)
        state, reason = "completed", f"reached end time {readable_time(self.case.si['time']['end'])}"
        # (a restarted run whose blocks have nothing left, e.g. a finished
        # protocol, takes no step)
        done, stop = self.done(), None
        try:
            while not done and self.stepper.t < self.t_end * (1 - 1e-12):
                stop = self.step()
                done = self.done()
                if done or stop:
                    break
            if done:
                state, reason = "completed", done
            elif stop:
                state, reason = "stopped", stop
            self.write_checkpoint()  # lets a finished run be extended with --restart
        except GiveUp as e:  # every rank gives up together
            # (a SIGTERM inside a solve can surface as failed solves down to dt_min)
            state, reason = "failed", signal_reason() or str(e)
            self.write_checkpoint()
            self.log.error(f"run gave up: {reason}; checkpoint written at step {self.stepper.step} "
                           f"(t = {self.seconds(self.stepper.t):.6g} s)")
        except BaseException as e:
            state, reason = "failed", describe(e)
            # (on several ranks only Terminated, which agreed() raises on all
            # of them: a rank's own signal must not start a collective alone)
            if isinstance(e, Terminated) or (self.comm.size == 1 and signal_reason()):
                self.checkpoint_last_step()
            raise
        finally:
            summary = self.finish(state, reason)
        return {"status": state, "reason": reason, **summary}

    def done(self):
        """Why a block's program is over (Block.done), or None."""
        return next((r for r in (b.done() for b in self.pb.blocks) if r), None)

    def finish(self, state, reason):
        """status.json, the last fields, metadata.json; returns the summary."""
        stepper, out = self.stepper, self.out
        wall = time.perf_counter() - self.wall0
        summary = {"t_s": self.seconds(stepper.t), "steps": stepper.step,
                   "rejected_steps": stepper.rejected, "failed_solves": stepper.failed_solves}
        with deferred(then_end=False):
            out.status(state, reason, **summary)
            try:
                out.write_fields(self.seconds(stepper.t))  # the last state, also after a failure
                if state != "failed":
                    for b in self.pb.blocks:
                        out.write_results(b.final_results(self.pb))
            finally:
                out.write_meta(finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"), wall_time_s=wall,
                               setup_time_s=self.setup_s,
                               time_split_s={**self.ns.time_split(), "output": out.output_time,
                                             **({"adaptation": self.adaptor.seconds}
                                                if self.adaptor else {})},
                               result=summary, status=state)
                out.close()
        self.log.info(f"{state}: {reason} (t = {self.seconds(stepper.t):.4g} s, {stepper.step} "
                      f"steps, {stepper.rejected} rejected, wall {wall:.1f} s)")
        return summary
