"""Adaptive meshes (issue 19, work in progress): refinement where the phase
field jumps, transfer of the state with the metal conserved, an adaptive
run against a uniform one."""
import numpy as np
import pytest
from mpi4py import MPI

from conftest import read_timeseries
from anodex import compat, memory
from anodex.adapt import Adaptor, global_point_values, nodal_values, scalar_field, transfer
from anodex.case import validate
from anodex.problem import Problem
from anodex.simulation import run_case

BASE = {
    "case": {"name": "adapt"},
    "geometry": {"kind": "rectangle", "length": "20 um", "height": "10 um", "cells": [20, 10]},
    "initial": {"interface_position": "5 um", "perturbation_amplitude": "1 um",
                "perturbation_wavelength": "10 um"},
    "time": {"end": "0.3 s", "dt_initial": "0.01 s", "dt_max": "0.05 s"},
    "output": {"field_interval": "0.1 s"},
    "mesh_adaptivity": {"enabled": True, "levels": 1, "interval": 5},
}


def adaptive_case(**changes):
    data = {k: dict(v) for k, v in BASE.items()}
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        data[section][key] = value
    return validate(data, "<adapt>")


def largest_jump(pb, comm):
    """The largest change of eta across a cell of pb's mesh."""
    mesh = pb.mesh
    cells = compat.geometry_dofmap(mesh)[:mesh.topology.index_map(pb.ndim).size_local]
    values = global_point_values(scalar_field(pb, "eta"), mesh.geometry.x, comm)[:, 0]
    return comm.allreduce(float(np.ptp(values[cells], axis=1).max(initial=0.0)), op=MPI.MAX)


def test_refinement_resolves_the_interface_and_transfer_keeps_the_metal(comm):
    """Three levels (1 um to 0.125 um): the largest change of eta across a
    cell falls from the base mesh's to below interface_jump (0.2: at least
    4 cells across the 10-90 % width, the issue's bar); the
    state moved onto a mesh refined differently keeps its metal to 1e-12."""
    case = adaptive_case(**{"mesh_adaptivity.levels": 3})
    adaptor = Adaptor(case, comm)
    pb = Problem(case, comm, adaptor.base)
    pb.set_initial()
    coarse = largest_jump(pb, comm)
    for level in (1, 2, 3):
        pb = Problem(case, comm, adaptor.refine(pb, level))
        pb.set_initial()
    assert coarse > 0.5
    assert largest_jump(pb, comm) <= 0.2
    other = Problem(case, comm, adaptor.refine(pb, 1))
    transfer(pb, other)
    assert other.integral("metal_volume") == pytest.approx(pb.integral("metal_volume"), rel=1e-12)


def test_a_front_that_leaves_the_refined_band_is_noticed(comm):
    """On the mesh refined for the initial front, the front is inside the
    band; the same front 3 um further (beyond the 2 buffer layers) is not,
    and front_escaped says so on any partition."""
    case = adaptive_case(**{"mesh_adaptivity.levels": 2})
    adaptor = Adaptor(case, comm)
    pb = Problem(case, comm, adaptor.base)
    pb.set_initial()
    for level in (1, 2):
        pb = Problem(case, comm, adaptor.refine(pb, level))
        pb.set_initial()
    assert not adaptor.front_escaped(pb)
    x = pb.Q.tabulate_dof_coordinates()[:, 0]
    pb.u.x.array[pb.sub_dofs["eta"]] = 0.5 * (1 - np.tanh((x - 8.0) / 0.5))
    assert adaptor.front_escaped(pb)


@pytest.mark.slow
@pytest.mark.serial  # (on 2 ranks it failed once in 4 runs: docs/adaptivity.md, known problems)
def test_adaptive_run_matches_the_uniform_finest_mesh(tmp_path):
    """The Hong model, 1 um triangles refined once at the interface every 5
    steps, against uniform 0.5 um triangles: the deposit and the tip within
    0.2 % at 0.3 s (measured 0.05 % and 0.001 %)."""
    runs = {}
    for name, changes in (("adaptive", {}), ("uniform", {"geometry.cells": [40, 20],
                                                         "mesh_adaptivity.levels": 0,
                                                         "mesh_adaptivity.interval": 10 ** 6})):
        result = run_case(adaptive_case(**changes), tmp_path / name)
        assert result["status"] == "completed", (name, result["reason"])
        runs[name] = read_timeseries(tmp_path / name)[-1]
    for col in ("deposit_thickness_m", "tip_position_m"):
        assert runs["adaptive"][col] == pytest.approx(runs["uniform"][col], rel=2e-3)


