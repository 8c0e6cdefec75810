"""Checkpoints: everything a run needs to continue, readable on any number
of MPI ranks.

``checkpoint.npz`` in the run directory holds the two BDF history levels of
every unknown (u_n, u_(n-1)), one row per mesh node, keyed by the node's
quantised coordinates (noise.lattice) rather than by a partition-dependent
index, plus the scalars of the stepper and the run (time, dt, previous dt,
step and failure counters, next field-output time, wall time) and each
block's ``checkpoint_state`` as "<block>.<name>" (running integrals, event
state).  Random numbers are functions of (seed, step, coordinates), so the
step number is their whole state.

An adapted mesh (solver/adapt.py) is saved with the state: the nodes'
coordinates and the cells as indices into the sorted nodes (``mesh_x``,
``mesh_cells``); a restart rebuilds that mesh (load_mesh), distributed over
any number of ranks, and continues on it.

Writes are atomic: rank 0 writes ``checkpoint.npz.tmp``, syncs it and
renames it over the previous checkpoint (os.replace), so a run killed while
writing keeps its last good checkpoint.
"""
from __future__ import annotations

import csv
import json
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
from mpi4py import MPI

from . import CHECKPOINT_FILE as FILE
from .geometry import mesh_info
from .noise import lattice


# scalars a restart cannot do without, besides the blocks' checkpoint_state:
# Stepper.STATE and the run's own, less LATER_SCALARS (tests/test_restart.py
# keeps this complete)
REQUIRED_SCALARS = ("t", "dt", "dt_prev", "step", "rejected", "failed_solves", "dt_cap",
                    "next_out", "wall_s")
# scalars added since checkpoints were first written, with the value an older
# checkpoint implies (NaN: unset), so that its run can still be restarted
LATER_SCALARS = {"dt_failed": np.float64(np.nan), "constant_guesses": np.int64(0)}


class CheckpointError(RuntimeError):
    pass


def _keys(x, length):
    """Lattice keys of points x (N x 3), as one sortable byte string each."""
    keys = np.ascontiguousarray(lattice(x, length))
    return keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).ravel()


def _node_keys(pb, n):
    """Lattice keys of the first n local nodes."""
    return _keys(pb.Q.tabulate_dof_coordinates()[:n], pb.p["length"])


def _mesh_part(pb):
    """This rank's share of the mesh: (owned cells as keys of their
    vertices, cells x vertices; the owned nodes' coordinates)."""
    from . import compat
    mesh = pb.mesh
    owned = mesh.topology.index_map(pb.ndim).size_local
    x = mesh.geometry.x
    cells = _keys(x, pb.p["length"])[compat.geometry_dofmap(mesh)[:owned]]
    return cells, pb.Q.tabulate_dof_coordinates()[:pb.Q.dofmap.index_map.size_local]


def _levels(pb):
    """(nodes, 2 levels, unknowns) array of u_n and u_(n-1) for all local nodes."""
    return np.stack([np.stack([pb.field_values(n, f) for n in pb.names], axis=-1)
                     for f in (pb.u_n, pb.u_nm1)], axis=1)


def save(run_dir, pb, scalars: dict, with_mesh=False):
    """Write the checkpoint (collective); with_mesh: the mesh too (adapted)."""
    comm = pb.comm
    owned = pb.Q.dofmap.index_map.size_local
    parts = comm.gather((_node_keys(pb, owned), _levels(pb)[:owned]), root=0)
    mesh = comm.gather(_mesh_part(pb), root=0) if with_mesh else None
    error = None
    if comm.rank == 0:
        try:
            _write(run_dir, pb.names, parts, scalars, mesh)
        except OSError as e:  # the previous checkpoint is still in place
            error = f"cannot write the checkpoint in {run_dir}: {e}"
    error = comm.bcast(error, root=0)
    if error:
        raise CheckpointError(error)


def _write(run_dir, names, parts, scalars, mesh=None):
    """Rank 0: sort the gathered nodes by key, write to a temporary file,
    sync, rename over the previous checkpoint."""
    keys = np.concatenate([k for k, _ in parts])
    values = np.concatenate([v for _, v in parts])
    order = np.argsort(keys)
    keys = keys[order]
    arrays = {}
    if mesh is not None:
        x = np.concatenate([xs for _, xs in mesh])[order]  # (same owners, same order)
        cells = np.searchsorted(keys, np.concatenate([c for c, _ in mesh]))
        arrays = {"mesh_x": x, "mesh_cells": cells.astype(np.int64)}
    path = Path(run_dir) / FILE
    tmp = path.with_name(FILE + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, keys=keys, values=values[order], unknowns=np.array(names), **arrays,
                 **{k: np.asarray(np.nan if v is None else v) for k, v in scalars.items()})
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _read(path: Path) -> dict:
    """The arrays of a checkpoint file; CheckpointError if it cannot be read."""
    rerun = (f"the run cannot continue from it; `anodex run --rerun {path.parent}` starts it "
             "again from the beginning")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise ValueError("not an .npz archive")
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint; {rerun}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        what = ("it holds Python objects, which anodex never writes" if "pickle" in str(e)
                else f"{type(e).__name__}: {str(e)[:200]}")
        raise CheckpointError(f"{path}: damaged or not an anodex checkpoint ({what}); "
                              f"{rerun}") from None


