"""postprocess/critical_current.py on real stripping runs: each run's
status (read here) brackets the critical current at its pressure."""
import csv
import json
import math

import pytest

from anodex.case import dump_toml
from test_cli import anodex
from test_voids import voids_case


@pytest.mark.serial
def test_the_critical_current_is_bracketed_by_the_runs(tmp_path):
    """Stripping for 100 s with contact lost below 0.95: under 2 MPa 1 A/m^2
    holds and 10 A/m^2 loses contact, so the critical current lies between
    them (estimate: their geometric mean); under 10 MPa both hold, so it is
    above 10 A/m^2, no estimate.  A higher pressure does not lower it."""
    from postprocess import critical_current
    runs = tmp_path / "runs"
    runs.mkdir()
    for pressure in (2e6, 10e6):
        for current in (1.0, 10.0):
            case = voids_case(pressure, -current, voids={"contact_loss_fraction": 0.95})
            path = tmp_path / f"p{pressure:g}_I{current:g}.toml"
            path.write_text(dump_toml(case.raw, {}))
            anodex("run", path, "-o", runs / path.stem)
    statuses = {d.name: json.loads((d / "status.json").read_text()) for d in runs.iterdir()}
    assert "contact lost" in statuses["p2e+06_I10"]["reason"]
    assert [statuses[k]["status"] for k in ("p2e+06_I1", "p1e+07_I1", "p1e+07_I10")] == \
        ["completed"] * 3
    critical_current.main([str(runs)])
    rows = {float(r["pressure_Pa"]): r for r in
            csv.DictReader((runs / "critical_current.csv").open())}
    low, high = rows[2e6], rows[1e7]
    assert (float(low["held_below_A_m2"]), float(low["failed_above_A_m2"])) == (1.0, 10.0)
    assert float(low["critical_current_A_m2"]) == pytest.approx(math.sqrt(10.0))
    assert float(high["held_below_A_m2"]) == 10.0 and math.isnan(float(high["failed_above_A_m2"]))
    assert math.isnan(float(high["critical_current_A_m2"]))
    assert (runs / "critical_current.png").stat().st_size > 10000
