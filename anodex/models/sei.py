"""The SEI block: an interphase of thickness L on the metal, growing by one
law of sei_laws.py (docs/sei.md).  Alone, with [geometry] kind =
"point", it is the 0-D mode (sei_zero_d.py).  With the two-potential
model it is a field carried by the moving metal/electrolyte interface:

- surface conservation of the SEI, Gamma = L/V per area, on the diffuse
  interface (Teigen et al., Commun. Math. Sci. 7, 1009, 2009; the Eulerian
  form of Xu & Zhao, J. Sci. Comput. 19, 573, 2003), for a surface moving
  along its normal n = -grad(eta)/|grad(eta)| with the deposit's speed
  v_n = i_F V_m/(zF) + lambda (internal: the interface_velocity of the
  charge transfer, the reaction plus the metal multiplier):
      dL/dt + v_n n.grad L = G(L, dphi) - K v_n L
  G the growth law at the local electrode potential dphi = phi_s - phi_e
  behind the SEI's drop (without the metal's capillary and Nernst terms:
  electrode_step), K the curvature (interface_curvature; 0 in 1-D): a
  growing tip (K v_n > 0) stretches and thins its SEI.  The same equation
  off the interface extends L along the normal.
- the areal strain of the SEI, stretched with the surface:
      de/dt + v_n n.grad e = K v_n (1 + e)
  where e exceeds critical_strain the SEI cracks (after the step): L drops
  to fresh_thickness, the film that forms at once on fresh metal, and e
  to 0; the charge of the broken SEI stays consumed (sei_cracked_charge).
- the SEI's ionic resistance in series with the reaction: the reaction sees
  eta_ct + i_F rho L (the unknown sei_drop), so thicker SEI slows deposition.
- the charge the SEI takes: z_SEI F L/V_SEI per interface area, spread with
  the interface's delta function, joins interface_charge, so its growth is
  a current between the conductors like the metal's (charge_source), and
  Faraday's law reads  collector charge = zF (metal grown) + SEI charge.
"""
from __future__ import annotations

import math

import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from ..constants import FARADAY
from ..schema import Param, nonnegative, open_unit, positive, q
from .sei_laws import COEFFICIENT_UNITS, LAWS, arrhenius, coefficients, growth_rate
from ..blocks import Block, Field, Unknown, register
from .charge_transfer import GRADIENT_FLOOR, interface_band, interface_weight, optional
from .grand_potential import capped_exp
from .phase_field import interface_shape
from .sei_zero_d import run_point

REACTION = ("exchange_current_density", "transfer_coefficient", "equilibrium_potential",
            "electrode_potential")
LAW_KEYS = {
    "reaction": REACTION,
    "solvent_diffusion": ("solvent_diffusivity", "solvent_concentration"),
    "electron_migration": ("electronic_conductivity", "equilibrium_potential", "electrode_potential"),
    "interstitial_diffusion": ("interstitial_diffusivity", "interstitial_concentration",
                               "electrode_potential"),
    "tunnelling": REACTION + ("tunnelling_decay_length",),
    "mixed": ("rate_constant", "solvent_diffusivity", "solvent_concentration",
              "transfer_coefficient", "equilibrium_potential", "electrode_potential"),
}
# keys with a default that only some laws read
OPTIONAL_KEYS = {"solvent_stoichiometry": ("solvent_diffusion", "mixed")}
ALL_LAW_KEYS = sorted({k for keys in LAW_KEYS.values() for k in keys})

