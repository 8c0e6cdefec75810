"""Space-charge layers of charged point defects in a solid electrolyte: a
resolved Poisson-Fermi-Dirac problem (physics/audit.md section 3).

    -div(eps grad phi) = rho = z e (n+ - n-)

phi is the electrostatic potential (V) relative to the bulk; a defect of
charge q = +-z e has the energy E_f0 + q (phi - w), w its electrochemical
potential per charge (0 in equilibrium with the bulk; the defect_transport
block makes it an unknown).  Occupancies with lattice-site saturation:

- frenkel_pair: an interstitial (+) and a vacancy (-), each on N sites of
  which a fraction alpha is available, with formation energy E_f0 at the
  bulk's neutral potential (Swift & Qi, PRL 122, 167701, 2019):
      n+- = alpha N / (1 + alpha exp((E_f0 +- z e (phi - w)) / kT));
  the dilute limit is the Boltzmann pair of Gouy-Chapman theory, bulk
  density N exp(-E_f0/kT) each.  (Swift & Qi write the potential as an
  electron energy, V = -phi: their n+- carry exp(E_f0 -+ z e V).)
- single: one mobile carrier of charge z e (z signed) against an immobile
  background of opposite charge and density c_b (Braun, Yada & Latz, JPCC
  119, 22281, 2015):
      n = alpha N / (1 + (alpha N / c_b - 1) exp(z e (phi - w) / kT)).

Both are alpha N / (1 + A exp(s z e (phi - w)/kT)), written with softplus so
that neither overflows.  Boundary: phi = potential_step at the electrode,
or, with a Stern layer, eps dphi/dn = C_S (E - phi) (E the electrode
potential, potential_step); phi = 0 at the reservoir (the bulk).  The step
is ramped from 0 over ramp_time: without defect_transport every instant is
an equilibrium (the charge-voltage curve), and the run ends when the step
is applied in full (the steady problem).

Reported (space_charge.json, SI): the electrode's surface charge sigma =
eps dphi/dn (Grahame's sign: that of the step; the layer holds -sigma),
from the consistent boundary flux; the capacitance |sigma / step|; the
differential capacitance d sigma/d step from the linearised problem (one
extra linear solve); the bulk Debye length sqrt(eps / |d rho/d phi|) (the
dilute sqrt(eps kT / (2 z^2 e^2 n0)) for a pair); the width where phi
falls to 1/e of its electrode value; whole-cell neutrality.
"""
from __future__ import annotations

import math

import numpy as np
import ufl

from ..constants import BOLTZMANN, ELEMENTARY_CHARGE, VACUUM_PERMITTIVITY
from ..geometry import MeshError, grading_ratio
from ..scales import case_scales
from ..schema import Param, nonnegative, positive, q
from ..blocks import Block, Field, Unknown, register

PARAMS = {
    "space_charge": {
        "carriers": Param("choice", "frenkel_pair", "frenkel_pair: an interstitial and a "
                          "vacancy of opposite charge; single: one mobile carrier against "
                          "an immobile background", choices=("frenkel_pair", "single")),
        "site_density": q("3.3e22 cm^-3", "1/m^3", "N: lattice sites of each defect per "
                          "volume", positive, (1e15, 1e31)),
        "available_site_fraction": Param("number", 1.0, "alpha: the fraction of the N sites a "
                                         "defect can occupy (its saturation density alpha N)",
                                         check=lambda x: None if 0 < x <= 1 else
                                         "must lie in (0, 1]"),
        "formation_energy": q("0.5 eV", "J", "frenkel_pair: E_f0, each defect's formation "
                              "energy at the bulk's neutral potential", bounds=(-1.6e-18, 1.6e-18)),
        "background_concentration": q(None, "1/m^3", "single: c_b, the immobile background "
                                      "charge density (in carriers per volume) that the "
                                      "bulk's carriers neutralise; below alpha N",
                                      positive, (1.0, 1e31)),
        "carrier_charge_number": Param("int", 1, "z of the defects in e: the pair carries "
                                       "+|z| and -|z|; a single carrier its signed z (+1 a Li "
                                       "interstitial, -1 a Li vacancy)",
                                       check=lambda x: None if x != 0 else "must not be 0",
                                       bounds=(-6, 6)),
        "relative_permittivity": Param("number", None, "eps_r of the solid electrolyte",
                                       check=positive, bounds=(1.0, 1e5)),
        "potential_step": q("0.1 V", "V", "phi at the electrode against the bulk (or, with a "
                            "stern_capacitance, the electrode potential E)",
                            bounds=(-20.0, 20.0)),
        "stern_capacitance": q(None, "F/m^2", "C_S of a compact layer between electrode and "
                               "space charge: eps dphi/dn = C_S (E - phi); unset: none",
                               positive, (1e-6, 1e3)),
        "ramp_time": q("1 s", "s", "the step is ramped linearly from 0 over this time; "
                       "without defect_transport the run ends at its end (the steady "
                       "problem; the time series is the charge-voltage curve)", nonnegative),
        "far_boundary": Param("choice", "auto", "the reservoir face: semi_infinite (the "
                              "equilibrium layer continues beyond it, eps dphi/dn = -sigma(phi) "
                              "by the first integral: exact for a flat layer, so the domain may "
                              "be shorter than the layer), bulk (phi = 0 there), or auto "
                              "(semi_infinite; bulk with defect_transport, whose defects the "
                              "reservoir supplies)", choices=("auto", "semi_infinite", "bulk")),
    },
    "solver": {
        "max_layer_potential_update": Param("number", 4.0, "Newton step limiter of the space-"
                                            "charge potential, in RT/(zF)", check=positive,
                                            bounds=(1e-6, 1e6)),
    },
}

