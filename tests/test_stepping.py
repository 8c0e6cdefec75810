"""Time stepping robustness: an absurd first step is recovered by cutting dt."""
import numpy as np
from mpi4py import MPI

from conftest import one_d_case
from helpers import Simulation


def run(dt_initial):
    case = one_d_case(**{"time.dt_initial": dt_initial, "time.dt_max": "1 s", "time.end": "1 s"})
    sim = Simulation(case)
    messages = []
    sim.stepper.log = messages.append
    sim.run_to(1.0)
    return sim, messages


def test_absurd_first_step_is_recovered_by_cutting():
    """dt = 1 s (100x the usual start) makes Newton fail; the stepper cuts dt,
    logs each failure with the SNES reason, and ends where a sane start ends."""
    bold, messages = run("1 s")
    assert bold.stepper.failed_solves >= 1
    assert any("Newton failed" in m and "cutting dt" in m and "DIVERGED" in m for m in messages)
    assert bold.pb.comm.allreduce(bool(np.isfinite(bold.pb.u.x.array).all()), op=MPI.LAND)
    sane, _ = run("0.01 s")
    assert abs(bold.t_seconds - 1.0) < 1e-12 and abs(sane.t_seconds - 1.0) < 1e-12
    # the front moved ~11.6 um; the two runs agree to 5.5e-12 m (measured,
    # dolfinx 0.5.2): allow 1e-10 m
    assert abs(bold.front() - sane.front()) < 1e-10, (bold.front(), sane.front())


def test_a_failed_factorization_does_not_poison_later_solves():
    """A Jacobian that MUMPS cannot factorize (here: all zeros) fails the solve
    with the linear solver's reason; the next solve, on a sound Jacobian, must
    factorize afresh and converge (PETSc's MUMPS interface skips every later
    numeric factorization of a factor object whose factorization failed)."""
    sim = Simulation(one_d_case())
    ns, pb = sim.ns, sim.pb
    pb.set_time_weights(0.01 / pb.scales.time)
    assemble = ns._jacobian

    def singular(snes, x, A, P):
        assemble(snes, x, A, P)
        for M in {id(A): A, id(P): P}.values():
            M.zeroEntries()
            M.assemble()
        ns.refactor, ns.factors_fresh = False, True

    ns.snes.setJacobian(singular, ns.A, ns.P)
    ok, _, _, reason = ns.solve()
    assert not ok and "DIVERGED_LINEAR_SOLVE" in reason and "FAILED" in reason, reason
    ns.snes.setJacobian(assemble, ns.A, ns.P)
    ok, _, _, reason = ns.solve()
    assert ok, reason


def test_steps_stay_below_a_step_size_that_failed():
    """A Newton solve that fails above a fixed dt (here imposed: every attempt
    above 0.05 s is reported as failed after 25 iterations, every other one
    as a solve of at least 6 iterations) is retried at dt/4, and later steps
    approach the failed dt slowly.  Over 3 s the steps reach 0.05 s three
    times (measured: 3 failed solves); the earlier cap, which relaxed by 10 %
    per step straight back to the failed dt, failed 8 times."""
    case = one_d_case(**{"time.dt_initial": "0.01 s", "time.dt_max": "0.2 s", "time.end": "3 s"})
    sim = Simulation(case)
    limit = 0.05 / sim.pb.scales.time
    attempted, solve, weights = [], sim.ns.solve, sim.pb.set_time_weights

    def set_time_weights(dt, dt_prev=None):
        attempted.append(dt)
        weights(dt, dt_prev)

    def imposed_solve():
        if attempted[-1] > limit * (1 + 1e-9):
            return False, 25, 0, "DIVERGED_MAX_IT (imposed by the test)"
        ok, its, lits, reason = solve()
        return ok, max(its, 6), lits, reason

    sim.pb.set_time_weights, sim.ns.solve = set_time_weights, imposed_solve
    steps = []
    while sim.t_seconds < 3.0 * (1 - 1e-12):
        steps.append(sim.stepper.advance(3.0 / sim.pb.scales.time)["dt"])
    assert max(steps) > 0.9 * limit  # the steps did reach the failing size
    # measured 3 (dolfinx 0.5.2); 4 allows one more where another dolfinx
    # generation's roundoff moves a step across 0.05 s; the old rule gave 8
    assert 1 <= sim.stepper.failed_solves <= 4, sim.stepper.failed_solves


def test_a_clipped_newton_step_that_reverses_is_halved():
    """The pre-check clips w's Newton step to max_w_update (5 RT); a node whose
    clipped step reverses direction at the next iteration moves at most half
    as far (a 2-cycle between w and w - 5 RT becomes a bisection), and a node
    whose step was not clipped is left alone."""
    sim = Simulation(one_d_case())
    ns = sim.ns
    w = ns.pb.names.index("w")
    ns.clipped_step = {}
    y = ns.x.duplicate()

    def limited(values):
        with y.localForm() as yl:
            yl.array[:] = 0.0
            yl.array[w::ns.bs][:len(values)] = values
        ns._limit_step(ns.x, y)
        with y.localForm() as yl:
            return yl.array[w::ns.bs][:len(values)].copy()

    assert np.allclose(limited([12.0, -1.0, 3.0]), [5.0, -1.0, 3.0])
    # node 0 reverses after a clipped step: at most 2.5; node 1 reverses an
    # unclipped step: the full 5; node 2 keeps its direction
    assert np.allclose(limited([-12.0, 9.0, 8.0]), [-2.5, 5.0, 5.0])
    assert np.allclose(limited([7.0, -9.0, 8.0]), [1.25, -2.5, 5.0])
    ns.clipped_step = {}  # a new solve forgets
    assert np.allclose(limited([-12.0, 0.0, 0.0]), [-5.0, 0.0, 0.0])


def test_a_lagged_preconditioner_is_counted_and_gives_the_same_front():
    """[solver.petsc_options] snes_lag_preconditioner = 2 (the adaptive Hong
    case's setting) sets up the fieldsplit preconditioner at Newton iterations
    0, 2, 4, ... only: the set-ups counted are fewer than the Newton
    iterations, and the front is the unlagged one to the Krylov tolerance."""
    from petsc4py import PETSc
    pc_setups = PETSc.Log.Event("PCSetUp")
    fronts, counts, setups = [], [], []
    for options in ({}, {"snes_lag_preconditioner": 2}):
        sim = Simulation(one_d_case(**{"solver.preset": "fieldsplit",
                                       "solver.petsc_options": options,
                                       "time.end": "0.2 s"}))
        newton, before = 0, pc_setups.getPerfInfo()["count"]
        while sim.stepper.t < 0.2 / sim.pb.scales.time * (1 - 1e-12):
            newton += sim.stepper.advance(0.2 / sim.pb.scales.time)["newton"]
        assert sim.ns.preset == "fieldsplit" and sim.stepper.failed_solves == 0
        fronts.append(sim.front())
        counts.append((sim.ns.factorizations, newton))
        setups.append(pc_setups.getPerfInfo()["count"] - before)  # (with the sub-PCs')
    (plain, its), (lagged, its_lagged) = counts
    assert plain == its, counts  # one set-up per Jacobian
    assert its_lagged / 2 <= lagged < its_lagged, counts
    # PETSc's own count: the lag is applied, not only counted
    assert abs(setups[1] / setups[0] - lagged / plain) < 0.05, (setups, counts)
    # the front moves ~2.5 um; the Krylov rtol is 1e-5
    assert abs(fronts[1] - fronts[0]) < 1e-10, fronts