PARAMS = {
    "sei": {
        "law": Param("choice", "solvent_diffusion", "growth law (docs: equations and sources)",
                     choices=LAWS),
        "initial_thickness": q("5 nm", "m", "L0", positive, (1e-12, 1e-3)),
        "molar_volume": q("9.585e-5 m^3/mol", "m^3/mol", "V of the SEI (PyBaMM's \"SEI partial "
                          "molar volume\")", positive, (1e-7, 1e-2)),
        "charge_number": Param("int", 2, "electrons per formula unit of SEI formed",
                               check=positive, bounds=(1, 8)),
        "activation_energy": q("0 J/mol", "J/mol", "E_a of every rate constant (Arrhenius)",
                               nonnegative, (0.0, 1e6)),
        "reference_temperature": q("298.15 K", "K", "T_ref at which the rate constants are given",
                                   positive, (1.0, 3000.0)),
        "exchange_current_density": q(None, "A/m^2", "reaction, tunnelling: j0", positive, (1e-30, 1e6)),
        "transfer_coefficient": Param("number", None, "reaction, tunnelling, mixed: alpha",
                                      check=open_unit),
        "equilibrium_potential": q(None, "V", "reaction, tunnelling, electron_migration, mixed: "
                                   "U_SEI",
                                   bounds=(-10.0, 10.0)),
        "electrode_potential": q(None, "V", "0-D mode: the electrode's potential against the "
                                 "reference of U_SEI (with a deposition model: the local "
                                 "potential)", bounds=(-10.0, 10.0)),
        "solvent_diffusivity": q(None, "m^2/s", "solvent_diffusion, mixed: D of the solvent in "
                                 "the SEI", positive, (1e-40, 1e-3)),
        "solvent_concentration": q(None, "mol/m^3", "solvent_diffusion, mixed: c outside the SEI",
                                   positive, (1e-12, 1e6)),
        "electronic_conductivity": q(None, "S/m", "electron_migration: kappa_e of the SEI",
                                     positive, (1e-30, 1e6)),
        "interstitial_diffusivity": q(None, "m^2/s", "interstitial_diffusion: D of the Li "
                                      "interstitials", positive, (1e-40, 1e-3)),
        "interstitial_concentration": q(None, "mol/m^3", "interstitial_diffusion: c at the "
                                        "electrode side", positive, (1e-12, 1e6)),
        "tunnelling_decay_length": q(None, "m", "tunnelling: lambda of the electrons' exp(-L/lambda)",
                                     positive, (1e-12, 1e-6)),
        "rate_constant": q(None, "m/s", "mixed: k0 of the surface reaction at U_SEI (k = k0 "
                           "exp(-alpha F (dphi - U_SEI)/RT))", positive, (1e-30, 1.0)),
        "solvent_stoichiometry": Param("number", 1.0, "solvent_diffusion, mixed: solvent "
                                       "molecules per formula unit of SEI (1: Ploehn et al. "
                                       "2004; PyBaMM's models: the charge_number)",
                                       check=positive, bounds=(0.01, 100.0)),
        "ionic_resistivity": q("2e5 ohm*m", "ohm*m", "rho of the SEI for the metal's ions: the "
                               "interphase resistance is rho L (PyBaMM's \"SEI resistivity\"); "
                               "an ion-blocking film (Mg): large", positive, (1e-6, 1e20)),
        "critical_strain": Param("number", 0.1, "with a deposition model: the areal strain "
                                 "at which the SEI cracks (an assumption: inorganic SEI "
                                 "phases fail at strains of order 0.1)", check=positive,
                                 bounds=(1e-6, 1e6)),
        "fresh_thickness": q("1 nm", "m", "with a deposition model: the film that forms at "
                             "once on the metal a crack exposes (L after a crack)", positive,
                             (1e-12, 1e-3)),
        "initial_profile": Param("choice", "uniform", "with a deposition model: L at the start "
                                 "along the interface: uniform; sine, L0 (1 + a cos(2 pi y / "
                                 "length)); random, L0 (1 + a u), u in [-1, 1] "
                                 ""
                                 "a smooth random field of wavelengths down to the length "
                                 "([noise] seed); patch, a broken spot L0 (1 - a) for "
                                 "|y - height/2| < length/2 (edges smoothed over l)",
                                 choices=("uniform", "sine", "random", "patch")),
        "profile_amplitude": Param("number", 0.5, "a of initial_profile", check=positive,
                                   bounds=(0.0, 0.999)),
        "profile_length": q("10 um", "m", "the length of initial_profile", positive, (1e-12, 1.0)),
    },
}
SPATIAL_KEYS = ("critical_strain", "fresh_thickness", "initial_profile", "profile_amplitude", "profile_length")
PROFILE_KEYS = ("profile_amplitude", "profile_length")
DEPOSITION = ("charge_transfer", "electronic_conduction", "ionic_conduction")


