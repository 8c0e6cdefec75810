"""Electronic conduction in the metal and the current collector, with the
collector's control (physics/audit.md section 2):

    -div((h sigma_s + (1 - h) sigma_el + 1e-18 sigma_s) grad phi_s) = S

(S: charge_source, the charge the reaction hands to the metal).  The
residual is divided by sigma_s, so its rows are of order one.  sigma_el is
the electrolyte's electronic conductivity ([electrolyte]
electronic_conductivity, from the library where measured; none: an
insulator): its leakage is physics (Han et al., Nat. Energy 4 (2019) 187:
metal deposits inside electrolytes that conduct electrons), so a floating
metal island grows by the current it allows.  1e-18 sigma_s
(ELECTRONIC_FLOOR) only keeps phi_s defined in an insulator.

Collector (the electrode face), [collector] control:
* potentiostatic: phi_s = V(t) (vs an M/M^z+ electrode at the reservoir);
* galvanostatic: the total current through the collector is fixed, I(t)
  per electrode area, deposition positive.  The collector is a metal foil
  of sheet conductance G = sigma_c t_c (sheet_conductance; 10 um of Cu by
  default) fed uniformly from behind; the current spreads along it,

      -div_G(G grad_G phi_s) = I - j_n     on the collector face,

  (div_G, grad_G tangential; j_n the current into the domain), so the foil
  is an equipotential to within I H^2/(2G) over a face of height H (1e-10 V
  for 10 A/m^2 over 100 um): its potential, an unknown of the solve, is the
  cell potential (reported as its mean).  On a partly bare collector the
  current reaches the metal through the foil, as in a cell.
Both controls are in one residual: the foil's equation is always there,
and potential control imposes phi_s = V on the collector's nodes (a
Dirichlet condition, whose rows replace the foil's), which current control
releases.  So the control can change during a run without new forms.
A [protocol] (models/protocol.py) sets the control step by step, as a
battery tester does: plate, strip or rest at a current, hold at a
potential (constant current then constant voltage, CC-CV, mixes them), each
for a time or until a cut-off in potential, capacity or current, repeated
for cycles; the time series gains step_index and cycle (1-based; 0 without
a protocol).
The time profile multiplies the value: constant, or a table of
(profile_times, profile_values) held piecewise constant (steps) or
interpolated linearly (ramps), optionally repeated with profile_period
(cycling).  Steps land on the table's times; a ramp's value is applied at
the end of each step (implicit), a step profile's piece in between.
Results: the collector potential and the current through the collector
(the consistent flux of this equation at the collector, per electrode area;
deposition positive), and its time integral, the charge (dQ/dt = I
integrated with the run's BDF scheme): Faraday's law compares it with the
metal grown (phase_field's metal_mol_m2).
"""
import logging
import math

import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from .. import compat
from ..schema import Param, nonnegative, positive, q
from ..blocks import Block, Field, Unknown, register
from . import protocol
from .charge_transfer import charge_source, metal_depleted
from .shared_keys import ELECTRODE_CONDUCTIVITY, POTENTIAL_JUMP

