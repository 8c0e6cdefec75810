"""Cycling protocols written as a battery tester writes them (after PyBaMM's
experiment strings), for the collector's control (electronic_conduction):

    [protocol]
    steps = ["Plate at 1 mA/cm2 for 1 h",
             "Rest for 10 min",
             "Strip at 0.5 mA/cm2 for 2 h or until 0.5 V",
             "Hold at -0.1 V for 30 min or until 0.1 mA/cm2"]
    repeat = 10

A step is a verb, a set point and when it ends:

* ``Plate at I`` / ``Strip at I``: a current I per electrode area
  (deposition positive: a strip runs at -I); ``Rest``: no current.
  They run under galvanostatic control.
* ``Hold at V``: the collector held at V (vs the M/M^z+ reference at the
  reservoir), under potentiostatic control.
* ``for T`` (a time) and/or ``until X``, where X is a potential (the cell
  potential reaches it: falls to it while plating, rises to it while
  stripping), a capacity (the charge passed in the step, in mAh/cm2 or
  C/m^2, reaches it) or, for a hold, a current (|I| falls to it).  With
  several (``for T or until X``, ``until X or until Y``) the first ends the
  step.

A cut-off in potential or current is checked after every accepted time
step, as a tester samples it: the time step that crosses it is the step's
last.  A time, or a capacity at a fixed current (capacity / current), is
known beforehand: the time steps land on it.
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

from ..units import UnitError, to_si

_STEP = re.compile(r"(?P<verb>plate|strip|rest|hold)"
                   r"(?:\s+at\s+(?P<at>.+?))?"
                   r"(?:\s+for\s+(?P<for>.+?))?"
                   r"(?:\s+(?:or\s+)?until\s+(?P<until>.+?))?\s*", re.IGNORECASE)
# what an "until" may name, by the dimension it is read in
_CUTOFFS = (("potential", "V"), ("capacity", "C/m^2"), ("current", "A/m^2"))
EXAMPLES = ('"Plate at 1 mA/cm2 for 1 h", "Rest for 10 min", '
            '"Strip at 0.5 mA/cm2 until 0.5 V", "Hold at -0.1 V for 30 min"')


@dataclass(frozen=True)
class Step:
    """One protocol step in SI units."""
    text: str
    control: str             # "galvanostatic" | "potentiostatic"
    value: float             # A/m^2 (deposition positive) or V
    duration: float | None   # s
    until: tuple             # ((what, SI value), ...): potential V, capacity C/m^2, current A/m^2

    @property
    def time_limit(self) -> float | None:
        """When the step ends at the latest (s into it), if known beforehand:
        its `for` time, or the time its capacity takes at a fixed current."""
        limits = [self.duration] if self.duration is not None else []
        if self.control == "galvanostatic":
            limits += [limit / abs(self.value) for what, limit in self.until if what == "capacity"]
        return min(limits) if limits else None

    @property
    def strips(self) -> bool:
        """A strip at a current, or a hold above the metal's own potential."""
        return self.value < 0 if self.control == "galvanostatic" else self.value > 0

    def ended(self, elapsed, potential, current, capacity) -> str | None:
        """Why the step is over after a time step that ends `elapsed` s into
        it with these cell potential (V), current (A/m^2) and step capacity
        (C/m^2), or None."""
        cutoffs = dict(self.until)
        if "capacity" in cutoffs and abs(capacity) >= cutoffs["capacity"] * (1 - 1e-9):
            return f"capacity {abs(capacity) / 3.6e4:.4g} mAh/cm2 reached"
        if self.time_limit is not None and elapsed >= self.time_limit * (1 - 1e-9):
            if self.duration is None or self.time_limit < self.duration:
                # (its time at the fixed current: worded as the capacity branch)
                return f"capacity {cutoffs['capacity'] / 3.6e4:.4g} mAh/cm2 reached"
            return "time reached"
        if "current" in cutoffs and abs(current) <= cutoffs["current"]:
            return f"current {abs(current) / 10:.4g} mA/cm2 below the cut-off"
        limit = cutoffs.get("potential")
        if limit is not None and (potential <= limit if self.value > 0 else potential >= limit):
            return f"potential {potential:.4g} V past the cut-off"
        return None


