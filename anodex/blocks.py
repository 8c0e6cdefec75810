"""Physics blocks: the interface, the state residuals are written against,
and the registry.

A block is one module with one class derived from ``Block``, decorated with
``@register``: it declares its whole slice of the model (see ``Block`` for
the list), and registering merges its case keys into the schema.  The
registry finds the blocks itself (``load``): every module of the package
anodex/models/, then every entry point of the group ``anodex.blocks`` (blocks
of other packages).  Dropping a module into anodex/models/ is the whole
installation.  ``anodex/model.py`` checks, before anything is compiled, that
no two selected blocks own one unknown or define one quantity and that every
name a block requires is provided.  Generic code (problem, solver, stepping,
output, run, checkpoint) loops over the blocks and names no unknown.

Blocks exchange named quantities: ``State.u(name)`` is an unknown, or a
quantity a block defines in ``quantities`` (the conductivity, the local
overpotential), plus whatever other blocks add to it in ``contributions``
(an interphase resistance adding to the overpotential), so a block can
modify what another defines without editing it.
"""
from __future__ import annotations

import importlib
import pkgutil
import types
from dataclasses import dataclass, field
from importlib import metadata
from typing import Callable

import ufl

from . import schema


@dataclass(frozen=True)
class Unknown:
    """An unknown field of a block.

    scale: the SI unit of one internal unit, a dimension of Scales.unit
    ("1", "V", "RT" ...); update_limit: the [solver] key that bounds its
    Newton update per iteration (None: unbounded); elliptic: preconditioner
    hint, an elliptic equation (algebraic multigrid suits it); floating:
    preconditioner hint, an elliptic unknown whose level a Dirichlet
    condition may not fix (a galvanostatic collector's phi_s): its constant
    is then a near-null mode, solved exactly; multiplier:
    preconditioner hint, a Lagrange multiplier of the evolution unknowns
    (its own diagonal is weak: it is preconditioned through its Schur
    complement); tolerance: its Newton tolerance as a fraction of [solver]
    newton_tolerance (an unknown whose values are small in internal units,
    a displacement of nanometres); quasi_static:
    its equation has no storage term, so its initial value is solved for;
    element: the finite element (continuous P1 is what Problem builds)."""
    name: str
    scale: str = "1"
    update_limit: str | None = None
    elliptic: bool = False
    floating: bool = False
    multiplier: bool = False
    tolerance: float = 1.0
    quasi_static: bool = False
    element: str = "P1"


@dataclass(frozen=True)
class Field:
    """An output field: name, SI unit and values(problem) -> nodal SI values
    on the scalar P1 space Q."""
    name: str
    unit: str
    values: Callable


