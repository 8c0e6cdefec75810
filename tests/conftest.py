"""Shared fixtures.  Every test here runs serially and under `mpirun -n 2`
(tests marked `serial` start their own MPI jobs and run only serially)."""
import csv
import logging
import sys
import tempfile
from pathlib import Path

import pytest

logging.getLogger().setLevel(logging.WARNING)  # JIT build chatter


# mpi4py.MPI is imported where it is used, not here: the pytest-xdist
# controller loads this file too, and an MPI_Init there would put its
# singleton's variables into the environment of the workers, whose own
# `mpirun` jobs then fail at start (measured: 46 tests).


def pytest_collection_modifyitems(config, items):
    from mpi4py import MPI
    if MPI.COMM_WORLD.size > 1:
        skip = pytest.mark.skip(reason="serial-only test (runs in the serial leg)")
        for item in items:
            if "serial" in item.keywords:
                item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under mpirun, a failure ends the whole job at once: the rank that
    failed prints the report and calls MPI_Abort.  Otherwise a test that
    fails on one rank only leaves the other waiting in a collective until
    CI's time limit (seen in CI's 2-rank leg)."""
    outcome = yield
    report = outcome.get_result()
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    if report.failed and comm.size > 1:
        sys.stderr.write(f"\n[rank {comm.rank}] FAILED {item.nodeid} ({report.when})\n"
                         f"{report.longreprtext}\n[rank {comm.rank}] aborting all ranks\n")
        sys.stderr.flush()
        comm.Abort(1)


@pytest.fixture
def comm():
    from mpi4py import MPI
    return MPI.COMM_WORLD


@pytest.fixture
def mpi_tmp_path(comm):
    """A temporary directory chosen on rank 0 and shared by all ranks."""
    holder = tempfile.TemporaryDirectory(prefix="anodex-test-") if comm.rank == 0 else None
    path = comm.bcast(holder.name if holder else None, root=0)
    yield Path(path)
    comm.barrier()
    if holder:
        holder.cleanup()


@pytest.fixture
def tracer():
    """The example tracer block of tests/tracer_block.py, registered for one test."""
    from anodex import blocks
    import tracer_block  # registers the block on first import
    if "tracer" not in [b.name for b in blocks.registered()]:
        blocks.register(tracer_block.Tracer)
    yield tracer_block.Tracer
    blocks.unregister("tracer")


def read_timeseries(path):
    with open(Path(path) / "timeseries.csv") as f:
        rows = list(csv.DictReader(f))
    return [{k: float(v) for k, v in r.items() if v != ""} for r in rows]


def one_d_case(**overrides):
    """A small 1-D case dict (SI strings), Hong parameters unless overridden."""
    from anodex.case import validate
    data = {
        "case": {"name": "test-1d"},
        "geometry": {"kind": "interval", "length": "20 um", "cells": [200]},
        "initial": {"interface_position": "8 um"},
        "time": {"end": "1 s", "dt_initial": "0.01 s", "dt_max": "0.2 s"},
        "output": {"field_interval": "1 s"},
    }
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        data.setdefault(section, {})[key] = value
    return validate(data, "<test case>")
