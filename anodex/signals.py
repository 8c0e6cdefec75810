"""Signals that end a run: SIGTERM (a batch system's time limit, `kill`),
SIGUSR1 and SIGUSR2 (a batch system's warning before its limit, e.g. SLURM's
`--signal=USR1@120`; mpirun passes them on to the ranks) and SIGINT
(Ctrl-C).  A signal raises Terminated at a safe point; inside a
critical section (``deferred``: a step's outputs, the stepper's history
shift) it is only remembered and raised at the section's end, so a run
always ends on a consistent state that a checkpoint can hold."""
from __future__ import annotations

import contextlib
import signal


class Terminated(BaseException):
    """SIGTERM (a batch system's time limit, `kill`) or SIGINT (Ctrl-C): ends
    the run through the normal failure path, so status.json says so and the
    checkpoint stays."""


# what a signal that ends a run is called in status.json
SIGNAL_REASONS = {signal.SIGTERM: "terminated by SIGTERM", signal.SIGINT: "interrupted (SIGINT)",
                  signal.SIGUSR1: "terminated by SIGUSR1", signal.SIGUSR2: "terminated by SIGUSR2"}
_signalled = []  # signals received (the handler's exception may reach us wrapped)
_writing = []  # inside deferred(): the signal waits for its end
# raise at once (one rank); several ranks only remember the signal and stop
# together where the step loop asks them all (agreed())
_at_once = [True]


def signal_reason() -> str | None:
    """Why a signal ended the run (the first one received), or None."""
    return SIGNAL_REASONS[_signalled[0]] if _signalled else None


def interrupted() -> bool:
    """Ctrl-C (SIGINT) ended the run."""
    return bool(_signalled) and _signalled[0] == signal.SIGINT


def terminate_on_signals(ranks=1) -> dict:
    """Raise Terminated on SIGTERM, SIGUSR1/2 and SIGINT.  Raised inside a
    PETSc callback it comes back as a PETSc error (petsc4py 3.25), or as a failed Newton
    solve that the stepper would retry with a smaller step (a KeyboardInterrupt
    did so, measured), so the signal is also remembered: describe() reports
    it whatever exception carried it, and a step's deferred() outputs raise
    it at their end.  During deferred() it is only remembered and raised at the
    end (raised inside np.savez it left a half-closed zip file and a
    traceback on stderr, measured).  On several ranks the signal is only
    remembered: a rank raising inside a solve while another waits in a
    collective call of it would hang both (a 2-rank run interrupted mid-
    solve did, measured); agreed() stops them together after a step."""
    def handler(signum, frame):
        _signalled.append(signum)
        if _at_once[0] and not _writing:
            raise Terminated(SIGNAL_REASONS[signum])
    _signalled.clear()  # (a second run in the same process starts afresh)
    _at_once[0] = ranks == 1
    return {signum: signal.signal(signum, handler) for signum in SIGNAL_REASONS}


def restore_handlers(previous: dict):
    """Put back the handlers terminate_on_signals() replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@contextlib.contextmanager
def deferred(then_end=True):
    """A step's outputs (time series, logs, fields, checkpoint) are written
    whole: a SIGTERM arriving meanwhile ends the run after them (then_end),
    or is only recorded when the run is ending anyway (finish)."""
    _writing.append(True)
    try:
        yield
    finally:
        _writing.pop()
    if then_end and _signalled and not _writing and _at_once[0]:
        raise Terminated(signal_reason())


def agreed(comm):
    """Collective, after a step: Terminated on every rank if any rank got a
    signal (the first rank's reason)."""
    if comm.size > 1:
        reasons = [r for r in comm.allgather(signal_reason()) if r]
        if reasons:
            raise Terminated(reasons[0])