def check(run_dir, case):
    """All that can be known of a checkpoint before the problem is built
    (call on rank 0): readable, complete, finite, for this case's unknowns
    and mesh.  Also the run's metadata.json and timeseries.csv, which a
    restart continues.  Raises CheckpointError saying what is wrong."""
    run_dir = Path(run_dir)
    path = run_dir / FILE
    data = _read(path)
    bad = f"{path}: not a complete anodex checkpoint"
    blocks = case.model.instances()  # (no PETSc: this runs on rank 0 alone)
    block_state = [k for b in blocks for k in b.required_state_keys()]
    needed = {"keys", "values", "unknowns", *REQUIRED_SCALARS, *block_state}
    missing = sorted(needed - set(data))
    if missing:
        raise CheckpointError(f"{bad}: it lacks {', '.join(missing)}")
    for k in (*REQUIRED_SCALARS, *(k for k in LATER_SCALARS if k in data)):
        v = data[k]
        if v.ndim != 0 or v.dtype.kind not in "iuf" or (v.dtype.kind == "f" and np.isinf(v)):
            raise CheckpointError(f"{bad}: {k} is not a number")  # (NaN stands for unset)
    unknowns = [u.name for b in blocks for u in b.unknowns]
    if data["unknowns"].dtype.kind != "U" or list(data["unknowns"]) != unknowns:
        raise CheckpointError(f"{path}: the checkpoint holds unknowns "
                              f"{[str(u) for u in data['unknowns'].ravel()][:10]}, the case "
                              f"has {unknowns}")
    adapted = "mesh_cells" in data
    if adapted != case.si["mesh_adaptivity"]["enabled"]:
        raise CheckpointError(f"{path}: the checkpoint was written by a run "
                              f"{'with' if adapted else 'without'} [mesh_adaptivity]; this case "
                              f"has enabled = {str(not adapted).lower()}")
    values, keys = data["values"], data["keys"]
    nodes = len(keys) if adapted else mesh_info(case.si["geometry"]).nodes
    if adapted:
        x, cells = data["mesh_x"], data["mesh_cells"]
        if (x.shape != (nodes, 3) or cells.ndim != 2 or cells.dtype.kind != "i"
                or cells.min(initial=0) < 0 or cells.max(initial=0) >= nodes
                or not np.isfinite(x).all()):
            raise CheckpointError(f"{bad}: its adapted mesh (mesh_x, mesh_cells) is damaged")
    if values.dtype.kind != "f" or values.shape != (nodes, 2, len(unknowns)) or keys.shape != (nodes,):
        raise CheckpointError(f"{path}: the checkpoint's arrays do not fit this case's mesh "
                              f"({nodes} nodes x 2 levels x {len(unknowns)} unknowns, got "
                              f"values {values.shape}, keys {keys.shape})")
    if not np.isfinite(values).all():
        raise CheckpointError(f"{bad}: its fields hold NaN or infinite values")
    try:
        meta = json.loads((run_dir / "metadata.json").read_text())
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{run_dir / 'metadata.json'}: unreadable ({str(e)[:200]}); a "
                              "restart adds to it") from None
    try:
        with open(run_dir / "timeseries.csv", newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise CheckpointError(f"{run_dir / 'timeseries.csv'}: unreadable ({str(e)[:200]}); a "
                              "restart continues it") from None
    if "step" not in header:
        raise CheckpointError(f"{run_dir / 'timeseries.csv'}: no header with a step column; "
                              "a restart continues it")


def load_mesh(run_dir, comm, cell_name):
    """The adapted mesh saved in the checkpoint, distributed over comm
    (checked by ``check`` first)."""
    from . import compat
    data = _read(Path(run_dir) / FILE) if comm.rank == 0 else None
    gdim = {"triangle": 2, "tetrahedron": 3}[cell_name]
    cells = data["mesh_cells"] if data else np.zeros((0, gdim + 1), np.int64)
    x = data["mesh_x"][:, :gdim] if data else np.zeros((0, gdim))
    return compat.create_mesh(comm, cells, x, cell_name, gdim)


def load(run_dir, pb) -> dict:
    """Restore u, u_n, u_(n-1) from the checkpoint (collective); returns the
    scalars.  The mesh may be partitioned differently from the run that wrote
    it.  The file was checked by ``check`` before the problem was built."""
    comm = pb.comm
    path = Path(run_dir) / FILE
    data, error = None, None
    if comm.rank == 0:
        try:
            data = _read(path)
        except CheckpointError as e:
            error = str(e)
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
    scalars = {k: v.item() if v.ndim == 0 else v
               for k, v in {**LATER_SCALARS, **data}.items()
               if k not in ("keys", "values", "unknowns", "mesh_x", "mesh_cells")}
    return {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in scalars.items()}
