"""The metal and the solid electrolyte as solids under stack pressure:
small-strain elasticity, with power-law (Norton) creep in the metal
(issue 38, part 1).  Quasi-static equilibrium

    div sigma = 0,    sigma = h sigma_m + (1 - h) sigma_e,
    sigma_m = C_m : (eps_m - eps_cr),    sigma_e = C_e : eps_e,

the phases mixed by the metal fraction h (h = 1 without a phase field) as
a laminate normal to the interface, their strains eps(u) plus a jump that
keeps the traction continuous (phase_stresses), C isotropic from Young's
modulus and Poisson's ratio ([metal] and [electrolyte] keys, from the
library where a source gives them; a missing one is refused before the
run).  The creep strain is the metal's, deviatoric (incompressible flow),
and follows Norton's law in its reference form (von Mises flow rule),
driven by the metal's own stress:

    d eps_cr/dt = h (3/2) rate0 (sigma_vm/sigma0)^(n-1) dev(sigma_m)/sigma0,
    sigma_vm = sqrt(3/2 dev(sigma_m):dev(sigma_m)),

so that a uniaxial stress sigma creeps at rate0 (sigma/sigma0)^n (e.g.
Masias et al., J. Mater. Sci. 54 (2019) 2585; LePage et al., J. Electrochem.
Soc. 166 (2019) A89 for Li).  Creep only in the metal: the electrolyte is
elastic.

Unknowns: the displacement's components u_x (, u_y, u_z) on the geometry's
dimension, and the creep strain's independent components (its trace is
zero): 1-D (uniaxial strain) creep_xx, with yy = zz = -xx/2; 2-D (plane
strain) creep_xx, creep_yy, creep_xy, with zz = -(xx + yy); 3-D also
creep_xz, creep_yz.  The creep strain is a nodal internal variable: its
equation is integrated on the vertices (lumped), with the stress of the
cells around the vertex.

Boundary: the stack pressure p on [mechanics] pressure_face (traction
-p n, n the outward normal; raised linearly over pressure_ramp_time); on
each face of [mechanics] roller_faces (each axis held by one) the
normal displacement is zero (a built-in shape's faces: electrode and
reservoir are normal to x, bottom and top to y, front and back to z);
every other face is free of traction.
Provides hydrostatic_pressure, the metal's -tr(sigma_m)/3 (compressive
positive; what closes voids by creep), and interface_normal_pressure,
-n.sigma.n on the interface, which the mechanical_overpotential block adds
to the reaction's driving force.
Results: the pressed face's mean normal displacement (into the body
positive), the metal's mean hydrostatic pressure and its largest
equivalent creep strain, past [mechanics] small_strain_limit a stop; the fields
displacement_x (, _y, _z), von_mises_stress and pressure.
"""
from __future__ import annotations

import numpy as np
import ufl

from ..blocks import Block, Field, Unknown, register
from ..geometry import DIMENSION, FACES
from ..schema import Param, positive, q
from .charge_transfer import optional

