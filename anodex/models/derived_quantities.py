"""Derived quantities declared in the case file, as FESTIM's derived
quantities are: each entry of ``[output] derived`` becomes a column of
timeseries.csv, the total, the average or the gradient flux of an unknown
or output field over the domain, a mesh file's cell group, or a boundary.

    total    int_R f dV              (SI unit of f times m^d; over a boundary m^(d-1))
    average  int_R f dV / int_R dV   (SI unit of f)
    flux     int_B grad f . n dA     (n the outward normal; unit of f times m^(d-2))

d is the mesh dimension: a 2-D case is a slice, its totals are per metre of
depth.  The block is part of every model whose case declares derived
quantities; metadata.json records each column's definition and SI unit.

    [output.derived]
    metal_area_m2 = { quantity = "total", of = "eta", over = "domain" }
    reservoir_potential_V = { quantity = "average", of = "phi", over = "reservoir" }
"""
from __future__ import annotations

import re

import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from mpi4py import MPI

from .. import compat
from ..blocks import Block, block_classes, register
from ..geometry import face_names, mesh_file
from ..observables import columns
from ..schema import Param

QUANTITIES = ("total", "average", "flux")
ENTRY_KEYS = ("quantity", "of", "over")
COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def check_entries(value) -> str | None:
    """The form of [output] derived: {column: {quantity, of, over}} of
    strings (the meaning is checked against the model: DerivedQuantities)."""
    for name, entry in value.items():
        if not COLUMN_NAME.fullmatch(name):
            return (f"entry {name!r}: a column name is a letter, then letters, digits or '_', "
                    "at most 64 characters")
        if not isinstance(entry, dict) or set(entry) != set(ENTRY_KEYS) \
                or not all(isinstance(v, str) for v in entry.values()):
            return (f"entry {name!r}: must be a table of the strings quantity, of and over, "
                    f"e.g. {{ quantity = \"average\", of = \"phi\", over = \"reservoir\" }}")
    return None


def times_length(unit: str, power: int) -> str:
    """The unit `unit` times m^power, written out ("K*m^2", "V", "mol/m^3*m^-1")."""
    if power == 0:
        return unit
    metres = "m" if power == 1 else f"m^{power}"
    return metres if unit == "1" else f"{unit}*{metres}"


@register
class DerivedQuantities(Block):
    name = "derived_quantities"
    order = 100000  # last: its columns follow the physics blocks'
    params = {"output": {"derived": Param(
        "tables", {}, "columns of timeseries.csv defined here: name = { quantity = "
        "\"total\" | \"average\" | \"flux\", of = an unknown or output field, over = "
        "\"domain\", a cell group of a mesh file or a boundary } (docs/output.md)",
        check=check_entries)}}

    @classmethod
    def selected(cls, si) -> bool:
        return bool(si["output"]["derived"]) and si["geometry"]["kind"] != "point"

    @classmethod
    def unselected(cls, si) -> str:
        return "a case with no space ([geometry] kind = \"point\") has nothing to integrate over"

    @classmethod
    def check(cls, si, given):
        others = [b() for b in block_classes(si) if b is not cls]
        names = {u.name for b in others for u in b.case_unknowns(si)} | {
            f.name for b in others for f in b.fields()}
        faces = face_names(si["geometry"])
        regions = ["domain"] + (list(mesh_file(si["geometry"]).cell_groups)
                                if si["geometry"]["kind"] == "mesh" else [])
        taken = set(columns(others))  # the step columns and the blocks'
        errors = []
        for column, e in si["output"]["derived"].items():
            where = f"[output] derived {column}"
            if e["quantity"] not in QUANTITIES:
                errors.append(f"{where}: quantity {e['quantity']!r} is not one of "
                              f"{', '.join(QUANTITIES)}")
            if e["of"] not in names:
                errors.append(f"{where}: of {e['of']!r} is not an unknown or field of the "
                              f"model; it has {', '.join(sorted(names))}")
            allowed = faces if e["quantity"] == "flux" else regions + faces
            if e["over"] not in allowed:
                errors.append(f"{where}: over {e['over']!r}: {e['quantity']} is taken over "
                              f"{', '.join(allowed)}")
            if column in taken:
                errors.append(f"{where}: the time series has a column {column!r} already; "
                              "choose another name")
        return errors

    def setup(self, pb):
        """The forms of the entries, on this problem's mesh."""
        self.entries = pb.case.si["output"]["derived"]
        self.columns = tuple(self.entries)
        unknowns = {u.name: u.scale for u in pb.unknowns}
        fields = {f.name: f for b in pb.blocks for f in b.fields()}
        self.sources, self.forms, self.units = {}, {}, {}
        for column, e in self.entries.items():
            if e["of"] in unknowns:
                f, scale, unit = pb.component(pb.u, pb.index[e["of"]]), \
                    pb.scales.unit(unknowns[e["of"]]), unknowns[e["of"]]
            else:
                f, scale, unit = pb.scalar_function(), 1.0, fields[e["of"]].unit
                self.sources[column] = (f, fields[e["of"]])
            measure, dim = self._measure(pb, e["over"])
            one = fem.Constant(pb.mesh, compat.scalar_type(1.0))
            x0 = pb.scales.unit("m")
            if e["quantity"] == "flux":
                n = ufl.FacetNormal(pb.mesh)
                form, factor = ufl.inner(ufl.grad(f), n) * measure, scale * x0 ** (dim - 1)
                unit = times_length(unit, dim - 1)
            elif e["quantity"] == "total":
                form, factor = f * measure, scale * x0 ** dim
                unit = times_length(unit, dim)
            else:
                size = pb.comm.allreduce(fem.assemble_scalar(fem.form(one * measure)),
                                         op=MPI.SUM)
                form, factor = f * measure, scale / size
            self.forms[column] = (fem.form(form), factor)
            self.units[column] = unit

    @staticmethod
    def _measure(pb, over):
        """(measure, its dimension) of the domain, a cell group or a boundary."""
        if over == "domain":
            return pb.dx, pb.ndim
        if over in pb.regions:
            cells = np.sort(pb.regions[over]).astype(np.int32)
            tags = dmesh.meshtags(pb.mesh, pb.ndim, cells, np.ones(len(cells), np.int32))
            return pb.dx(subdomain_data=tags, subdomain_id=1), pb.ndim
        return pb.ds[over], pb.ndim - 1

    def record(self, pb, integrals, t, dt):
        for f, field in self.sources.values():
            f.x.array[:] = field.values(pb)
        return {column: factor * pb.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
                for column, (form, factor) in self.forms.items()}

    def metadata(self, pb):
        return {"derived": {column: {**e, "unit": self.units[column]}
                            for column, e in self.entries.items()}}
