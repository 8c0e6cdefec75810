"""Drive a Problem without an output directory (for verification tests)."""
from mpi4py import MPI

from anodex.nonlinear import NewtonSolver
from anodex.problem import Problem
from anodex.stepping import Stepper


class Simulation:
    def __init__(self, case, comm=MPI.COMM_WORLD):
        self.pb = Problem(case, comm)
        self.pb.set_initial()
        self.ns = NewtonSolver(self.pb, case.si["solver"])
        self.stepper = Stepper(self.pb, self.ns, case.si["time"], lambda msg: None)
        self.x0 = self.pb.scales.length

    @property
    def t_seconds(self):
        return self.stepper.t * self.pb.scales.time

    def run_to(self, t_seconds, data=False):
        """Step to t_seconds; data: with the blocks' time-dependent data (a
        collector's profile, noise: Block.before_solve), as a run has them."""
        t = t_seconds / self.pb.scales.time

        def before_solve(t0, t1):
            for b in self.pb.blocks:
                b.before_solve(self.pb, t0, t1)
        while self.stepper.t < t * (1 - 1e-12):
            self.stepper.advance(t, before_solve if data else None)

    def front(self, level=0.5):
        """x (m) of the eta = level contour (largest x)."""
        return self.pb.contour_max_x(self.pb.field_values("eta"), level) * self.x0

    def value_at_front(self, name):
        """Nodal value of unknown `name` linearly interpolated at the eta = 1/2
        point of a 1-D run (internal units)."""
        import numpy as np
        x = self.pb.xdof
        order = np.argsort(x)
        xf = self.front() / self.x0
        local = np.nan
        if x.min() <= xf <= x.max():
            local = float(np.interp(xf, x[order], self.pb.field_values(name)[order]))
        vals = self.pb.comm.allgather(local)
        return float(np.nanmean(vals))


def order_one_case(cells, time, solver, extra=None):
    """A 1 x 1 um square case whose every term is of order one in internal
    units (for manufactured solutions); `time` and `solver`: those sections;
    `extra`: {section: {key: value}} added on top."""
    from anodex.case import validate
    from anodex.scales import Scales
    s = Scales(1e-6, 1.0, 300.0, 1, 1.3e-5)
    E0 = s.energy_density
    data = {
        "geometry": {"kind": "rectangle", "length": "1 um", "height": "1 um", "cells": cells},
        "phase_field": {"barrier_height": f"{E0!r} J/m^3",
                        "gradient_coefficient": f"{0.1 * E0 * 1e-12!r} J/m",
                        "interface_mobility": f"{1 / E0!r} m^3/(J*s)",
                        "reaction_rate_constant": "1 1/s"},
        "electrode": {"conductivity": f"{3 * s.conductivity!r} S/m"},
        "electrolyte": {"conductivity": f"{s.conductivity!r} S/m", "diffusivity": "1e-12 m^2/s"},
        "grand_potential": {"electrolyte_mu_offset": 0.5},
        "initial": {"interface_position": "0.5 um"},
        "time": time,
        "solver": solver,
    }
    for section, values in (extra or {}).items():
        data.setdefault(section, {}).update(values)
        for key in [k for k, v in values.items() if v is None]:  # None: leave unset
            del data[section][key]
    return validate(data, "<manufactured solution>")


def run_on_ranks(case_path, out, ranks):
    """`anodex run case_path -o out` under mpirun with `ranks` ranks."""
    import os
    import subprocess
    import sys
    subprocess.run(["mpirun", "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m",
                    "anodex.cli", "run", str(case_path), "-o", str(out)], check=True,
                   capture_output=True, env={**os.environ, "OMPI_MCA_rmaps_base_oversubscribe": "1"})


def assert_same_on_1_and_2_ranks(case, tmp_path, columns, rel=1e-8, floors=None):
    """Run `case` through the command line on 1 and 2 ranks: the same number
    of steps, and every column in `columns` of every row within `rel`, or
    within the absolute `floors[column]` where one is given (1e-14 else)."""
    import pytest
    from conftest import read_timeseries
    from anodex.case import dump_toml
    path = tmp_path / "case.toml"
    path.write_text(dump_toml(case.raw, {}))
    runs = {}
    for ranks in (1, 2):
        run_on_ranks(path, tmp_path / f"n{ranks}", ranks)
        runs[ranks] = read_timeseries(tmp_path / f"n{ranks}")
    assert len(runs[1]) == len(runs[2]) > 3
    for a, b in zip(runs[1], runs[2]):
        for col in columns:
            assert b[col] == pytest.approx(a[col], rel=rel, abs=(floors or {}).get(col, 1e-14),
                                           nan_ok=True), \
                (col, a["t_s"], a[col], b[col])