STRETCH_BAND = 1e-2  # eta (1 - eta) below which the stretch fades (|x| > 2.3 l)


def floored(p, L):
    """L, floored at 1e-3 of the fresh film against a Newton iterate below 0."""
    return ufl.max_value(L, 1e-3 * p["sei_fresh"])


def point(si) -> bool:
    return si["geometry"]["kind"] == "point"


def law_keys(si) -> tuple:
    """The keys the case's law needs: with a deposition model the electrode
    potential is the local one, not a key."""
    keys = LAW_KEYS[si["sei"]["law"]]
    return keys if point(si) else tuple(k for k in keys if k != "electrode_potential")


def initial_thickness(si, p, x):
    """L at the points x (internal units, shape (3, N)) by initial_profile;
    the patch's edges and the random field smooth on the interface length l
    (a step in L is what the transport of L cannot carry without ringing)."""
    sei, L0 = si["sei"], p["sei_L0"]
    a, length, kind = sei["profile_amplitude"], p["sei_profile_length"], sei["initial_profile"]
    if kind == "uniform":
        return np.full(x.shape[1], L0)
    if kind == "sine":
        return L0 * (1 + a * np.cos(2 * math.pi * x[1] / length))
    if kind == "patch":
        edges = (0.5 * (p["height"] - length), 0.5 * (p["height"] + length))
        inside = 0.5 * (np.tanh((x[1] - edges[0]) / p["ell"]) - np.tanh((x[1] - edges[1]) / p["ell"]))
        return L0 * (1 - a * inside)
    box = si["geometry"]["kind"] == "box"
    return L0 * (1 + a * random_profile(si["noise"]["seed"], p, x, box))


def random_profile(seed, p, x, three_d):
    """A smooth random field along the face in [-1, 1]: Fourier modes of the
    face's height (and of a box's depth: three_d) with wavelengths down to profile_length,
    Gaussian amplitudes ~ 1/k and random phases drawn from [noise] seed
    (the same on any partition), scaled by its maximum on a fine grid."""
    rng = np.random.default_rng(seed)
    extent = [p["height"]] + ([p["depth"]] if three_d else [])
    kmax = [max(1, int(e / p["sei_profile_length"])) for e in extent]
    modes = [(ky, kz) for ky in range(kmax[0] + 1) for kz in range(kmax[-1] + 1 if len(extent) > 1 else 1)
             if ky or kz]
    amplitude = rng.standard_normal(len(modes)) / np.hypot(*np.array(modes, float).T)
    phase = rng.uniform(0, 2 * math.pi, len(modes))

    def field(y, z):
        out = np.zeros_like(y)
        for (ky, kz), c, ph in zip(modes, amplitude, phase):
            arg = 2 * math.pi * ky * y / extent[0] + ph
            if len(extent) > 1:
                arg = arg + 2 * math.pi * kz * z / extent[1]
            out += c * np.cos(arg)
        return out
    grid = np.linspace(0, 1, 8 * kmax[0] + 1)
    if len(extent) > 1:
        gy, gz = np.meshgrid(grid * extent[0], np.linspace(0, extent[1], 8 * kmax[-1] + 1))
        top = np.abs(field(gy.ravel(), gz.ravel())).max()
    else:
        top = np.abs(field(grid * extent[0], 0.0)).max()
    return field(x[1], x[2]) / top

RATE_CONSTANTS = ("exchange_current_density", "solvent_diffusivity", "electronic_conductivity",
                  "interstitial_diffusivity", "rate_constant")