@dataclass
class State:
    """What a residual is written against.

    ``levels[k]``: {unknown: UFL expression} at time level k (0: new, 1:
    previous, 2: the one before); ``u(name, k)``: an unknown or a named
    quantity at level k; ``ddt(f)`` applies the time-difference operator to a
    function of a level dict; ``tests[name]``: test functions; ``p``:
    internal parameters, the numeric ones as fem.Constant (so write
    ``p["L"] * ...``, never ``if p["L"] > 0``: the value is not part of the
    compiled form); ``dx``: exact-enough quadrature, ``dxl``: vertex (lumped)
    quadrature; ``ds[name]``: the surface measure of a named boundary
    (Block.dirichlet lists the names); ``quantities``/``contributions``: {name:
    f(state, level dict)}.
    """
    levels: list
    tests: dict
    p: dict
    dx: ufl.Measure
    dxl: ufl.Measure
    ddt_weights: tuple  # (a0, a1, a2, inv_dt) as UFL constants
    extrapolation_weights: tuple = (1.0, 0.0)  # (b1, b2), see extrapolate
    ds: dict = field(default_factory=dict)
    quantities: dict = field(default_factory=dict)
    contributions: dict = field(default_factory=dict)
    # True in Problem's solve for the initial value of a quasi-static unknown:
    # time differences are zero there, and rates (a reaction) are left out
    initial_solve: bool = False

    def at(self, name, lev: dict):
        """Unknown or quantity `name` evaluated on the level dict `lev`."""
        if name in lev:
            return lev[name]
        value = self.quantities[name](self, lev)
        for add in self.contributions.get(name, ()):
            value = value + add(self, lev)
        return value

    def u(self, name, level=0):
        return self.at(name, self.levels[level])

    def test(self, name):
        return self.tests[name]

    def extrapolate(self, f: Callable[[dict], ufl.core.expr.Expr]):
        """f at the new time level predicted from the old ones:
        b1 f(u_n) + b2 f(u_n-1), second order for BDF2 (b1 = 1 + r, b2 = -r,
        r = dt/dt_prev), f(u_n) for BDF1."""
        b1, b2 = self.extrapolation_weights
        return b1 * f(self.levels[1]) + b2 * f(self.levels[2])

    def ddt(self, f: Callable[[dict], ufl.core.expr.Expr]):
        """BDF difference of f(level): (a0 f(u) + a1 f(u_n) + a2 f(u_n-1)) / dt."""
        a0, a1, a2, inv_dt = self.ddt_weights
        return (a0 * f(self.levels[0]) + a1 * f(self.levels[1]) + a2 * f(self.levels[2])) * inv_dt


