"""Adaptive implicit time stepping with cut-and-retry.

Scheme: BDF1 for the first step (and after a restart of the history), then
variable-step BDF2.  Error control: after a converged step the solution is
compared with the linear extrapolation of the last two steps,
e = |q - q_pred| / (1 + |q|) at each node for every error indicator q the
blocks name (Block.error_indicators: for the electrodeposition model the
phase field and the ion concentration, not the chemical potential, which is
degenerate in the metal), and err is the max or the root mean square of e
over the nodes ([time] error_norm).  This is
the local error of the explicit second-order predictor, O(dt^2), so the
step follows dt_new = dt * clip(0.9 sqrt(tol / err), 0.2, 2) and a step with
err > tol is rejected.  tol = 0 turns error control off (steps only grow
after easy solves and are cut on failure).

Failure (Newton not converged, NaN/inf) cuts dt by 4, retries the same
step and caps later steps at that retried dt.  The cap relaxes per accepted
step: by 50 % after a step Newton solved in at most EASY_NEWTON iterations
(a failure in the start-up transient, Hong case t = 0.02 s, otherwise held
the steps 28 steps below what the error control allowed), by 25 % below
FAIL_MARGIN of the failed dt and by 2 % from there on.  The failed
dt is the evidence: in the Hong case's late growth Newton fails at a dt that
drifts slowly (0.3 s at t = 100 s, 0.12 s at t = 145 s), and a cap that
relaxed by 10 % per step straight back to it failed there again every ~15
steps, each failure costing 25 Newton iterations and a ramp from dt/4, a
mean step of 0.43 of the failed one (benchmarks/RESULTS.md).  Below dt_min
the run stops with the reason.  Step ends are clipped to
land on output times and the end time.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from .signals import deferred


class GiveUp(RuntimeError):
    """The step could not be completed even at dt_min."""


class Stepper:
    def __init__(self, problem, solver, time_cfg, log, detail=None):
        """log: a function of a message (failed solves); detail: the same for
        rejected steps (default log)."""
        self.pb, self.ns, self.cfg, self.log = problem, solver, time_cfg, log
        self.detail = detail or log
        self.scales = problem.scales
        self.t = 0.0  # internal time
        self.dt = self.scales.to_internal(time_cfg["dt_initial"], "s")
        self.dt_prev = None  # None -> next step is BDF1
        self.step = 0
        self.rejected = 0
        self.failed_solves = 0
        # after a failed Newton solve at dt_failed, steps stay below dt_cap,
        # which relaxes per accepted step (_relax_cap; None: no cap)
        self.dt_cap = None
        self.dt_failed = None
        # steps left whose Newton guess is the last solution, not the linear
        # extrapolation: after reset_history the two steps before it straddle
        # the jump (a 2-D hold -> strip: 100 Newton iterations and a failed
        # solve against 73 and none, measured)
        self.constant_guesses = 0
        self.bdf2 = time_cfg["scheme"] == "bdf2"

    CAP_RELAX_EASY = 1.5
    CAP_RELAX = 1.25
    CAP_RELAX_NEAR_FAILURE = 1.02
    FAIL_MARGIN = 0.7  # from this fraction of dt_failed up, the cap relaxes slowly
    EASY_NEWTON = 4
    STATE = ("t", "dt", "dt_prev", "step", "rejected", "failed_solves", "dt_cap", "dt_failed",
             "constant_guesses")

    def state(self) -> dict:
        """What a checkpoint needs to continue stepping exactly."""
        return {k: getattr(self, k) for k in self.STATE}

    def restore(self, state: dict):
        for k in self.STATE:
            setattr(self, k, state[k])

    def seconds(self, t):
        return self.scales.to_si(t, "s")

    def reset_history(self):
        """After the state was changed between steps (by a block's event): the
        current u is the new u_n, and the next step starts over with BDF1."""
        pb = self.pb
        pb.u_n.x.array[:] = pb.u.x.array
        pb.u_nm1.x.array[:] = pb.u.x.array
        self.dt_prev = None
        self.constant_guesses = 2

    def _indicators(self, f):
        nodal = {n: self.pb.field_values(n, f) for n in self.pb.names}
        out = {}
        for b in self.pb.blocks:
            out.update(b.error_indicators(self.pb.p, nodal))
        return out

    def _error(self):
        """Norm of e = |q - q_pred| / (1 + |q|) over the owned nodes, the larger
        over the blocks' error indicators q: max_i e_i, or sqrt(mean_i e_i^2)."""
        pb, r = self.pb, self.dt_used / self.dt_prev
        levels = [self._indicators(f) for f in (pb.u, pb.u_n, pb.u_nm1)]
        owned = pb.Q.dofmap.index_map.size_local  # owned nodes come first
        err = 0.0
        for name, q in levels[0].items():
            qn, qnm1 = levels[1][name], levels[2][name]
            e = (np.abs(q - (qn + r * (qn - qnm1))) / (1 + np.abs(q)))[:owned]
            if self.cfg["error_norm"] == "max":
                err = max(err, pb.comm.allreduce(e.max(initial=0.0), op=MPI.MAX))
            else:
                total, count = pb.comm.allreduce(np.array([e @ e, e.size]), op=MPI.SUM)
                err = max(err, float(np.sqrt(total / count)))
        return err

    def _predict(self, dt, dt_prev):
        """Newton's initial guess: the linear extrapolation of the last two
        steps (the previous solution for the first step, and for the two
        after a reset of the history)."""
        u, un, unm1 = self.pb.u.x.array, self.pb.u_n.x.array, self.pb.u_nm1.x.array
        if dt_prev is None or self.constant_guesses > 0:
            u[:] = un
        else:
            u[:] = un + (dt / dt_prev) * (un - unm1)

    def advance(self, t_stop, before_solve=None, accepted=None):
        """Take one accepted step, ending no later than t_stop (internal).
        before_solve(t0, t1): called before every attempt with the step's
        interval (noise draws, time-dependent data).  accepted(stats): called
        right after the history shift, in the same critical section (a signal
        never ends the run between a step's acceptance and its outputs).
        Returns step statistics and the blocks' integrals of the accepted step
        (assembled before the history shift: a boundary flux holding a time
        difference is the step's own)."""
        pb, cfg = self.pb, self.cfg
        dt_min, dt_max = (self.scales.to_internal(cfg[k], "s") for k in ("dt_min", "dt_max"))
        tol = cfg["error_tolerance"]
        newton = krylov = 0
        while True:
            intended = min(self.dt, dt_max)
            dt = self._landing(intended, t_stop - self.t)
            prev = self.dt_prev if self.bdf2 else None
            pb.set_time_weights(dt, prev)
            self._predict(dt, self.dt_prev)
            if before_solve is not None:  # (after the guess: a block may adjust it)
                before_solve(self.t, self.t + dt)
            ok, its, lits, reason = self.ns.solve()
            newton += its
            krylov += lits
            if not ok:
                self._failed(dt, its, reason, dt_min)
                continue
            self.dt_used = dt
            err = self._error() if tol > 0 and prev is not None else 0.0
            if tol > 0:
                factor = 2.0 if err == 0 else float(np.clip(0.9 * np.sqrt(tol / err), 0.2, 2.0))
            else:
                factor = 1.5 if its <= self.EASY_NEWTON else (1.0 if its <= 8 else 0.5)
            if tol > 0 and err > tol and dt > dt_min:
                self.rejected += 1
                self.detail(f"step {self.step + 1}: rejected, error {err:.3g} > {tol:g} "
                         f"at dt = {self.seconds(dt):.3g} s")
                self.dt = max(dt * factor, dt_min)
                continue
            shorter = [d for d in (b.shorter_step(pb, dt) for b in pb.blocks) if d is not None]
            if shorter and dt > dt_min:
                self.rejected += 1
                self.dt = max(min(shorter), dt_min)
                self.detail(f"step {self.step + 1}: rejected at dt = {self.seconds(dt):.3g} s, "
                            f"a block asks for {self.seconds(self.dt):.3g} s")
                continue
            # the blocks' integrals (consistent boundary fluxes contain the
            # time difference) on this step's own history levels and weights,
            # before _accept shifts the history
            stats = {"dt": dt, "newton": newton, "krylov": krylov, "error": err,
                     "integrals": pb.integrals()}
            with deferred():  # (a signal waits for the shift and the outputs)
                self._accept(dt, intended, factor, its)
                if accepted is not None:
                    accepted(stats)
            return stats

    def _failed(self, dt, its, reason, dt_min):
        """A failed Newton solve: a quarter of the step next, capped there
        (GiveUp below dt_min)."""
        self.failed_solves += 1
        self.log(f"step {self.step + 1}: Newton failed at t = {self.seconds(self.t):.6g} s, "
                 f"dt = {self.seconds(dt):.3g} s ({reason} after {its} iterations); cutting dt")
        self.dt = dt / 4
        self.dt_cap = self.dt if self.dt_cap is None else min(self.dt_cap, self.dt)
        self.dt_failed = dt
        if self.dt < dt_min:
            raise GiveUp(f"Newton failed ({reason}) at t = {self.seconds(self.t):.6g} s "
                         f"with dt below dt_min = {self.seconds(dt_min):g} s")

    @staticmethod
    def _landing(intended, remaining):
        """The step: land on t_stop without a sliver step, never above the intended dt."""
        if remaining <= intended * (1 + 1e-9):
            return remaining
        if remaining < 1.25 * intended:
            return remaining / 2
        return intended

    def _accept(self, dt, intended, factor, newton_its):
        """Shift the history and choose the next step (inside advance's
        critical section: a signal never splits the history from t)."""
        pb, cfg = self.pb, self.cfg
        dt_min, dt_max = (self.scales.to_internal(cfg[k], "s") for k in ("dt_min", "dt_max"))
        pb.u_nm1.x.array[:] = pb.u_n.x.array
        pb.u_n.x.array[:] = pb.u.x.array
        self.t += dt
        self.step += 1
        # A step shortened to land on t_stop does not shrink the next one;
        # the step ratio stays <= 2 (BDF2 zero-stability needs < 2.414).
        clipped = dt < intended
        nxt = intended if clipped and factor >= 1 else dt * factor
        self.dt = max(dt_min, min(nxt, 2 * dt))
        if self.dt_cap is not None:
            self.dt = max(dt_min, min(self.dt, self.dt_cap))
            self._relax_cap(newton_its, dt_max)
        self.dt_prev = dt
        self.constant_guesses = max(int(self.constant_guesses) - 1, 0)

    def _relax_cap(self, newton_its, dt_max):
        """Loosen the cap after an accepted step: fast after an easy solve or
        below FAIL_MARGIN of the failed dt, slowly from there on; gone once
        above dt_max."""
        if newton_its <= self.EASY_NEWTON:
            relax = self.CAP_RELAX_EASY
        elif self.dt_cap >= self.FAIL_MARGIN * self.dt_failed:
            relax = self.CAP_RELAX_NEAR_FAILURE
        else:
            relax = self.CAP_RELAX
        self.dt_cap *= relax
        if self.dt_cap >= dt_max:
            self.dt_cap = self.dt_failed = None
