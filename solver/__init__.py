"""anodex: phase-field simulation of metal anode / solid electrolyte interfaces."""
import os

__version__ = "0.1.0"
# the checkpoint file of a run directory (solver/checkpoint.py); here so that
# code that must not start MPI (the sweep driver) can name it
CHECKPOINT_FILE = "checkpoint.npz"
# PT-Scotch (dolfinx's mesh partitioner) partitions differently from run to run
# when it uses several threads: the same 2-rank run then took other Krylov
# and Newton paths (measured: 2501/2499 then 2500/2500 cells of a 50 x 50
# mesh).  One thread per rank makes a run repeat exactly; an MPI rank should
# not spawn threads on its neighbours' cores anyway.  A user's setting wins.
os.environ.setdefault("SCOTCH_PTHREAD_NUMBER", "1")
