"""Case keys that several blocks read.  Each of those blocks declares the same
Param object in its `params`; the schema accepts a key declared twice only so
(anodex/schema.py assemble), and the reference names every block that reads it.
"""
from ..schema import Param, nonnegative, positive, q

ELECTRODE_CONDUCTIVITY = q("1e6 S/m", "S/m", "electronic conductivity of the metal (S1)",
                           positive, (1e-12, 1e10))
ELECTROLYTE_CONDUCTIVITY = q("1.19 S/m", "S/m", "ionic conductivity (S2)", positive,
                             (1e-15, 1e6))
ELECTROLYTE_DIFFUSIVITY = q("3.179e-10 m^2/s", "m^2/s", "ion diffusivity D (M0 = D t0/x0^2); "
                            "if unset while a conductivity is given or an electrolyte named: "
                            "Nernst-Einstein from the conductivity", positive, (1e-30, 1e-3))
POTENTIAL_JUMP = Param("number", 0.0, "refine where a potential changes by more than this "
                       "(in RT/(zF)) across a cell; 0: not used", check=nonnegative,
                       bounds=(0.0, 1e6))
