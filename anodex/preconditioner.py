"""Algebraic multigrid for the potentials, with their constant modes solved
exactly (the fieldsplit preset's preconditioner of the elliptic unknowns).

A potential's equation is a conduction problem, -div(sigma grad phi) = S.
Where no Dirichlet condition fixes its level, the constant is a near-null
mode: under galvanostatic control the metal's phi_s is set only by the
reaction's conductance (~ i0 zF/RT, 400 S/m^2 for Li at 10 A/m^2) against
sigma_s / h^2 (~1e20 S/m^3): a relative eigenvalue near 1e-12.  BoomerAMG's
interpolation does not hold that mode on the diagonally scaled matrix (where
it is D^(1/2) 1, varying by 1e9 between metal and electrolyte), so every
Krylov solve of li_instability failed (benchmarks/RESULTS.md, issue 37).
Here each application is two-level (a symmetric multiplicative Schwarz
step):

    y = Z E^-1 Z^T r;   y += AMG(r - A y);   y += Z E^-1 Z^T (r - A y)

with Z the constant of each potential (scaled as the Krylov solver scales
the system, D^(1/2) 1) and E = Z^T A Z, a k x k matrix for k potentials.
This is deflation of the potentials' constants, the coarse space of
two-level Schwarz methods (Toselli & Widlund, Domain Decomposition
Methods, Springer 2005, ch. 2; Nicolaides, SIAM J. Numer. Anal. 24 (1987)
355).  Where a Dirichlet condition fixes the level the correction is
harmless: E is then well conditioned and the step small.
"""
from __future__ import annotations

import atexit
import gc
import weakref

import numpy as np
from petsc4py import PETSc

# the solvers that registered a scaling (their PETSc objects are freed at exit)
_OWNERS = weakref.WeakSet()


@atexit.register
def _free_before_petsc_finalises():
    """A solver with this preconditioner that was still alive when PETSc
    finalised (held by a script's global, or in a reference cycle) crashed
    the interpreter's exit with SIGSEGV when freed afterwards (measured; the
    same solver with BoomerAMG alone did not).  Freed here: atexit runs this
    before petsc4py's finalisation, registered earlier at its import."""
    gc.collect()
    for solver in list(_OWNERS):
        solver.destroy()


# a potentials' split's options prefix -> (a weak reference to a method
# giving, for a list of unknowns, the local array of the diagonal scaling's
# D^(1/2) on them (owned nodes, the split's order) and their number k; the
# split's unknowns).  Set by NewtonSolver; weak: a solver kept alive past
# PETSc's finalisation crashed the interpreter's exit, measured.
SCALINGS: dict = {}


def register(prefix: str, scaling, unknowns):
    """The split with options prefix `prefix` holds `unknowns` (indices);
    the bound method `scaling(unknowns)` gives its scaling (held weakly)."""
    SCALINGS[prefix] = (weakref.WeakMethod(scaling), list(unknowns))
    _OWNERS.add(scaling.__self__)


def unregister(prefix: str, scaling):
    if prefix in SCALINGS and SCALINGS[prefix][0]() == scaling:
        del SCALINGS[prefix]


class ConstantModesAMG:
    """PETSc PC (type "python") for the potentials' split: BoomerAMG (options
    under <split prefix>amg_) with the constant of each potential solved
    exactly.  NewtonSolver registers the scaling in SCALINGS."""

    def __init__(self):
        self.amg = self.P = self.Z = self.AZ = self.res = self.work = None

    def setUp(self, pc):
        _, P = pc.getOperators()
        prefix = pc.getOptionsPrefix()
        if self.amg is None:
            self.amg = PETSc.PC().create(pc.comm)
            self.amg.setOptionsPrefix(prefix + "amg_")
            self.amg.setType("hypre")
            self.amg.setFromOptions()
        self.amg.setOperators(P, P)
        self.amg.setUp()
        self.P = P
        scaling, unknowns = SCALINGS[prefix]
        sqrt_d, k = scaling()(unknowns)
        if sqrt_d.size != P.getLocalSize()[0]:
            raise RuntimeError(f"{prefix}: the scaling of unknowns {unknowns} has {sqrt_d.size} "
                               f"local entries, the split {P.getLocalSize()[0]}")
        if self.Z is None or self.Z[0].getLocalSize() != sqrt_d.size:
            self._free_vectors()  # (made once per size: a Vec per set-up leaked, 3.18)
            self.Z = [P.createVecRight() for _ in range(k)]
            self.AZ = [P.createVecRight() for _ in range(k)]
            self.res, self.work = P.createVecRight(), P.createVecRight()
        for i, (z, az) in enumerate(zip(self.Z, self.AZ)):
            z.set(0.0)
            z.getArray()[i::k] = sqrt_d[i::k]
            P.mult(z, az)
        E = np.array([[zi.dot(azj) for azj in self.AZ] for zi in self.Z])
        # Jacobi-scaled before the pseudo-inverse: the potentials' entries can
        # differ by orders of magnitude, and pinv's cut-off (1e-15 of the
        # largest) must not drop the floating one; a zero row (a potential
        # absent from the mesh) stays a zero row
        scale = 1.0 / np.sqrt(np.where(np.diag(E) > 0, np.abs(np.diag(E)), 1.0))
        self.E_inv = scale[:, None] * np.linalg.pinv(scale[:, None] * E * scale) * scale

    def _coarse(self, r, y):
        """y += Z E^-1 Z^T r."""
        c = self.E_inv @ np.array([z.dot(r) for z in self.Z])
        for ci, z in zip(c, self.Z):
            y.axpy(ci, z)

    def _residual(self, r, y):
        """self.res = r - P y."""
        self.P.mult(y, self.res)
        self.res.aypx(-1.0, r)
        return self.res

    def apply(self, pc, r, y):
        y.set(0.0)
        self._coarse(r, y)
        self.amg.apply(self._residual(r, y), self.work)
        y.axpy(1.0, self.work)
        self._coarse(self._residual(r, y), y)

    def _free_vectors(self):
        for v in [*(self.Z or []), *(self.AZ or []), self.res, self.work]:
            if v is not None:
                v.destroy()
        self.Z = self.AZ = self.res = self.work = None

    def free(self):
        """Free the PETSc objects this preconditioner made or holds."""
        self._free_vectors()
        if self.amg is not None:
            self.amg.destroy()
        self.amg = self.P = None

    def destroy(self, pc):
        if not PETSc.Sys.isFinalized():
            self.free()