PARAMS = {
    "collector": {
        "control": Param("choice", "potentiostatic", "potentiostatic: the collector held at "
                         "potential; galvanostatic: a fixed total current_density (a "
                         "[protocol] sets it step by step instead)",
                         choices=("potentiostatic", "galvanostatic")),
        "potential": q("-0.05 V", "V", "potentiostatic: collector potential vs an M/M^z+ "
                       "electrode at the reservoir (negative plates metal)", bounds=(-20.0, 20.0)),
        "current_density": q("10 A/m^2", "A/m^2", "galvanostatic: current per electrode area, "
                             "deposition positive (negative strips metal)", bounds=(-1e8, 1e8)),
        "cutoff_potential": q("5 V", "V", "galvanostatic: the run stops when the cell "
                              "potential leaves [-V, +V] (a battery tester's voltage limits; "
                              "5 V is beyond any solid electrolyte's stability window)",
                              positive, (1e-6, 1e3)),
        "sheet_conductance": q("596 S", "S", "galvanostatic: the collector foil's "
                               "conductance per square, sigma t (10 um of Cu: 5.96e7 S/m x "
                               "10 um); the current spreads along it to the metal",
                               positive, (1e-6, 1e12)),
        "profile": Param("choice", "constant", "time profile multiplying the potential or "
                         "current: constant, or a table of profile_times and profile_values",
                         choices=("constant", "table")),
        "profile_times": Param("quantity_list", ["0 s"], "table: times, increasing, the first "
                               "0 s", unit="s"),
        "profile_values": Param("number_list", [1.0], "table: the factor at each time"),
        "interpolation": Param("choice", "step", "table: step (hold each value until the next "
                               "time) or linear (ramps)", choices=("step", "linear")),
        "profile_period": q("0 s", "s", "table: repeat the table with this period (cycling); "
                            "0: hold the last value", nonnegative, (0.0, 1e15)),
    },
    "solver": {
        "max_potential_update": Param("number", 2.0, "Newton step limiter: largest change "
                                      "of the electronic potential per iteration, in RT/(zF) "
                                      "(exponential kinetics overflow on larger steps, e.g. "
                                      "when a galvanostatic start finds its potential)",
                                      check=positive, bounds=(1e-6, 1e6)),
    },
    "electrolyte": {
        "electronic_conductivity": q(None, "S/m", "electronic leakage of the electrolyte "
                                     "(two-potential model: a floating metal island grows "
                                     "by the current it carries; none: an insulator)",
                                     nonnegative, (0.0, 1e10)),
    },
    "protocol": {
        "steps": Param("str_list", None, "a cycling protocol, step by step as a battery tester "
                       "writes it, e.g. [\"Plate at 1 mA/cm2 for 1 h\", \"Rest for 10 min\", "
                       "\"Strip at 1 mA/cm2 until 0.5 V\"]; current steps and potential holds mix, e.g. "
                       "CC-CV: [\"Plate at 1 mA/cm2 until -0.1 V\", \"Hold at -0.1 V until "
                       "0.05 mA/cm2\"]; replaces the [collector] control, value and profile "
                       "(docs/two-potential.md)"),
        "repeat": Param("int", 1, "run the steps this many times (cycles); the run ends "
                        "\"completed\" (\"protocol finished\") after the last", check=positive, bounds=(1, 10 ** 6)),
    },
    "mesh_adaptivity": {"potential_jump": POTENTIAL_JUMP},
    "electrode": {
        "conductivity": ELECTRODE_CONDUCTIVITY,
        "regularization": Param("number", 1e-3, "eps of the salt's storage and diffusion "
                                "in the metal, (1 - h + eps) (the electrolyte's electronic "
                                "conductivity is [electrolyte] electronic_conductivity)",
                                check=positive, bounds=(1e-12, 1e-2)),
    },
}


# sigma_s times this is the electronic conductivity left in an insulating
# electrolyte: it keeps phi_s defined there (1.1e-11 S/m for Li, below
# LiPON's); with 1e-3 (the old default) it was 1e4 S/m and a floating Li
# disc 4 um from the collector plated at 93 A/m^2 (review-2 section 2)
ELECTRONIC_FLOOR = 1e-18


# [time] end of a protocol whose steps end by cut-offs, when none is given
# (about 317 years: the protocol, not the clock, ends the run)
UNBOUNDED_END = 1e10


def next_profile_time(c, t):
    """The first table time after t (s), repeated with the period; inf: none."""
    if c["profile"] == "constant":
        return math.inf
    times, period = np.asarray(c["profile_times"]), c["profile_period"]
    base = 0.0
    if period > 0:
        base = math.floor(t / period) * period
        times = np.append(times, period)
    later = times[base + times > t * (1 + 1e-12) + 1e-300]
    return base + float(later[0]) if later.size else math.inf