TWO_POTENTIAL = {
    "model": {"blocks": ["phase_field", "charge_transfer", "electronic_conduction",
                         "ionic_conduction", "interface_curvature"]},
    "material": {"metal": "Li", "temperature": "298.15 K"},
    "electrolyte": {"conductivity": "10 S/m"},
    "phase_field": {"interface_length": "0.5 um", "interface_relaxation_rate": "10 1/s",
                    "boundary_values": False},
    "reaction": {"exchange_current_density": "1000 A/m^2"},
    "collector": {"control": "potentiostatic", "potential": "-0.1 V"},
}


def test_nonmatching_interpolation_equals_point_evaluation(comm):
    """From 0.9 on the transfer uses dolfinx's interpolation between
    non-matching meshes (each rank sends its nodes only where they lie);
    its values at the new nodes are the version-proof point evaluation's,
    onto a mesh that is coarser in places and finer in others."""
    case = adaptive_case(**{"mesh_adaptivity.levels": 2})
    adaptor = Adaptor(case, comm)
    pb = Problem(case, comm, adaptor.base)
    pb.set_initial()
    pb = Problem(case, comm, adaptor.refine(pb, 2))
    pb.set_initial()
    pb.u.x.array[:] += np.sin(pb.V.tabulate_dof_coordinates()[:, :1].repeat(
        pb.V.dofmap.index_map_bs, axis=1).ravel())  # (not P1 on either mesh)
    other = Problem(case, comm, adaptor.refine(pb, 1))
    if compat.interpolate_nonmatching(pb.u, other.V) is None:
        pytest.skip(f"dolfinx {compat.versions()['dolfinx']} has no interpolation between "
                    "non-matching meshes: the transfer evaluates at points")
    points = global_point_values(pb.u, other.V.tabulate_dof_coordinates(), comm).ravel()
    assert np.abs(nodal_values(pb.u, other.V, comm) - points).max() < 1e-12


@pytest.mark.parametrize("model", ["hong", "two_potential", "two_potential_3d"])
def test_faraday_holds_across_adaptations(model, mpi_tmp_path):
    """BDF1 telescopes, so the metal grown and the charge through the
    electrode / zF (integrated from the current, an independent quantity)
    agree at every step to solver tolerance, also across the 6 mesh
    adaptations of this run, each of which interpolates the state onto a
    new mesh; for the Hong model also metal + ions against the ions that
    entered.  Measured: 8e-11 (Hong) and 3e-11 (two-potential) of the
    metal grown; without the restoration of the amounts (adapt.restore)
    1e-4 and 9e-8, which fail."""
    data = {**{k: dict(v) for k, v in BASE.items()},
            "time": {"end": "0.3 s", "dt_initial": "0.01 s", "dt_max": "0.05 s",
                     "scheme": "bdf1"},
            "mesh_adaptivity": {"enabled": True, "levels": 2, "interval": 2}}
    if model.startswith("two_potential"):
        data["solver"] = {"newton_tolerance": 1e-10}
        data.update({k: dict(v) for k, v in TWO_POTENTIAL.items()})
        data["time"]["end"] = "1 s"
    if model == "two_potential_3d":  # tetrahedra, 2 um to 1 um
        data["geometry"] = {"kind": "box", "length": "12 um", "height": "4 um", "depth": "4 um",
                            "cells": [6, 2, 2]}
        data["mesh_adaptivity"]["levels"] = 1
    case = validate(data, "<adapt>")
    run_case(case, mpi_tmp_path / model)
    rows = read_timeseries(mpi_tmp_path / model)
    meta = __import__("json").loads((mpi_tmp_path / model / "metadata.json").read_text())
    assert len(meta["adaptations"]) >= 5
    # the memory estimate's node count (before the run) bounds the run's
    peak = max(a["dofs"] for a in meta["adaptations"])
    print("unknowns: estimated", memory.unknowns(case), "peak", peak)
    assert peak <= memory.unknowns(case) <= 3 * peak
    z = case.si["material"]["charge_number"]
    charge = "charge_C_m2" if model == "hong" else "collector_charge_C_m2"
    grown = np.array([r["metal_mol_m2"] - rows[0]["metal_mol_m2"] for r in rows])
    # (two-potential: the collector charge less what the double layers hold)
    layers = np.array([r.get("double_layer_charge_C_m2", 0.0)
                       - rows[0].get("double_layer_charge_C_m2", 0.0) for r in rows])
    from_charge = (np.array([r[charge] for r in rows]) - layers) / (z * 96485.33212)
    assert grown[-1] > 1e-4  # mol/m^2
    assert np.abs(grown - from_charge).max() < 1e-9 * grown[-1]
    if model == "hong":
        stored = np.array([r["metal_content_mol_m2"] - rows[0]["metal_content_mol_m2"]
                           for r in rows])
        inflow = np.array([r["ion_inflow_mol_m2"] for r in rows])
        assert np.abs(stored - inflow).max() < 1e-9 * np.abs(stored).max()


