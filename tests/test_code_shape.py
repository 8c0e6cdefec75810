"""The shape the code promises (issues 15 and 35): generic modules (every
module outside anodex/models/ and anodex/materials/) name no unknown of any
block and no section a block declares; no module imports upward into the
blocks or in a circle; no function in solver/ runs over 60 lines."""
import ast
import os
from pathlib import Path

import pytest

from anodex import blocks
from anodex.geometry import FACES
from anodex.schema import OWNER

SOLVER = Path(__file__).resolve().parents[1] / "anodex"
PHYSICS = ("models", "materials")  # packages whose modules may name the physics
GENERIC = sorted(str(p.relative_to(SOLVER)) for p in SOLVER.rglob("*.py")
                 if p.relative_to(SOLVER).parts[0] not in PHYSICS)
LONGEST = 60


def _file_modes(tree):
    """The mode arguments of open() calls and `mode` parameters' defaults (a
    "w" there is not the chemical potential)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(
                node.func, "id", getattr(node.func, "attr", None)) == "open":
            yield from node.args[1:]
        elif isinstance(node, ast.arguments):
            named = node.args[len(node.args) - len(node.defaults):]
            yield from (d for a, d in zip(named, node.defaults) if a.arg == "mode")


def _names(tree):
    """Identifiers and attributes (True), string constants (False) of a
    module, except file modes."""
    modes = {id(a) for a in _file_modes(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id, node.lineno, True
        elif isinstance(node, ast.Attribute):
            yield node.attr, node.lineno, True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in modes:
            yield node.value, node.lineno, False


def test_generic_modules_are_all_checked():
    assert {"problem.py", "adapt.py", "output.py", "memory.py", "scales.py", "case.py",
            "schema.py", "simulation.py", "blocks.py", "model.py"} <= set(GENERIC)
    assert not any(m.startswith(PHYSICS) for m in GENERIC)


@pytest.mark.parametrize("module", GENERIC)
def test_generic_modules_name_no_unknown_and_no_block_section(module):
    unknowns = {u.name for b in blocks.registered() for u in b.unknowns}
    assert {"eta", "w", "phi", "phi_s", "phi_e", "salt"} <= unknowns
    generic = {s for (s, _), by in OWNER.items() if not by}
    # (the faces of the built-in shapes are generic words: "electrode" is a
    # face and a section all of whose keys are blocks'; its keys are checked
    # below, key by key)
    sections = {s for (s, _), by in OWNER.items() if by} - generic - set(FACES)
    assert {"phase_field", "sei", "nucleation", "noise", "boundary"} <= sections
    tree = ast.parse((SOLVER / module).read_text())
    found = [(name, line) for name, line, identifier in _names(tree)
             if name in unknowns or (not identifier and name in sections)]
    assert not found, f"solver/{module} names unknowns or block sections: {found}"


def _section_key_subscripts(tree):
    """(section, key, line) of every x["section"]["key"] in a module."""
    for node in ast.walk(tree):
        inner = getattr(node, "value", None)
        if isinstance(node, ast.Subscript) and isinstance(inner, ast.Subscript):
            outer_key, inner_key = node.slice, inner.slice
            if all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                   for k in (outer_key, inner_key)):
                yield inner_key.value, outer_key.value, node.lineno


@pytest.mark.parametrize("module", GENERIC)
def test_generic_modules_read_no_key_of_a_block(module):
    """Not even a key a block declares in a generic section ([electrolyte]
    conductivity, [mesh_adaptivity] interface_jump)."""
    tree = ast.parse((SOLVER / module).read_text())
    found = [(s, k, line) for s, k, line in _section_key_subscripts(tree) if OWNER.get((s, k))]
    assert not found, f"solver/{module} reads block keys: {found}"


def test_the_key_check_finds_a_block_key():
    tree = ast.parse('x = si["electrolyte"]["conductivity"] + si["time"]["end"]')
    assert [(s, k) for s, k, _ in _section_key_subscripts(tree)] == [
        ("electrolyte", "conductivity"), ("time", "end")]
    assert OWNER[("electrolyte", "conductivity")] and not OWNER[("time", "end")]


def _module(path):
    parts = list(path.relative_to(SOLVER.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in SOLVER.rglob("*.py")}


def _imports(name):
    """The solver modules `name` imports, anywhere in it (also in functions)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = node.module if not node.level else ".".join(
                p for p in (base, node.module) if p)
            for a in node.names:
                if f"{target}.{a.name}" in MODULES:
                    yield f"{target}.{a.name}"
                elif target in MODULES:
                    yield target


GRAPH = {name: set(_imports(name)) - {name} for name in MODULES}


def test_the_import_graph_has_edges():
    """(The parser sees relative, absolute and function-level imports.)"""
    assert "anodex.blocks" in GRAPH["anodex.models.phase_field"]
    assert "anodex.schema" in GRAPH["anodex.blocks"]
    assert "anodex.models.sei_zero_d" in GRAPH["anodex.models.sei"]
    assert "anodex.model" in GRAPH["anodex.case"]


def test_no_module_outside_the_blocks_imports_them():
    """Generic code reaches the blocks through the registry (anodex/blocks.py),
    which finds them by name: no upward import."""
    upward = {name: sorted(d for d in deps if d.startswith("anodex.models"))
              for name, deps in GRAPH.items() if not name.startswith("anodex.models")}
    assert not {k: v for k, v in upward.items() if v}


def test_no_import_circle():
    """Tarjan's strongly connected components of the import graph: all single."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles


def test_an_import_circle_is_found():
    """The search itself, on a graph with a circle: it would fail above."""
    global GRAPH
    saved = GRAPH
    GRAPH = {**saved, "anodex.schema": saved["anodex.schema"] | {"anodex.blocks"}}
    try:
        with pytest.raises(AssertionError):
            test_no_import_circle()
    finally:
        GRAPH = saved


def test_no_function_in_solver_is_over_60_lines():
    long = []
    for path in sorted(SOLVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST:
                    long.append(f"{path.relative_to(SOLVER.parent)}:{node.lineno} {node.name} ({lines})")
    assert not long, long


def test_scripts_import_what_the_package_has():
    """postprocess/ and benchmarks/ name solver modules and functions that
    exist (a module moved by a change is found here, not by a user)."""
    import importlib
    missing = []
    for path in sorted((SOLVER.parent / d / f) for d in ("postprocess", "benchmarks")
                       for f in os.listdir(SOLVER.parent / d) if f.endswith(".py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("anodex"):
                if node.module not in MODULES:
                    missing.append(f"{path.name}: {node.module}")
                    continue
                module = importlib.import_module(node.module)
                missing += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                            if not hasattr(module, a.name)
                            and f"{node.module}.{a.name}" not in MODULES]
    assert not missing
