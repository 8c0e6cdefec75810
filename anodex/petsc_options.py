"""[solver] petsc_options, tried on throw-away PETSc objects before a run.

PETSc reads options only when a solver is set up, so a misspelt type would
otherwise surface mid-run as a PETSc error.  Here every option is put under
a private prefix onto a SNES (with its KSP and PC) that is configured from
the options and destroyed: an unknown SNES, KSP, PC or line-search type, or
a malformed number, is reported with the option that caused it.  Options
for sub-solvers (``fieldsplit_0_pc_type``, ``sub_pc_type``) are tried on an
object of their own class, and a factorization package
(``pc_factor_mat_solver_type``) by factorizing a 2 x 2 matrix with it.
Option names PETSc does not know are not detectable this way: PETSc ignores
them, and petsc4py 3.18 offers no query of which options were used.  A
PETSc error that still happens during the run ends it with status.json
"failed" and the error code.
"""
from __future__ import annotations

import re

_PREFIX = "anodex_check_"
_MEANING = {56: "not supported by this PETSc", 62: "invalid argument",
            63: "a malformed or out-of-range value", 73: "an object in the wrong state",
            76: "a library error", 86: "an unknown type (not in this PETSc build)",
            92: "no such factorization package in this PETSc build"}


def _meaning(err) -> str:
    code = getattr(err, "ierr", None)
    return f"PETSc error {code}: {_MEANING.get(code, 'rejected')}"


def _configure(PETSc, options):
    """Raise PETSc.Error if the options do not configure a SNES/KSP/PC."""
    opts = PETSc.Options()
    for k, v in options.items():
        opts[_PREFIX + k] = v
    snes = PETSc.SNES().create(PETSc.COMM_SELF)
    try:
        snes.setOptionsPrefix(_PREFIX)
        snes.setFromOptions()
        ksp = snes.getKSP()
        ksp.setFromOptions()
        ksp.getPC().setFromOptions()
    finally:
        snes.destroy()
        for k in options:
            opts.delValue(_PREFIX + k)


def _try_type(PETSc, key, value):
    """Raise PETSc.Error if a *_type option names a type this PETSc lacks."""
    if key.endswith("mat_solver_type"):
        A = PETSc.Mat().createAIJ([2, 2], nnz=2, comm=PETSc.COMM_SELF)
        A.setValues([0, 1], [0, 1], [2.0, 0.0, 0.0, 2.0])
        A.assemble()
        pc = PETSc.PC().create(PETSc.COMM_SELF)
        try:
            pc.setType("lu")
            pc.setFactorSolverType(value)
            pc.setOperators(A)
            pc.setUp()
        finally:
            pc.destroy()
            A.destroy()
        return
    for suffix, cls in (("snes_type", PETSc.SNES), ("ksp_type", PETSc.KSP), ("pc_type", PETSc.PC)):
        if key.endswith(suffix):
            obj = cls().create(PETSc.COMM_SELF)
            try:
                obj.setType(value)
            finally:
                obj.destroy()
            return


def _field_list_problems(options: dict) -> list[str]:
    """A split's fields (``pc_fieldsplit_<n>_fields``, also of a nested
    split) are unknown indices, which PETSc reads only at the first solve
    and anodex's fieldsplit preset reads before it."""
    return [f"[solver] petsc_options {k} = {v!r}: not a list of unknown indices; valid: "
            f"comma-separated whole numbers from 0, e.g. \"2,3\""
            for k, v in options.items()
            if re.search(r"(^|_)pc_fieldsplit_\d+_fields$", k)
            and not re.fullmatch(r"\d+(,\d+)*", str(v))]


def problems(options: dict) -> list[str]:
    """What is wrong with the options, one text per option ([] if nothing)."""
    if not options:
        return []
    fields = _field_list_problems(options)
    if fields:
        return fields
    from petsc4py import PETSc
    out = []
    try:  # no PETSc error trace on stderr
        PETSc.Sys.pushErrorHandler("ignore")
        pushed = True
    except ValueError:  # petsc4py 3.25 has no "ignore"; its default handler is quiet
        pushed = False
    try:
        try:
            _configure(PETSc, options)
        except PETSc.Error:  # find the culprits one by one
            for k, v in options.items():
                try:
                    _configure(PETSc, {k: v})
                except PETSc.Error as e:
                    out.append(f"[solver] petsc_options {k} = {v!r}: {_meaning(e)}")
            if not out:
                out.append("[solver] petsc_options: PETSc rejects these options together")
        reported = {line.split()[2] for line in out}
        for k, v in options.items():
            if k in reported:
                continue
            try:
                _try_type(PETSc, k, v)
            except PETSc.Error as e:
                out.append(f"[solver] petsc_options {k} = {v!r}: {_meaning(e)}")
    finally:
        if pushed:
            PETSc.Sys.popErrorHandler()
    return out