class Block:
    """Base class of a physics block.  Class attributes and class methods
    describe the block to the case file before anything is built; an
    instance is made for one Problem and carries its per-run state."""
    name: str = ""
    # where the block's unknowns, residual and columns stand among the
    # model's: lower first; blocks of equal order by name
    order: int = 1000
    # {section: {key: schema.Param}}: the case keys this block owns
    params: dict = {}
    unknowns: tuple = ()  # Unknown, ... (case_unknowns may choose them per case)
    provides: tuple = ()  # names of the quantities defined in quantities()
    requires: tuple = ()  # unknowns or quantities of other blocks used here
    # (section, key): keys whose value changes the compiled forms (choices,
    # flags), so that a sweep compiles each distinct model once
    form_keys: tuple = ()
    columns: tuple = ()  # time-series columns written by record()
    # per-run values a checkpoint carries (attributes of the instance)
    checkpoint_state: tuple = ()
    # an event log in the run directory: its file name and columns; the
    # instance collects rows in log_rows, the output appends and clears them
    log_file: str | None = None
    log_columns: tuple = ()
    # a section of this block's own: a case that gives it and no [model]
    # blocks is a model of this block alone (e.g. [space_charge])
    standalone_section: str | None = None
    result_files: tuple = ()  # the files final_results() writes
    reads_keys_of: tuple = ()  # blocks whose case keys this one reads too
    # (section, key) that ask for this block: a case that sets one in a model
    # without the block is refused (its other unused keys only get a warning),
    # e.g. a [protocol] that nothing would run
    required_by: tuple = ()
    # (section, key) a restart must keep: the checkpoint's state means nothing
    # under another value (a protocol's steps: the state counts them)
    kept_on_restart: tuple = ()
    # its forms hold in [geometry] axisymmetric: scalar unknowns (the r weight
    # of the measures makes their weak forms cylindrical), or vector ones with
    # the hoop terms written out; a block with point sites does not
    axisymmetric: bool = False
    # part of the default model ([model] blocks unset): the grand-potential
    # electrodeposition model of Hong & Viswanathan (2018)
    in_default_model: bool = False
    # a 0-D mode: the block, alone in the model, runs a case with no space
    # ([geometry] kind = "point") itself (run_without_space); its name, "": none
    without_space: str = ""

    # ---- the case ------------------------------------------------------------
    @classmethod
    def selected(cls, si) -> bool:
        """Part of this case's model (default: named in [model] blocks)."""
        return cls.name in si["model"]["blocks"]

    @classmethod
    def case_unknowns(cls, si) -> tuple:
        """The block's unknowns in this case (default: ``unknowns``); a block
        whose unknowns depend on the case (a displacement's components on
        the geometry's dimension) overrides it.  Model gives every instance
        its case's list."""
        return cls.unknowns

    @classmethod
    def derive(cls, ctx) -> list[str]:
        """Fill keys the case leaves unset from others, with provenance
        (``ctx.put``; materials/resolve.py); returns error texts."""
        return []

    @classmethod
    def check(cls, si, given) -> list[str]:
        """Checks across keys, for a selected block; returns error texts."""
        return []

    @classmethod
    def resolution_checks(cls, si, mesh) -> tuple:
        """(errors, warnings): what the mesh (geometry.MeshInfo) must resolve."""
        return [], []

    @classmethod
    def warnings(cls, si) -> list[str]:
        """Warning texts for a valid case that will not do what it seems to
        (a configuration measured to fail, or one where nothing can happen)."""
        return []

    @classmethod
    def inactive_keys(cls, si) -> list:
        """[(section, keys, why)]: keys with no effect in this configuration."""
        return []

    @classmethod
    def unselected(cls, si) -> str:
        """Why the block's keys have no effect when it is not selected."""
        return f"the model has no block '{cls.name}', which reads it ([model] blocks)"

    @classmethod
    def run_without_space(cls, case, outdir, overwrite, comm, command_line) -> dict:
        """The block's 0-D mode (see without_space): run a case with no space
        into outdir; returns the final status dict."""
        raise NotImplementedError(f"block '{cls.name}' has no 0-D mode")

    @classmethod
    def internal(cls, si, scales) -> dict:
        """Internal (non-dimensional) parameters from the SI case values."""
        return {}

    # ---- the problem ---------------------------------------------------------
    def setup(self, pb):
        """Called once the spaces exist, before the residuals are built."""

    def quantities(self) -> dict:
        """{name: f(state, level dict)} for the names in `provides`."""
        return {}

    def contributions(self) -> dict:
        """{name: f(state, level dict)} added to quantities of other blocks."""
        return {}

    def residual(self, s: State):
        return 0

    def newton_floor(self, s: State):
        """A linear form (in the test functions) whose assembled value floors
        |J_ii| of this block's unknowns in Newton's estimate of the remaining
        update, |F_i| / |J_ii| (anodex/nonlinear.py), where an unknown is
        nearly free; 0: none."""
        return 0

    def dirichlet(self, p: dict) -> list:
        """[(unknown, boundary name, value)]: a face of the geometry by name
        (geometry.face_names: "electrode", "reservoir", "bottom", "top",
        "front", "back" of the built-in shapes; a mesh file's facet groups),
        the case's choice if a key of kind "face" names it."""
        return []

    def initial(self, p: dict) -> dict:
        """{unknown: f(x) -> values at points x (shape (3, N))}."""
        return {}

    @classmethod
    def refinement_band(cls, si) -> float:
        """Width (m) of the band an adaptive mesh refines around this block's
        fields (its interface, say); 0: none (anodex/memory.py's estimate)."""
        return 0.0

    def adaptivity_fields(self) -> dict:
        """{unknown: [mesh_adaptivity] key of the largest change across a
        cell}: where it is exceeded, adaptive meshes refine."""
        return {}

    def conserved(self) -> dict:
        """{integral (of integrals()): (unknown, weight)}: amounts a mesh
        adaptation keeps exactly, by adding s weight(pb) to that unknown
        (weight(pb): nodal weights on the scalar space; anodex/adapt.py
        restore)."""
        return {}

    def error_indicators(self, p: dict, nodal: dict) -> dict:
        """{name: nodal array} whose time-step error the stepper controls,
        computed from nodal values {unknown: array} (internal units)."""
        return {}

    # ---- results -------------------------------------------------------------
    def integrals(self, pb) -> dict:
        """{name: UFL integrand form} assembled after every step (pb.integrals())."""
        return {}

    def record(self, pb, integrals: dict, t: float, dt: float) -> dict:
        """The block's time-series columns (SI) from the assembled integrals."""
        return {}

    def metadata(self, pb) -> dict:
        """Entries for metadata.json."""
        return {}

    def fields(self) -> tuple:
        """Field, ...: what the block writes for ParaView."""
        return ()

    def final_results(self, pb) -> dict:
        """At the end of a run (called on every rank): {file name: content} for
        the run directory (names of result_files), a dict for a .json file,
        {column: array} for a .csv file; rank 0's is written, the others may
        return {}."""
        return {}

    def stop(self, row: dict) -> str | None:
        """A reason to end the run after this row, or None."""
        return None

    def done(self) -> str | None:
        """The block's program is over (a finished protocol): why, or None.
        Asked before the first step (a restart may have nothing left) and
        after every step; the run then ends "completed"."""
        return None

    def progress(self, row: dict) -> str:
        """A few words for the progress line of the log."""
        return ""

    def fraction_done(self) -> float | None:
        """How far the block's program is, 0 to 1 (a protocol: its steps
        finished), for the progress line; None: it has none."""
        return None

    # ---- events --------------------------------------------------------------
    def before_solve(self, pb, t0: float, t1: float):
        """Before every attempt at the step [t0, t1] (internal time)."""

    # next_change's times are jumps of the data (the time scheme restarts
    # its history there), not only kinks
    data_jumps: bool = True

    def next_change(self, pb, t: float) -> float:
        """The first time after t (internal) at which the block's data jump or
        kink (a step of a time profile): steps land on it; at a jump
        (data_jumps) the time scheme restarts its history (BDF1 next).
        inf: none."""
        return float("inf")

    def shorter_step(self, pb, dt: float) -> float | None:
        """After a converged step of dt (internal), before it is accepted: a
        shorter dt to take instead when the step overshot what the block
        allows (a nucleus dissolved past zero), else None (collective)."""
        return None

    def after_step(self, pb, step: int, t: float, dt: float, row: dict) -> bool:
        """After an accepted step, with its time-series row (every block's
        columns); True if it changed the state (the stepper then restarts
        its history)."""
        return False

    # set by after_step when the block's control jumped at this step's end
    # (a protocol step ended by a cut-off): Newton tolerates a first
    # iteration that raises the residual (anodex/nonlinear.py)
    control_jumped: bool = False

    def state_keys(self) -> list:
        """The checkpoint's names of this block's state."""
        return [f"{self.name}.{k}" for k in self.checkpoint_state]

    def state(self) -> dict:
        return {key: getattr(self, k) for key, k in zip(self.state_keys(), self.checkpoint_state)}

    # state attributes added after checkpoints were first written, with the
    # value an older checkpoint implies, so that its run can still restart
    checkpoint_defaults: dict = {}

    @classmethod
    def restart_problems(cls, si, saved: dict) -> list[str]:
        """Why this case cannot continue from a checkpoint whose state of
        this block is `saved` ({name in checkpoint_state: value}), or []."""
        return []

    def required_state_keys(self) -> list:
        """The checkpoint names a checkpoint must hold (not the later ones)."""
        return [key for key, k in zip(self.state_keys(), self.checkpoint_state)
                if k not in self.checkpoint_defaults]

    def restore(self, saved: dict):
        for key, k in zip(self.state_keys(), self.checkpoint_state):
            setattr(self, k, saved[key] if key in saved else self.checkpoint_defaults[k])


