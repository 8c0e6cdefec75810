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

import math
import os

from .schema import AUTO_DIRECT_LIMIT
from .geometry import mesh_info

PER_RANK = 150e6  # bytes: Python, dolfinx, PETSc, the JIT-compiled forms
PETSC_INT_MAX = 2 ** 31 - 1
ROUGHNESS = 2.0  # an adaptive front's length against the domain's cross-section


def unknowns(case) -> int:
    """Global number of unknowns of a case: mesh nodes x unknowns per node
    (P1); for an adaptive mesh, its nodes at their estimated peak
    (adaptive_nodes)."""
    si = case.si
    per_node = len(case.model.unknowns)
    info = mesh_info(si["geometry"])
    band = max((b.refinement_band(si) for b in case.model.blocks), default=0.0)
    nodes = adaptive_nodes(si, info, band) if si["mesh_adaptivity"]["enabled"] else info.nodes
    return nodes * per_node


def adaptive_nodes(si, info, core) -> int:
    """Nodes of an adaptive mesh, estimated before it exists (docs/adaptivity.md).

    The base mesh, plus at each level k = 1..levels a band across the domain
    (a front normal to x) of cells of size h_k = h_0 / 2^k, as thick as the
    blocks' refinement band `core` (the phase field's interface, 4 l), and the
    buffer layers and the marked cell on either side at the level that was
    split: t_k = 4 l + 2 (buffer_layers + 1) h_(k-1).
    A band holds (t_k / h_k + 1) prod(e_i / h_k + 1) nodes, e_i the domain's
    other extents, ROUGHNESS times: a front that branches is longer than the
    cross-section.  At most the uniformly refined mesh.  Measured against it:
    the Hong case (200 um, 4 um / 2^4) had 18 400 nodes with a flat front and
    55 900 at its end, a branched dendrite across 0.9 of the domain, for an
    estimate of 58 700; the 3-D box (li_dendrite_3d_adaptive) 18 000 for 45 900.
    """
    adapt, dim = si["mesh_adaptivity"], info.dim
    h = info.uniform_size if info.sizes is None else float(info.sizes.max())
    nodes = float(info.nodes)
    for _ in range(adapt["levels"]):
        band = min(core + 2 * (adapt["buffer_layers"] + 1) * h, info.extent[0])
        h /= 2
        nodes += ROUGHNESS * math.prod(e / h + 1 for e in (band,) + info.extent[1:dim])
    return int(min(nodes, math.prod(e / h + 1 for e in info.extent[:dim])))


def estimate(case, ranks=1) -> int:
    """Bytes the run of a case will need at its peak (all ranks together)."""
    n, si = unknowns(case), case.si
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


def check(case, ranks=1, ignore_limit=False, flag="--ignore-memory-limit") -> str | None:
    """Why the case cannot run here (naming the key and the `flag` that
    lifts the limit), or None."""
    n, si, source = unknowns(case), case.si, case.source
    g = si["geometry"]
    where = f"[geometry] file {g['file']}" if g["kind"] == "mesh" else f"[geometry] cells = {g['cells']}"
    fewer = "use fewer cells"
    if si["mesh_adaptivity"]["enabled"]:
        where += f" refined up to {si['mesh_adaptivity']['levels']} times ([mesh_adaptivity] levels)"
        fewer = "use fewer cells or levels"
    if n > PETSC_INT_MAX:
        return (f"{source}: {where}: {n:.3g} unknowns, more than PETSc's "
                f"32-bit indices allow ({PETSC_INT_MAX}); {fewer}")
    need, have = estimate(case, ranks), available()
    if need > have and not ignore_limit:
        return (f"{source}: {where}: the run needs about {gib(need)} "
                f"({n:.3g} unknowns on {ranks} rank(s)), this machine has {gib(have)} "
                f"available; {fewer}, or pass {flag} if the job runs "
                "where there is more (e.g. across cluster nodes)")
    return None
