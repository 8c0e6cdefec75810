"""Memory a case will need, estimated from its cell count before anything
is allocated, against what this machine has.

Peak resident memory of `anodex run` measured on Debian 12 (dolfinx 0.5.2,
PETSc 3.18, MUMPS; benchmarks/RESULTS.md, "Memory"), as a start-up cost
per rank plus a cost per unknown (nodes x unknowns per node):

    1-D, direct LU                       1.2 kB per unknown
    2-D, fieldsplit or amg (iterative)   2.2 - 2.6 kB per unknown
    2-D, direct LU (MUMPS fill grows)    4.1 kB at 1.2e5 unknowns, > 5 kB at 4.8e5

The estimate takes the upper ends (1.5, 3 and 4 (n / 1.2e5)^(1/4) kB) and
150 MB per rank, so it errs on the side of refusing.  PETSc here indexes
with 32-bit integers: more than 2^31 - 1 unknowns cannot be solved at all.
"""
from __future__ import annotations

import os

from .schema import AUTO_DIRECT_LIMIT
from .geometry import mesh_info
from .models import make_blocks

PER_RANK = 150e6  # bytes: Python, dolfinx, PETSc, the JIT-compiled forms
PETSC_INT_MAX = 2 ** 31 - 1


def unknowns(si) -> int:
    """Global number of unknowns: mesh nodes x unknowns per node (P1)."""
    per_node = sum(len(b.unknowns) for b in make_blocks(si))
    return mesh_info(si["geometry"]).nodes * per_node


def estimate(si, ranks=1) -> int:
    """Bytes the run will need at its peak (all ranks together)."""
    n = unknowns(si)
    preset = si["solver"]["preset"]
    if preset == "auto":
        preset = "direct" if n < AUTO_DIRECT_LIMIT else "iterative"
    dim = mesh_info(si["geometry"]).dim
    if dim == 1:
        per_unknown = 1500.0
    elif preset == "direct":
        # LU fill-in: nested dissection stores O(n log n) in 2-D, O(n^(4/3)) in 3-D
        per_unknown = 4000.0 * max(1.0, n / 1.2e5) ** (0.25 if dim == 2 else 1 / 3)
    else:
        per_unknown = 3000.0
    return int(PER_RANK * ranks + per_unknown * n)


def available() -> int:
    """Bytes this machine can give a new job now (MemAvailable), or its total."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def gib(nbytes) -> str:
    return f"{nbytes / 2 ** 30:.3g} GiB"


def check(si, source, ranks=1, ignore_limit=False) -> str | None:
    """Why the case cannot run here (naming the key and the flag), or None."""
    n = unknowns(si)
    g = si["geometry"]
    where = f"[geometry] file {g['file']}" if g["kind"] == "mesh" else f"[geometry] cells = {g['cells']}"
    if n > PETSC_INT_MAX:
        return (f"{source}: {where}: {n:.3g} unknowns, more than PETSc's "
                f"32-bit indices allow ({PETSC_INT_MAX}); use fewer cells")
    need, have = estimate(si, ranks), available()
    if need > have and not ignore_limit:
        return (f"{source}: {where}: the run needs about {gib(need)} "
                f"({n:.3g} unknowns on {ranks} rank(s)), this machine has {gib(have)} "
                "available; use fewer cells, or pass --ignore-memory-limit if the job runs "
                "where there is more (e.g. across cluster nodes)")
    return None
