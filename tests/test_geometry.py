"""Meshes from files (meshes/, meshio), graded meshes, a polycrystal with
grain boundaries, the 3-D box, and clear errors for meshes that cannot be
used.  The in-process tests run serially and on 2 ranks (make test-mpi);
the `serial` ones start their own 1- and 2-rank jobs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest
from mpi4py import MPI

from conftest import read_timeseries
from anodex import compat
from anodex.case import CaseError, load_case, validate

ROOT = Path(__file__).resolve().parents[1]
POLY = ROOT / "cases" / "li_polycrystal.toml"
GRADED = ROOT / "cases" / "li_graded_layer.toml"
BOX = ROOT / "cases" / "li_dendrite_3d.toml"
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1",
       "PYTHONPATH": str(ROOT)}
FIXED_STEPS = ["--set", "time.error_tolerance=0", "--set", 'time.dt_min="0.01 s"',
               "--set", 'time.dt_max="0.01 s"', "--set", 'output.field_interval="1 s"']


def anodex(*args, ranks=1):
    cmd = [sys.executable, "-m", "anodex.cli", *map(str, args)]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", *cmd[1:]]
    res = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    return res


def problem(path, **overrides):
    from anodex.problem import Problem
    return Problem(load_case(path, overrides), MPI.COMM_WORLD)


def vertex_nodes(mesh):
    """For each topology vertex, its geometry node (first-order meshes)."""
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim, 0)
    c2v = mesh.topology.connectivity(tdim, 0).array
    g = compat.geometry_dofmap(mesh).ravel()
    out = np.empty(c2v.max() + 1, dtype=np.int64)
    out[c2v] = g
    return out


def test_mesh_file_case_takes_extent_and_names_the_file_fully():
    case = load_case(POLY)
    g = case.si["geometry"]
    assert g["file"] == str(ROOT / "meshes" / "polycrystal.msh")  # absolute in the resolved case
    assert (g["length"], g["height"]) == pytest.approx((40e-6, 20e-6), rel=1e-12)
    assert "file = " in case.to_toml() and str(ROOT / "meshes") in case.to_toml()
    assert case.provenance["geometry.length"] == "the extent of the mesh file"


def test_polycrystal_groups_on_any_partition():
    """Electrode area, grain-boundary length and grain areas agree with the
    mesh file, on 1 and on 2 ranks (facets and cells are matched by centroid)."""
    pb = problem(POLY)
    x0, comm = pb.scales.length, pb.comm
    assert pb.area * x0 == pytest.approx(20e-6, rel=1e-12)  # the electrode: x = 0, 20 um
    m = meshio.read(ROOT / "meshes" / "polycrystal.msh")
    tag = m.field_data["grain_boundaries"][0]
    lines = np.concatenate([b.data[np.asarray(t) == tag] for b, t
                            in zip(m.cells, m.cell_data["gmsh:physical"]) if b.type == "line"])
    expected = np.linalg.norm(m.points[lines[:, 1]] - m.points[lines[:, 0]], axis=1).sum() * 1e-6
    facets = pb.facets["grain_boundaries"]
    owned = facets[facets < pb.mesh.topology.index_map(1).size_local]
    pb.mesh.topology.create_connectivity(1, 0)
    f2v = pb.mesh.topology.connectivity(1, 0)
    x = pb.mesh.geometry.x[vertex_nodes(pb.mesh)] * x0
    local = sum(np.linalg.norm(np.diff(x[f2v.links(f)], axis=0)) for f in owned)
    assert comm.allreduce(local, op=MPI.SUM) == pytest.approx(expected, rel=1e-9)
    assert len(pb.regions) == 15
    cells = sum(comm.allreduce(int((c < pb.mesh.topology.index_map(2).size_local).sum()),
                               op=MPI.SUM) for c in pb.regions.values())
    assert cells == sum(len(b.data) for b in m.cells if b.type == "triangle")


def test_graded_mesh_resolves_nanometres_and_micrometres():
    from anodex.geometry import mesh_info
    case = load_case(GRADED)
    info = mesh_info(case.si["geometry"])
    # the first cells: 2 um (1.15 - 1)/(1.15^30 - 1) = 4.6 nm thick
    assert 2 * info.centroids_x.min() == pytest.approx(2e-6 * 0.15 / (1.15 ** 30 - 1), rel=1e-6)
    assert info.sizes.max() == pytest.approx(0.5e-6, rel=1e-6)  # 10 um / 20 cells in y
    pb = problem(GRADED)
    assert pb.area * pb.scales.length == pytest.approx(10e-6, rel=1e-12)


def _write_msh(path, cells, points, groups):
    """A Gmsh 2.2 file from meshio: cells [(type, connectivity, tags)],
    groups {name: (tag, dim)}."""
    mesh = meshio.Mesh(points, [(t, c) for t, c, _ in cells],
                       cell_data={"gmsh:physical": [np.asarray(g) for _, _, g in cells],
                                  "gmsh:geometrical": [np.asarray(g) for _, _, g in cells]},
                       field_data={k: np.array(v) for k, v in groups.items()})
    meshio.write(path, mesh, file_format="gmsh22", binary=False)


def _mesh_case(path, **geometry):
    return {"case": {"name": "mesh-case"}, "geometry": {"kind": "mesh", "file": str(path),
                                                      "unit": "1 um", **geometry},
            "initial": {"interface_position": "0.5 um"}}


UNIT_SQUARE = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0], [2, 1, 0]], float)


@pytest.mark.parametrize("what,cells,groups,key,fragment", [
    ("mixed cell types",
     [("triangle", np.array([[0, 1, 2], [0, 2, 3]]), [9, 9]), ("quad", np.array([[1, 4, 5, 2]]), [9])],
     {"electrolyte": (9, 2)}, "file", "needs one first-order cell type"),
    ("second-order triangles",
     [("triangle6", np.array([[0, 1, 3, 4, 5, 2]]), [9])],
     {"electrolyte": (9, 2)}, "file", "triangle6"),
    ("no electrode group",
     [("triangle", np.array([[0, 1, 2], [0, 2, 3]]), [9, 9]), ("line", np.array([[1, 2]]), [2])],
     {"electrolyte": (9, 2), "reservoir": (2, 1)}, "electrode", "no 1-D physical group 'electrode'"),
])
def test_bad_mesh_files_are_refused_before_any_compute(mpi_tmp_path, what, cells, groups, key, fragment):
    path = mpi_tmp_path / "bad.msh"
    if MPI.COMM_WORLD.rank == 0:
        _write_msh(path, cells, UNIT_SQUARE, groups)
    MPI.COMM_WORLD.barrier()
    with pytest.raises(CaseError) as e:
        validate(_mesh_case(path))
    assert f"[geometry] {key}" in str(e.value) and fragment in str(e.value), (what, str(e.value))


@pytest.mark.parametrize("content,fragment", [
    (None, "no such mesh file"),
    (b"\x00garbage\xff" * 100, "cannot read the mesh"),
    ("dir", "not a file"),
])
def test_missing_or_unreadable_mesh_file(mpi_tmp_path, content, fragment):
    path = mpi_tmp_path / "m.msh"
    if MPI.COMM_WORLD.rank == 0:
        if content == "dir":
            path.mkdir()
        elif content is not None:
            path.write_bytes(content)
    MPI.COMM_WORLD.barrier()
    with pytest.raises(CaseError, match=r"\[geometry\] file: .*" + fragment):
        validate(_mesh_case(path))


def test_kind_mesh_needs_a_file_and_a_box_three_cell_counts():
    with pytest.raises(CaseError, match=r"\[geometry\] file: needed for kind = \"mesh\""):
        validate({"geometry": {"kind": "mesh"}})
    with pytest.raises(CaseError, match=r"a box needs 3 cell counts"):
        validate({"geometry": {"kind": "box", "cells": [10, 10]}})


def test_xdmf_mesh_groups_are_named_by_number(mpi_tmp_path):
    """XDMF keeps no group names: the case names the groups by tag number."""
    path = mpi_tmp_path / "poly.xdmf"
    if MPI.COMM_WORLD.rank == 0:
        m = meshio.read(ROOT / "meshes" / "polycrystal.msh")
        meshio.write(path, meshio.Mesh(m.points, m.cells,
                                       cell_data={"gmsh:physical": m.cell_data["gmsh:physical"]}))
    MPI.COMM_WORLD.barrier()
    case = validate({**_mesh_case(path, electrode="1", reservoir="2"),
                     "initial": {"interface_position": "4 um"}})
    from anodex.problem import Problem
    pb = Problem(case, MPI.COMM_WORLD)
    assert pb.area * pb.scales.length == pytest.approx(20e-6, rel=1e-12)
    with pytest.raises(CaseError, match="no 1-D physical group 'electrode'; its groups: 1, 2, 3, 4"):
        validate({**_mesh_case(path), "initial": {"interface_position": "4 um"}})


@pytest.mark.serial
@pytest.mark.compat
@pytest.mark.parametrize("case,steps", [(POLY, 5), (BOX, 4)])
def test_mesh_file_and_3d_cases_run_alike_on_one_and_two_ranks(tmp_path, case, steps):
    """The polycrystal mesh and the 3-D box: the same series on 1 and 2 ranks."""
    series = {}
    for ranks in (1, 2):
        out = tmp_path / f"n{ranks}"
        anodex("run", case, "-o", out, *FIXED_STEPS, "--set", f'time.end="{steps * 0.01:.2f} s"',
               ranks=ranks)
        series[ranks] = read_timeseries(out)
        assert json.loads((out / "status.json").read_text())["status"] == "completed"
    assert len(series[1]) == len(series[2]) == steps + 1
    for col in ("deposit_thickness_m", "collector_charge_C_m2", "collector_current_A_m2",
                "tip_position_m"):
        a = np.array([r[col] for r in series[1]])
        b = np.array([r[col] for r in series[2]])
        assert np.abs(a - b).max() <= 1e-6 * np.abs(a).max(), col
    last = series[2][-1]
    assert last["deposit_thickness_m"] > series[2][0]["deposit_thickness_m"]  # the metal grew


@pytest.mark.serial
def test_anodex_mesh_makes_the_committed_meshes(tmp_path):
    """`anodex mesh` (gmsh) regenerates meshes/*.msh: same groups, extent and
    (to Gmsh-version differences) cell count as the committed files."""
    from anodex.meshes import generate, sources
    geos = sources()
    assert {g.stem for g in geos} == {"graded_layer", "polycrystal"}
    for geo in geos:
        made = meshio.read(generate(geo, tmp_path / f"{geo.stem}.msh"))
        committed = meshio.read(geo.with_suffix(".msh"))
        assert set(made.field_data) == set(committed.field_data)
        assert np.ptp(made.points, axis=0) == pytest.approx(np.ptp(committed.points, axis=0))
        count = {m: sum(len(b.data) for b in m.cells if b.type in ("triangle", "quad"))
                 for m in (made, committed)}
        assert abs(count[made] - count[committed]) <= 0.05 * count[committed]


def test_the_docker_image_holds_every_file_a_case_names():
    """The Dockerfile copies the directories of the mesh files the example
    cases read (meshes/ was missing: the mesh-file cases broke in the image)."""
    import re
    copied = set(re.findall(r"^COPY (\S+) ", (ROOT / "Dockerfile").read_text(), re.M))
    needed = set()
    for path in sorted((ROOT / "cases").glob("*.toml")):
        file = load_case(path).si["geometry"]["file"]
        if file:
            needed.add(Path(file).resolve().relative_to(ROOT).parts[0])
    assert needed == {"meshes"} and needed <= copied and "cases" in copied


def test_axisymmetric_measures_weigh_by_the_radius():
    """Over a rectangle L x R turned about y = 0: the volume is L R^2/2 per
    radian (the weight r, integrated exactly), the integral of r^2 is
    L R^4/4, the lumped measure (row-sum lumping) gives the
    volume too, the electrode disc R^2/2, the rim L R and the axis 0; the
    cells with a vertex on the axis are one row."""
    import ufl
    from dolfinx import fem
    from mpi4py import MPI
    from petsc4py import PETSc
    from anodex import compat
    from anodex.case import validate
    from anodex.problem import Problem
    L, R = 3.0, 2.0  # um
    case = validate({"model": {"blocks": ["phase_field", "charge_transfer",
                                          "electronic_conduction", "ionic_conduction"]},
                     "material": {"metal": "Li", "electrolyte": "LLZO"},
                     "geometry": {"kind": "rectangle", "length": f"{L} um", "height": f"{R} um",
                                  "cells": [6, 5], "axisymmetric": True},
                     "reaction": {"gibbs_thomson": False},
                     "initial": {"interface_position": "1 um"}}, "<axisymmetric>")
    pb = Problem(case, MPI.COMM_WORLD)
    x0 = pb.scales.unit("m") * 1e6  # (internal length unit in um)
    one = fem.Constant(pb.mesh, compat.scalar_type(1.0))
    r = ufl.SpatialCoordinate(pb.mesh)[1]

    def total(form):
        return pb.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)
    assert total(one * pb.dx) * x0 ** 3 == pytest.approx(L * R ** 2 / 2, rel=1e-12)
    assert total(r * r * pb.dx) * x0 ** 5 == pytest.approx(L * R ** 4 / 4, rel=1e-12)
    assert total(one * pb.dxl) * x0 ** 3 == pytest.approx(L * R ** 2 / 2, rel=1e-12)
    assert total(one * pb.ds["electrode"]) * x0 ** 2 == pytest.approx(R ** 2 / 2, rel=1e-12)
    assert total(one * pb.ds["top"]) * x0 ** 2 == pytest.approx(L * R, rel=1e-12)
    assert abs(total(one * pb.ds["bottom"])) < 1e-14
    assert pb.area * x0 ** 2 == pytest.approx(R ** 2 / 2, rel=1e-12)
    cells = pb.mesh.topology.index_map(2).size_local
    on_axis = pb.comm.allreduce(float(pb.axis_cells.x.array[:cells].sum()), op=MPI.SUM)
    assert on_axis == 6
    # node by node, the lumped mass is the row sum of the exact r-weighted
    # mass, the integral of r phi_i (the axis's nodes included)
    from dolfinx.fem import petsc
    phi = ufl.TestFunction(pb.Q)
    exact = petsc.assemble_vector(fem.form(phi * r * ufl.dx(domain=pb.mesh)))
    lumped = petsc.assemble_vector(fem.form(phi * pb.dxl))
    for vec in (exact, lumped):
        vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    assert exact.array.min() > 0
    assert np.abs(lumped.array / exact.array - 1).max() < 1e-12
