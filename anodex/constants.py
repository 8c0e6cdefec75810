"""Physical constants: the exact SI values (CODATA 2018; the SI since 2019
defines N_A, k_B and e, so R = N_A k_B and F = N_A e are exact too).

The one home of these numbers in anodex: every module imports them from here.
"""
AVOGADRO = 6.02214076e23  # 1/mol
BOLTZMANN = 1.380649e-23  # J/K
ELEMENTARY_CHARGE = 1.602176634e-19  # C
GAS_CONSTANT = AVOGADRO * BOLTZMANN  # J/(mol K), 8.314462618...
FARADAY = AVOGADRO * ELEMENTARY_CHARGE  # C/mol, 96485.33212...
VACUUM_PERMITTIVITY = 8.8541878128e-12  # F/m (CODATA 2018; measured since 2019)
