"""The time series of a run (timeseries.csv): one row per accepted step.

The generic columns are the step, time, step size and iteration counts;
every block of the model adds its own columns (Block.columns, Block.record:
integral quantities in SI units, per m^2 of electrode).  For the
electrodeposition model these are the deposit and tip (phase_field), the
currents and the charge passed (potential), the metal content and the ions
that entered (ion_transport) and the metal inserted as nuclei
(metal_nucleation), so that Faraday's law,
metal_mol_m2 - metal_mol_m2(0) - nucleated_mol_m2 = charge_C_m2 / (zF),
and the mass balance, metal_content_mol_m2 - its initial value =
ion_inflow_mol_m2, compare quantities computed independently.
"""
from __future__ import annotations

STEP_COLUMNS = ("step", "t_s", "dt_s", "newton_its", "krylov_its")


def columns(blocks) -> list:
    """The header of timeseries.csv for a model."""
    return [*STEP_COLUMNS, *(c for b in blocks for c in b.columns), "wall_s"]


def record(pb, step, t, dt, newton, krylov, integrals) -> dict:
    """One row in SI units (t, dt in internal units) from the step's
    integrals (Stepper.advance assembles them before the history shift);
    wall_s is the caller's."""
    row = {"step": step, "t_s": pb.scales.to_si(t, "s"), "dt_s": pb.scales.to_si(dt, "s"),
           "newton_its": newton, "krylov_its": krylov}
    for b in pb.blocks:
        row.update(b.record(pb, integrals, t, dt))
    return row
