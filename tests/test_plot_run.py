"""postprocess.plot_run on a 1-D run (dolfinx writes its mesh as an XDMF
PolyLine, which meshio's reader did not know: every 1-D plot crashed)."""
from pathlib import Path

import pytest

from anodex.case import load_case
from anodex.simulation import run_case

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


# (case, --set overrides, panels that must be drawn): small, short runs of
# every model's results
PANEL_CASES = [
    ("cases/li_llzo_cycling.toml", {"geometry.kind": "interval", "geometry.cells": [60],
                                    "protocol.repeat": 2}, {"cycling", "field eta"}),
    ("cases/li_llzo.toml", {"geometry.kind": "box", "geometry.cells": [28, 4, 4],
                            "geometry.height": "4 um", "geometry.depth": "4 um",
                            "initial.perturbation_amplitude": "0 um", "time.end": "1 s",
                            "output.field_interval": "1 s"}, {"deposit", "potential", "field eta"}),
    ("cases/li_sei_patch.toml", {"geometry.cells": [20, 16], "time.end": "2 s"},
     {"sei", "sei profile"}),
    ("cases/li_llzo_space_charge.toml", {}, {"space charge", "field phi_sc"}),
    ("tests/data/nucleation_tiny_two_potential.toml",
     {"time.end": "30 s", "collector.control": "galvanostatic",
      "collector.current_density": "20 A/m^2"}, {"nuclei", "nucleus radii"}),
    ("cases/li_argyrodite_stripping.toml", {"geometry.cells": [100], "time.end": "60 s"},
     {"contact", "interface resistance", "potential"}),
    ("cases/li_argyrodite_stripping_cylinder.toml",
     {"geometry.cells": [40, 8], "time.end": "10 s", "output.field_interval": "10 s"},
     {"contact", "field eta"}),
]


@pytest.mark.serial
@pytest.mark.parametrize("path, overrides, expected", PANEL_CASES,
                         ids=lambda v: Path(v).stem if isinstance(v, str) else "")
def test_plot_run_draws_a_panel_for_every_model(path, overrides, expected, tmp_path):
    """Cycling (potential against capacity), a 3-D run (its mid-depth slice),
    SEI, a space-charge layer, nucleation and stripping with voids (contact,
    interface resistance) each get their panels, and the figure is written."""
    from mpi4py import MPI
    from postprocess.plot_run import panels, plot_run
    run_case(load_case(ROOT / path, overrides), tmp_path / "run", comm=MPI.COMM_SELF)
    drawn = panels(tmp_path / "run")
    assert expected <= set(drawn), drawn
    png = plot_run(tmp_path / "run")
    assert png.stat().st_size > 10000


def test_a_3d_field_is_drawn_as_its_mid_depth_slice():
    """_draw_field on the nodes of a 3-D box whose values differ from layer
    to layer (v = 100 z/um + x/um): the map holds exactly the nodes of the
    layer nearest mid-depth (z = 2 um of 0..4 um) with their values, and
    the title names the slice."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from postprocess.plot_run import _draw_field
    x, y, z = np.meshgrid(np.arange(5.0), np.arange(4.0), np.arange(5.0), indexing="ij")
    points = np.column_stack([x.ravel(), y.ravel(), z.ravel()]) * 1e-6
    v = 100.0 * z.ravel() + x.ravel()
    fig, a = plt.subplots()
    _draw_field(fig, a, points, "phi_s", "V", 1.0, v)
    drawn = np.asarray(a.collections[0].get_array())
    mid = np.isclose(points[:, 2], 2e-6)
    assert sorted(drawn) == sorted(v[mid])
    assert "slice z = 2 um" in a.get_title()
    plt.close(fig)


def test_the_published_models_currents_panel_says_why_the_electrode_carries_none(tmp_path):
    """The single-potential model's columns (electrode_current_A_m2 and
    charge_C_m2) get the note on the currents panel; the two-potential
    model's collector current does not."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from postprocess.plot_run import SINGLE_POTENTIAL_NOTE, _series_panels
    t = np.linspace(0.0, 1.0, 5)
    published = {"t_s": t, "electrode_current_A_m2": 0 * t, "reservoir_current_A_m2": 2e4 + t,
                 "charge_C_m2": 2e4 * t}
    two_potential = {"t_s": t, "collector_current_A_m2": -10 + 0 * t,
                     "collector_charge_C_m2": -10 * t}
    for ts, noted in ((published, True), (two_potential, False)):
        draw = dict(_series_panels(tmp_path, ts))["currents"]
        fig, a = plt.subplots()
        draw(a)
        assert (SINGLE_POTENTIAL_NOTE in [x.get_text() for x in a.texts]) == noted
        plt.close(fig)


def test_a_field_uniform_to_round_off_is_drawn_flat():
    """phi at rest varies by 1e-17 V about 0.01 V: round-off, drawn as a
    uniform value, not as a profile; a real 1e-11 V ohmic drop about 6 mV
    (2e-9 of it) is still drawn about its mean."""
    import numpy as np
    from postprocess.plot_run import _readable
    noise = 0.01 + 1e-17 * np.sin(np.arange(20.0))
    values, label = _readable(noise, "V")
    assert label == "V, uniform" and np.ptp(values) == 0.0
    drop = 0.0063 + 1e-11 * np.linspace(0, 1, 20)
    values, label = _readable(drop, "V")
    assert "about 0.0063" in label and np.ptp(values) > 0
