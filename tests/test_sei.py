"""SEI growth laws in 0-D (issue 18, work in progress): PETSc's adaptive
Runge-Kutta against each law's closed form over a year, and Arrhenius
scaling of the rate constants."""
import math

import pytest

from solver.sei_laws import LAWS, arrhenius, closed_form
from solver.zero_d import integrate

# PyBaMM-like magnitudes (audit.md section 4), z = 2 (EC reduction to Li2CO3-like SEI)
P = dict(molar_volume=9.585e-5, charge_number=2, temperature=298.15, exchange_current_density=1.5e-7,
         transfer_coefficient=0.5, electrode_potential=0.1, equilibrium_potential=0.4,
         solvent_diffusivity=2.5e-22, solvent_concentration=2636.0, electronic_conductivity=8.95e-14,
         interstitial_diffusivity=1e-20, interstitial_concentration=15.0, tunnelling_decay_length=1.4e-9,
         rate_constant=1e-12)
YEAR = 3.15576e7


@pytest.mark.parametrize("law", LAWS)
def test_zero_d_matches_the_closed_form_over_a_year(law):
    """L(1 year) within 1e-9 (the issue's bound: 0.1 %), every step's L too."""
    rows = integrate(law, P, 5e-9, YEAR)
    assert rows[-1][0] == pytest.approx(YEAR, rel=1e-12)
    for t, L, _ in rows[1:]:
        assert L == pytest.approx(closed_form(law, t, 5e-9, P), rel=1e-9)


def test_charge_is_the_thickness_grown():
    """charge = z F (L - L0)/V at every step."""
    for t, L, q in integrate("solvent_diffusion", P, 5e-9, YEAR):
        assert q == pytest.approx(2 * 96485.33212 * (L - 5e-9) / 9.585e-5, rel=1e-9, abs=1e-15)


def test_arrhenius():
    """k(T_ref) = k_ref; ln k linear in 1/T with slope -E_a/R."""
    k = [arrhenius(2.0, 5e4, T, 298.15) for T in (298.15, 320.0, 350.0)]
    assert k[0] == 2.0
    slope = (math.log(k[2]) - math.log(k[1])) / (1 / 350.0 - 1 / 320.0)
    assert slope == pytest.approx(-5e4 / 8.314462618, rel=1e-9)
