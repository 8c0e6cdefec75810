"""A physics block is one module: the tracer of tests/tracer_block.py
(registered by its own register() call) is imported from here,
without editing solver/, runs on 1 and 2 ranks, and matches its analytic
steady state.  The registry refuses blocks that cannot form a model."""
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import read_timeseries
from helpers import Simulation
from anodex import blocks
from anodex.case import CaseError, validate
from anodex.schema import OWNER, SCHEMA, SchemaError

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMPI_MCA_rmaps_base_oversubscribe": "1", "OMP_NUM_THREADS": "1",
       "PYTHONPATH": str(HERE.parent)}
L, D, K, C_B = 20e-6, 1e-12, 2e-7, 100.0  # m, m^2/s, m/s, mol/m^3


def tracer_case(end="2000 s"):
    return {"case": {"name": "tracer"}, "model": {"blocks": ["tracer"]},
            "geometry": {"kind": "interval", "length": f"{L!r} m", "cells": [40]},
            "tracer": {"diffusivity": f"{D!r} m^2/s", "rate_constant": f"{K!r} m/s",
                       "reservoir_concentration": f"{C_B!r} mol/m^3"},
            "time": {"end": end, "dt_initial": "0.1 s", "dt_max": "100 s"},
            "output": {"field_interval": end}}


def analytic_consumption():
    """k c(0) = k c_b / (1 + k L / D), mol/(m^2 s)."""
    return K * C_B / (1 + K * L / D)


def test_tracer_section_joins_the_schema_and_leaves_with_the_block(tracer):
    assert set(SCHEMA["tracer"]) == {"diffusivity", "rate_constant", "reservoir_concentration",
                                     "initial_concentration"}
    with pytest.raises(CaseError, match=r"\[tracer\] diffusivity: must be > 0"):
        validate({**tracer_case(), "tracer": {"diffusivity": "-1 m^2/s"}})


def test_tracer_steady_state_matches_the_analytic_answer(tracer, mpi_tmp_path):
    """20 diffusion times: the P1 solution of a linear profile is exact, so
    the nodal values and the consumption agree with the analytic steady
    state to the solver's tolerance, not just to discretisation error."""
    from anodex.simulation import run_case
    out = mpi_tmp_path / "tracer"
    result = run_case(validate(tracer_case()), out)
    assert result["status"] == "completed"
    last = read_timeseries(out)[-1]
    assert last["tracer_consumption_mol_m2_s"] == pytest.approx(analytic_consumption(), rel=1e-6)
    # amount: the integral of the linear profile, c_b (L + k L^2 / (2 D)) / (1 + k L / D)
    amount = C_B * (L + K * L * L / (2 * D)) / (1 + K * L / D)
    assert last["tracer_amount_mol_m2"] == pytest.approx(amount, rel=1e-6)
    sim = Simulation(validate(tracer_case()))  # the nodal values (meshio reads no 1-D XDMF)
    sim.run_to(2000.0)
    x = sim.pb.xdof * sim.x0
    c = sim.pb.scales.to_si(sim.pb.field_values("tracer"), "mol/m^3")
    exact = C_B * (1 + K * x / D) / (1 + K * L / D)
    assert np.abs(c - exact).max() < 1e-6 * C_B


@pytest.mark.serial
@pytest.mark.compat
def test_tracer_on_two_ranks_gives_the_serial_series(tracer, tmp_path):
    """The block in its own script under mpirun (no edit of solver/)."""
    case = tmp_path / "tracer.toml"
    from anodex.case import dump_toml
    case.write_text(dump_toml(tracer_case("200 s")))
    series = {}
    for ranks in (1, 2):
        out = tmp_path / f"n{ranks}"
        cmd = ["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py",
               str(HERE / "tracer_block.py"), "run", str(case), "-o", str(out)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=ENV)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
        series[ranks] = read_timeseries(out)
    assert [r["step"] for r in series[1]] == [r["step"] for r in series[2]]
    for col in ("tracer_amount_mol_m2", "tracer_consumption_mol_m2_s"):
        a = np.array([r[col] for r in series[1]])
        b = np.array([r[col] for r in series[2]])
        assert np.abs(a - b).max() <= 1e-8 * np.abs(a).max(), col


