"""Benchmark: writing and reading a checkpoint (anodex/checkpoint.py) on a
case's mesh, per rank (issue 37: no O(N) term on one rank).

    mpirun -n 2 python -m mpi4py benchmarks/checkpoint_io.py \
        --case cases/li_instability.toml --cells 640,256 [--adapted] [--repeat 3]

Builds the case's problem with its initial fields, writes the checkpoint
into a temporary directory `--repeat` times and reads it back as many
times, and prints, for rank 0 and for the busiest rank: the nodes it wrote,
the seconds of the fastest write, read and (--adapted) mesh rebuild (the slowest rank's, between
barriers), and the peak of memory numpy allocated during a write and a read
(tracemalloc).  --adapted makes the mesh of triangles (tetrahedra) an adaptive run
starts from and writes it too, as an adaptive run does.
The code measured is the `anodex` package on PYTHONPATH, so an older
checkout can be measured with the same script.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(comm, action):
    """(seconds of the slowest rank, this rank's peak traced bytes) of action()."""
    comm.barrier()
    tracemalloc.start()
    t0 = time.perf_counter()
    action()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return comm.allreduce(seconds, op=MPI.MAX), peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True)
    ap.add_argument("--cells", required=True, help="e.g. 640,256")
    ap.add_argument("--adapted", action="store_true", help="write the mesh too")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from anodex import checkpoint
    from anodex.case import load_case
    from anodex.problem import Problem
    comm = MPI.COMM_WORLD
    case = load_case(args.case, {"geometry.cells": [int(c) for c in args.cells.split(",")]})
    mesh = None
    if args.adapted:  # on the triangles (tetrahedra) of an adaptive run
        from anodex.adapt import Adaptor
        mesh = Adaptor(case, comm).base
    pb = Problem(case, comm, mesh)
    pb.set_initial()
    where = Path(comm.bcast(tempfile.mkdtemp(prefix="anodex-ckpt-") if comm.rank == 0 else None))
    scalars = {"t": 0.0, "dt": 1e-3, "step": 0}
    writes = [timed(comm, lambda: checkpoint.save(where, pb, scalars, with_mesh=args.adapted))
              for _ in range(args.repeat)]
    reads = [timed(comm, lambda: checkpoint.load(where, pb)) for _ in range(args.repeat)]
    cell = {2: "triangle", 3: "tetrahedron"}[pb.ndim]
    meshes = [timed(comm, lambda: checkpoint.load_mesh(where, comm, cell))
              for _ in range(args.repeat if args.adapted else 0)]
    owned = pb.Q.dofmap.index_map.size_local
    rows = comm.gather((owned, max(p for _, p in writes), max(p for _, p in reads)), root=0)
    if comm.rank == 0:
        shutil.rmtree(where)
        nodes = pb.Q.dofmap.index_map.size_global
        print(f"{args.case} {args.cells}: {nodes} nodes x {len(pb.names)} unknowns, "
              f"{comm.size} rank(s), mesh {'written' if args.adapted else 'not written'}")
        print("| ranks | nodes (rank 0) | write s | read s | mesh read s | write peak MB "
              "rank 0 / max | read peak MB rank 0 / max |")
        print(f"| {comm.size} | {rows[0][0]} | {min(s for s, _ in writes):.3f} | "
              f"{min(s for s, _ in reads):.3f} | "
              f"{min(s for s, _ in meshes) if meshes else '-':.4} | {rows[0][1] / 1e6:.1f} / "
              f"{max(r[1] for r in rows) / 1e6:.1f} | {rows[0][2] / 1e6:.1f} / "
              f"{max(r[2] for r in rows) / 1e6:.1f} |")


if __name__ == "__main__":
    main()
