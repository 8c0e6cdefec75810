"""Built-in meshes: an interval (1-D) or a rectangle of quadrilaterals (2-D).

The electrode is the face x = 0 and the electrolyte reservoir the face
x = length; lengths are in internal (non-dimensional) units.
"""
from __future__ import annotations

import numpy as np
from dolfinx import mesh as dmesh

from . import compat


def build_mesh(comm, kind: str, length: float, height: float, cells: list[int]):
    if kind == "interval":
        return compat.create_interval(comm, cells[0], [0.0, length])
    return compat.create_rectangle(comm, [np.array([0.0, 0.0]), np.array([length, height])],
                                   cells)


def boundary_facets(mesh, length: float):
    """Facets of the electrode (x = 0) and reservoir (x = length) faces."""
    fdim = mesh.topology.dim - 1
    tol = 1e-8 * length
    left = dmesh.locate_entities_boundary(mesh, fdim, lambda x: np.isclose(x[0], 0.0, atol=tol))
    right = dmesh.locate_entities_boundary(mesh, fdim, lambda x: np.isclose(x[0], length, atol=tol))
    return {"electrode": left, "reservoir": right}


def boundary_measures(mesh, facets: dict) -> dict:
    """{name: ds restricted to the facets of that boundary}."""
    import ufl
    fdim = mesh.topology.dim - 1
    ids = {name: k + 1 for k, name in enumerate(facets)}
    entities = np.concatenate([facets[n] for n in facets]).astype(np.int32)
    values = np.concatenate([np.full(len(facets[n]), ids[n], dtype=np.int32) for n in facets])
    entities, first = np.unique(entities, return_index=True)  # (a corner facet: its first name)
    tags = dmesh.meshtags(mesh, fdim, entities, values[first])
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=tags)
    return {name: ds(i) for name, i in ids.items()}
