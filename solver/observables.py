"""Integral quantities of a run, in SI units, for timeseries.csv.

* deposit_thickness_m: integral of h(eta) over the domain per electrode
  area (the planar-equivalent metal thickness);
* metal_mol_m2: that times the site density c_s = 1/V_m;
* tip_position_m: largest x of the eta = 1/2 contour (linear interpolation
  along mesh edges);
* electrode_current_A_m2, reservoir_current_A_m2: charge entering the
  domain through each face per electrode area (consistent residual fluxes
  of the charge equation; cathodic deposition gives a positive sum);
* charge_C_m2: their time integral over the accepted steps;
* ion_inflow_mol_m2: ions entering through the reservoir, time-integrated;
  metal_content_mol_m2: ions + deposited metal in the domain.
* nucleated_mol_m2: metal inserted as nuclei by stochastic nucleation, summed;
Faraday's law: metal_mol_m2 - metal_mol_m2(0) - nucleated_mol_m2 = charge_C_m2 / (zF);
mass balance: metal_content_mol_m2 - its initial value = ion_inflow_mol_m2.
"""
from __future__ import annotations

import math

import numpy as np
from dolfinx import fem
from mpi4py import MPI


COLUMNS = ["step", "t_s", "dt_s", "newton_its", "krylov_its", "deposit_thickness_m",
           "metal_mol_m2", "nucleated_mol_m2", "tip_position_m", "tip_velocity_m_s", "electrode_current_A_m2",
           "reservoir_current_A_m2", "charge_C_m2", "metal_content_mol_m2",
           "ion_inflow_mol_m2", "wall_s"]


class Observables:
    def __init__(self, problem):
        self.pb = problem
        s = problem.scales
        self.x0 = s.length
        mesh = problem.mesh
        # Edge endpoints as scalar-P1 dof indices, for the contour search.
        mesh.topology.create_connectivity(1, 0)
        self.edges = problem.vertex_dofs()[mesh.topology.connectivity(1, 0).array.reshape(-1, 2)]
        self.xdof = problem.Q.tabulate_dof_coordinates()[:, 0]
        self.charge = 0.0
        self.inflow = 0.0
        self.nucleated = 0.0
        self.last_tip = None

    STATE = ("charge", "inflow", "last_tip", "nucleated")

    def state(self) -> dict:
        """The running integrals a checkpoint must carry."""
        return {k: getattr(self, k) for k in self.STATE}

    def restore(self, state: dict):
        for k in self.STATE:
            # nucleated is absent from checkpoints written before it existed
            setattr(self, k, state.get(k, 0.0) if k == "nucleated" else state[k])

    def metal_mol_m2(self) -> float:
        """Metal in the domain now (mol per m^2 of electrode)."""
        pb, s = self.pb, self.pb.scales
        volume = pb.comm.allreduce(fem.assemble_scalar(pb.observable_forms["metal_volume"]),
                                   op=MPI.SUM)
        return volume / pb.area * s.length * s.site_density

    def tip_position(self):
        """Largest x (internal units) of the eta = 1/2 contour."""
        return self.contour_max_x(self.pb.field_values("eta"), 0.5)

    def contour_max_x(self, values, level):
        """Largest x where nodal `values` cross `level` along a mesh edge
        (linear interpolation), reduced over all ranks."""
        ea, eb = values[self.edges[:, 0]], values[self.edges[:, 1]]
        cross = (ea - level) * (eb - level) <= 0
        cross &= ea != eb
        xa, xb = self.xdof[self.edges[cross, 0]], self.xdof[self.edges[cross, 1]]
        t = (level - ea[cross]) / (eb[cross] - ea[cross])
        local = (xa + t * (xb - xa)).max(initial=-np.inf)
        return self.pb.comm.allreduce(local, op=MPI.MAX)

    def record(self, step, t, dt, newton, krylov):
        """One time-series row in SI units (t, dt in internal units)."""
        pb, s = self.pb, self.pb.scales
        I = pb.integrals()
        row = {"step": step, "t_s": t * s.time, "dt_s": dt * s.time,
               "newton_its": newton, "krylov_its": krylov}
        if "metal_volume" in I:
            thick = I["metal_volume"] / pb.area * s.length
            row["deposit_thickness_m"] = thick
            row["metal_mol_m2"] = thick * s.site_density
            row["nucleated_mol_m2"] = self.nucleated
            tip = self.tip_position() * s.length
            row["tip_position_m"] = tip
            vel = 0.0
            if self.last_tip is not None and dt > 0 and math.isfinite(tip + self.last_tip):
                vel = (tip - self.last_tip) / (dt * s.time)  # no metal yet: no tip, 0
            row["tip_velocity_m_s"] = vel
            self.last_tip = tip
        if "current_electrode" in I:
            ie = I["current_electrode"] / pb.area * s.current_density
            ir = I["current_reservoir"] / pb.area * s.current_density
            self.charge += (ie + ir) * dt * s.time
            row.update(electrode_current_A_m2=ie, reservoir_current_A_m2=ir,
                       charge_C_m2=self.charge)
        if "metal_content" in I:
            # electrolyte-site units -> mol/m^2: (c_s/dv) x0 per unit of area
            unit = s.site_density / pb.p["dv"] * s.length
            row["metal_content_mol_m2"] = I["metal_content"] / pb.area * unit
            self.inflow += I["ion_flux_reservoir"] / pb.area * unit * dt
            row["ion_inflow_mol_m2"] = self.inflow
        return row

