"""Checkpoints: everything a run needs to continue, readable on any number
of MPI ranks.

``checkpoint.npz`` in the run directory holds the two BDF history levels of
every unknown (u_n, u_(n-1)), one row per mesh node, keyed by the node's
quantised coordinates (noise.lattice) rather than by a partition-dependent
index, plus the scalars of the stepper, the observables and the output
(time, dt, previous dt, step and failure counters, charge and ion-inflow
integrals, last tip position, next field-output time).  The noise is a
function of (seed, step, coordinates), so the step number is its whole
random-number state.

Writes are atomic: rank 0 writes ``checkpoint.npz.tmp``, syncs it and
renames it over the previous checkpoint (os.replace), so a run killed while
writing keeps its last good checkpoint.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from mpi4py import MPI

from . import CHECKPOINT_FILE as FILE
from .noise import lattice


class CheckpointError(RuntimeError):
    pass


def _node_keys(pb, n):
    """Lattice keys of the first n local nodes, as one sortable byte string each."""
    keys = np.ascontiguousarray(lattice(pb.Q.tabulate_dof_coordinates()[:n], pb.p["length"]))
    return keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).ravel()


def _levels(pb):
    """(nodes, 2 levels, unknowns) array of u_n and u_(n-1) for all local nodes."""
    return np.stack([np.stack([pb.field_values(n, f) for n in pb.names], axis=-1)
                     for f in (pb.u_n, pb.u_nm1)], axis=1)


def save(run_dir, pb, scalars: dict):
    """Write the checkpoint (collective)."""
    comm = pb.comm
    owned = pb.Q.dofmap.index_map.size_local
    parts = comm.gather((_node_keys(pb, owned), _levels(pb)[:owned]), root=0)
    error = None
    if comm.rank == 0:
        try:
            _write(run_dir, pb.names, parts, scalars)
        except OSError as e:  # the previous checkpoint is still in place
            error = f"cannot write the checkpoint in {run_dir}: {e}"
    error = comm.bcast(error, root=0)
    if error:
        raise CheckpointError(error)


def _write(run_dir, names, parts, scalars):
    """Rank 0: sort the gathered nodes by key, write to a temporary file,
    sync, rename over the previous checkpoint."""
    keys = np.concatenate([k for k, _ in parts])
    values = np.concatenate([v for _, v in parts])
    order = np.argsort(keys)
    path = Path(run_dir) / FILE
    tmp = path.with_name(FILE + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, keys=keys[order], values=values[order], unknowns=np.array(names),
                 **{k: np.asarray(np.nan if v is None else v) for k, v in scalars.items()})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(run_dir, pb) -> dict:
    """Restore u, u_n, u_(n-1) from the checkpoint (collective); returns the
    scalars.  The mesh may be partitioned differently from the run that wrote it."""
    comm = pb.comm
    path = Path(run_dir) / FILE
    data, error = None, None
    if comm.rank == 0:
        try:
            with np.load(path) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError, KeyError) as e:
            error = f"{path}: cannot read the checkpoint ({e})"
        if data is not None and list(data["unknowns"]) != pb.names:
            error = (f"{path}: checkpoint holds unknowns {list(data['unknowns'])}, "
                     f"the case has {pb.names}")
    error = comm.bcast(error, root=0)
    if error:
        raise CheckpointError(error)
    data = comm.bcast(data, root=0)
    local = _node_keys(pb, pb.Q.tabulate_dof_coordinates().shape[0])
    where = np.searchsorted(data["keys"], local)
    where[where >= len(data["keys"])] = 0
    found = data["keys"][where] == local
    if not comm.allreduce(bool(found.all()), op=MPI.LAND):
        raise CheckpointError(f"{path}: the checkpoint's mesh nodes do not match this case's mesh")
    values = data["values"][where]
    for level, f in enumerate((pb.u_n, pb.u_nm1)):
        for i, name in enumerate(pb.names):
            f.x.array[pb.sub_dofs[name]] = values[:, level, i]
    pb.u.x.array[:] = pb.u_n.x.array
    scalars = {k: v.item() if v.ndim == 0 else v for k, v in data.items()
               if k not in ("keys", "values", "unknowns")}
    return {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in scalars.items()}
