"""The model of a case, built once from the validated case and carried by it
(``Case.model``): the selected block classes, checked to form one model,
the scales and the internal (non-dimensional) parameters.  Problem, memory,
checkpoint, output, adapt, sweeps and cluster jobs read it; none of them
builds blocks or scales again.
"""
from __future__ import annotations

from dataclasses import dataclass

from .blocks import BlockError, block_classes, registered
from .observables import columns
from .scales import Scales, case_scales


@dataclass(frozen=True)
class Model:
    blocks: tuple  # the block classes, in system order
    scales: Scales
    p: dict  # internal parameters: the geometry's and every block's (Block.internal)
    # the block that runs a case with no space ([geometry] kind = "point"), or None
    without_space_block: type | None = None
    block_unknowns: tuple = ()  # each block's Unknowns in this case (Block.case_unknowns)

    @property
    def unknowns(self) -> list:
        """The Unknowns of the model, in the order of the system."""
        return [u for own in self.block_unknowns for u in own]

    def instances(self) -> list:
        """Fresh instances of the blocks, for one Problem (an instance carries
        per-run state, and its case's unknowns)."""
        made = []
        for cls, own in zip(self.blocks, self.block_unknowns):
            block = cls()
            block.unknowns = own
            made.append(block)
        return made


def build_model(si) -> Model:
    """The Model of a validated case's SI values (BlockError: see model_blocks,
    or two blocks giving one internal parameter)."""
    classes = model_blocks(si)
    scales = case_scales(si)
    if si["geometry"]["kind"] == "point":
        return Model(blocks=(), scales=scales, p={}, without_space_block=classes[0])
    return Model(blocks=tuple(classes), scales=scales, p=_internal(si, scales, classes),
                 block_unknowns=tuple(tuple(b.case_unknowns(si)) for b in classes))


def model_blocks(si) -> list:
    """The selected block classes, checked to form one model; BlockError
    naming the problem: a block unknown, an unknown or quantity defined by
    two blocks, a name required and not provided, no space ([geometry] kind
    = "point") without a block that runs alone without it."""
    names = [b.name for b in registered()]
    unknown = [n for n in si["model"]["blocks"] if n not in names]
    if unknown:
        raise BlockError(f"unknown model block(s) {unknown}; available: {names}")
    classes = block_classes(si)
    if si["geometry"]["kind"] == "point":
        if len(classes) != 1 or not classes[0].without_space:
            modes = "; ".join(f"{b.without_space}, whose model is the {b.name} block alone "
                              f"([model] blocks = [\"{b.name}\"])"
                              for b in registered() if b.without_space) or "no block has one"
            got = si["model"]["blocks"]
            raise BlockError(f"{modes}, got {got}; for {got} choose interval, rectangle, box "
                             "or mesh", where="[geometry] kind = \"point\"")
        return classes
    _check(classes, si)
    return classes


def _providers(names) -> str:
    """'; add ...' naming the registered blocks that provide each of names
    (their unknowns or quantities), or '' if none does."""
    found = {n: [b.name for b in registered()
                 if n in b.provides or n in [u.name for u in b.unknowns]] for n in names}
    hints = [f"{n} comes from {' or '.join(found[n])}" for n in names if found[n]]
    return f" ({'; '.join(hints)}: add it to [model] blocks)" if hints else ""


def _check(classes, si):
    """No unknown owned twice, no quantity defined twice, no time-series
    column written twice, every name a block requires or adds to provided."""
    owner = {}
    for b in classes:
        for name in [u.name for u in b.case_unknowns(si)] + list(b.provides):
            if name in owner:
                raise BlockError(f"model blocks '{owner[name]}' and '{b.name}' both define "
                                 f"'{name}'; select one of them")
            owner[name] = b.name
    writer = {c: "the time series' own" for c in columns([])}
    for b in classes:
        for c in b.columns:
            if c in writer:
                raise BlockError(f"{writer[c]} and model block '{b.name}' both write the "
                                 f"time-series column '{c}'; a column has one writer")
            writer[c] = f"model block '{b.name}'"
    for b in classes:
        missing = [r for r in b.requires if r not in owner]
        if missing:
            raise BlockError(f"model block '{b.name}' needs unknown(s) or quantities "
                             f"{missing}, which no selected block provides"
                             f"{_providers(missing)}")
        stray = [n for n in b().contributions() if n not in owner]
        if stray:
            raise BlockError(f"model block '{b.name}' adds to {stray}, which no selected "
                             "block defines")


def _internal(si, s: Scales, classes) -> dict:
    """The internal parameters: the geometry's extents and those of every block
    (Block.internal)."""
    g = si["geometry"]
    p = {key: s.to_internal(g[key], "m") for key in ("length", "height", "depth")}
    for block in classes:
        own = block.internal(si, s)
        clash = sorted(set(own) & set(p))
        if clash:
            raise BlockError(f"model block '{block.name}' redefines the internal parameters "
                             f"{clash} of another selected block (prefix a block's own)")
        p.update(own)
    return p