class Note(str):
    """A case warning that is information only (printed as "note:", logged
    at INFO): nothing the user can change without leaving what the case
    is, e.g. a published benchmark's resolution."""


# ---- the registry ------------------------------------------------------------
_REGISTRY: dict[str, type] = {}
_LOADED = []  # [True] once load() has imported the packages' blocks
BLOCK_PACKAGE = "anodex.models"  # its modules are the built-in blocks
ENTRY_POINT_GROUP = "anodex.blocks"


class BlockError(ValueError):
    """Blocks that cannot form a model (the message says why; `where`: the
    case key to blame)."""

    def __init__(self, message, where="[model] blocks"):
        super().__init__(message)
        self.where = where


def _ordered(classes):
    return sorted(classes, key=lambda b: (b.order, b.name))


def register(block: type) -> type:
    """Decorator of a block class: its keys join the schema."""
    if not block.name:
        raise BlockError(f"block class {block.__module__}.{block.__qualname__} has no name")
    if block.name in _REGISTRY:
        held = _REGISTRY[block.name]
        raise BlockError(f"block class {block.__module__}.{block.__qualname__} is named "
                         f"{block.name!r}, the name of {held.__module__}.{held.__qualname__}")
    # the new block last, so that a key declared twice is blamed on it; then
    # the schema in system order
    schema.assemble([*_ordered(_REGISTRY.values()), block])
    schema.assemble(_ordered([*_REGISTRY.values(), block]))
    _REGISTRY[block.name] = block
    return block