def rate_parameters(si) -> dict:
    """The law's parameters at [material] temperature (SI): every rate
    constant scaled by arrhenius(), so j scales by the same factor for every
    law (PyBaMM's convention: the Arrhenius factor multiplies j_SEI)."""
    sei, T = si["sei"], si["material"]["temperature"]
    law = sei["law"]
    p = {k: sei[k] for k in ("molar_volume", "charge_number") + law_keys(si)
         + tuple(k for k, laws in OPTIONAL_KEYS.items() if law in laws)}
    for k in RATE_CONSTANTS:
        if k in p:
            p[k] = arrhenius(p[k], sei["activation_energy"], T, sei["reference_temperature"])
    p["temperature"] = T
    return p


@register
class SEI(Block):
    name = "sei"
    order = 150
    params = PARAMS
    standalone_section = "sei"
    requires = ("eta", "faradaic_current", "interface_velocity", "charge_transfer_overpotential",
                "interface_charge", "electrode_potential", "phi_e")
    unknowns = (Unknown("sei_thickness", "m"), Unknown("sei_strain", "1"),
                Unknown("sei_drop", "V"))
    form_keys = (("sei", "law"),)
    columns = ("sei_thickness_m", "sei_charge_C_m2", "sei_cracked_charge_C_m2", "sei_drop_V")
    checkpoint_state = ("cracked_charge", "charge_origin")
    without_space = "the 0-D SEI mode"

    @classmethod
    def run_without_space(cls, case, outdir, overwrite, comm, command_line):
        """L(t) of a flat SEI (sei_zero_d.py)."""
        return run_point(case, rate_parameters(case.si), outdir, overwrite, comm, command_line)

    @classmethod
    def check(cls, si, given):
        law, sei, errors = si["sei"]["law"], si["sei"], []
        if not point(si) and si["model"]["blocks"] == ["sei"]:
            return ["[model] blocks = [\"sei\"]: the sei block alone is the 0-D SEI mode; set "
                    "[geometry] kind = \"point\", or add sei to a two-potential deposition model"]
        if not point(si):
            missing = [b for b in DEPOSITION if b not in si["model"]["blocks"]]
            if missing:
                return [f"[model] blocks: the sei block grows on the interface of the "
                        f"two-potential model, which needs {', '.join(missing)} (or use "
                        f"[geometry] kind = \"point\" for the 0-D mode)"]
            if sei["initial_profile"] != "uniform" and si["geometry"]["kind"] == "interval":
                errors.append(f"[sei] initial_profile = \"{sei['initial_profile']}\": varies "
                              "along the interface, which a 1-D interval does not have; use "
                              "\"uniform\" or a rectangle")
        missing = [k for k in law_keys(si) if sei[k] is None]
        if missing:
            errors.append(f"[sei] {', '.join(missing)}: law = \"{law}\" needs "
                          f"{'it' if len(missing) == 1 else 'them'} (its keys: "
                          f"{', '.join(law_keys(si))})")
        users = {k: [lw for lw, keys in LAW_KEYS.items() if k in keys] for k in ALL_LAW_KEYS}
        users.update(OPTIONAL_KEYS)
        foreign = [k for k in users if ("sei", k) in given and law not in users[k]
                   and (point(si) or k != "electrode_potential")]
        if foreign:
            errors.append(f"[sei] {', '.join(foreign)}: not a key of law = \"{law}\" ("
                          + "; ".join(f"{k}: {', '.join(users[k])}" for k in foreign)
                          + "); remove it or choose that law")
        return errors


    @classmethod
    def inactive_keys(cls, si):
        if point(si):
            return [("sei", SPATIAL_KEYS, 'geometry kind = "point" (0-D)')]
        out = [("sei", ("electrode_potential",), "a deposition model: the electrode "
                "potential is the local one")]
        if si["sei"]["initial_profile"] == "uniform":
            out.append(("sei", PROFILE_KEYS, 'initial_profile = "uniform"'))
        return out

    @classmethod
    def internal(cls, si, s):
        """The law's coefficients in internal units (prefix sei_c_), L0, the
        resistivity (rho sigma0), the charge of SEI per h (z_SEI V_m/(z V_SEI))."""
        sei = si["sei"]
        p = {"sei_L0": s.to_internal(sei["initial_thickness"], "m"),
             "sei_profile_length": s.to_internal(sei["profile_length"], "m"),
             "sei_rho": sei["ionic_resistivity"] * s.unit("S/m"),
             "sei_critical_strain": sei["critical_strain"],
             "sei_fresh": s.to_internal(sei["fresh_thickness"], "m"),
             "sei_charge_factor": (sei["charge_number"] * si["material"]["molar_volume"]
                                   / (si["material"]["charge_number"] * sei["molar_volume"])),
             "sei_C_m2": sei["charge_number"] * FARADAY / sei["molar_volume"] * s.unit("m")}
        for k, v in coefficients(sei["law"], rate_parameters(si)).items():
            unit = COEFFICIENT_UNITS[k]
            scale = (s.unit("m^2/s") / s.unit("V") if unit == "m^2/(s*V)"
                     else 1 / s.unit("V") if unit == "1/V" else s.unit(unit))
            p[f"sei_c_{k}"] = v / scale
        return p

    def setup(self, pb):
        self.law, self.si = pb.case.si["sei"]["law"], pb.case.si
        self.cracked_charge, self.charge_origin = 0.0, None
        # the fresh film of a crack, not yet paid for: the next step's time
        # difference of the SEI's charge sees it formed from nothing
        self.unpaid = pb.scalar_function()
        self.unpaid_form = None

    @staticmethod
    def electrode_step(s, lev):
        """dphi of the SEI reaction: phi_s - phi_e behind the SEI's ohmic drop
        (as PyBaMM's eta_SEI = dphi - U_SEI - j R_film).  Not the metal's
        overpotential: its Gibbs-Thomson term (gamma V_m K/(zF), the metal's
        chemical potential at a curved surface) and its Nernst term (the
        metal ion's concentration) belong to the metal's reaction, not to the
        reduction of the electrolyte that forms the SEI."""
        return s.at("electrode_potential", lev) - lev["phi_e"] + lev["sei_drop"]

    def growth(self, s, lev):
        """G(L, dphi) of the law (internal), the exponentials capped."""
        p = s.p
        c = {k[len("sei_c_"):]: v for k, v in p.items() if k.startswith("sei_c_")}
        return growth_rate(self.law, floored(p, lev["sei_thickness"]),
                           self.electrode_step(s, lev), c, capped_exp,
                           lambda v: ufl.max_value(v, 0.0))

    @staticmethod
    def transport(s, f, lev):
        """v_n n.grad f, the surface's normal motion carrying f (v_n: the
        interface_velocity, i_F plus the metal multiplier)."""
        g = ufl.grad(lev["eta"])
        magnitude = ufl.sqrt(ufl.inner(g, g) + (GRADIENT_FLOOR / s.p["ell"]) ** 2)
        return -s.at("interface_velocity", lev) * ufl.inner(g, ufl.grad(f)) / magnitude

    def residual(self, s):
        p, lev = s.p, s.levels[0]
        L, e, drop = lev["sei_thickness"], lev["sei_strain"], lev["sei_drop"]
        # K v_n, on the interface only: the curvature field is noise in the bulk
        stretch = (optional(s, "curvature", lev, 0.0) * s.at("interface_velocity", lev)
                   * interface_band(lev["eta"], STRETCH_BAND))
        vL, ve, vd = s.test("sei_thickness"), s.test("sei_strain"), s.test("sei_drop")
        F = (s.ddt(lambda lv: lv["sei_thickness"]) - self.growth(s, lev) + stretch * L) * vL * s.dxl
        F += self.transport(s, L, lev) * vL * s.dx
        F += (s.ddt(lambda lv: lv["sei_strain"]) - stretch * (1 + e)) * ve * s.dxl
        F += self.transport(s, e, lev) * ve * s.dx
        return F + (drop - s.at("faradaic_current", lev) * p["sei_rho"] * floored(p, L)) * vd * s.dxl

    def contributions(self):
        def charge(s, lev):  # the SEI's charge per volume, in h
            L = lev["sei_thickness"]
            if lev is not s.levels[0]:  # the history holds no fresh film yet
                L = L - self.unpaid
            return s.p["sei_charge_factor"] * L * interface_weight(lev["eta"], s.p["ell"])
        return {"interface_charge": charge,
                # the reaction's overpotential behind the SEI (i_F > 0 deposits)
                "charge_transfer_overpotential": lambda s, lev: lev["sei_drop"]}

    def initial(self, p):
        return {"sei_thickness": lambda x: initial_thickness(self.si, p, x),
                "sei_strain": lambda x: np.zeros(x.shape[1]),
                "sei_drop": lambda x: np.zeros(x.shape[1])}

    def error_indicators(self, p, nodal):
        """L/L0: the stepper follows the SEI's growth too (a year of it, where
        the front has settled)."""
        return {"sei_thickness/L0": nodal["sei_thickness"] / p["sei_L0"]}

    def conserved(self):
        return {"sei_L": ("sei_thickness", interface_shape)}  # (the SEI's charge)

    def integrals(self, pb):
        s = pb.state
        w = interface_weight(s.u("eta"), s.p["ell"])
        return {"sei_weight": w * pb.dxl, "sei_L": s.u("sei_thickness") * w * pb.dxl,
                "sei_drop": s.u("sei_drop") * w * pb.dxl}

    def record(self, pb, integrals, t, dt):
        s, w = pb.scales, integrals["sei_weight"]
        stored = pb.p["sei_C_m2"] * integrals["sei_L"] / pb.area  # C/m^2
        if self.charge_origin is None:
            self.charge_origin = stored
        mean = (lambda k, unit: s.to_si(integrals[k] / w, unit) if w > 0 else math.nan)
        return {"sei_thickness_m": mean("sei_L", "m"), "sei_drop_V": mean("sei_drop", "V"),
                "sei_charge_C_m2": stored - self.charge_origin + self.cracked_charge,
                "sei_cracked_charge_C_m2": self.cracked_charge}

    def after_step(self, pb, step, t, dt, row):
        """The crack rule: where the strain exceeds critical_strain, the SEI
        breaks off (its charge stays consumed: sei_cracked_charge) and a
        fresh film of fresh_thickness forms on the exposed metal, paid for by
        the circuit in the next step (unpaid: the history of the SEI's
        charge holds none of it); the strain drops to 0 at every time level."""
        if self.unpaid.x.array.any():  # paid for by the step just taken
            self.unpaid.x.array[:] = 0.0
        strain = pb.field_values("sei_strain")
        broken = strain > pb.p["sei_critical_strain"]
        if not pb.comm.allreduce(bool(broken.any()), op=MPI.LOR):
            return False
        before = pb.integral("sei_L")
        for f in (pb.u, pb.u_n, pb.u_nm1):
            f.x.array[pb.sub_dofs["sei_thickness"][broken]] = pb.p["sei_fresh"]
            f.x.array[pb.sub_dofs["sei_strain"][broken]] = 0.0
            f.x.scatter_forward()
        self.unpaid.x.array[broken] = pb.p["sei_fresh"]
        self.unpaid.x.scatter_forward()
        # the whole broken film is consumed; the fresh one is charged anew
        lost = before - pb.integral("sei_L") + self._unpaid_integral(pb)
        self.cracked_charge += pb.p["sei_C_m2"] * lost / pb.area
        return True

    def _unpaid_integral(self, pb):
        """The fresh film not yet paid for, integrated like sei_L."""
        if self.unpaid_form is None:
            w = interface_weight(pb.state.u("eta"), pb.state.p["ell"])
            self.unpaid_form = fem.form(self.unpaid * w * pb.dxl)
        return pb.comm.allreduce(fem.assemble_scalar(self.unpaid_form), op=MPI.SUM)

    def fields(self):
        return (Field("sei_thickness", "m",
                      lambda pb: pb.scales.to_si(pb.field_values("sei_thickness"), "m")),
                Field("sei_strain", "1", lambda pb: pb.field_values("sei_strain").copy()),
                Field("sei_drop", "V", lambda pb: pb.scales.to_si(pb.field_values("sei_drop"), "V")))
