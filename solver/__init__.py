"""anodex: phase-field simulation of metal anode / solid electrolyte interfaces."""
__version__ = "0.1.0"
# the checkpoint file of a run directory (solver/checkpoint.py); here so that
# code that must not start MPI (the sweep driver) can name it
CHECKPOINT_FILE = "checkpoint.npz"