def profile_factor(c, t):
    """The [collector] profile's factor at time t (s) of a collector section (SI)."""
    if c["profile"] == "constant":
        return 1.0
    times, values = np.asarray(c["profile_times"]), np.asarray(c["profile_values"])
    if c["profile_period"] > 0:
        t = t % c["profile_period"]
    if c["interpolation"] == "linear":
        return float(np.interp(t, times, values))
    return float(values[np.searchsorted(times, t, side="right") - 1])


def tangential_gradient(f):
    """grad f minus its normal part, on a boundary facet."""
    n = ufl.FacetNormal(ufl.domain.extract_unique_domain(f))
    g = ufl.grad(f)
    return g - ufl.inner(g, n) * n


@register
class ElectronicConduction(Block):
    name = "electronic_conduction"
    axisymmetric = True
    order = 80
    params = PARAMS
    unknowns = (Unknown("phi_s", "V", update_limit="max_potential_update", elliptic=True,
                        floating=True),)
    provides = ("electrode_potential", "collector_surface_current")
    requires = ("metal_fraction",)
    columns = ("cell_potential_V", "collector_current_A_m2", "collector_charge_C_m2",
               "capacity_mAh_cm2", "step_index", "cycle")
    # (a [protocol] in a model without this block would go unrun)
    required_by = (("protocol", "steps"),)
    # (the checkpoint counts the steps done: another list would misread it)
    kept_on_restart = (("protocol", "steps"),)
    checkpoint_state = ("charge", "charge_previous", "reference", "steps_done", "step_start",
                        "step_charge")
    # (checkpoints from before the protocol: no step done)
    checkpoint_defaults = {"steps_done": 0, "step_start": 0.0, "step_charge": 0.0}
    # one row per protocol step that ended, with why
    log_file = "protocol.csv"
    log_columns = ("step", "t_s", "protocol_step", "cycle", "text", "ended_by",
                   "cell_potential_V", "step_capacity_mAh_cm2")

    @classmethod
    def derive(cls, ctx):
        """A protocol sets the run's end when [time] end is not given: its
        latest end, or UNBOUNDED_END for steps that end by cut-offs only
        (the run then ends when the protocol does)."""
        steps, errors = protocol.parse(ctx.si["protocol"]["steps"] or [])
        if steps and not errors:
            end = protocol.longest(steps, ctx.si["protocol"]["repeat"])
            how = ("the [protocol]'s latest end" if end is not None else
                   "the [protocol] ends the run (its steps end by cut-offs)")
            end = UNBOUNDED_END if end is None else end
            ctx.put("time", "end", end, f"{end!r} s", f"derived: {how}")
            # fields about ten times per step where not given: the 10 s
            # default wrote 4233 snapshots of a 12 h protocol, its steps
            # landing on every one (put() leaves a given interval alone)
            timed = [t for t in (step.time_limit for step in steps) if t is not None]
            if timed and min(timed) / 10 > ctx.si["output"]["field_interval"]:
                interval = min(timed) / 10
                ctx.put("output", "field_interval", interval, f"{interval!r} s",
                        "derived: a tenth of the [protocol]'s shortest timed step")
        return []

    @classmethod
    def check(cls, si, given):
        c, errors = si["collector"], []
        if c["profile"] == "table":
            times = c["profile_times"]
            if len(times) != len(c["profile_values"]):
                errors.append(f"[collector] profile_values: {len(c['profile_values'])} values "
                              f"for {len(times)} profile_times; give one value per time")
            if times[0] != 0 or any(b <= a for a, b in zip(times, times[1:])):
                errors.append("[collector] profile_times: must start at 0 s and increase")
            if 0 < c["profile_period"] <= times[-1]:
                errors.append("[collector] profile_period: must exceed the last profile time")
        return errors + cls._protocol_checks(si, given)

    @staticmethod
    def _protocol_checks(si, given):
        """The steps read, their set points lie in the ranges of [collector]
        potential and current_density, their potential cut-offs inside
        cutoff_potential, and the run is long enough for a protocol of known
        length."""
        steps, errors = protocol.parse(si["protocol"]["steps"] or [])
        c = si["collector"]
        if errors or not steps:
            return errors
        if c["profile"] != "constant":
            errors.append("[collector] profile: a [protocol] sets the control; leave the profile "
                          "\"constant\"")
        for i, s in enumerate(steps):
            key, unit = (("potential", "V") if s.control == "potentiostatic"
                         else ("current_density", "A/m^2"))
            lo, hi = PARAMS["collector"][key].bounds
            if not lo <= s.value <= hi:
                errors.append(f"[protocol] steps[{i}]: {s.value:g} {unit} lies outside "
                              f"[{lo:g}, {hi:g}] {unit}, the range of [collector] {key}")
        limit = c["cutoff_potential"]
        errors += [f"[protocol] steps[{i}]: the cut-off {value:g} V lies beyond [collector] "
                   f"cutoff_potential (+-{limit:g} V), which would end the run first; raise it"
                   for i, s in enumerate(steps) for what, value in s.until
                   if what == "potential" and abs(value) >= limit]
        length = protocol.known_duration(steps, si["protocol"]["repeat"])
        if length is not None and si["time"]["end"] < length * (1 - 1e-9):
            errors.append(f"[time] end: {si['time']['end']:g} s ends the run before the "
                          f"protocol's {length:g} s; give at least that")
        return errors

    @classmethod
    def inactive_keys(cls, si):
        c = si["collector"]
        out = []
        if c["profile"] == "constant":
            out.append(("collector", ("profile_times", "profile_values", "interpolation",
                                      "profile_period"), 'profile is "constant"'))
        steps = protocol.parse(si["protocol"]["steps"] or [])[0]
        if steps:
            out.append(("collector", ("control", "potential", "current_density"),
                        "[protocol] steps set the control"))
            controls = {s.control for s in steps}
        else:
            out.append(("protocol", ("repeat",), "[protocol] has no steps"))
            controls = {c["control"]}
        if "galvanostatic" not in controls:
            out.append(("collector", ("current_density", "sheet_conductance", "cutoff_potential"),
                        "the collector is never under current control"))
        if "potentiostatic" not in controls and not steps:
            out.append(("collector", ("potential",), "control is galvanostatic"))
        return out

    @classmethod
    def resolution_checks(cls, si, mesh):
        """A warning when the electrolyte has no electronic conductivity: it
        is then an electronic insulator (the numerical floor only)."""
        if si["electrolyte"]["electronic_conductivity"] is not None:
            return [], []
        name = si["material"]["electrolyte"] or "the electrolyte"
        return [], [f"[electrolyte] electronic_conductivity: not given and not in the library "
                    f"for {name}; it is treated as an electronic insulator (a floating metal "
                    "island does not grow, nuclei inside it starve); give the measured "
                    "leakage, e.g. \"1e-6 S/m\""]

    @classmethod
    def internal(cls, si, s):
        leak = si["electrolyte"]["electronic_conductivity"] or 0.0
        return {"sigma_metal": s.to_internal(si["electrode"]["conductivity"], "S/m"),
                "eps": si["electrode"]["regularization"],
                # the electrolyte's electronic conductivity over sigma_s
                "leakage": leak / si["electrode"]["conductivity"],
                # G / sigma_s: a length, the residual being divided by sigma_s
                "sheet": s.to_internal(si["collector"]["sheet_conductance"]
                                       / si["electrode"]["conductivity"], "m")}

    # The unknown is the deviation of the electronic potential from a
    # reference (the collector potential: V(t), or under galvanostatic
    # control its last mean), electrode_potential = reference + phi_s.  With
    # sigma_s ~ 1e7 S/m the potential differences in the metal are ~1e-10 V;
    # carried on top of ~0.1 V they keep 7 digits and the collector current
    # 5e-7 relative (measured); as deviations they keep them all.
    def setup(self, pb):
        self.pb, self.charge, self.charge_previous = pb, 0.0, 0.0
        self.collector = pb.case.si["collector"]
        # a step profile jumps at its table times (BDF restarts there); a
        # linear one only kinks (BDF2 carries on: a restart would cost I' dt^2/2)
        self.steps = protocol.parse(pb.case.si["protocol"]["steps"] or [])[0]
        self.repeat = pb.case.si["protocol"]["repeat"]
        self.data_jumps = bool(self.steps) or self.collector["interpolation"] == "step"
        # protocol steps finished, the start of the present one (internal
        # time) and the charge passed before it (C/m^2)
        self.steps_done, self.step_start, self.step_charge = 0, 0.0, 0.0
        # {step's place in the protocol: its last run's length, s}: the
        # progress line's estimate for a step that ends by a cut-off only
        self.last_lengths = {}
        self.t_seen = 0.0  # the last accepted step's end (internal time)
        self.log_rows = []
        # the collector is held at a potential at some time of the run: the
        # Dirichlet condition exists, switched off under current control
        self.holds_potential = (any(s.control == "potentiostatic" for s in self.steps)
                                if self.steps else not self.galvanostatic)
        self.reference = 0.0 if self.galvanostatic else self._value(0.0)
        # the set current (internal units; 0 under potential control)
        self.current = fem.Constant(pb.mesh, compat.scalar_type(
            self._value(0.0) if self.galvanostatic else 0.0))
        self.offset = fem.Constant(pb.mesh, compat.scalar_type(self.reference))
        self.previous_mean = None  # form of the collector mean at the last level
        # the reference's moves since the last accepted step (before_solve)
        self.step_shift = 0.0

    @property
    def galvanostatic(self) -> bool:
        """The collector is under current control now (the protocol's step)."""
        if self.steps:
            return self._step().control == "galvanostatic"
        return self.collector["control"] == "galvanostatic"

    def restore(self, saved):
        super().restore(saved)
        self.offset.value = self.reference

    def _value(self, t_internal):
        """The controlled value at internal time t, internal units."""
        c, s = self.collector, self.pb.scales
        unit = "A/m^2" if self.galvanostatic else "V"
        if self.steps:
            return s.to_internal(self._step().value, unit)
        factor = profile_factor(c, s.to_si(t_internal, "s"))
        return s.to_internal(c["current_density" if self.galvanostatic else "potential"],
                             unit) * factor

    def _step(self) -> protocol.Step:
        """The protocol step running (the last once the protocol is done)."""
        done = min(int(self.steps_done), len(self.steps) * self.repeat - 1)
        return self.steps[done % len(self.steps)]

    def next_change(self, pb, t):
        s = pb.scales
        if self.steps:
            limit = self._step().time_limit
            return math.inf if limit is None else self.step_start + s.to_internal(limit, "s")
        return s.to_internal(next_profile_time(self.collector, s.to_si(t, "s")), "s")

    def after_step(self, pb, step, t, dt, row):
        """A protocol step whose time or cut-off is reached, or a stripping
        step that has run out of metal (charge_transfer.metal_depleted), gives way
        to the next (a jump of the control: True restarts the time scheme)."""
        self.control_jumped, self.step_shift = False, 0.0
        self.t_seen = t  # (the progress line's share of the running step)
        if not self.steps or self.steps_done >= len(self.steps) * self.repeat:
            return False
        step_ = self._step()
        why = step_.ended(pb.scales.to_si(t - self.step_start, "s"), row["cell_potential_V"],
                          row["collector_current_A_m2"], self.charge - self.step_charge)
        if why is None and step_.strips:
            why = metal_depleted(row, pb.case.si)
        if why is None:
            return False
        self.log_rows.append({
            "step": step, "t_s": pb.scales.to_si(t, "s"), "protocol_step": row["step_index"],
            "cycle": row["cycle"], "text": step_.text, "ended_by": why,
            "cell_potential_V": row["cell_potential_V"],
            "step_capacity_mAh_cm2": (self.charge - self.step_charge) / 3.6e4})
        logging.getLogger("anodex").info(
            f"protocol step {row['step_index']}/{len(self.steps)} of cycle {row['cycle']} "
            f"(\"{step_.text}\") ended at t = {pb.scales.to_si(t, 's'):.6g} s: {why}")
        self.last_lengths[int(self.steps_done) % len(self.steps)] = \
            pb.scales.to_si(t - self.step_start, "s")
        self.steps_done = int(self.steps_done) + 1
        self.step_start, self.step_charge = t, self.charge
        self.control_jumped = True
        return True

    def before_solve(self, pb, t0, t1):
        """Apply the control at t1 and move the reference there (the collector
        potential), shifting the stored deviations of the history so its
        potential is unchanged.  Newton's guess (the stepper's prediction)
        keeps its potential under current control (the collector's is an
        unknown); under potential control it keeps its deviation: the metal,
        an equipotential with the collector, starts at the new potential
        (walking it there from the old one at max_potential_update per
        iteration failed a Mg hold at -0.05 V after a strip at +0.3 V at
        every dt, measured)."""
        # steps land on the table times (next_change): the middle of a step
        # lies inside one piece of a step profile
        at = t1 if self.collector["interpolation"] == "linear" else 0.5 * (t0 + t1)
        value = self._value(at)
        if self.holds_potential:
            pb.switch_dirichlet("phi_s", "electrode", not self.galvanostatic)
        self.current.value = value if self.galvanostatic else 0.0
        if self.galvanostatic:
            if self.previous_mean is None:
                self.previous_mean = fem.form(pb.state.u("phi_s", 1) * pb.ds["electrode"])
            mean = pb.comm.allreduce(fem.assemble_scalar(self.previous_mean), op=MPI.SUM) / pb.area
            new = self.reference + mean
        else:
            new = value
        shift, self.reference = new - self.reference, new
        self.offset.value = new
        for f in (pb.u_n, pb.u_nm1):
            f.x.array[pb.sub_dofs["phi_s"]] -= shift
        # the guess was predicted from the history shifted by step_shift
        guess = shift if self.galvanostatic else -self.step_shift
        pb.u.x.array[pb.sub_dofs["phi_s"]] -= guess
        self.step_shift += shift

    def quantities(self):
        # collector_surface_current: a current per area between the bare
        # collector and the electrolyte at its face (deposition sense): the
        # double_layer block adds its charging, metal_nucleation the
        # reaction of nuclei below the mesh's resolution
        return {"electrode_potential": lambda s, lev: self.offset + lev["phi_s"],
                "collector_surface_current": lambda s, lev: 0.0}

    def _bulk(self, s):
        """The residual without the imposed current (divided by sigma_s)."""
        p, phi, r = s.p, s.u("phi_s"), s.test("phi_s")
        h = s.u("metal_fraction")
        conductivity = h + (1 - h) * p["leakage"] + ELECTRONIC_FLOOR
        F = conductivity * ufl.inner(ufl.grad(phi), ufl.grad(r)) * s.dx
        F -= charge_source(s) / p["sigma_metal"] * r * s.dxl
        if s.contributions.get("collector_surface_current") and not s.initial_solve:
            F -= s.u("collector_surface_current") / p["sigma_metal"] * r * s.ds["electrode"]
        return F

    def residual(self, s):
        # the foil, fed with the set current; under potential control the
        # Dirichlet rows replace its rows (a boundary term's test function
        # lives on the collector's nodes only)
        r, ds = s.test("phi_s"), s.ds["electrode"]
        F = self._bulk(s) + self.current / s.p["sigma_metal"] * r * ds
        return F + s.p["sheet"] * ufl.inner(tangential_gradient(s.u("phi_s")),
                                            tangential_gradient(r)) * ds

    def dirichlet(self, p):
        # (the potential's deviation from the reference, which is V)
        return [("phi_s", "electrode", 0.0)] if self.holds_potential else []

    def adaptivity_fields(self):
        return {"phi_s": "potential_jump"}

    def initial(self, p):
        return {"phi_s": lambda x: np.zeros(x.shape[1])}

    def integrals(self, pb):
        # the consistent flux: the residual tested with the collector's nodes
        # is minus the current leaving there (divided by sigma_s)
        collector = pb.indicator("phi_s", "electrode")
        return {"collector_current": -pb.state.p["sigma_metal"] * ufl.replace(
                    self._bulk(pb.state), {pb.v: collector}),
                "collector_potential": pb.state.u("electrode_potential") * pb.ds["electrode"]}

    def record(self, pb, integrals, t, dt):
        s = pb.scales
        current = s.to_si(integrals["collector_current"] / pb.area, "A/m^2")
        if dt > 0:
            # dQ/dt = I with the step's own BDF weights, the scheme of the
            # metal's time difference: the rectangle rule I dt lagged the
            # metal of BDF2 nucleation runs by 0.5-1.6 % (measured), an O(dt)
            # error of the quadrature, not of the charge balance
            a0, a1, a2 = (float(c.value) for c in pb.ddt_weights[:3])
            charge = (current * s.to_si(dt, "s") - a1 * self.charge
                      - a2 * self.charge_previous) / a0
            self.charge_previous, self.charge = self.charge, charge
        n = len(self.steps)
        running = min(int(self.steps_done), n * self.repeat - 1)
        return {
            "cell_potential_V": s.to_si(integrals["collector_potential"] / pb.area, "V"),
            "collector_current_A_m2": current, "collector_charge_C_m2": self.charge,
            # 1 mAh/cm^2 = 3.6 C / 1e-4 m^2
            "capacity_mAh_cm2": self.charge / 3.6e4,
            "step_index": running % n + 1 if n else 0, "cycle": running // n + 1 if n else 0}

    @classmethod
    def restart_problems(cls, si, saved):
        """A repeat below the cycles the run has begun (more is fine: a
        finished protocol goes on with the cycles added)."""
        steps = protocol.parse(si["protocol"]["steps"] or [])[0]
        done = int(saved.get("steps_done", 0))
        if steps and done > len(steps) * si["protocol"]["repeat"]:
            return [f"[protocol] repeat = {si['protocol']['repeat']}: the run has done {done} "
                    f"steps ({done // len(steps)} whole cycles of {len(steps)}); a restart can "
                    "only add cycles"]
        return []

    def progress(self, row):
        if not self.steps:
            return ""
        return (f"protocol step {row['step_index']}/{len(self.steps)}, cycle "
                f"{row['cycle']}/{self.repeat}, {row['cell_potential_V']:.4g} V")

    def fraction_done(self):
        """Steps finished, plus the running step's share of its time limit
        where it has one (a `for` time, or a capacity at a fixed current),
        else of its length in the last cycle (a step that ends by a
        potential or current cut-off: an estimate, from the second cycle)."""
        if not self.steps:
            return None
        total = len(self.steps) * self.repeat
        done = int(self.steps_done)
        limit = None
        if done < total:
            limit = self._step().time_limit or self.last_lengths.get(done % len(self.steps))
        if limit:
            elapsed = self.pb.scales.to_si(self.t_seen - self.step_start, "s")
            done += min(max(elapsed / limit, 0.0), 1.0)
        return done / total

    def done(self):
        if self.steps and self.steps_done >= len(self.steps) * self.repeat:
            return (f"protocol finished: {len(self.steps)} step(s) x {self.repeat} "
                    f"cycle(s)")
        return None

    def stop(self, row):
        limit = self.collector["cutoff_potential"]
        if self.galvanostatic and abs(row["cell_potential_V"]) > limit:
            return (f"cutoff potential reached: the cell potential {row['cell_potential_V']:.4g} V "
                    f"left [-{limit:g}, {limit:g}] V ([collector] cutoff_potential)")
        return None

    def fields(self):
        return (Field("phi_s", "V", lambda pb: pb.scales.to_si(
            self.reference + pb.field_values("phi_s"), "V")),)