SIGNS = {"plus": 1.0, "minus": -1.0}  # the charge signs of a Frenkel pair


class NumpyOps:
    exp, ln, sqrt, abs, maximum = np.exp, np.log, np.sqrt, np.abs, np.maximum

    @staticmethod
    def where(condition, a, b):
        return np.where(condition, a, b)

    @staticmethod
    def positive(x):
        return x > 0


class UflOps:
    exp, ln, sqrt, abs, maximum, where = ufl.exp, ufl.ln, ufl.sqrt, abs, ufl.max_value, ufl.conditional

    @staticmethod
    def positive(x):
        return ufl.gt(x, 0)


# |psi| (RT/zF) below which the layer is linear (Debye): the first integral
# I(psi) = O(psi^2) is a sum of O(psi) terms, so its round-off is relative
# 1e-16/psi^2; the linear law errs by O(psi) ~ 1e-4
LINEAR_STEP = 1e-4


def softplus(x, ops):
    """ln(1 + e^x) without overflow."""
    return ops.maximum(x, 0.0) + ops.ln(1 + ops.exp(-ops.abs(x)))




def occupancy(u, alpha, log_a, ops):
    """theta = n/N = alpha / (1 + exp(log_a + u)) = alpha exp(-softplus(log_a + u)),
    u = s z e (phi - w) / kT: neither overflows nor cancels (1 - tanh did, for
    dilute defects: a formation energy of 0.9 eV lost all digits); `ops`:
    NumpyOps or UflOps."""
    return alpha * ops.exp(-softplus(log_a + u, ops))


def carrier_names(p) -> list:
    """The carriers of the internal parameters p: ["plus", "minus"] or ["plus"]."""
    return [k[len("sc_log_a_"):] for k in p if k.startswith("sc_log_a_")]


def theta(p, name, phi, w, ops):
    """n/N of carrier `name` at potential phi and its w (internal units)."""
    sign = SIGNS[name] if len(carrier_names(p)) == 2 else 1.0
    return occupancy(sign * p["sc_u"] * (phi - w), p["sc_alpha"], p[f"sc_log_a_{name}"], ops)


def charge(p, phi, ws, ops):
    """rho / (|z| e N): the carriers' signed occupancies and the background;
    ws: {carrier: w} of the carriers out of equilibrium."""
    rho = p.get("sc_background", 0.0)
    for name in carrier_names(p):
        rho = rho + p[f"sc_sign_{name}"] * theta(p, name, phi, ws.get(name, 0.0), ops)
    return rho


SERIES = 1e-4  # below this |argument| expm1 and log1p are their Taylor series


def expm1(x, ops):
    """e^x - 1 without cancellation (UFL has no expm1)."""
    return ops.where(ops.positive(SERIES - ops.abs(x)), x * (1 + x / 2 * (1 + x / 3 * (1 + x / 4))),
                     ops.exp(x) - 1)