def test_registry_refuses_a_second_owner_of_an_unknown(tracer):
    class Copy(tracer):
        name = "tracer_copy"
        params = {}
    blocks.register(Copy)
    try:
        with pytest.raises(CaseError, match="'tracer' and 'tracer_copy' both define 'tracer'"):
            validate({**tracer_case(), "model": {"blocks": ["tracer", "tracer_copy"]}})
    finally:
        blocks.unregister("tracer_copy")


def test_registry_refuses_a_missing_quantity(tracer):
    class NeedsConductivity(tracer):
        name = "needs_conductivity"
        params = {}
        unknowns, columns = (), ()
        requires = ("conductivity",)
    blocks.register(NeedsConductivity)
    try:
        with pytest.raises(CaseError, match=r"needs unknown\(s\) or quantities \['conductivity'\]"):
            validate({**tracer_case(), "model": {"blocks": ["tracer", "needs_conductivity"]}})
    finally:
        blocks.unregister("needs_conductivity")


def test_registry_refuses_a_key_declared_twice(tracer):
    """Another Param under a key a block declares is refused; the same Param
    object is a key both blocks read (anodex/models/shared_keys.py)."""
    shared = tracer.params["tracer"]["diffusivity"]

    class Clash(tracer):
        name = "clash"
        params = {"tracer": {"diffusivity": dataclasses.replace(shared)}}
    with pytest.raises(SchemaError, match=r"declares \[tracer\] diffusivity, which tracer"):
        blocks.register(Clash)
    assert "clash" not in [b.name for b in blocks.registered()]

    class Reader(tracer):
        name = "reader"
        params = {"tracer": {"diffusivity": shared}}
    blocks.register(Reader)
    try:
        assert OWNER[("tracer", "diffusivity")] == "reader, tracer"
    finally:
        blocks.unregister("reader")
    assert OWNER[("tracer", "diffusivity")] == "tracer"


def test_registry_refuses_a_column_or_an_internal_parameter_written_twice(tracer):
    """Two selected blocks writing one time-series column (or the time
    series' own t_s), or giving one internal parameter, are case errors
    before the run, not a silently overwritten column."""
    class SameColumn(tracer):
        name = "same_column"
        params, unknowns = {}, ()

    class TimeColumn(SameColumn):
        name = "time_column"
        columns = ("t_s",)

    class SameParameter(SameColumn):
        name = "same_parameter"
        columns = ()
    for block, message in ((SameColumn, "model block 'same_column' and model block 'tracer' "
                                        "both write the time-series column "
                                        "'tracer_amount_mol_m2'"),
                           (TimeColumn, "the time series' own and model block 'time_column' "
                                        "both write the time-series column 't_s'"),
                           (SameParameter, "redefines the internal parameters")):
        blocks.register(block)
        try:
            with pytest.raises(CaseError, match=re.escape(message)):
                validate({**tracer_case(), "model": {"blocks": ["tracer", block.name]}})
        finally:
            blocks.unregister(block.name)


def test_registry_refuses_a_unit_typo_in_a_block():
    from anodex.blocks import Block
    from anodex.schema import q

    class Typo(Block):
        name = "typo"
        params = {"typo": {"diffusivity": q("1e-12 m^2/s", "m^2/ss", "D")}}
    with pytest.raises(SchemaError, match=r"block 'typo' declares \[typo\] diffusivity with "
                                          r"unit 'm\^2/ss'"):
        blocks.register(Typo)
    assert "typo" not in SCHEMA


def test_a_forgotten_register_is_named():
    import types
    from anodex.blocks import Block, _unregistered
    module = types.ModuleType("anodex.models.forgotten")

    class Forgotten(Block):
        name = "forgotten"
    Forgotten.__module__ = module.__name__
    module.Forgotten = Forgotten
    with pytest.raises(blocks.BlockError, match="class Forgotten is a Block but not registered; "
                                               "decorate it with @register"):
        _unregistered(module)