AXES = "xyz"
# independent creep components per dimension (the trace is zero)
CREEP = {1: ("xx",), 2: ("xx", "yy", "xy"), 3: ("xx", "yy", "xy", "xz", "yz")}
# the Newton tolerance of the displacement and the creep strain, a fraction
# of [solver] newton_tolerance: the test |J_ii^-1 F_i| < tol bounds the
# displacement's update in units of the length scale (1 um: 1 pm at the
# generic 1e-6) while a stack pressure's elastic displacement is nanometres,
# and the creep strain's absolutely, while it is 1e-4 to 1e-2.  At 1e-6 (factor 1) a plane-strain creep run's
# face displacement differed by 4.5e-7 (relative) between 1 and 2 ranks, at
# 1e-9 by 6e-11 (measured)
MECHANICS_TOLERANCE = 1e-3
# |grad h| (internal, 1/length) below which the interface normal fades out
NORMAL_FLOOR = 1e-6
# a built-in face: the axis of its normal
FACE_AXIS = {face: i // 2 for i, face in enumerate(FACES)}


def poisson_ratio(x):
    return None if -1 < x < 0.5 else "must lie strictly between -1 and 0.5"


PARAMS = {
    "mechanics": {
        "stack_pressure": q("1 MPa", "Pa", "p, the pressure on pressure_face (traction -p n)",
                            bounds=(-1e10, 1e10)),
        "pressure_face": Param("face", "electrode", "the face the stack pressure acts on"),
        "pressure_ramp_time": q("0 s", "s", "the stack pressure rises linearly from 0 over "
                                "this time (0: applied at once); a high pressure on a fast-"
                                "creeping metal needs a ramp (its creep starts too stiff to "
                                "solve in one step)", bounds=(0.0, 1e10)),
        "roller_faces": Param("str_list", None, "faces whose normal displacement is zero "
                              "(built-in shapes only); default: every face but pressure_face"),
        "small_strain_limit": Param("number", 0.1, "the run stops when the metal's equivalent "
                                    "creep strain exceeds it anywhere: past it the block's "
                                    "small-strain kinematics does not hold (a free face lets "
                                    "the metal flow out)", bounds=(1e-6, 10.0)),
    },
    # (the library's values for a named metal or electrolyte, where measured)
    "metal": {
        "youngs_modulus": q(None, "Pa", "E_m (the metal_mechanics block)", positive,
                            (1e6, 1e13)),
        "poisson_ratio": Param("number", None, "nu_m (the metal_mechanics block)",
                               check=poisson_ratio),
        "creep_stress_exponent": Param("number", None, "n of the metal's Norton creep law "
                                       "(the metal_mechanics block)", bounds=(1.0, 20.0)),
        "creep_reference_stress": q(None, "Pa", "sigma0: a uniaxial stress of the creep law, "
                                    "at which the metal creeps at creep_reference_rate",
                                    positive, (1.0, 1e10)),
        "creep_reference_rate": q(None, "1/s", "rate0: the metal's uniaxial creep rate at "
                                  "creep_reference_stress; 0: an elastic metal",
                                  bounds=(0.0, 1e6)),
    },
    "electrolyte": {
        "poisson_ratio": Param("number", None, "nu_e (the metal_mechanics block)",
                               check=poisson_ratio),
    },
}
# what the block needs of each section, and of the electrolyte only with a phase field
NEEDED = (("metal", "youngs_modulus"), ("metal", "poisson_ratio"),
          ("metal", "creep_reference_rate"))
CREEP_LAW = (("metal", "creep_stress_exponent"), ("metal", "creep_reference_stress"))
ELECTROLYTE = (("electrolyte", "youngs_modulus"), ("electrolyte", "poisson_ratio"))


def dimension(si) -> int:
    """The geometry's dimension (a mesh file's, refused by check, counts as 2)."""
    return DIMENSION.get(si["geometry"]["kind"], 2)


def strain_3d(grad_u, d, hoop=0):
    """The small strain (3 x 3) of a displacement gradient (d x d), the
    missing directions held (uniaxial strain in 1-D, plane strain in 2-D),
    or, axisymmetric, the hoop strain u_r/r in the third."""
    e = [[0, 0, 0], [0, 0, 0], [0, 0, hoop]]
    for i in range(d):
        for j in range(d):
            e[i][j] = 0.5 * (grad_u[i, j] + grad_u[j, i])
    return ufl.as_matrix(e)


def creep_3d(c, d):
    """The creep strain (3 x 3, trace zero) from its independent components."""
    if d == 1:
        return ufl.as_matrix([[c["xx"], 0, 0], [0, -c["xx"] / 2, 0], [0, 0, -c["xx"] / 2]])
    xz, yz = (c["xz"], c["yz"]) if d == 3 else (0, 0)
    return ufl.as_matrix([[c["xx"], c["xy"], xz], [c["xy"], c["yy"], yz],
                          [xz, yz, -c["xx"] - c["yy"]]])


def deviator(t):
    return t - ufl.tr(t) / 3 * ufl.Identity(3)


@register
class MetalMechanics(Block):
    name = "metal_mechanics"
    axisymmetric = True  # (the hoop strain u_r/r: strains())
    order = 150
    params = PARAMS
    columns = ("pressed_face_displacement_m", "metal_mean_pressure_Pa", "max_creep_strain")
    provides = ("hydrostatic_pressure", "interface_normal_pressure")

    @classmethod
    def case_unknowns(cls, si):
        d = dimension(si)
        return (tuple(Unknown(f"u_{a}", "m", elliptic=True, tolerance=MECHANICS_TOLERANCE)
                      for a in AXES[:d])
                + tuple(Unknown(f"creep_{c}", "1", tolerance=MECHANICS_TOLERANCE)
                        for c in CREEP[d]))

    @classmethod
    def rollers(cls, si) -> list:
        m = si["mechanics"]
        faces = [f for f in FACES[:2 * dimension(si)] if f != m["pressure_face"]]
        return faces if m["roller_faces"] is None else list(m["roller_faces"])

    @classmethod
    def check(cls, si, given):
        needed = NEEDED + (CREEP_LAW if si["metal"]["creep_reference_rate"] else ())
        needed += ELECTROLYTE if "phase_field" in si["model"]["blocks"] else ()
        metal = si["material"]["metal"] or "this metal"
        lacking = [f"[{section}] {key}: the metal_mechanics block needs it, and the "
                   f"library has none for {si['material']['electrolyte'] or 'this electrolyte'}"
                   if section == "electrolyte" else
                   f"[{section}] {key}: the metal_mechanics block needs it, and the library has "
                   f"none for {metal}" + (" (0 1/s: an elastic metal)"
                                          if key == "creep_reference_rate" else "")
                   for section, key in needed if si[section][key] is None]
        if lacking:
            return lacking
        if si["geometry"]["kind"] not in DIMENSION or si["geometry"]["kind"] == "point":
            return [f"[geometry] kind = {si['geometry']['kind']!r}: the metal_mechanics block "
                    "needs a built-in shape (interval, rectangle or box), whose faces have axes"]
        built_in = FACES[:2 * dimension(si)]
        rollers, pressed = cls.rollers(si), si["mechanics"]["pressure_face"]
        bad = [f for f in rollers if f not in built_in]
        if bad:
            return [f"[mechanics] roller_faces: the geometry has no face {bad[0]!r}; its faces: "
                    f"{', '.join(built_in)}"]
        if pressed in rollers:
            return [f"[mechanics] roller_faces: holds {pressed!r}, the pressure_face, still: the "
                    "stack pressure would do nothing; leave it out"]
        if si["geometry"]["axisymmetric"] and "bottom" not in rollers:
            return ["[mechanics] roller_faces / pressure_face: in an axisymmetric geometry the "
                    "bottom face is the axis, where u_r = 0: keep 'bottom' a roller (and press "
                    "another face)"]
        free = [AXES[axis] for axis in range(dimension(si))
                if not any(FACE_AXIS[f] == axis for f in rollers)]
        if free:
            return [f"[mechanics] roller_faces: nothing holds the body along {', '.join(free)} "
                    f"(rollers {rollers}): it could slide freely; add a face normal to each axis, "
                    f"e.g. {[f for f in built_in if FACE_AXIS[f] == AXES.index(free[0])][-1]!r}"]
        return []

    @classmethod
    def warnings(cls, si):
        """A face neither pressed nor a roller, with a creeping metal and a
        phase-field interface: measured to end the run, the creep strain
        blowing up at the bonded edge (docs/mechanics.md, "A free face")."""
        m = si["mechanics"]
        free = [f for f in FACES[:2 * dimension(si)]
                if f != m["pressure_face"] and f not in cls.rollers(si)]
        if not (free and si["metal"]["creep_reference_rate"]
                and "phase_field" in si["model"]["blocks"]):
            return []
        return [f"[mechanics] roller_faces: the face(s) {', '.join(free)} are free: the "
                "creeping metal bonded to the electrolyte flows out there and shears the "
                "diffuse interface; Li at 2 MPa (with an assumed creep law) stopped \"small "
                "strain exceeded\" within 0.9 s in 2-D and in a cylinder, its creep strain "
                "blowing up at the bonded edge (measured, docs/mechanics.md \"A free face\"); "
                "hold them (roller_faces) unless you study that flow"]

    @classmethod
    def internal(cls, si, s):
        m, e = si["metal"], si["electrolyte"]
        rate0 = m["creep_reference_rate"]
        # (an elastic metal's creep law, and the electrolyte without a phase
        # field, enter no result: placeholders)
        sigma0 = m["creep_reference_stress"] if rate0 else 1.0
        return {"mech_p": s.to_internal(si["mechanics"]["stack_pressure"], "Pa"),
                "mech_E_m": s.to_internal(m["youngs_modulus"], "Pa"),
                "mech_E_e": s.to_internal(e["youngs_modulus"] or m["youngs_modulus"], "Pa"),
                "mech_nu_m": m["poisson_ratio"],
                "mech_nu_e": e["poisson_ratio"] if e["poisson_ratio"] is not None
                else m["poisson_ratio"],
                "mech_n": m["creep_stress_exponent"] if rate0 else 1.0,
                "mech_sigma0": s.to_internal(sigma0, "Pa"),
                "mech_rate0": s.to_internal(rate0, "1/s")}

    def setup(self, pb):
        from dolfinx import fem

        from .. import compat
        self.one = fem.Constant(pb.mesh, compat.scalar_type(1.0))  # (integrand of an area)
        self.ramp = pb.scales.to_internal(pb.case.si["mechanics"]["pressure_ramp_time"], "s")
        # the pressure now (before_solve moves it along its ramp)
        self.pressure = fem.Constant(pb.mesh, compat.scalar_type(
            0.0 if self.ramp > 0 else float(pb.p["mech_p"])))
        self.d = pb.ndim
        self.radius, self.axis_cells = pb.radius, pb.axis_cells  # (axisymmetric: _hoop)
        self.nodal_forms = {}  # (compiled once per stress measure: nodal)
        self.pressure_face = pb.case.si["mechanics"]["pressure_face"]
        self.roller_faces = self.rollers(pb.case.si)
        self.small_strain_limit = pb.case.si["mechanics"]["small_strain_limit"]

    def strains(self, lev):
        """(total strain, creep strain), 3 x 3, on a level dict."""
        d = self.d
        u = ufl.as_vector([lev[f"u_{a}"] for a in AXES[:d]])
        grad_u = ufl.grad(u) if d > 1 else ufl.as_matrix([[ufl.grad(lev["u_x"])[0]]])
        return (strain_3d(grad_u, d, self._hoop(lev["u_y"] if d > 1 else 0)),
                creep_3d({c: lev[f"creep_{c}"] for c in CREEP[d]}, d))

    def _hoop(self, u_r):
        """u_r/r axisymmetric, else 0.  In the cells on the axis du_r/dr,
        which is u_r/r there exactly (u_r = 0 on the axis, so a bilinear u_r
        is r times a function of x) and finite at the vertices r = 0 that
        the lumped quadrature evaluates (an indicator, not a conditional:
        FFCx cannot factor a test function inside one)."""
        if self.radius is None:
            return 0
        on_axis = self.axis_cells
        return on_axis * ufl.grad(u_r)[1] + (1 - on_axis) * u_r / (self.radius + on_axis)

    @staticmethod
    def lame(E, nu):
        return E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))

    @classmethod
    def phase_stress(cls, E, nu, strain, creep=None):
        """lambda tr(e) I + 2 mu (e - creep) of one phase.  (tr(creep) = 0, so
        the trace is the total strain's: written so, the Jacobian has no term
        that cancels to zero, which FFCx 0.5 cannot compile.)"""
        lam, mu = cls.lame(E, nu)
        elastic = strain if creep is None else strain - creep
        return lam * ufl.tr(strain) * ufl.Identity(3) + 2 * mu * elastic

    def phase_stresses(self, s, lev):
        """(h, sigma_m, sigma_e): the metal fraction and each phase's own
        stress (3 x 3, internal units E0 = RT/V_m) on a level dict.

        In the interface the phases are a laminate normal to n = grad h/|grad h|
        (a rank-one mixture: Mosler, Shchyglo & Montazer Hojjat, J. Mech. Phys.
        Solids 68 (2014) 251; Schneider et al., Comput. Mech. 55 (2015) 887):
        their strains differ by a jump sym(a x n), eps_m = eps + (1 - h)
        sym(a x n), eps_e = eps - h sym(a x n), with a such that the
        traction is continuous, sigma_m n = sigma_e n.  For isotropic phases a
        = A^-1 (sigma_e(eps) - sigma_m(eps)) n with A = a1 I + a2 n n,
        a1 = (1 - h) mu_m + h mu_e, a2 = (1 - h)(lambda_m + mu_m) + h
        (lambda_e + mu_e), inverted in closed form.  So the metal's own
        stress through the interface is the one its bulk has, not the equal
        strain's (Voigt), which the electrolyte 20 times stiffer set: with
        Voigt strains a 1-D film's rest potential came out at 0.80 of
        -V_m p_h/(zF), and at 0.63 once crept (measured)."""
        p = s.p
        strain, creep = self.strains(lev)
        h = optional(s, "metal_fraction", lev, None)
        if h is None:  # (no phase field: metal everywhere)
            return 1.0, self.phase_stress(p["mech_E_m"], p["mech_nu_m"], strain, creep), None
        n = self.interface_normal(h)
        lam_m, mu_m = self.lame(p["mech_E_m"], p["mech_nu_m"])
        lam_e, mu_e = self.lame(p["mech_E_e"], p["mech_nu_e"])
        a1 = (1 - h) * mu_m + h * mu_e
        a2 = (1 - h) * (lam_m + mu_m) + h * (lam_e + mu_e)
        mismatch = ufl.dot(self.phase_stress(p["mech_E_e"], p["mech_nu_e"], strain)
                           - self.phase_stress(p["mech_E_m"], p["mech_nu_m"], strain, creep), n)
        jump = (mismatch - a2 / (a1 + a2 * ufl.dot(n, n)) * ufl.dot(n, mismatch) * n) / a1
        rank_one = 0.5 * (ufl.outer(jump, n) + ufl.outer(n, jump))
        metal = self.phase_stress(p["mech_E_m"], p["mech_nu_m"], strain + (1 - h) * rank_one,
                                  creep)
        electrolyte = self.phase_stress(p["mech_E_e"], p["mech_nu_e"], strain - h * rank_one)
        return h, metal, electrolyte

    def interface_normal(self, h):
        """n = grad h/|grad h| (3 components), faded out where |grad h| is
        below NORMAL_FLOOR (the bulk phases, where no interface is)."""
        g = ufl.grad(h)
        g3 = ufl.as_vector([g[i] if i < self.d else 0 for i in range(3)])
        return g3 / ufl.sqrt(ufl.dot(g3, g3) + NORMAL_FLOOR ** 2)

    def normal_pressure(self, s, lev):
        """-n.sigma.n, the normal traction on the interface (compressive
        positive; internal units E0), going over to the pressure
        -tr(sigma)/3 where the normal fades (|n| < 1, the bulk phases).
        The laminate keeps the traction equal in both phases (n.sigma_m.n
        = n.sigma_e.n = n.sigma.n), so it is continuous through the
        diffuse interface, unlike the metal's own hydrostatic pressure,
        whose in-plane stresses depend on how far the metal has crept
        there."""
        sigma = self.stress(s, lev)
        n = self.interface_normal(s.at("metal_fraction", lev))
        return -ufl.dot(n, ufl.dot(sigma, n)) - (1 - ufl.dot(n, n)) * ufl.tr(sigma) / 3

    def stress(self, s, lev):
        """sigma = h sigma_m + (1 - h) sigma_e on a level dict.  The creep
        strain acts only through the metal's share: where the metal is
        stripped away the electrolyte left there carries none of it (with
        the creep strain in the mixture's elastic strain it kept the crept
        film's stress, 5.26 against the electrolyte's 2.84 MPa, measured)."""
        h, metal, electrolyte = self.phase_stresses(s, lev)
        return metal if electrolyte is None else h * metal + (1 - h) * electrolyte

    def creep_rate(self, s, lev):
        """Norton's d eps_cr/dt (3 x 3) on a level dict, driven by the metal's
        own stress (driven by the mixture's, which the stiff electrolyte
        dominates in the interface, a 2-D stripping front under 5 MPa needed
        dt < 1e-6 s and gave up, measured), interpolated by h into the
        interface."""
        p = s.p
        h, metal, _ = self.phase_stresses(s, lev)
        dev = deviator(metal) / p["mech_sigma0"]
        # (sigma_vm/sigma0)^(n-1), written without the square root (smooth at 0)
        scale = (1.5 * ufl.inner(dev, dev) + 1e-30) ** ((p["mech_n"] - 1) / 2)
        return h * 1.5 * p["mech_rate0"] * scale * dev

    def quantities(self):
        # the metal's own -tr(sigma_m)/3, compressive positive (internal: E0 = RT/V_m)
        return {"hydrostatic_pressure":
                lambda s, lev: -ufl.tr(self.phase_stresses(s, lev)[1]) / 3,
                "interface_normal_pressure": self.normal_pressure}

    def residual(self, s):
        d = self.d
        lev = s.levels[0]
        sigma = self.stress(s, lev)
        v = ufl.as_vector([s.test(f"u_{a}") for a in AXES[:d]])
        grad_v = ufl.grad(v) if d > 1 else ufl.as_matrix([[ufl.grad(s.test("u_x"))[0]]])
        F = ufl.inner(sigma, strain_3d(grad_v, d, self._hoop(v[1] if d > 1 else 0))) * s.dx
        n = ufl.FacetNormal(s.dx.ufl_domain())
        F += self.pressure * ufl.dot(n, v) * s.ds[self.pressure_face]
        rate = self.creep_rate(s, lev)
        for c in CREEP[d]:
            i, j = AXES.index(c[0]), AXES.index(c[1])
            F += (s.ddt(lambda lv, c=c: lv[f"creep_{c}"]) - rate[i, j]) \
                * s.test(f"creep_{c}") * s.dxl
        return F

    # the end of the ramp is a kink of the load, not a jump
    data_jumps = False

    def before_solve(self, pb, t0, t1):
        """The stack pressure at the step's end, p min(t1 / ramp, 1)."""
        if self.ramp > 0:
            self.pressure.value = float(pb.p["mech_p"]) * min(t1 / self.ramp, 1.0)

    def next_change(self, pb, t):
        return self.ramp if t < self.ramp else float("inf")

    def dirichlet(self, p):
        return [(f"u_{AXES[FACE_AXIS[face]]}", face, 0.0) for face in self.roller_faces]

    def initial(self, p):
        return {u.name: (lambda x: np.zeros(x.shape[1])) for u in self.unknowns}

    def error_indicators(self, p, nodal):
        """The creep strain as the stress it relieves, 2 mu_m eps_cr / sigma0:
        the strain itself (1e-4) passed the stepper's test |q - q_pred| /
        (1 + |q|) with errors of 1e-5, 0.1 MPa of stress, and BDF2 overshot
        the relaxation of a confined Li film (hydrostatic pressure 5.37 MPa under
        5 MPa, measured)."""
        weight = float(p["mech_E_m"]) / (1 + float(p["mech_nu_m"])) / float(p["mech_sigma0"])
        return {f"creep_{c}": weight * nodal[f"creep_{c}"] for c in CREEP[self.d]}

    def integrals(self, pb):
        s, lev = pb.state, pb.state.levels[0]
        axis = FACE_AXIS[self.pressure_face]
        n = ufl.FacetNormal(pb.mesh)
        h = optional(s, "metal_fraction", lev, self.one)
        pressure = s.at("hydrostatic_pressure", lev)
        return {"mech_face_u": -lev[f"u_{AXES[axis]}"] * n[axis] * s.ds[self.pressure_face],
                "mech_face_area": self.one * s.ds[self.pressure_face],
                "mech_metal_pressure": h * pressure * s.dx,
                "mech_metal_volume": h * s.dx}

    def record(self, pb, integrals, t, dt):
        sc = pb.scales
        volume = integrals["mech_metal_volume"]
        return {"pressed_face_displacement_m":
                sc.to_si(integrals["mech_face_u"] / integrals["mech_face_area"], "m"),
                "metal_mean_pressure_Pa": sc.to_si(integrals["mech_metal_pressure"] / volume, "Pa")
                if volume > 0 else float("nan"),
                "max_creep_strain": self.max_creep_strain(pb)}

    def max_creep_strain(self, pb) -> float:
        """The largest equivalent creep strain sqrt(2/3 eps_cr : eps_cr) at a
        node (the uniaxial strain of a uniaxial creep)."""
        from mpi4py import MPI
        c = {name: pb.field_values(f"creep_{name}") for name in CREEP[self.d]}
        if self.d == 1:
            squared = 1.5 * c["xx"] ** 2
        else:
            squared = (c["xx"] ** 2 + c["yy"] ** 2 + (c["xx"] + c["yy"]) ** 2
                       + 2 * sum(c[k] ** 2 for k in ("xy", "xz", "yz") if k in c))
        local = float(np.sqrt(2 / 3 * squared).max(initial=0.0))
        return pb.comm.allreduce(local, op=MPI.MAX)

    def stop(self, row):
        if row["max_creep_strain"] > self.small_strain_limit:
            return (f"small strain exceeded: the metal's creep strain reached "
                    f"{row['max_creep_strain']:.3g} (> [mechanics] small_strain_limit "
                    f"{self.small_strain_limit:g}), which small-strain mechanics cannot follow; "
                    f"a free face lets the metal flow out: hold it (roller_faces), or lower the "
                    f"pressure or the time")
        return None

    def fields(self):
        axes = [u.name[2:] for u in self.unknowns if u.name.startswith("u_")]
        return tuple(Field(f"displacement_{a}", "m",
                           lambda pb, a=a: pb.field_values(f"u_{a}") * pb.scales.unit("m"))
                     for a in axes) + (
            Field("von_mises_stress", "Pa", lambda pb: self.nodal(pb, "von_mises")),
            Field("pressure", "Pa", lambda pb: self.nodal(pb, "pressure")))

    def nodal(self, pb, which):
        """A stress measure at the nodes (SI): its cell values averaged onto
        the vertices by lumped (vertex) quadrature."""
        from dolfinx import fem
        from dolfinx.fem import petsc
        from petsc4py import PETSc
        s, lev = pb.state, pb.state.levels[0]
        sigma = self.stress(s, lev)
        value = (ufl.sqrt(1.5 * ufl.inner(deviator(sigma), deviator(sigma)))
                 if which == "von_mises" else -ufl.tr(sigma) / 3)
        w = ufl.TestFunction(pb.Q)
        forms = self.nodal_forms
        if which not in forms:
            forms[which] = (fem.form(value * w * s.dxl), fem.form(w * s.dxl))
        values = []
        for form in forms[which]:
            vec = petsc.assemble_vector(form)
            vec.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            vec.ghostUpdate(addv=PETSc.InsertMode.INSERT, mode=PETSc.ScatterMode.FORWARD)
            with vec.localForm() as local:
                values.append(local.array.copy())
            vec.destroy()
        return values[0] / values[1] * pb.scales.unit("Pa")
