"""The shape the code promises (issue 15): generic modules name no unknown
of any block, and no function in solver/ runs over 60 lines."""
import ast
from pathlib import Path

import pytest

from solver import models

SOLVER = Path(__file__).resolve().parents[1] / "solver"
GENERIC = ("problem", "nonlinear", "stepping", "observables", "output", "run", "checkpoint",
           "sweep", "sweep_run", "slurm")
LONGEST = 60


def _names(tree):
    """Identifiers, attributes and string constants of a module, except the
    mode argument of open() calls (a "w" there is not the chemical potential)."""
    modes = {id(a) for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", getattr(node.func, "attr", None)) == "open"
             for a in node.args[1:]}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.id, node.lineno
        elif isinstance(node, ast.Attribute):
            yield node.attr, node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in modes:
            yield node.value, node.lineno


@pytest.mark.parametrize("module", GENERIC)
def test_generic_modules_name_no_unknown(module):
    unknowns = {u.name for b in models.registered() for u in b.unknowns}
    assert {"eta", "w", "phi"} <= unknowns
    tree = ast.parse((SOLVER / f"{module}.py").read_text())
    found = [(name, line) for name, line in _names(tree) if name in unknowns]
    assert not found, f"solver/{module}.py names unknowns: {found}"


def test_no_function_in_solver_is_over_60_lines():
    long = []
    for path in sorted(SOLVER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST:
                    long.append(f"{path.relative_to(SOLVER.parent)}:{node.lineno} {node.name} ({lines})")
    assert not long, long
