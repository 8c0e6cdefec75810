"""anodex: phase-field simulation of metal anode / solid electrolyte interfaces.

The Python interface (docs/python-api.md); the code lives in the package
``solver``.

    import anodex
    case = anodex.Case.from_file("cases/li_llzo.toml")
    case.set("collector.potential", "-0.2 V")
    result = anodex.run(case, "runs/li_llzo_0.2V")
    result.timeseries   # pandas DataFrame
"""
from solver import __version__
from solver.api import Case, CaseError, Result, RunError, load, run

__all__ = ["Case", "CaseError", "Result", "RunError", "__version__", "load", "run"]