def parse_step(text: str) -> Step:
    """A Step from its text; ValueError saying what is wrong."""
    m = _STEP.fullmatch(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"cannot read {text!r}: a step is Plate/Strip at a current, Rest, or "
                         f"Hold at a potential, then `for` a time and/or `until` a cut-off, "
                         f"e.g. {EXAMPLES}")
    verb = m["verb"].lower()
    try:
        if verb == "rest":
            if m["at"]:
                raise ValueError("Rest takes no `at` (it passes no current)")
            control, value = "galvanostatic", 0.0
        elif not m["at"]:
            raise ValueError(f"{m['verb']} needs `at` a {'potential' if verb == 'hold' else 'current'}")
        elif verb == "hold":
            control, value = "potentiostatic", to_si(m["at"], "V")
        else:
            control, value = "galvanostatic", to_si(m["at"], "A/m^2")
            if value <= 0:
                raise ValueError(f"{m['verb']} at a positive current (the verb gives the sense)")
            value = value if verb == "plate" else -value
        duration = to_si(m["for"], "s") if m["for"] else None
        if duration is not None and duration <= 0:
            raise ValueError("`for` a positive time")
        until = _cutoffs(m["until"], verb) if m["until"] else ()
    except (UnitError, ValueError) as e:
        several = ("; one step per entry of the list (steps = [\"Plate at ...\", \"Rest for "
                   "...\"])" if "," in text else "")
        raise ValueError(f"{text!r}: {e}{several}") from None
    if duration is None and not until:
        raise ValueError(f"{text!r}: give when the step ends: `for` a time and/or `until` a "
                         "cut-off")
    return Step(text.strip(), control, value, duration, until)


def _cutoffs(text, verb) -> tuple:
    """The cut-offs of `until X or until Y ...`, at most one of each kind."""
    out = [_cutoff(part, verb) for part in re.split(r"\s+or\s+(?:until\s+)?", text.strip())]
    kinds = [what for what, _ in out]
    twice = next((k for k in kinds if kinds.count(k) > 1), None)
    if twice:
        raise ValueError(f"`until {text}`: two {twice} cut-offs; give one of each kind")
    return tuple(out)


def _cutoff(text, verb):
    for what, unit in _CUTOFFS:
        try:
            value = to_si(text, unit)
        except UnitError:
            continue
        allowed = {"plate": ("potential", "capacity"), "strip": ("potential", "capacity"),
                   "rest": (), "hold": ("current", "capacity")}[verb]
        if not allowed:
            raise ValueError("a rest ends `for` a time")
        if what not in allowed:
            raise ValueError(f"a {verb} step ends `until` a {' or '.join(allowed)}, not a {what}")
        if what != "potential" and value <= 0:
            raise ValueError(f"`until` a positive {what}")
        if what == "potential" and (value >= 0 if verb == "plate" else value <= 0):
            drives = "below" if verb == "plate" else "above"
            raise ValueError(f"{verb} drives the cell potential {drives} 0 V (against the "
                             f"metal's own reference), so a cut-off at {value:g} V would end the "
                             f"step at once; give one {drives} 0 V")
        return what, value
    hint = ""
    with contextlib.suppress(UnitError):
        to_si(text, "s")
        hint = f"; a time is given with `for` (\"for {text.strip()}\")"
    raise ValueError(f"`until {text}`: a potential (\"0.5 V\"), a capacity (\"1 mAh/cm2\") "
                     f"or a current (\"0.1 mA/cm2\"){hint}")


def parse(steps) -> tuple[list, list]:
    """(steps, error texts) of a [protocol] steps list."""
    parsed, errors = [], []
    for i, text in enumerate(steps):
        try:
            parsed.append(parse_step(text))
        except ValueError as e:
            errors.append(f"[protocol] steps[{i}]: {e}")
    return parsed, errors


def longest(steps, repeat) -> float | None:
    """When the protocol ends at the latest (s), if every step has a time
    limit (a `for`, or a capacity at a fixed current); None: a step ends by
    a potential or current cut-off only."""
    limits = [s.time_limit for s in steps]
    return None if None in limits else repeat * sum(limits)


def known_duration(steps, repeat) -> float | None:
    """The protocol's length (s) if every step has a time and no cut-off."""
    if any(s.duration is None or s.until for s in steps):
        return None
    return repeat * sum(s.duration for s in steps)