def unregister(name: str):
    _REGISTRY.pop(name)
    schema.assemble(_ordered(_REGISTRY.values()))


def load():
    """Import every module of anodex/models/ and every entry point of the group
    anodex.blocks (a module, or a block class, registered here if its module
    did not): their @register decorators fill the registry.  Once.  Under
    MPI the ranks agree: a module one rank cannot import (a node that lacks
    it, a file being rewritten) stops every rank with its reason; before,
    the others waited in their first collective until mpirun was killed."""
    if _LOADED:
        return
    try:
        _load_modules()
        failure = ""
    except BlockError as e:
        failure = str(e)
    failure = next((f for f in _every_rank(failure) if f), "")
    if failure:
        raise BlockError(failure)
    _LOADED.append(True)


def _every_rank(message: str) -> list:
    """`message` of every rank where MPI runs on several; else [message]
    (the sweep driver and the checks start no MPI: nothing to agree)."""
    import sys
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None or not mpi.Is_initialized() or mpi.Is_finalized() \
            or mpi.COMM_WORLD.size == 1:
        return [message]
    # PETSc's initialisation is collective (it duplicates COMM_WORLD): a rank
    # whose import failed early may not have done it yet; the others did,
    # importing dolfinx
    importlib.import_module("petsc4py.PETSc")
    return mpi.COMM_WORLD.allgather(message)


def _load_modules():
    package = importlib.import_module(BLOCK_PACKAGE)
    for module in pkgutil.iter_modules(package.__path__):
        _unregistered(_import(f"{BLOCK_PACKAGE}.{module.name}"))
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as e:
            raise BlockError(f"cannot load the block of entry point {entry.name!r} "
                             f"({entry.value}) of the group {ENTRY_POINT_GROUP}: {e}") from e
        if isinstance(loaded, type) and issubclass(loaded, Block) \
                and _REGISTRY.get(loaded.name) is not loaded:
            register(loaded)
        elif isinstance(loaded, types.ModuleType):
            _unregistered(loaded)


def _import(module: str):
    try:
        return importlib.import_module(module)
    except Exception as e:
        raise BlockError(f"cannot load the block module {module}: {type(e).__name__}: {e}") from e


def _unregistered(module):
    """A Block class defined in a block module and not registered is a
    forgotten @register: say so (its section would be an unknown one)."""
    for cls in vars(module).values():
        if isinstance(cls, type) and issubclass(cls, Block) and cls.__module__ == module.__name__ \
                and _REGISTRY.get(cls.name) is not cls:
            raise BlockError(f"{module.__name__}: class {cls.__name__} is a Block but not "
                             "registered; decorate it with @register (anodex/blocks.py)")


def registered() -> list:
    """The block classes, in system order (Block.order, then name)."""
    load()
    return _ordered(_REGISTRY.values())


def block_classes(si) -> list:
    """The classes of the blocks this case selects, in system order
    (unchecked: anodex/model.py checks them)."""
    return [cls for cls in registered() if cls.selected(si)]
