"""postprocess.plot_run on a 1-D run (dolfinx writes its mesh as an XDMF
PolyLine, which meshio's reader did not know: every 1-D plot crashed)."""
from pathlib import Path

import pytest

from solver.case import load_case
from solver.run import run_case

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.serial
def test_plot_run_draws_a_one_dimensional_run(tmp_path):
    from mpi4py import MPI
    from postprocess.plot_run import plot_run, read_last_fields
    case = load_case(ROOT / "cases" / "li_llzo.toml", {
        "geometry.kind": "interval", "geometry.cells": [40], "time.end": "1 s",
        "output.field_interval": "1 s"})
    run_case(case, tmp_path / "run", comm=MPI.COMM_SELF)
    points, fields = read_last_fields(tmp_path / "run", ["eta"])
    assert points.shape[0] == 41 and fields["eta"][1].shape == (41,)
    assert fields["eta"][1].max() > 0.99 and fields["eta"][1].min() < 0.01  # metal and electrolyte
    png = plot_run(tmp_path / "run")
    assert png == tmp_path / "run" / "summary.png" and png.stat().st_size > 10000
