"""anodex: phase-field simulation of metal anode / solid electrolyte interfaces."""
__version__ = "0.1.0"