def _edit_checkpoint(run, edit):
    """Rewrite the manifest and the parts through edit(manifest, parts),
    which changes the dicts of arrays in place; returns a restore function."""
    manifest = run / "checkpoint.npz"
    with np.load(manifest) as z:
        m = {k: z[k] for k in z.files}
    paths = [run / str(n) for n in m["parts"]]
    saved = {p: p.read_bytes() for p in [manifest, *paths]}
    parts = []
    for path in paths:
        with np.load(path) as z:
            parts.append({k: z[k] for k in z.files})
    edit(m, parts)
    np.savez(manifest, **m)
    for path, arrays in zip(paths, parts):
        np.savez(path, **arrays)
    return lambda: [p.write_bytes(b) for p, b in saved.items()]


def _swap_parts(m, parts):
    for key in ("parts", "part_nodes", "part_cells"):
        m[key] = m[key][::-1].copy()


def _duplicate_part(m, parts):
    for key in ("parts", "part_nodes", "part_cells"):
        m[key] = np.array([m[key][0]] * len(m[key]))


def _drop_cells(m, parts):
    parts[-1]["mesh_cells"] = parts[-1]["mesh_cells"][:-50]


def _repeat_a_vertex(m, parts):
    parts[-1]["mesh_cells"][0, 1] = parts[-1]["mesh_cells"][0, 0]


@pytest.mark.serial
def test_a_damaged_adapted_checkpoint_is_refused(tmp_path):
    """An adapted checkpoint whose parts are listed out of their ranks'
    order, listed twice, miss cells, or hold a cell with a repeated vertex
    is refused with exit 2 and a message before the run starts (no mesh is
    built from it), on 1 and 2 ranks; the checkpoint, put back, restarts."""
    from test_cli import anodex
    case = adaptive_case(**{"mesh_adaptivity.levels": 1, "mesh_adaptivity.interval": 4,
                            "time.end": "0.05 s"})
    path = tmp_path / "adapt.toml"
    path.write_text(case.to_toml())
    run = tmp_path / "run"
    anodex("run", path, "-o", run, ranks=2)
    status = (run / "status.json").read_text()
    for edit, says in ((_swap_parts, "list of parts"), (_duplicate_part, "list of parts"),
                       (_drop_cells, "adapted mesh"), (_repeat_a_vertex, "adapted mesh")):
        restore = _edit_checkpoint(run, edit)
        for ranks in (1, 2):
            res = anodex("run", "--restart", run, "--set", 'time.end="0.1 s"', ranks=ranks,
                         check=False)
            assert res.returncode == 2 and says in res.stderr, (edit.__name__, res.stderr[-2000:])
            assert "Traceback" not in res.stderr and (run / "status.json").read_text() == status
        restore()
    anodex("run", "--restart", run, "--set", 'time.end="0.1 s"', ranks=2)


@pytest.mark.serial
@pytest.mark.compat
def test_adaptive_run_restarts_on_another_rank_count(tmp_path):
    """An adaptive run on 2 ranks stopped at 0.15 s, continued with --restart
    on 3 ranks to 0.22 s (3 ranks read 2 parts) and on 1 rank to 0.3 s (1
    rank reads 3) gives the series of the uninterrupted run on 1 rank (the
    checkpoint carries the adapted mesh, rebuilt and redistributed), and
    its fields go on in files of their own."""
    from test_cli import anodex
    case = adaptive_case(**{"time.error_tolerance": 0.0, "time.dt_min": "0.01 s",
                            "time.dt_max": "0.01 s", "mesh_adaptivity.levels": 1,
                            "mesh_adaptivity.interval": 4, "output.field_interval": "0.05 s"})
    path = tmp_path / "adapt.toml"
    path.write_text(case.to_toml())
    anodex("run", path, "-o", tmp_path / "full")
    anodex("run", path, "-o", tmp_path / "split", "--set", 'time.end="0.15 s"', ranks=2)
    anodex("run", "--restart", tmp_path / "split", "--set", 'time.end="0.22 s"', ranks=3)
    anodex("run", "--restart", tmp_path / "split", "--set", 'time.end="0.3 s"')
    full, split = (read_timeseries(tmp_path / k) for k in ("full", "split"))
    assert [r["step"] for r in split] == [r["step"] for r in full] == list(range(31))
    for col in ("deposit_thickness_m", "tip_position_m", "charge_C_m2", "metal_content_mol_m2"):
        a, b = (np.array([r[col] for r in rows]) for rows in (full, split))
        assert np.abs(a - b).max() <= 1e-6 * np.abs(a).max(), col
    meta = __import__("json").loads((tmp_path / "split" / "metadata.json").read_text())
    assert [a["adaptation"] for a in meta["adaptations"]] == list(range(8))
    assert sorted(p.name for p in (tmp_path / "split").glob("eta.r1.m*.xdmf"))
