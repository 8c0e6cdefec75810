"""Newton solves with PETSc SNES on our own assembly callbacks.

* line search from the case ("basic" = full step by default) with a
  pre-check that limits the Newton step per field and halves a clipped
  node's step that reverses direction (_limit_step; an unknown's
  update_limit names the [solver] key of its largest change per iteration;
  each node's change is clipped to it.  Scaling the whole step instead
  let the chemical potential in the metal, where it is nearly free
  (chi ~ 5e-6) and Newton moves it by hundreds of RT, damp every field
  everywhere: on 0.25 um cells 13-16 Newton iterations per step against
  7-10 clipped, benchmarks/RESULTS.md);
* convergence is judged per unknown: max |F_i / J_ii| (the Jacobi estimate of
  the remaining correction, in internal units) below newton_tolerance
  (times the unknown's Unknown.tolerance), with
  |J_ii| floored where a block says an unknown is nearly free
  (Block.newton_floor).  A relative residual norm is useless here: the
  potential rows carry S1 ~ 1e6;
* a NaN/inf residual, or a residual norm 1e4 times its start, ends the solve
  as diverged (the stepper cuts dt);
* linear solver presets: "direct" (MUMPS LU) and "fieldsplit" (FGMRES,
  multiplicative fieldsplit by component, with diagonal scaling: on the
  unknowns of evolution equations ASM(1)/ILU(0), or with a Lagrange
  multiplier among them a Schur complement over it with BoomerAMG on both
  parts; BoomerAMG on those marked elliptic (the potentials), with their
  constant modes solved exactly where one is floating, preconditioner.py)
  and "amg" (GMRES with BoomerAMG, for a single unknown: the phase field
  alone);
* factorization reuse (direct preset, ``reuse_factorization``): the LU
  factors of an earlier Jacobian precondition GMRES on the current one, kept
  across Newton iterations and time steps until GMRES needs more than
  ``refactor_krylov_iterations`` or a Newton solve fails.  The Newton
  iteration itself is unchanged (exact Jacobian, same convergence test);
  only the cost of each linear solve drops from a factorization to a few
  triangular solves.
"""
from __future__ import annotations

import time

import numpy as np
from dolfinx import fem
from mpi4py import MPI
from petsc4py import PETSc

from . import compat, preconditioner
from .schema import AUTO_DIRECT_LIMIT

Reason = PETSc.SNES.ConvergedReason
_REASONS = {getattr(Reason, k): k for k in dir(Reason) if k.isupper()}
_KSP_REASONS = {getattr(PETSc.KSP.ConvergedReason, k): k
                for k in dir(PETSc.KSP.ConvergedReason) if k.isupper()}

# a Newton solve whose residual norm grows this far above its start has
# diverged (PETSc's default divergence tolerance): stop it and cut dt
DIVERGENCE_GROWTH = 1e4


def reason_name(code: int) -> str:
    return _REASONS.get(code, str(code))


