"""anodex: phase-field simulation of metal anode / solid electrolyte interfaces.

The Python interface (docs/python-api.md):

    import anodex
    case = anodex.Case.from_file("cases/li_llzo.toml")
    case.set("collector.potential", "-0.2 V")
    result = anodex.run(case, "runs/li_llzo_0.2V")
    result.timeseries   # pandas DataFrame

The API's names load on first use (PEP 562), so that code which must not
start MPI (the sweep driver) can import the package for its constants.
"""
import importlib
import os

__version__ = "0.1.0"
__all__ = ["Case", "CaseError", "Result", "RunError", "__version__", "load", "run"]
# the checkpoint file of a run directory (anodex/checkpoint.py); here so that
# code that must not start MPI (the sweep driver) can name it
CHECKPOINT_FILE = "checkpoint.npz"
# a larger sweep needs --max-cases (it is validated case by case)
MAX_CASES = 1000
# PT-Scotch (dolfinx's mesh partitioner) partitions differently from run to run
# when it uses several threads: the same 2-rank run then took other Krylov
# and Newton paths (measured: 2501/2499 then 2500/2500 cells of a 50 x 50
# mesh).  One thread per rank makes a run repeat exactly; an MPI rank should
# not spawn threads on its neighbours' cores anyway.  A user's setting wins.
os.environ.setdefault("SCOTCH_PTHREAD_NUMBER", "1")


def __getattr__(name):
    if name in __all__:  # (__version__ is bound above, so never asked for here)
        return getattr(importlib.import_module(".api", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
