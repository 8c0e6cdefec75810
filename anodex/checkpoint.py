"""Checkpoints: everything a run needs to continue, readable on any number
of MPI ranks, written and read by every rank in parallel.

A checkpoint is a manifest and one part per writing rank:

- ``checkpoint.npz`` (the manifest) holds the scalars of the stepper and
  the run (time, dt, previous dt, step and failure counters, next
  field-output time, wall time), each block's ``checkpoint_state`` as
  "<block>.<name>" (running integrals, event state), the unknowns' names,
  and the parts' file names and node counts (``parts``, ``part_nodes``).
  Random numbers are functions of (seed, step, coordinates), so the step
  number is their whole state.
- ``checkpoint.parts/<token>.<rank>.npz`` holds the rank's owned mesh nodes:
  the two BDF history levels of every unknown (``values``: nodes x 2 x
  unknowns), keyed by the node's quantised coordinates (``keys``,
  noise.lattice) rather than by a partition-dependent index.  An adapted
  mesh (anodex/adapt.py) adds the nodes' coordinates (``mesh_x``) and the
  rank's cells as global node numbers (``mesh_cells``): node i of part p is
  number i + the nodes of the parts before p.

Nothing is gathered on one rank.  A restart on M ranks reads the parts
spread over the ranks (rank q reads a contiguous run of them) and hands
each node's values to the rank that needs it through a rendezvous by key:
the rank key mod M (hashed) holds the node, every rank asks it for its
nodes (two all-to-all exchanges, O(N/M) memory and traffic per rank).  An
adapted mesh is rebuilt from the parts each rank read (load_mesh): dolfinx
distributes the cells.

Writes are atomic: the parts of a new checkpoint get a new token; once all
are written and synced, rank 0 writes ``checkpoint.npz.tmp``, syncs it and
renames it over the previous manifest (os.replace), then removes the parts
of other tokens.  A run killed while writing keeps its last good
checkpoint.  A checkpoint of anodex up to commit 1348dd5 (one file: the
manifest with ``keys``, ``values`` and the mesh in it, the nodes sorted by
key) is read as a manifest that is its own single part.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import uuid
import zipfile
import zlib
from pathlib import Path

import numpy as np
from mpi4py import MPI

from . import CHECKPOINT_FILE as FILE
from .geometry import mesh_info
from .noise import lattice

PARTS = "checkpoint.parts"  # the parts' directory, in the run directory
PART_NAME = re.compile(r"checkpoint\.parts/[0-9a-f]{12}\.[0-9]+\.npz")
# scalars a restart cannot do without, besides the blocks' checkpoint_state:
# Stepper.STATE and the run's own, less LATER_SCALARS (tests/test_restart.py
# keeps this complete)
REQUIRED_SCALARS = ("t", "dt", "dt_prev", "step", "rejected", "failed_solves", "dt_cap",
                    "next_out", "wall_s")
# scalars added since checkpoints were first written, with the value an older
# checkpoint implies (NaN: unset), so that its run can still be restarted
LATER_SCALARS = {"dt_failed": np.float64(np.nan), "constant_guesses": np.int64(0)}
# what the manifest holds besides scalars: the names a restart skips
_LISTS = ("unknowns", "parts", "part_nodes", "part_cells", "keys", "values", "mesh_x",
          "mesh_cells")


class CheckpointError(RuntimeError):
    pass


def _keys(x, length):
    """Lattice keys of points x (N x 3), as one sortable byte string each."""
    keys = np.ascontiguousarray(lattice(x, length))
    return keys.view(np.dtype((np.void, keys.dtype.itemsize * keys.shape[1]))).ravel()


def _node_keys(pb, n):
    """Lattice keys of the first n local nodes."""
    return _keys(pb.Q.tabulate_dof_coordinates()[:n], pb.p["length"])


def _levels(pb):
    """(nodes, 2 levels, unknowns) array of u_n and u_(n-1) for all local nodes."""
    return np.stack([np.stack([pb.field_values(n, f) for n in pb.names], axis=-1)
                     for f in (pb.u_n, pb.u_nm1)], axis=1)


def _mesh_part(pb):
    """This rank's share of an adapted mesh: its owned nodes' coordinates
    and its owned cells as global node numbers.  The numbers are the P1
    space's global dofs, which number the owned nodes of rank r after those
    of ranks < r, in the order the parts hold them."""
    from . import compat
    index_map = pb.Q.dofmap.index_map
    cells = compat.cell_dofs(pb.Q)[:pb.mesh.topology.index_map(pb.ndim).size_local]
    numbers = index_map.local_to_global(np.ascontiguousarray(cells.ravel(), dtype=np.int32))
    return {"mesh_x": pb.Q.tabulate_dof_coordinates()[:index_map.size_local],
            "mesh_cells": np.asarray(numbers, np.int64).reshape(cells.shape)}


def _on_every_rank(comm, action, what=""):
    """Run action() on every rank; an exception on any rank raises
    CheckpointError (the first failing rank's message) on all of them, so
    that no rank is left waiting in a collective call."""
    error = None
    try:
        action()
    except CheckpointError as e:
        error = str(e)
    except OSError as e:
        error = f"{what}{e}"
    except Exception as e:  # (a damaged file numpy reads into something odd)
        error = f"{what}{type(e).__name__}: {str(e)[:200]}"
    error = next((e for e in comm.allgather(error) if e), None)
    if error:
        raise CheckpointError(error)


def _write_synced(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())


def _sync_directory(path):
    """Make the names in a directory durable (after a power loss too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(run_dir, pb, scalars: dict, with_mesh=False):
    """Write the checkpoint (collective): every rank its part, then rank 0
    the manifest over the previous one; with_mesh: the mesh too (adapted)."""
    comm, run_dir = pb.comm, Path(run_dir)
    failed = f"cannot write the checkpoint in {run_dir}: "
    token = comm.bcast(uuid.uuid4().hex[:12] if comm.rank == 0 else None, root=0)

    def make_directory():
        if comm.rank == 0:
            (run_dir / PARTS).mkdir(exist_ok=True)
    _on_every_rank(comm, make_directory, failed)
    owned = pb.Q.dofmap.index_map.size_local
    part = {"keys": _node_keys(pb, owned), "values": _levels(pb)[:owned],
            **(_mesh_part(pb) if with_mesh else {})}
    _on_every_rank(comm, lambda: _write_synced(run_dir / PARTS / f"{token}.{comm.rank}.npz", part),
                   failed)
    counts = comm.gather((owned, len(part.get("mesh_cells", ()))), root=0)

    def manifest():
        if comm.rank != 0:
            return
        arrays = {"unknowns": np.array(pb.names),
                  "parts": np.array([f"{PARTS}/{token}.{r}.npz" for r in range(comm.size)]),
                  "part_nodes": np.array([n for n, _ in counts], np.int64),
                  **({"part_cells": np.array([c for _, c in counts], np.int64)} if with_mesh
                     else {}),
                  **{k: np.asarray(np.nan if v is None else v) for k, v in scalars.items()}}
        path = run_dir / FILE
        tmp = path.with_name(FILE + ".tmp")
        _sync_directory(run_dir / PARTS)
        _write_synced(tmp, arrays)
        os.replace(tmp, path)
        _sync_directory(run_dir)
        for old in (run_dir / PARTS).iterdir():  # earlier checkpoints, unfinished writes
            if not old.name.startswith(token + "."):
                with contextlib.suppress(OSError):  # (removed at the next checkpoint)
                    old.unlink()
    _on_every_rank(comm, manifest, failed)


def _read(run_dir: Path, name=FILE) -> dict:
    """The arrays of a checkpoint file (the manifest or a part named
    relative to run_dir); CheckpointError if it cannot be read."""
    path = run_dir / name
    rerun = (f"the run cannot continue from it; `anodex run --rerun {run_dir}` starts it again "
             "from the beginning")
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


def _parts(data, path) -> list:
    """[(file name relative to the run directory, nodes, cells or None)] of
    a manifest, the parts in the order of the ranks that wrote them (their
    nodes are numbered in that order); a one-file checkpoint is its own
    single part."""
    if "keys" in data:
        cells = data.get("mesh_cells")
        return [(FILE, data["keys"].shape[0] if data["keys"].ndim == 1 else -1,
                 None if cells is None or cells.ndim != 2 else cells.shape[0])]
    names, nodes = data["parts"], data["part_nodes"]
    cells = data.get("part_cells", nodes)
    token = str(names.ravel()[0]).split("/")[-1].split(".")[0] if names.size else ""
    if (names.dtype.kind != "U" or nodes.dtype.kind != "i" or cells.dtype.kind != "i"
            or names.ndim != 1 or nodes.shape != names.shape or cells.shape != names.shape
            or not len(names) or nodes.min() < 0 or cells.min() < 0
            or [str(n) for n in names] != [f"{PARTS}/{token}.{r}.npz" for r in range(len(names))]
            or not PART_NAME.fullmatch(str(names[0]))):
        raise CheckpointError(f"{path}: not a complete anodex checkpoint: its list of parts "
                              "(parts, part_nodes, part_cells) is damaged")
    return [(str(n), int(k), int(c) if "part_cells" in data else None)
            for n, k, c in zip(names, nodes, cells)]


def _manifest(run_dir, comm) -> dict:
    """The manifest's scalars, unknowns and parts on every rank (read on rank
    0; a one-file checkpoint's node arrays stay there)."""
    run_dir = Path(run_dir)
    data = {}

    def read():
        if comm.rank == 0:
            whole = _read(run_dir)
            data.update({k: v for k, v in whole.items() if k not in _LISTS[4:]},
                        parts=_parts(whole, run_dir / FILE), adapted=_adapted(whole))
    _on_every_rank(comm, read)
    return comm.bcast(data, root=0)


def _adapted(data) -> bool:
    """Whether a manifest is of a run on an adapted mesh (which it holds)."""
    return "part_cells" in data or "mesh_cells" in data


def _check_part(path, a, nodes, cells, unknowns, mesh):
    """What is wrong with the arrays `a` of one part, or None; mesh: (all
    nodes, vertices per cell) if the part must hold its mesh (`cells` cells,
    None: any number)."""
    bad = f"{path}: not a complete anodex checkpoint"
    need = ["keys", "values"] + (["mesh_x", "mesh_cells"] if mesh else [])
    missing = [k for k in need if not isinstance(a.get(k), np.ndarray)]
    if missing:
        return f"{bad}: it lacks {', '.join(missing)}"
    keys, values = a["keys"], a["values"]
    if (keys.dtype != np.dtype("V24") or keys.shape != (nodes,)
            or values.dtype.kind != "f" or values.shape != (nodes, 2, unknowns)):
        return (f"{path}: the checkpoint's arrays do not fit this case's mesh ({nodes} nodes x 2 "
                f"levels x {unknowns} unknowns, got values {values.shape}, keys {keys.shape})")
    if not np.isfinite(values).all():
        return f"{bad}: its fields hold NaN or infinite values"
    if mesh:
        x, total, vertices = a["mesh_x"], *mesh
        cell_nodes = a["mesh_cells"]
        if (x.shape != (nodes, 3) or x.dtype.kind != "f" or not np.isfinite(x).all()
                or cell_nodes.ndim != 2 or cell_nodes.shape[1] != vertices
                or cells not in (None, cell_nodes.shape[0]) or cell_nodes.dtype.kind != "i"
                or cell_nodes.min(initial=0) < 0 or cell_nodes.max(initial=0) >= total
                or (np.diff(np.sort(cell_nodes, axis=1), axis=1) == 0).any()):
            return f"{bad}: its adapted mesh (mesh_x, mesh_cells) is damaged"
    return None


def _read_parts(run_dir, comm, manifest, vertices=None) -> dict:
    """This rank's share of the parts (a contiguous run of them, so that
    their nodes are numbered on from those of the ranks before), checked and
    joined: keys, values and, for an adapted mesh, mesh_x and mesh_cells.  A
    problem in any part raises CheckpointError on every rank."""
    run_dir, parts = Path(run_dir), manifest["parts"]
    unknowns = len(manifest["unknowns"])
    mesh = (sum(n for _, n, _ in parts), vertices) if manifest["adapted"] and vertices else None
    mine = parts[comm.rank * len(parts) // comm.size:(comm.rank + 1) * len(parts) // comm.size]
    empty = {"keys": np.zeros(0, "V24"), "values": np.zeros((0, 2, unknowns)),
             "mesh_x": np.zeros((0, 3)), "mesh_cells": np.zeros((0, vertices or 0), np.int64)}
    joined = {}

    def read_mine():
        read = []
        for name, nodes, cells in mine:
            arrays = _read(run_dir, name)
            try:
                problem = _check_part(run_dir / name, arrays, nodes, cells, unknowns, mesh)
            except Exception as e:  # (arrays no writer makes)
                problem = (f"{run_dir / name}: damaged or not an anodex checkpoint "
                           f"({type(e).__name__}: {str(e)[:200]})")
            if problem:
                raise CheckpointError(problem)
            read.append(arrays)
        joined.update({k: read[0][k] if len(read) == 1 else np.concatenate([e] + [a[k] for a in read])
                       for k, e in empty.items() if k in ("keys", "values") or mesh})
    _on_every_rank(comm, read_mine)
    return joined


def check(run_dir, case):
    """What can be known of a checkpoint from its manifest, before the
    problem is built (call on rank 0): readable, complete, for this case's
    unknowns and mesh, its parts present.  Also the run's metadata.json and
    timeseries.csv, which a restart continues.  Raises CheckpointError
    saying what is wrong.  check_parts reads the parts themselves."""
    run_dir = Path(run_dir)
    path = run_dir / FILE
    data = _read(run_dir)
    bad = f"{path}: not a complete anodex checkpoint"
    blocks = case.model.instances()  # (no PETSc: this runs on rank 0 alone)
    block_state = [k for b in blocks for k in b.required_state_keys()]
    arrays = ("keys", "values") if "keys" in data or "values" in data else ("parts", "part_nodes")
    missing = sorted({"unknowns", *arrays, *REQUIRED_SCALARS, *block_state} - set(data))
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
    adapted = _adapted(data)
    if adapted != case.si["mesh_adaptivity"]["enabled"]:
        raise CheckpointError(f"{path}: the checkpoint was written by a run "
                              f"{'with' if adapted else 'without'} [mesh_adaptivity]; this case "
                              f"has enabled = {str(not adapted).lower()}")
    parts = _parts(data, path)
    nodes = sum(n for _, n, _ in parts)
    if not adapted and nodes != mesh_info(case.si["geometry"]).nodes:
        raise CheckpointError(f"{path}: the checkpoint's arrays do not fit this case's mesh "
                              f"({mesh_info(case.si['geometry']).nodes} nodes, the checkpoint "
                              f"has {nodes})")
    _check_kept(run_dir, case, {k: data[k] for k in data if "." in k})
    lost = [name for name, _, _ in parts if not (run_dir / name).is_file()]
    if lost:
        raise CheckpointError(f"{bad}: {len(lost)} of its {len(parts)} parts are missing "
                              f"({run_dir / lost[0]}, ...); the run cannot continue from it; "
                              f"`anodex run --rerun {run_dir}` starts it again from the beginning")
    _check_run_files(run_dir)


def _check_kept(run_dir, case, block_state):
    """What a restart may not change: the geometry (a mesh with as many
    nodes but other coordinates took the fields over as they were: metal
    appeared from nothing, measured) and the blocks' kept_on_restart keys,
    against the run's own case.toml; and each block's restart_problems with
    its saved state."""
    from .case import CaseError, load_case, shown
    try:
        before = load_case(run_dir / "case.toml", rederive=True).si
    except CaseError as e:
        raise CheckpointError(f"{run_dir / 'case.toml'}: the run's own case is not valid "
                              f"({str(e)[:300]})") from None
    kept = [("geometry", k) for k in case.si["geometry"]]
    kept += [key for b in case.model.blocks for key in b.kept_on_restart]
    for section, key in kept:
        if before[section].get(key) != case.si[section].get(key):
            raise CheckpointError(
                f"{run_dir}: a restart keeps [{section}] {key}: the run has "
                f"{shown(before[section].get(key))}, this case {shown(case.si[section].get(key))}; "
                f"a run with another one starts anew (a new -o, or edit {run_dir}/case.toml "
                f"and `anodex run --rerun {run_dir}`)")
    for b in case.model.blocks:
        saved = {k.split(".", 1)[1]: v.item() if v.ndim == 0 else v
                 for k, v in block_state.items() if k.startswith(f"{b.name}.")}
        problems = b.restart_problems(case.si, saved)
        if problems:
            raise CheckpointError(f"{run_dir}: cannot continue: {problems[0]}")


def _check_run_files(run_dir):
    """metadata.json and timeseries.csv, which a restart continues."""
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


def check_parts(run_dir, case, comm):
    """Every part of the checkpoint read and checked, spread over the ranks
    (collective; after ``check``): shapes, finite fields, the mesh's cells.
    Raises CheckpointError on every rank."""
    vertices = mesh_info(case.si["geometry"]).dim + 1
    _read_parts(run_dir, comm, _manifest(run_dir, comm), vertices)


def load_mesh(run_dir, comm, cell_name):
    """The adapted mesh saved in the checkpoint, distributed over comm
    (checked by ``check`` and ``check_parts`` first)."""
    from . import compat
    gdim = {"triangle": 2, "tetrahedron": 3}[cell_name]
    part = _read_parts(run_dir, comm, _manifest(run_dir, comm), gdim + 1)
    return compat.create_mesh(comm, part["mesh_cells"], part["mesh_x"][:, :gdim], cell_name, gdim)


def _home(keys, ranks):
    """The rank that holds each node in a rendezvous: its key hashed, mod ranks."""
    k = np.ascontiguousarray(keys).view(np.uint64).reshape(-1, 3)
    h = (k[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ k[:, 1] * np.uint64(0xC2B2AE3D27D4EB4F)
         ^ k[:, 2] * np.uint64(0x165667B19E3779F9))
    return ((h ^ (h >> np.uint64(31))) % np.uint64(ranks)).astype(np.int64)


def _alltoallv(comm, rows, send, recv):
    """All-to-all of the rows of an array, send[r] rows to rank r (rows
    grouped by destination), recv[r] rows from rank r."""
    rows = np.ascontiguousarray(rows)
    size = rows.dtype.itemsize * int(np.prod(rows.shape[1:], dtype=np.int64))
    out = np.empty((int(np.sum(recv)),) + rows.shape[1:], rows.dtype)
    row = MPI.BYTE.Create_contiguous(size).Commit()  # (counts in rows: no 2 GiB limit)

    def spec(buffer, counts):
        counts = np.asarray(counts, np.int64)
        return [buffer.reshape(-1).view(np.uint8), (counts, np.cumsum(counts) - counts), row]
    try:
        comm.Alltoallv(spec(rows, send), spec(out, recv))
    finally:
        row.Free()
    return out


def _rendezvous(comm, keys, values, wanted):
    """values (nodes x ...) of the nodes with keys `wanted`, from the ranks
    that read them (keys, values): every node goes to its home rank, every
    rank asks the home ranks of its nodes.  NaN rows: not in the checkpoint."""
    home = _home(keys, comm.size)
    order = np.argsort(home, kind="stable")
    send = np.bincount(home, minlength=comm.size)
    recv = np.asarray(comm.alltoall(send.tolist()))
    held_keys = _alltoallv(comm, keys[order], send, recv)
    held_values = _alltoallv(comm, values[order], send, recv)
    by_key = np.argsort(held_keys)
    held_keys = held_keys[by_key]
    home = _home(wanted, comm.size)
    asked_order = np.argsort(home, kind="stable")
    asks = np.bincount(home, minlength=comm.size)
    asked = np.asarray(comm.alltoall(asks.tolist()))
    questions = _alltoallv(comm, wanted[asked_order], asks, asked)
    where = np.minimum(np.searchsorted(held_keys, questions), max(len(held_keys) - 1, 0))
    found = held_keys[where] == questions if len(held_keys) else np.zeros(len(questions), bool)
    answers = np.full((len(questions),) + values.shape[1:], np.nan)
    answers[found] = held_values[by_key[where[found]]]
    replies = _alltoallv(comm, answers, asked, asks)
    result = np.empty_like(replies)
    result[asked_order] = replies
    return result


def load(run_dir, pb) -> dict:
    """Restore u, u_n, u_(n-1) from the checkpoint (collective); returns the
    scalars.  The mesh may be partitioned differently, on another number of
    ranks, from the run that wrote it.  The checkpoint was checked by
    ``check`` and ``check_parts`` before the problem was built."""
    comm = pb.comm
    path = Path(run_dir) / FILE
    manifest = _manifest(run_dir, comm)
    if list(manifest["unknowns"]) != pb.names:
        raise CheckpointError(f"{path}: checkpoint holds unknowns {list(manifest['unknowns'])}, "
                              f"the case has {pb.names}")
    part = _read_parts(run_dir, comm, manifest)
    local = _node_keys(pb, pb.Q.tabulate_dof_coordinates().shape[0])
    values = _rendezvous(comm, part["keys"], part["values"], local)
    if not comm.allreduce(bool(np.isfinite(values).all()), op=MPI.LAND):
        raise CheckpointError(f"{path}: the checkpoint's mesh nodes do not match this case's mesh")
    for level, f in enumerate((pb.u_n, pb.u_nm1)):
        for i, name in enumerate(pb.names):
            f.x.array[pb.sub_dofs[name]] = values[:, level, i]
    pb.u.x.array[:] = pb.u_n.x.array
    scalars = {k: v.item() if v.ndim == 0 else v
               for k, v in {**LATER_SCALARS, **manifest}.items() if k not in _LISTS + ("adapted",)}
    return {k: None if isinstance(v, float) and np.isnan(v) else v for k, v in scalars.items()}