class NewtonSolver:
    def __init__(self, problem, solver_cfg: dict, prefix="anodex_"):
        self.pb = problem
        self.cfg = solver_cfg
        self.timing = {"assembly": 0.0, "solve": 0.0}
        PETSc.Log.begin()  # for the preconditioner set-up time (PCSetUp event)
        self.factorizations = 0
        self.refactor = True  # factorize at the next Jacobian
        self.factors_fresh = True
        lag = str(solver_cfg["petsc_options"].get("snes_lag_preconditioner", 1))
        self.lag = int(lag) if lag.lstrip("-").isdigit() else 1  # (for counting set-ups)
        self.refactor_always = False
        # the step being solved starts where a control jumped (Run sets it)
        self.after_control_jump = False
        V = problem.V
        self.A = fem.petsc.create_matrix(problem.J)
        self.b = compat.create_vector(problem.V, problem.F)
        self.x = compat.petsc_vec(problem.u).copy()
        # work vectors made once: a Vec created per Newton iteration (by
        # getDiagonal() or copy() without a target) was never freed with
        # petsc4py 3.18 (measured: one vector's size per call)
        self.start, self.scaled_residual = self.x.duplicate(), self.b.duplicate()
        self.inv_diag = self.A.createVecRight()
        self.floor = None if problem.newton_floor is None else self.b.duplicate()
        self.diag = None
        self.preset = self._choose_preset(V)
        self.sqrt_diag = None  # D^(1/2) of the Krylov solver's diagonal scaling
        self.reuse = self.preset == "direct" and solver_cfg["reuse_factorization"]
        self.snes = PETSc.SNES().create(problem.comm)
        self.snes.setOptionsPrefix(prefix)
        self.snes.setFunction(self._residual, self.b)
        # with factorization reuse the preconditioner is built from its own
        # matrix P, a copy of the Jacobian A taken only when refactorizing
        self.P = self.A
        if self.reuse:  # same sparsity as A, assembled once so that copies can target it
            self.P = fem.petsc.create_matrix(problem.J)
            fem.petsc.assemble_matrix(self.P, problem.J, problem.bcs)
            self.P.assemble()
        self.snes.setJacobian(self._jacobian, self.A, self.P)
        self.snes.setConvergenceTest(self._converged)
        self.snes.setLineSearchPreCheck(self._limit_step)
        self.potential_splits = {}  # options prefix -> the unknowns of a potentials' split
        self.diagonal_scale = False
        self._set_options(prefix)
        self.sqrt_diag_vec = self.A.createVecRight() if self.potential_splits else None
        for split_prefix, unknowns in self.potential_splits.items():
            preconditioner.register(split_prefix, self._potentials_scaling, unknowns)
        self.snes.setFromOptions()
        self.snes.getKSP().setFromOptions()
        # field layout of the blocked vector: component k of node i is at bs*i + k
        self.bs = len(problem.names)
        self.limits = {i: solver_cfg[u.update_limit] for i, u in enumerate(problem.unknowns)
                       if u.update_limit}
        # Unknown.tolerance: an unknown converged to that fraction of newton_tolerance
        self.tolerance_weights = {i: 1.0 / u.tolerance for i, u in enumerate(problem.unknowns)
                                  if u.tolerance != 1.0}
        self.n_owned = V.dofmap.index_map.size_local

    def _choose_preset(self, V):
        preset = self.cfg["preset"]
        n = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
        single = len(self.pb.names) == 1
        if preset == "auto":
            preset = "direct" if n < AUTO_DIRECT_LIMIT else ("amg" if single else "fieldsplit")
        elliptic = [u for u in self.pb.unknowns if u.elliptic]
        if preset == "fieldsplit" and (not elliptic or len(elliptic) == len(self.pb.unknowns)):
            preset = "direct"  # (nothing to split)
        return preset

    def _set_options(self, prefix):
        opts = PETSc.Options()
        o = {"snes_type": "newtonls", "snes_linesearch_type": self.cfg["line_search"],
             "snes_max_it": self.cfg["max_newton_iterations"], "snes_max_funcs": 10000,
             "ksp_error_if_not_converged": False}
        if self.preset == "direct":
            o.update({"ksp_type": "preonly", "pc_type": "lu",
                      "pc_factor_mat_solver_type": "mumps"})
            if self.reuse:
                o.update({"ksp_type": "gmres", "ksp_rtol": 1e-8, "ksp_atol": 1e-14,
                          "ksp_max_it": 4 * self.cfg["refactor_krylov_iterations"]})
        elif self.preset == "amg":
            # 1.6 -> 0.45 s per step against MUMPS on the 251 001 unknowns of
            # PFHub 8b (2 ranks); ~4 GMRES its per Newton iteration
            o.update({"ksp_type": "gmres", "ksp_rtol": 1e-9, "ksp_atol": 1e-14,
                      "ksp_max_it": 200, "pc_type": "hypre", "pc_hypre_type": "boomeramg"})
        else:
            o.update(self._fieldsplit_options())
        o.update(self.cfg.get("petsc_options", {}))
        if self.preset == "fieldsplit":
            self._potential_splits(o, prefix)
        # options of an earlier solver of this process with the same prefix (a
        # fieldsplit's diagonal scaling, another preset's tolerances) would
        # apply to this one: a galvanostatic test's metal moved by 4e-7
        # relative after a fieldsplit case in the same pytest worker (measured)
        for key in opts.getAll():
            if key.startswith(prefix) and key[len(prefix):] not in o:
                del opts[key]
        for k, v in o.items():
            opts[prefix + k] = "" if v is None else v

    def _fieldsplit_options(self) -> dict:
        """The fieldsplit preset: FGMRES with diagonal scaling, split 0 the
        evolution unknowns, split 1 the potentials."""
        evolution = [i for i, u in enumerate(self.pb.unknowns) if not u.elliptic]
        # rtol 1e-5, not 1e-8: the same Newton iterations and deposit (to
        # 2e-10), the same metal + ion balance, half the Krylov iterations
        # (planar Hong front to 2 s, adaptive, 2 ranks; benchmarks/RESULTS.md)
        return {"ksp_type": "fgmres", "ksp_rtol": 1e-5, "ksp_atol": 1e-14,
                "ksp_max_it": 300, "ksp_gmres_restart": 100,
                "ksp_diagonal_scale": None, "ksp_diagonal_scale_fix": None,
                "pc_type": "fieldsplit", "pc_fieldsplit_type": "multiplicative",
                "pc_fieldsplit_block_size": len(self.pb.names),
                "pc_fieldsplit_0_fields": ",".join(map(str, evolution)),
                **self._potentials_split_options(), **self._evolution_split_options()}

    def _potentials_split_options(self) -> dict:
        """Split 1, all potentials together (one split per potential instead:
        13.5 and 14.6 Krylov its per Newton iteration against 13.7 and 14.6,
        li_instability at 80 x 32 and 160 x 64 cells: no gain).  Where one
        is floating: ConstantModesAMG with two V-cycles (li_instability to
        0.3 s at 40 x 16 ... 320 x 128 cells: 12.3, 12.6, 13.1, 8.2 Krylov
        its per Newton iteration against 11.5, 12.7, 13.6, 18.9 with one,
        which at 320 x 128 also failed 3 Newton solves).  Else plain
        BoomerAMG (the Hong model's potential, fixed at both ends: the
        correction and a second V-cycle gave 13.0 against 13.1 and cost 39 %,
        adaptive case to 2 s); benchmarks/RESULTS.md."""
        elliptic = [i for i, u in enumerate(self.pb.unknowns) if u.elliptic]
        o = {"pc_fieldsplit_1_fields": ",".join(map(str, elliptic)),
             "fieldsplit_1_ksp_type": "preonly"}
        if not any(self.pb.unknowns[i].floating for i in elliptic):
            return {**o, "fieldsplit_1_pc_type": "hypre", "fieldsplit_1_pc_hypre_type": "boomeramg"}
        # (the module's own name: "anodex." when installed as anodex)
        return {**o, "fieldsplit_1_pc_type": "python",
                "fieldsplit_1_pc_python_type": f"{preconditioner.__name__}.ConstantModesAMG",
                "fieldsplit_1_amg_pc_hypre_type": "boomeramg",
                "fieldsplit_1_amg_pc_hypre_boomeramg_max_iter": 2}

    def _potential_splits(self, o, prefix):
        """The splits preconditioned by ConstantModesAMG and their unknowns,
        read from the final options (the case's petsc_options may have
        changed a split's fields or type, or turned the diagonal scaling
        off: the constant is then 1, not D^(1/2))."""
        self.diagonal_scale = "ksp_diagonal_scale" in o and str(
            o["ksp_diagonal_scale"]).lower() not in ("0", "false", "no")
        j = 1
        while f"pc_fieldsplit_{j}_fields" in o:
            if o.get(f"fieldsplit_{j}_pc_type") == "python":
                self.potential_splits[f"{prefix}fieldsplit_{j}_"] = [
                    int(f) for f in str(o[f"pc_fieldsplit_{j}_fields"]).split(",")]
            j += 1

    def _evolution_split_options(self) -> dict:
        """The fieldsplit preset's split 0 (the unknowns not marked
        elliptic).  Without a Lagrange multiplier: ASM(1)/ILU(0) (rather than
        block Jacobi: 10.2 vs 14.2 Krylov its per Newton iteration on 2
        ranks, Hong case; benchmarks/RESULTS.md).  With one (the
        two-potential model's metal_multiplier): a Schur complement over the
        multiplier (full factorisation; the Schur complement approximated
        with the diagonal of the rest, "selfp"), BoomerAMG on the rest and on
        the Schur complement: 14.6 Krylov its per Newton iteration against
        21.3 with ASM/ILU on li_instability, and 13.7 -> 14.6 from 80 x 32 to
        160 x 64 cells against 19.1 -> 21.3 (benchmarks/RESULTS.md)."""
        evolution = [u for u in self.pb.unknowns if not u.elliptic]
        inner = {True: [], False: []}
        for i, u in enumerate(evolution):
            inner[u.multiplier].append(str(i))
        if not inner[True] or not inner[False]:
            return {"fieldsplit_0_ksp_type": "preonly", "fieldsplit_0_pc_type": "asm",
                    "fieldsplit_0_pc_asm_overlap": 1, "fieldsplit_0_sub_pc_type": "ilu",
                    "fieldsplit_0_sub_pc_factor_shift_type": "nonzero"}
        amg = {"ksp_type": "preonly", "pc_type": "hypre", "pc_hypre_type": "boomeramg"}
        return {"fieldsplit_0_ksp_type": "preonly", "fieldsplit_0_pc_type": "fieldsplit",
                "fieldsplit_0_pc_fieldsplit_block_size": len(evolution),
                "fieldsplit_0_pc_fieldsplit_type": "schur",
                "fieldsplit_0_pc_fieldsplit_schur_fact_type": "full",
                "fieldsplit_0_pc_fieldsplit_schur_precondition": "selfp",
                "fieldsplit_0_pc_fieldsplit_0_fields": ",".join(inner[False]),
                "fieldsplit_0_pc_fieldsplit_1_fields": ",".join(inner[True]),
                **{f"fieldsplit_0_fieldsplit_{k}_{key}": v for k in (0, 1)
                   for key, v in amg.items()}}

    def destroy(self):
        """Free the PETSc objects now (mesh adaptation replaces the solver)."""
        for split_prefix in self.potential_splits:
            preconditioner.unregister(split_prefix, self._potentials_scaling)
        for obj in {id(o): o for o in (self.snes, self.A, self.P, self.b, self.x, self.start,
                                         self.scaled_residual, self.inv_diag, self.floor,
                                         self.sqrt_diag_vec)
                    if o is not None}.values():
            obj.destroy()

    # ---- SNES callbacks ------------------------------------------------------
    def _sync(self, x):
        x.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
        x.copy(compat.petsc_vec(self.pb.u))
        self.pb.u.x.scatter_forward()

    def _residual(self, snes, x, b):
        t0 = time.perf_counter()
        self._sync(x)
        with b.localForm() as bl:
            bl.set(0.0)
        fem.petsc.assemble_vector(b, self.pb.F)
        compat.apply_lifting(b, [self.pb.J], [self.pb.bcs], [x], -1.0)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        compat.set_bc(b, self.pb.bcs, x, -1.0)
        self.timing["assembly"] += time.perf_counter() - t0

    def _jacobian(self, snes, x, A, P):
        t0 = time.perf_counter()
        self._sync(x)
        A.zeroEntries()
        fem.petsc.assemble_matrix(A, self.pb.J, self.pb.bcs)
        A.assemble()
        d = self.inv_diag
        A.getDiagonal(d)
        d.abs()
        arr = d.getArray()
        if self.floor is not None:  # the blocks' Block.newton_floor
            with self.floor.localForm() as fl:
                fl.set(0.0)
            fem.petsc.assemble_vector(self.floor, self.pb.newton_floor)
            self.floor.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            np.maximum(arr, np.abs(self.floor.getArray(readonly=True)), out=arr)
        arr[arr == 0] = 1.0
        d.reciprocal()
        if self.tolerance_weights:
            weighted = d.getArray().reshape(-1, self.bs)
            for comp, weight in self.tolerance_weights.items():
                weighted[:, comp] *= weight
        self.diag = d
        if self.reuse:
            ksp = snes.getKSP()
            if (ksp.getIterationNumber() > self.cfg["refactor_krylov_iterations"]
                    or ksp.getConvergedReason() < 0 or self.refactor_always):
                self.refactor = True
            if self.refactor:
                # PCSetUp refactorizes only when the preconditioning matrix changed
                A.copy(P, PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
                P.assemble()
        if self.potential_splits:  # D^(1/2) of the scaling PETSc applies to P
            if self.diagonal_scale:  # (|diag P|, 1 where it is 0)
                P.getDiagonal(self.sqrt_diag_vec)
                dp = np.abs(self.sqrt_diag_vec.getArray(readonly=True))
                self.sqrt_diag = np.sqrt(np.where(dp == 0, 1.0, dp))
            else:
                self.sqrt_diag = np.ones(self.n_owned * self.bs)
        # a lagged preconditioner ([solver.petsc_options] snes_lag_preconditioner
        # = k > 1) is set up at Newton iterations 0, k, 2k, ... of a solve only
        lagged = self.lag > 1 and snes.getIterationNumber() % self.lag != 0
        self.factors_fresh = (self.refactor or not self.reuse) and not lagged
        if self.factors_fresh:
            self.factorizations += 1
            self.refactor = False
        self.timing["assembly"] += time.perf_counter() - t0

    def _potentials_scaling(self, unknowns):
        """D^(1/2) on the unknowns of a potentials' split (owned nodes, the
        split's order) and their number, for preconditioner.ConstantModesAMG."""
        return self.sqrt_diag.reshape(-1, self.bs)[:, unknowns].ravel(), len(unknowns)

    def _limit_step(self, x, y):
        """Clip the Newton step node by node so no field moves more than its
        limit, and a node whose step was clipped and now reverses direction
        by no more than half its previous step.  Without the second rule an
        exponential residual (the ion concentration in the depleted electrolyte at a Hong dendrite's
        flank, w ~ -11 RT) made Newton jump between w and w - 5 RT, the
        clipped step each way, for all 25 iterations at every dt down to 3e-5 s
        (benchmarks/RESULTS.md); halving turns the cycle into a bisection."""
        changed = False
        with y.localForm() as yl:
            arr = yl.array
            for comp, lim in self.limits.items():
                part = arr[comp::self.bs]  # (a view: clipping it changes arr)
                bound = np.full(part.shape, lim)
                if comp in self.clipped_step:  # (the clipped nodes' steps, else 0)
                    previous = self.clipped_step[comp]
                    back = part * previous < 0
                    bound[back] = 0.5 * np.abs(previous[back])
                clipped = np.abs(part) > bound
                if clipped.any():
                    np.clip(part, -bound, bound, out=part)
                    changed = True
                self.clipped_step[comp] = np.where(clipped, part, 0.0)
        return self.pb.comm.allreduce(changed, op=MPI.LOR)

    def _converged(self, snes, it, norms):
        xnorm, gnorm, fnorm = norms
        if not np.isfinite(fnorm):
            return Reason.DIVERGED_FNORM_NAN
        if it == 0:
            self.fnorm0 = fnorm
        elif it == 1 and self.after_control_jump:
            # the first update after a jump of the control (a protocol's or
            # profile's current step) can raise the norm a million-fold while
            # the potential finds its new level, clipped per iteration (Mg at
            # a rest -> strip step: DTOL here at every dt down to dt_min,
            # measured; it converges when let on): growth counts from the
            # larger of the two.  Only there: at the start of a galvanostatic
            # nucleation run the same rule let the first step jump over the
            # double layer's charging ramp (measured), which the dt cuts of
            # the DTOL resolve.
            self.fnorm0 = max(self.fnorm0, fnorm)
        elif fnorm > DIVERGENCE_GROWTH * self.fnorm0:
            return Reason.DIVERGED_DTOL
        if it == 0 or self.diag is None:
            return Reason.ITERATING if fnorm > 0 else Reason.CONVERGED_FNORM_ABS
        r = self.scaled_residual
        r.pointwiseMult(self.b, self.diag)  # self.b: the residual SNES evaluates into
        self.last_scaled_residual = r.norm(PETSc.NormType.INFINITY)
        if self.last_scaled_residual < self.cfg["newton_tolerance"]:
            return Reason.CONVERGED_FNORM_ABS
        if it >= self.cfg["max_newton_iterations"]:
            return Reason.DIVERGED_MAX_IT
        return Reason.ITERATING

    def time_split(self) -> dict:
        """Wall seconds on this rank: residual/Jacobian assembly, preconditioner
        set-up (LU factorizations, AMG set-up), the rest of the solves (Krylov
        iterations, triangular solves, line search), and the factorization count."""
        pc_setup = PETSc.Log.Event("PCSetUp").getPerfInfo()["time"]
        return {"assembly": self.timing["assembly"], "preconditioner_setup": pc_setup,
                "linear_solve": self.timing["solve"] - pc_setup,
                "factorizations": self.factorizations}

    # ---- solve ---------------------------------------------------------------
    def solve(self):
        """Newton from the current u; returns (converged, iterations, krylov its, reason).
        A Newton solve whose linear solve fails on reused factors is retried
        once, from the same start, factorizing every Jacobian."""
        t0 = time.perf_counter()
        a0 = self.timing["assembly"]
        start = self.start
        compat.petsc_vec(self.pb.u).copy(start)
        if self.after_control_jump:
            # reused factors belong to the control before the jump (a switch
            # between potential and current control changes the operator)
            self.refactor = True
        its = lits = 0
        for attempt in range(2):
            self.diag = None
            self.clipped_step = {}  # _limit_step's memory, per component
            self.refactor_always = attempt > 0  # the retry factorizes every Jacobian
            start.copy(self.x)
            try:
                self.snes.solve(None, self.x)
                reason = self.snes.getConvergedReason()
            except PETSc.Error:
                reason = Reason.DIVERGED_FUNCTION_DOMAIN
            its += self.snes.getIterationNumber()
            lits += self.snes.getLinearSolveIterations()
            if reason > 0:
                break
            self.refactor = True
            ksp = self.snes.getKSP()
            ksp_reason = ksp.getConvergedReason()
            if ksp_reason == compat.KSP_PC_FAILED:
                # a failed MUMPS factorization stays failed for every later
                # numeric factorization of the same factor object: start afresh
                ksp.getPC().reset()
            if self.factors_fresh or reason != Reason.DIVERGED_LINEAR_SOLVE:
                break
        ok = reason > 0
        detail = ""
        if reason == Reason.DIVERGED_LINEAR_SOLVE:
            detail = f" (linear solver: {_KSP_REASONS.get(ksp_reason, ksp_reason)})"
        if ok:
            self._sync(self.x)
            ok = bool(self.pb.comm.allreduce(np.isfinite(self.pb.u.x.array).all(), op=MPI.MIN))
            if not ok:
                reason = Reason.DIVERGED_FNORM_NAN
        self.timing["solve"] += (time.perf_counter() - t0) - (self.timing["assembly"] - a0)
        return ok, its, lits, reason_name(reason) + detail