def log1p(y, ops):
    """ln(1 + y) without cancellation (UFL has no log1p)."""
    return ops.where(ops.positive(SERIES - ops.abs(y)), y * (1 - y * (1 / 2 - y * (1 / 3 - y / 4))),
                     ops.ln(1 + y))


def occupancy_integral(x, u, ops):
    """ln(1 + u (e^x - 1)), 0 < u < 1, without cancellation (dilute u, small x)
    or overflow (x + ln(u + (1 - u) e^-x) above x = 600)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return ops.where(ops.positive(x - 600.0), x + ops.ln(u + (1 - u) * ops.exp(-x)),
                         log1p(u * expm1(x, ops), ops))


def semi_infinite_charge(p, psi, ops):
    """The electrode charge of a flat semi-infinite equilibrium layer whose
    potential steps by psi (internal units: charge |z| e N x0 per area,
    potential RT/(zF)): the first integral of Poisson's equation,
    sigma = sign(psi) sqrt(2 eps' |I(psi)|), I = int_0^psi rho' dphi, with
    int_0^psi alpha/(1 + A e^(a phi)) dphi = -(alpha/a) ln(1 + (theta0/alpha)(e^(-a psi) - 1))
    (theta0 the bulk occupancy); below LINEAR_STEP the Debye law
    sigma = sqrt(eps' |d rho'/d phi|) psi."""
    integral, k0 = p.get("sc_background", 0.0) * psi, 0.0
    for name in carrier_names(p):
        sign = SIGNS[name] if len(carrier_names(p)) == 2 else 1.0
        a, alpha = sign * p["sc_u"], p["sc_alpha"]
        theta0 = occupancy(0.0, alpha, p[f"sc_log_a_{name}"], ops)
        integral = integral - p[f"sc_sign_{name}"] * alpha / a * occupancy_integral(
            -a * psi, theta0 / alpha, ops)
        k0 = k0 + theta0 * (1 - theta0 / alpha) * abs(a)
    full = psi * ops.sqrt(2 * p["sc_screening"] * ops.abs(integral)) / (ops.abs(psi) + 1e-300)
    return ops.where(ops.positive(LINEAR_STEP - ops.abs(psi)), ops.sqrt(p["sc_screening"] * k0) * psi,
                     full)


def conductivity_ratio(p, phi, ops):
    """kappa(phi)/kappa_bulk: sum D_i n_i over its bulk value (the defects'
    Nernst-Einstein conductivity, w = 0)."""
    names = carrier_names(p)
    total = sum(p[f"sc_mobility_{n}"] * theta(p, n, phi, 0.0, ops) for n in names)
    return total / sum(p[f"sc_mobility_{n}"] * theta(p, n, 0.0, 0.0, ops) for n in names)


def resistance_length(p, psi, points=4000) -> float:
    """L_R = int_0^inf (kappa_b/kappa(x) - 1) dx of a flat semi-infinite layer
    stepping by psi (internal units): its resistance is that of L_R of bulk
    electrolyte.  With dx = dphi/|phi'| and |phi'| = |sigma(phi)|/eps' (the
    first integral), by the midpoint rule in phi (the integrand is finite at
    phi -> 0, where both vanish linearly)."""
    if psi == 0:
        return 0.0
    phi = psi * (np.arange(points) + 0.5) / points
    field = np.abs(semi_infinite_charge(p, phi, NumpyOps)) / p["sc_screening"]
    return float(np.sum((1 / conductivity_ratio(p, phi, NumpyOps) - 1) / field) * abs(psi) / points)


def carrier_errors(si) -> list:
    """The [space_charge] carrier keys that do not make a layer."""
    sc, errors = si["space_charge"], []
    if sc["relative_permittivity"] is None:
        lib = si["material"]["electrolyte"]
        why = (f" (the library's {lib} has no permittivity)" if lib else "")
        errors.append("[space_charge] relative_permittivity: not set; give eps_r of the "
                      f"solid electrolyte, or [electrolyte] permittivity{why}")
    if sc["carriers"] == "single":
        cb, sites = sc["background_concentration"], sc["available_site_fraction"] * sc["site_density"]
        if cb is None:
            errors.append("[space_charge] background_concentration: carriers = \"single\" "
                          "needs the immobile background's density, e.g. \"1e18 cm^-3\"")
        elif cb >= sites:
            errors.append(f"[space_charge] background_concentration: {cb:.4g} 1/m^3 must lie "
                          f"below the carriers' saturation density alpha N = {sites:.4g} 1/m^3")
    return errors


def carrier_inactive_keys(si) -> list:
    if si["space_charge"]["carriers"] == "frenkel_pair":
        return [("space_charge", ("background_concentration",), "carriers = \"frenkel_pair\"")]
    return [("space_charge", ("formation_energy",), "carriers = \"single\"")]


def permittivity_from_electrolyte(ctx):
    """[space_charge] relative_permittivity from [electrolyte] permittivity (the
    case's or the library electrolyte's) unless the case gives it."""
    si = ctx.si
    eps_r = si["electrolyte"]["permittivity"]
    if si["space_charge"]["relative_permittivity"] is None and eps_r is not None:
        ctx.put("space_charge", "relative_permittivity", eps_r, repr(eps_r),
                f"[electrolyte] permittivity ({ctx.provenance.get('electrolyte.permittivity', 'case file')})")


@register
class SpaceCharge(Block):
    name = "space_charge"
    order = 120
    params = PARAMS
    standalone_section = "space_charge"  # a case with only this section selects this block
    reads_keys_of = ("defect_transport",)  # (the diffusivities: the layer's resistance)
    unknowns = (Unknown("phi_sc", "V", update_limit="max_layer_potential_update", elliptic=True),)
    provides = ("defect_charge",)
    form_keys = (("space_charge", "carriers"), ("space_charge", "far_boundary"))
    result_files = ("space_charge.json", "space_charge_profile.csv")
    columns = ("potential_step_V", "surface_charge_C_m2", "layer_charge_C_m2",
               "capacitance_uF_cm2")

    # ---- the case ------------------------------------------------------------
    @classmethod
    def check(cls, si, given):
        sc, errors = si["space_charge"], carrier_errors(si)
        transport = "defect_transport" in si["model"]["blocks"]
        if not transport and si["time"]["end"] < sc["ramp_time"]:
            errors.append(f"[time] end: {si['time']['end']:g} s ends the steady problem before "
                          f"its step is applied in full ([space_charge] ramp_time = "
                          f"{sc['ramp_time']:g} s)")
        if transport and sc["far_boundary"] == "semi_infinite":
            errors.append("[space_charge] far_boundary: defect_transport needs \"bulk\" (or "
                          "\"auto\"): its reservoir supplies defects at the bulk's potential")
        return errors

    @staticmethod
    def semi_infinite_reservoir(si) -> bool:
        sc = si["space_charge"]
        return sc["far_boundary"] == "semi_infinite" or (
            sc["far_boundary"] == "auto" and "defect_transport" not in si["model"]["blocks"])

    @classmethod
    def inactive_keys(cls, si):
        return carrier_inactive_keys(si)

    @staticmethod
    def carriers(si) -> dict:
        """{name: (charge sign s, log A)} of the defects: theta = alpha/(1 + A e^(s u))."""
        sc = si["space_charge"]
        alpha, kT = sc["available_site_fraction"], BOLTZMANN * si["material"]["temperature"]
        if sc["carriers"] == "frenkel_pair":
            log_a = math.log(alpha) + sc["formation_energy"] / kT
            return {name: (sign, log_a) for name, sign in SIGNS.items()}
        theta_b = sc["background_concentration"] / sc["site_density"]
        return {"plus": (1.0, math.log(alpha / theta_b - 1))}

    @classmethod
    def bulk(cls, si) -> dict:
        """SI bulk values: carrier densities, d rho/d phi and the Debye length."""
        sc = si["space_charge"]
        kT, e = BOLTZMANN * si["material"]["temperature"], ELEMENTARY_CHARGE
        z, alpha, N = abs(sc["carrier_charge_number"]), sc["available_site_fraction"], sc["site_density"]
        n0 = {k: N * float(occupancy(0.0, alpha, la, NumpyOps)) for k, (s, la) in cls.carriers(si).items()}
        drho = -sum((z * e) ** 2 / kT * n * (1 - n / (alpha * N)) for n in n0.values())
        eps = sc["relative_permittivity"] * VACUUM_PERMITTIVITY
        return {"densities_m3": n0, "drho_dphi": drho, "debye_length_m": math.sqrt(-eps / drho)}


    @classmethod
    def layer_thickness(cls, si) -> float:
        """The layer's thinnest possible thickness at the electrode: |sigma| over
        the largest |rho| (the first integral's, at the full step), at most the
        bulk Debye length; what the first cells must resolve."""
        step, lam = si["space_charge"]["potential_step"], cls.bulk(si)["debye_length_m"]
        if not step:
            return lam
        s = case_scales(si)
        p, psi = cls.internal(si, s), step / s.unit("V")
        # sigma (|z| e N x0) over rho (|z| e N): a length in x0
        sigma = float(semi_infinite_charge(p, psi, NumpyOps))
        return min(abs(sigma / float(charge(p, psi, {}, NumpyOps))) * s.unit("m"), lam)

    @classmethod
    def derive(cls, ctx):
        """eps_r from [electrolyte] permittivity (the case's or the library
        electrolyte's); a built-in mesh whose uniform cells do not resolve the
        layer is graded: first_cell a tenth of the layer's thickness (unless
        the case gives it)."""
        si = ctx.si
        if not cls.selected(si):
            return []
        permittivity_from_electrolyte(ctx)
        g = si["geometry"]
        if (cls.check(si, ctx.given) or g["kind"] == "mesh" or not g["cells"]
                or g["first_cell"] is not None
                or ("geometry", "first_cell") in ctx.given):
            return []
        thickness = cls.layer_thickness(si)
        if g["length"] / g["cells"][0] <= thickness / 4:
            return []
        first = thickness / 10
        try:
            grading_ratio(g["length"], g["cells"][0], first)
        except MeshError:
            return []  # (resolution_checks warns)
        ctx.put("geometry", "first_cell", first, f"{first!r} m",
                f"derived: a tenth of the space-charge layer's thickness at the electrode "
                f"({thickness:.3g} m), which the uniform cells did not resolve")
        return []

    @classmethod
    def resolution_checks(cls, si, mesh):
        """The first cells must resolve the layer next to the electrode; the
        domain must hold the bulk's Debye length."""
        warnings = []
        if si["space_charge"]["relative_permittivity"] is None:
            return [], []
        thickness, lam = cls.layer_thickness(si), cls.bulk(si)["debye_length_m"]
        h = mesh.electrode_cell_size(thickness)
        if h > thickness / 4:
            warnings.append(f"[geometry]: cells of {h:.3g} m at the electrode do not resolve the "
                            f"space-charge layer (its thinnest thickness there, |sigma|/|rho|, is "
                            f"{thickness:.3g} m): the surface charge will be inaccurate; refine "
                            f"the mesh there to {thickness / 10:.2g} m")
        if mesh.extent[0] < 5 * lam and not cls.semi_infinite_reservoir(si):
            warnings.append(f"[geometry] length: {mesh.extent[0]:.3g} m is less than 5 Debye "
                            f"lengths ({lam:.3g} m): the layer is cut by the reservoir "
                            "(space_charge.json: far_field_ratio); far_boundary = "
                            "\"semi_infinite\" continues it beyond")
        return [], warnings

    @classmethod
    def internal(cls, si, s):
        sc = si["space_charge"]
        kT, e = BOLTZMANN * si["material"]["temperature"], ELEMENTARY_CHARGE
        z, N = sc["carrier_charge_number"], sc["site_density"]
        zq = abs(z) if sc["carriers"] == "frenkel_pair" else z
        phi0, x0 = s.unit("V"), s.unit("m")
        eps = sc["relative_permittivity"] * VACUUM_PERMITTIVITY
        charge_unit = abs(z) * e * N  # rho in units of |z| e N, sigma in |z| e N x0
        p = {"sc_screening": eps * phi0 / (charge_unit * x0 ** 2),  # 1/kappa, (lambda_N/x0)^2
             "sc_alpha": sc["available_site_fraction"],
             "sc_u": zq * e * phi0 / kT,  # z e phi/kT per internal volt
             "sc_step": s.to_internal(sc["potential_step"], "V"),
             "sc_ramp": s.to_internal(sc["ramp_time"], "s"),
             "sc_stern": sc["stern_capacitance"] is not None,
             "sc_open": cls.semi_infinite_reservoir(si),
             "sc_charge_unit_C_m2": charge_unit * x0}
        if sc["stern_capacitance"] is not None:
            p["sc_stern_capacitance"] = sc["stern_capacitance"] * phi0 / (charge_unit * x0)
        if sc["carriers"] == "single":  # the background, in units of |z| e N
            p["sc_background"] = -np.sign(z) * sc["background_concentration"] / N
        diffusivity = {"plus": sc["diffusivity_plus"], "minus": sc["diffusivity_minus"]}
        for name, (sign, log_a) in cls.carriers(si).items():
            p[f"sc_log_a_{name}"] = log_a
            p[f"sc_mobility_{name}"] = diffusivity[name] / diffusivity["plus"]
            # (ints stay Python numbers: not Constants of the forms)
            p[f"sc_sign_{name}"] = int(sign) * (int(np.sign(z)) if sc["carriers"] == "single" else 1)
        return p

    # ---- the problem ---------------------------------------------------------
    def setup(self, pb):
        from dolfinx import fem

        from .. import compat
        self.step_value = fem.Constant(pb.mesh, compat.scalar_type(0.0))
        self.names = carrier_names(pb.p)
        self.case_blocks = pb.case.si["model"]["blocks"]
        self.ramp_s = pb.case.si["space_charge"]["ramp_time"]

    def quantities(self):
        def defect_charge(s, lev):
            ws = {n: lev[f"w_{n}"] for n in self.names if f"w_{n}" in lev}
            return charge(s.p, lev["phi_sc"], ws, UflOps)
        return {"defect_charge": defect_charge}

    def residual(self, s):
        p, phi, v = s.p, s.u("phi_sc"), s.test("phi_sc")
        F = p["sc_screening"] * ufl.inner(ufl.grad(phi), ufl.grad(v)) * s.dx
        F -= s.u("defect_charge") * v * s.dx
        if p["sc_stern"]:
            F += p["sc_stern_capacitance"] * (phi - self.step_value) * v * s.ds["electrode"]
        if p["sc_open"]:  # the layer beyond holds sigma(phi): eps dphi/dn = -sigma(phi)
            F += semi_infinite_charge(p, phi, UflOps) * v * s.ds["reservoir"]
        return F

    def dirichlet(self, p):
        bcs = [] if p["sc_open"] else [("phi_sc", "reservoir", 0.0)]
        if not p["sc_stern"]:
            bcs.append(("phi_sc", "electrode", self.step_value))
        return bcs

    def initial(self, p):
        return {"phi_sc": lambda x: np.zeros(x.shape[1])}

    def before_solve(self, pb, t0, t1):
        ramp = pb.p["sc_ramp"]
        self.step_value.value = pb.p["sc_step"] * (min(1.0, t1 / ramp) if ramp > 0 else 1.0)

    def next_change(self, pb, t):
        return pb.p["sc_ramp"] if t < pb.p["sc_ramp"] * (1 - 1e-12) else math.inf

    # ---- results -------------------------------------------------------------
    def integrals(self, pb):
        s = pb.state
        if pb.p["sc_stern"]:  # sigma = C_S (E - phi)
            surface = (s.p["sc_stern_capacitance"] * (self.step_value - s.u("phi_sc"))
                       * s.ds["electrode"])
        else:
            surface = pb.boundary_flux("phi_sc", "electrode")
        if pb.p["sc_open"]:  # the charge of the layer's continuation beyond the reservoir face
            far = -semi_infinite_charge(s.p, s.u("phi_sc"), UflOps) * s.ds["reservoir"]
        else:
            far = pb.boundary_flux("phi_sc", "reservoir")
        return {"sc_surface_charge": surface, "sc_far_charge": far,
                "sc_layer_charge": s.u("defect_charge") * pb.dx}

    def record(self, pb, integrals, t, dt):
        unit = pb.p["sc_charge_unit_C_m2"] / pb.area
        step = pb.scales.to_si(float(self.step_value.value), "V")
        sigma = unit * integrals["sc_surface_charge"]
        self.last = {"potential_step_V": step, "surface_charge_C_m2": sigma,
                     "layer_charge_C_m2": unit * integrals["sc_layer_charge"],
                     "capacitance_uF_cm2": 100 * abs(sigma / step) if step else 0.0}
        self.far_charge = unit * integrals["sc_far_charge"]
        return dict(self.last)

    def stop(self, row):
        if "defect_transport" in self.case_blocks:
            return None
        if row["t_s"] >= self.ramp_s * (1 - 1e-12):
            return "steady state: the potential step applied in full"
        return None

    def nodal_theta(self, pb, name):
        """n/N of a carrier at the nodes (owned and ghost)."""
        w = pb.field_values(f"w_{name}") if f"w_{name}" in pb.index else 0.0
        return theta(pb.p, name, pb.field_values("phi_sc"), w, NumpyOps)

    def fields(self):
        def carrier(name):
            return lambda pb: pb.case.si["space_charge"]["site_density"] * self.nodal_theta(pb, name)

        def charge_density(pb):
            ws = {n: pb.field_values(f"w_{n}") for n in self.names if f"w_{n}" in pb.index}
            return (pb.p["sc_charge_unit_C_m2"] / pb.scales.unit("m")
                    * charge(pb.p, pb.field_values("phi_sc"), ws, NumpyOps))
        return ((Field("phi_sc", "V", lambda pb: pb.scales.to_si(pb.field_values("phi_sc"), "V")),)
                + tuple(Field(f"n_{name}", "1/m^3", carrier(name))
                        for name in getattr(self, "names", SIGNS))  # (all, before setup)
                + (Field("charge_density", "C/m^3", charge_density),))

    def differential_capacitance(self, pb) -> float:
        """d sigma / d step (F/m^2): the linearised problem for d phi/d step
        (1 at the electrode, or the Stern layer's drive), its electrode flux."""
        from dolfinx import fem
        from mpi4py import MPI

        from .. import compat
        p, Q = pb.coefficients, pb.Q
        phi = fem.Function(Q)
        phi.x.array[:] = pb.field_values("phi_sc")
        ws = {}
        for n in self.names:
            if f"w_{n}" in pb.index:
                ws[n] = fem.Function(Q)
                ws[n].x.array[:] = pb.field_values(f"w_{n}")
        d, v = ufl.TrialFunction(Q), ufl.TestFunction(Q)
        rho = charge(p, phi, ws, UflOps)

        def linear(f, v):
            """The Poisson residual linearised about phi, in the direction f."""
            return (p["sc_screening"] * ufl.inner(ufl.grad(f), ufl.grad(v)) * pb.dx
                    - ufl.derivative(rho, phi, f) * v * pb.dx)
        fdim = pb.ndim - 1
        dofs = {b: fem.locate_dofs_topological(Q, fdim, pb.facets[b]) for b in ("electrode", "reservoir")}
        bcs = [] if pb.p["sc_open"] else [fem.dirichletbc(compat.scalar_type(0.0), dofs["reservoir"], Q)]
        a, L = linear(d, v), fem.Constant(pb.mesh, compat.scalar_type(0.0)) * v * pb.dx
        if pb.p["sc_open"]:
            tail = semi_infinite_charge(p, phi, UflOps)
            a += ufl.derivative(tail, phi, d) * v * pb.ds["reservoir"]
        if pb.p["sc_stern"]:
            a += p["sc_stern_capacitance"] * d * v * pb.ds["electrode"]
            L += p["sc_stern_capacitance"] * v * pb.ds["electrode"]
        else:
            bcs.append(fem.dirichletbc(compat.scalar_type(1.0), dofs["electrode"], Q))
        sens = compat.solve_linear(a, L, bcs, {"ksp_type": "preonly", "pc_type": "lu",
                                               "pc_factor_mat_solver_type": "mumps"})
        if pb.p["sc_stern"]:
            flux = p["sc_stern_capacitance"] * (1 - sens) * pb.ds["electrode"]
        else:
            indicator = fem.Function(Q)
            indicator.x.array[dofs["electrode"]] = 1.0
            flux = linear(sens, indicator)
        dsigma = pb.comm.allreduce(fem.assemble_scalar(fem.form(flux)), op=MPI.SUM)
        return pb.p["sc_charge_unit_C_m2"] / pb.area * dsigma / pb.scales.unit("V")

    def profile(self, pb) -> dict | None:
        """On rank 0: {column: array} of the nodes sorted by x, values averaged
        over nodes of one x (a flat layer's profile in 2-D); None elsewhere."""
        n = pb.Q.dofmap.index_map.size_local
        x = pb.Q.tabulate_dof_coordinates()[:n, 0] * pb.scales.unit("m")
        ws = {m: pb.field_values(f"w_{m}")[:n] for m in self.names if f"w_{m}" in pb.index}
        phi = pb.field_values("phi_sc")[:n]
        cols = {"x_m": x, "phi_V": pb.scales.to_si(phi, "V")}
        N = pb.case.si["space_charge"]["site_density"]
        for m in self.names:
            cols[f"n_{m}_m3"] = N * theta(pb.p, m, phi, ws.get(m, 0.0), NumpyOps)
        cols["charge_density_C_m3"] = (pb.p["sc_charge_unit_C_m2"] / pb.scales.unit("m")
                                       * charge(pb.p, phi, ws, NumpyOps))
        gathered = pb.comm.gather(cols, root=0)
        if pb.comm.rank != 0:
            return None
        allx = np.concatenate([g["x_m"] for g in gathered])
        key = np.round(allx / (1e-9 * max(np.ptp(allx), 1e-300))).astype(np.int64)
        uniq, inverse = np.unique(key, return_inverse=True)
        out = {}
        for c in cols:
            values = np.concatenate([g[c] for g in gathered])
            out[c] = np.bincount(inverse, values) / np.bincount(inverse)
        return out

    @staticmethod
    def decay_width(x, phi) -> float | None:
        """Where phi first falls to 1/e of its electrode value (linear between
        nodes); None if it does not inside the domain."""
        ratio = phi / phi[0] if phi[0] else np.zeros_like(phi)
        below = np.nonzero(ratio <= math.exp(-1))[0]
        if not len(below):
            return None
        i = below[0]
        return float(x[i - 1] + (x[i] - x[i - 1]) * (ratio[i - 1] - math.exp(-1))
                     / (ratio[i - 1] - ratio[i]))

    def final_results(self, pb) -> dict:
        """space_charge.json and space_charge_profile.csv (rank 0 writes them)."""
        c_d = self.differential_capacitance(pb)
        prof = self.profile(pb)
        if prof is None:
            return {}
        si = pb.case.si
        sc, e, bulk = si["space_charge"], ELEMENTARY_CHARGE, self.bulk(si)
        sigma, step = self.last["surface_charge_C_m2"], self.last["potential_step_V"]
        diffuse = float(prof["phi_V"][0])
        kT, z = BOLTZMANN * si["material"]["temperature"], sc["carrier_charge_number"]
        mobility = {n: sc[f"diffusivity_{n}"] * n0 for n, n0 in bulk["densities_m3"].items()}
        kappa_b = (z * e) ** 2 / kT * sum(mobility.values())
        ratio = sum(sc[f"diffusivity_{n}"] * prof[f"n_{n}_m3"] for n in mobility) / sum(mobility.values())
        excess = 1 / ratio - 1  # kappa_b/kappa - 1 along x
        resistance_length = float(np.sum(0.5 * (excess[1:] + excess[:-1]) * np.diff(prof["x_m"])))
        summary = {
            "surface_charge_C_m2": sigma,
            "surface_charge_e_nm2": sigma / e * 1e-18,
            "layer_charge_C_m2": self.last["layer_charge_C_m2"],
            "capacitance_uF_cm2": self.last["capacitance_uF_cm2"],
            "differential_capacitance_uF_cm2": 100 * c_d,
            "debye_length_m": bulk["debye_length_m"],
            "width_m": self.decay_width(prof["x_m"], prof["phi_V"]),
            "potential_step_V": step,
            "diffuse_layer_step_V": diffuse,
            "bulk_densities_m3": bulk["densities_m3"],
            "far_field_ratio": abs(self.far_charge / sigma) if sigma else 0.0,
            "bulk_conductivity_S_m": kappa_b,
            "layer_resistance_length_m": resistance_length,
            "layer_resistance_ohm_cm2": 1e4 * resistance_length / kappa_b,
            "neutrality_C_m2": sigma + self.far_charge + self.last["layer_charge_C_m2"],
            "sign_convention": "phi is the electrostatic potential of the electrode against "
                               "the bulk; surface_charge is the electrode's (Grahame's sign), "
                               "the layer holds layer_charge = -surface_charge",
            "inputs": {"carriers": sc["carriers"], "site_density_m3": sc["site_density"],
                       "available_site_fraction": sc["available_site_fraction"],
                       "formation_energy_eV": sc["formation_energy"] / e,
                       "background_concentration_m3": sc["background_concentration"],
                       "carrier_charge_number": sc["carrier_charge_number"],
                       "relative_permittivity": sc["relative_permittivity"],
                       "stern_capacitance_F_m2": sc["stern_capacitance"],
                       "temperature_K": si["material"]["temperature"]},
        }
        return {"space_charge.json": summary, "space_charge_profile.csv": prof}
