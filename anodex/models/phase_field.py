"""Allen-Cahn phase field of the metal (eta = 1) / electrolyte (eta = 0).

    d eta/dt = -L (W g'(eta) - kappa lap eta) + noise

(Chen et al. 2015, eq. 5 without the reaction term, which ButlerVolmer
adds.)  Equilibrium profile eta = (1 - tanh(x/l))/2 with l = sqrt(2 kappa/W).
Noise as in the published MOOSE input: a rate uniform in [-a, a], redrawn
every correlation time (0.02 s, the published step) and averaged over each
time step (anodex/noise.py).
Boundary: eta = 1 at the electrode, 0 at the reservoir, zero flux elsewhere
([phase_field] boundary_values = false: zero flux everywhere).

Derived values (materials/resolve.py applies them): kappa = 3 gamma l and
W = 6 gamma / l from the metal's surface energy gamma and the interface
length l (the equilibrium profile has l = sqrt(2 kappa/W) and excess energy
gamma = sqrt(2 kappa W)/6), and L = rate / W from a relaxation rate.
Results: the deposit (volume of h(eta) per electrode area), the tip (largest
x of the eta = 1/2 contour) and its velocity; the field eta.
"""
import math

import numpy as np
import ufl

from ..noise import step_average
from ..schema import Param, nonnegative, open_unit_closed, positive, q
from ..blocks import Block, Field, Note, Unknown, block_classes, register
from .grand_potential import E_HONG, dg, h

# max of g'' = 2 - 12 eta + 12 eta^2 on [0, 1]
STABILIZATION = 2.0
DEFAULT_INTERFACE_LENGTH = 0.5e-6  # m: the published input's sqrt(2 kappa / W)
MAX_NOISE_WINDOWS = 10000  # per step (each window costs one hash of the nodes)


def stabilized_dg(eta, eta_star):
    """g'(eta*) + S (eta - eta*): the double-well force linearised about the
    extrapolated eta* with S >= max g'' (linearly stabilised scheme; e.g. Shen
    & Yang, Discrete Contin. Dyn. Syst. 28 (2010) 1669).  eta - eta* = O(dt^2),
    so BDF2 stays second order, and the step's equation for eta is no longer
    bistable: the implicit double well makes it non-unique once
    dt L W |min g''| > 1 (dt > 0.07 s for the Hong case)."""
    return dg(eta_star) + STABILIZATION * (eta - eta_star)


def seeds_profile(x, seeds, width):
    """max over seeds (x_i, y_i, z_i, R_i) of (1 - tanh((|x - x_i| - R_i)/width))/2."""
    eta = np.zeros(x.shape[1])
    for xc, yc, zc, R in seeds:
        r = np.sqrt((x[0] - xc) ** 2 + (x[1] - yc) ** 2 + (x[2] - zc) ** 2)
        eta = np.maximum(eta, 0.5 * (1 - np.tanh((r - R) / width)))
    return eta


def interface_shape(pb):
    """4 eta (1 - eta) at the nodes: a conserved amount carried by the
    interface is corrected there, where interpolation errs (adapt.restore)."""
    eta = np.clip(pb.field_values("eta"), 0, 1)
    return 4 * eta * (1 - eta)


def electrolyte_shape(pb):
    """1 - eta at the nodes, 0 on the electrode (metal) and the reservoir (its
    Dirichlet values stay): a fast-diffusing unknown is corrected over the
    electrolyte, as a change at the interface alone would relax within a
    step, an error no step size removes (adapt.restore)."""
    from dolfinx import fem
    shape = 1 - np.clip(pb.field_values("eta"), 0, 1)
    for face in ("electrode", "reservoir"):
        shape[fem.locate_dofs_topological(pb.Q, pb.ndim - 1, pb.facets[face])] = 0.0
    return shape


def interface_length(pf) -> float:
    """l = sqrt(2 kappa / W) (m) of a [phase_field] section (SI)."""
    return math.sqrt(2 * pf["gradient_coefficient"] / pf["barrier_height"])


def gradient_and_barrier(gamma, ell):
    """(kappa J/m, W J/m^3) giving surface energy gamma and interface length ell."""
    return 3 * gamma * ell, 6 * gamma / ell


def seed_positions(si, x0) -> list:
    """[(x, y, z, R)] of the initial seeds in internal units ([] for a front),
    in the domain's bounding box from its origin.  Random positions come from
    one generator seeded by seed_rng, run alike on every rank: independent of
    the partition."""
    ini, g = si["initial"], si["geometry"]
    if ini["kind"] != "seeds":
        return []
    dim = {"interval": 1, "rectangle": 2}.get(g["kind"], 3)
    extent = np.array([g["length"], g["height"], g["depth"]]) / x0
    extent[dim:] = 0.0
    R = ini["seed_radius"] / x0
    if ini["seed_placement"] == "corner":
        return [(0.0, 0.0, 0.0, R)]
    if ini["seed_placement"] == "center":
        return [(*(extent / 2), R)]
    if ini["seed_placement"] == "electrode":
        return [(0.0, *(extent[1:] / 2), R)]
    rng = np.random.default_rng(ini["seed_rng"])
    xy = rng.uniform(0.0, 1.0, size=(ini["seed_count"], 2)) * extent[:2]
    return [(float(x), float(y), 0.0, R) for x, y in xy]


PARAMS = {
    "mesh_adaptivity": {
        "interface_jump": Param("number", 0.2, "refine where the phase field changes by "
                                "more than this across a cell (0.2: at least 4 cells across "
                                "the 10-90 % width of the interface); 0: not used",
                                check=nonnegative, bounds=(0.0, 1.0)),
    },
    "phase_field": {
        "interface_length": q(None, "m", "l = sqrt(2 kappa/W), used with [metal] surface_energy "
                              "when kappa and W are not given (then 0.5 um if unset)", positive,
                              (1e-12, 1.0)),
        "gradient_coefficient": q(f"{0.3 * E_HONG * 1e-12:.6g} J/m", "J/m",
                                  "kappa, gradient energy coefficient", positive, (1e-30, 1e10)),
        "barrier_height": q(f"{2.4 * E_HONG:.6g} J/m^3", "J/m^3",
                            "W, double-well barrier height", positive, (1e-10, 1e15)),
        "interface_relaxation_rate": q(None, "1/s", "L W, instead of interface_mobility: "
                                       "L = rate / W (the published input has 15/s); keeps "
                                       "the interface kinetics fast when W comes from a "
                                       "surface energy", positive, (1e-20, 1e20)),
        "interface_mobility": q(f"{6.25 / E_HONG:.6g} m^3/(J*s)", "m^3/(J*s)",
                                "L, Allen-Cahn mobility", positive, (1e-40, 1e10)),
        "boundary_values": Param("bool", True, "eta = 1 at the electrode and 0 at the "
                                 "reservoir; false: zero flux on every boundary (nucleation "
                                 "benchmarks)"),
    },
    "initial": {
        "kind": Param("choice", "front", "initial metal: a front parallel to the electrode "
                      "(interface_position, optional cosine perturbation), circular seeds "
                      "(seed_*), or none (bare: a collector on which nuclei form)",
                      choices=("front", "seeds", "bare")),
        "interface_position": q("20 um", "m", "x of the eta = 0.5 level at t = 0", positive),
        "interface_width": q("0.5 um", "m", "l in eta = (1 - tanh((x - x0)/l))/2", positive,
                             (1e-12, 1.0)),
        "perturbation_amplitude": q("0 m", "m", "amplitude of a cosine perturbation of the "
                                    "front along y", nonnegative, (0.0, 1.0)),
        "perturbation_wavelength": q("200 um", "m", "wavelength of that perturbation", positive,
                                     (1e-12, 1e3)),
        "seed_radius": q("5 um", "m", "seeds: radius of the eta = 0.5 level of each seed "
                         "(profile (1 - tanh((r - R)/interface_width))/2)", positive,
                         (1e-12, 1.0)),
        "seed_count": Param("int", 1, "seeds: how many", check=positive, bounds=(1, 100000)),
        "seed_placement": Param("choice", "center", "seeds: one at the domain's centre, one "
                                "at the corner x = y = 0 (a quarter of a centred seed, by "
                                "symmetry), one on the electrode at the centre of its face "
                                "(a half seed), or seed_count uniformly random positions "
                                "(drawn from seed_rng, the same on any number of ranks)",
                                choices=("center", "corner", "electrode", "random")),
        "seed_rng": Param("int", 1, "seeds: random-number seed of the positions",
                          check=nonnegative),
    },
    "noise": {
        "amplitude": q("0 1/s", "1/s", "Langevin-type noise on eta as in the published "
                       "input: a rate uniform in [-a, a] at each node", nonnegative, (0.0, 1e15)),
        "correlation_time": q("0.02 s", "s", "the rate is redrawn every this much simulated "
                              "time, independent of the time step (a step sees the average "
                              "over the windows it spans); 0.02 s is the published input's "
                              "fixed step, at which it redrew every step", positive,
                              (1e-15, 1e15)),
        "lattice_spacing": q("0 m", "m", "0: one draw per mesh node (the published input); "
                             "> 0: draws on a lattice of this spacing, interpolated to the "
                             "nodes, so the forcing does not depend on the mesh (adaptive "
                             "meshes: the published 1 um grid's draws at any resolution)",
                             nonnegative, (0.0, 1.0)),
        "seed": Param("int", 20180, "seed; the noise depends only on it, the time window and "
                      "the node coordinates (not on the MPI partition or the steps taken)",
                      check=nonnegative),
    },
    "time": {
        "double_well": Param("choice", "implicit", "time discretisation of the double-well "
                             "force of the phase field: implicit, or stabilized (linearised "
                             "about the extrapolated eta, second order; keeps each step's "
                             "equation for eta monotone at large steps)",
                             choices=("implicit", "stabilized")),
        "stop_tip_fraction": Param("number", 0.9, "stop when the tip passes this fraction "
                                   "of the length (1: never)", check=open_unit_closed),
        "stop_deposit_thickness": q("0 m", "m", "stop when the deposit-equivalent thickness "
                                    "(metal volume per electrode area) reaches this: a fixed "
                                    "plated capacity; 0: never", nonnegative, (0.0, 1.0)),
    },
    "solver": {
        "max_eta_update": Param("number", 0.5, "Newton step limiter: largest change of eta "
                                "per iteration (each node's change is clipped to it)", check=positive,
                                bounds=(1e-6, 100.0)),
    },
}


@register
class PhaseField(Block):
    name = "phase_field"
    axisymmetric = True
    order = 20
    in_default_model = True
    params = PARAMS
    unknowns = (Unknown("eta", "1", update_limit="max_eta_update"),)
    provides = ("metal_fraction",)
    form_keys = (("time", "double_well"), ("phase_field", "boundary_values"))
    columns = ("deposit_thickness_m", "metal_mol_m2", "tip_position_m", "tip_velocity_m_s",
               "perturbation_mode_m")
    checkpoint_state = ("last_tip",)

    # ---- the case ------------------------------------------------------------
    @classmethod
    def derive(cls, ctx):
        """kappa, W from the surface energy; L from a relaxation rate."""
        errors, pf = [], ctx.si["phase_field"]
        given = [("phase_field", k) in ctx.given for k in ("gradient_coefficient", "barrier_height")]
        gamma = ctx.si["metal"]["surface_energy"]
        if any(given) and not all(given):
            return ["[phase_field] gradient_coefficient, barrier_height: give both or "
                    "neither (neither: derived from [metal] surface_energy and "
                    "[phase_field] interface_length)"]
        if all(given) and pf["interface_length"] is not None:
            if not ctx.same(interface_length(pf), pf["interface_length"]):
                errors.append("[phase_field] interface_length: conflicts with the given "
                              "gradient_coefficient and barrier_height (which fix it to "
                              f"{interface_length(pf):g} m); give one or the other")
        elif not any(given) and gamma is not None:
            ell = pf["interface_length"] or DEFAULT_INTERFACE_LENGTH
            kappa, W = gradient_and_barrier(gamma, ell)
            how = (f"derived from [metal] surface_energy {gamma:g} J/m^2 and interface length "
                   f"{ell:g} m")
            ctx.put("phase_field", "gradient_coefficient", kappa, f"{kappa!r} J/m", how)
            ctx.put("phase_field", "barrier_height", W, f"{W!r} J/m^3", how)
        if not errors and pf["interface_relaxation_rate"] is not None:
            errors += ctx.derived("phase_field", "interface_mobility",
                                  pf["interface_relaxation_rate"] / pf["barrier_height"],
                                  "m^3/(J*s)", "interface_relaxation_rate / barrier_height",
                                  "interface_relaxation_rate")
        return errors

    @classmethod
    def check(cls, si, given):
        errors, g, t = [], si["geometry"], si["time"]
        if si["initial"]["kind"] == "front" and not 0 < si["initial"]["interface_position"] < g["length"]:
            errors.append("[initial] interface_position: must lie inside the domain "
                          f"(0, {g['length']:g} m)")
        tau = si["noise"]["correlation_time"]
        if si["noise"]["amplitude"] > 0 and t["dt_max"] > MAX_NOISE_WINDOWS * tau:
            errors.append(f"[noise] correlation_time: {tau:g} s would make one step of dt_max = "
                          f"{t['dt_max']:g} s average over more than {MAX_NOISE_WINDOWS} noise "
                          f"windows; use at least {t['dt_max'] / MAX_NOISE_WINDOWS:g} s or lower "
                          "[time] dt_max")
        return errors + cls._axisymmetric_problems(si)

    @staticmethod
    def _axisymmetric_problems(si) -> list[str]:
        """Seeds and noise in [geometry] axisymmetric, where a point is a ring."""
        if not si["geometry"]["axisymmetric"]:
            return []
        errors = []
        if si["initial"]["kind"] == "seeds":
            errors.append("[initial] kind = \"seeds\": in [geometry] axisymmetric a seed off the "
                          "axis would be a torus, and the seeds are not verified there; use kind "
                          "= \"front\" (or a flat rectangle)")
        if si["noise"]["amplitude"] > 0:
            errors.append("[noise] amplitude: its lattice ignores the ring volume 2 pi r of "
                          "[geometry] axisymmetric (the noise would be stronger near the axis); "
                          "set it to \"0 1/s\" or use a flat rectangle")
        return errors

    @classmethod
    def resolution_checks(cls, si, mesh):
        """(errors, warnings) of the mesh against the interface width, where
        the interface starts (a front: the cells within 5 l of it)."""
        ell = interface_length(si["phase_field"])
        ini, g = si["initial"], si["geometry"]
        if ini["kind"] == "front":
            x0 = ini["interface_position"]
            cell_size = mesh.max_cell_size(x0 - 5 * ell, x0 + 5 * ell)
        else:
            cell_size = mesh.max_cell_size()
        # eta goes from 0.1 to 0.9 over 2 artanh(0.8) l = 2.197 l; with a coarser
        # mesh the interface lies inside one cell and cannot be represented.
        width = 2 * math.atanh(0.8) * ell
        if cell_size > width:
            fix = (f"use at least {math.ceil(g['length'] / width)} cells in x" if g["kind"] != "mesh"
                   else "refine the mesh there")
            return [f"[geometry] cells: cell size {cell_size * 1e6:.3g} um is larger than the "
                    f"10-90 % interface width {width * 1e6:.3g} um (from [phase_field] "
                    f"gradient_coefficient and barrier_height): {fix}"], []
        if cell_size > ell / 2 * (1 + 1e-3):  # the published kappa, W give ell = 0.49999 um
            return [], [Note(f"cell size {cell_size * 1e6:.3g} um exceeds half the interface "
                             f"length ({ell * 5e5:.3g} um of {ell * 1e6:.3g} um): the front "
                             "moves in jumps of a cell, as at the published resolution; refine "
                             "for grid-converged results")]
        return [], []

    @classmethod
    def warnings(cls, si):
        """A bare collector with nothing to nucleate on it."""
        if (si["initial"]["kind"] == "bare" and not si["phase_field"]["boundary_values"]
                and "metal_nucleation" not in [b.name for b in block_classes(si)]):
            return ['[initial] kind = "bare" without the metal_nucleation block: nothing can '
                    "plate, the collector blocks the ions and only its double layer charges "
                    "(add metal_nucleation to grow metal on it)"]
        return []

    @classmethod
    def inactive_keys(cls, si):
        ini = si["initial"]["kind"]
        out = []
        if ini != "front":
            out.append(("initial", ("interface_position", "perturbation_amplitude",
                                    "perturbation_wavelength"), 'initial kind is not "front"'))
        if ini != "seeds":
            out.append(("initial", ("seed_radius", "seed_count", "seed_placement", "seed_rng"),
                        'initial kind is not "seeds"'))
        if si["noise"]["amplitude"] == 0:
            out.append(("noise", ("correlation_time", "seed", "lattice_spacing"),
                        "[noise] amplitude is 0"))
        return out

    @classmethod
    def internal(cls, si, s):
        pf, ini, noise = si["phase_field"], si["initial"], si["noise"]
        return {
            "L": s.to_internal(pf["interface_mobility"], "m^3/(J*s)"),
            "W": s.to_internal(pf["barrier_height"], "J/m^3"),
            "kappa": s.to_internal(pf["gradient_coefficient"], "J/m"),
            "x_interface": s.to_internal(ini["interface_position"], "m"),
            "interface_width": s.to_internal(ini["interface_width"], "m"),
            "perturbation_amplitude": s.to_internal(ini["perturbation_amplitude"], "m"),
            "perturbation_wavelength": s.to_internal(ini["perturbation_wavelength"], "m"),
            "noise_amplitude": s.to_internal(noise["amplitude"], "1/s"),
            "noise_correlation_time": s.to_internal(noise["correlation_time"], "s"),
            "noise_lattice": s.to_internal(noise["lattice_spacing"], "m"),
            "double_well": si["time"]["double_well"],
            "boundary_values": pf["boundary_values"],
            "initial_kind": ini["kind"],
            "seeds": seed_positions(si, s.unit("m")),
        }

    # ---- the problem ---------------------------------------------------------
    def setup(self, pb):
        self.pb = pb
        self.noise = pb.scalar_function()  # the step average of the noise rate, in [-1, 1]
        self.coords = pb.Q.tabulate_dof_coordinates()
        self.last_tip = None

    def quantities(self):
        return {"metal_fraction": lambda s, lev: h(lev["eta"])}

    def residual(self, s):
        p, eta, v = s.p, s.u("eta"), s.test("eta")
        F = s.ddt(lambda lev: lev["eta"]) * v * s.dxl
        if p["double_well"] == "stabilized":
            F += p["L"] * p["W"] * stabilized_dg(eta, s.extrapolate(lambda lev: lev["eta"])) * v * s.dxl
        else:
            F += p["L"] * p["W"] * dg(eta) * v * s.dxl
        F += p["L"] * p["kappa"] * ufl.inner(ufl.grad(eta), ufl.grad(v)) * s.dx
        # present also at zero amplitude, so noisy and quiet cases share one form
        F -= p["noise_amplitude"] * self.noise * v * s.dxl
        return F

    def dirichlet(self, p):
        if not p["boundary_values"]:
            return []
        return [("eta", "electrode", 1.0), ("eta", "reservoir", 0.0)]

    def initial(self, p):
        if p["initial_kind"] == "seeds":
            return {"eta": lambda x: seeds_profile(x, p["seeds"], p["interface_width"])}
        if p["initial_kind"] == "bare":
            return {"eta": lambda x: np.zeros(x.shape[1])}

        def eta0(x):
            front = p["x_interface"]
            if p["perturbation_amplitude"] > 0:
                k = 2 * np.pi / p["perturbation_wavelength"]
                front = front + p["perturbation_amplitude"] * np.cos(k * (x[1] - p["height"] / 2))
            return 0.5 * (1 - np.tanh((x[0] - front) / p["interface_width"]))
        return {"eta": eta0}

    def adaptivity_fields(self):
        return {"eta": "interface_jump"}

    def conserved(self):
        return {"metal_volume": ("eta", interface_shape)}

    def error_indicators(self, p, nodal):
        return {"eta": nodal["eta"]}

    def before_solve(self, pb, t0, t1):
        p = pb.p
        if p["noise_amplitude"] > 0:
            self.noise.x.array[:] = step_average(self.coords, pb.case.si["noise"]["seed"], t0, t1,
                                                 p["noise_correlation_time"], p["length"],
                                                 p["noise_lattice"])

    @classmethod
    def refinement_band(cls, si):
        """4 l: the interface's width an adaptive mesh refines."""
        return 4 * interface_length(si["phase_field"])

    # ---- results -------------------------------------------------------------
    def metadata(self, pb):
        return {"seed": pb.case.si["noise"]["seed"]}

    def integrals(self, pb):
        out = {"metal_volume": pb.state.u("metal_fraction") * pb.dxl}
        p = pb.p
        if pb.ndim > 1 and p["initial_kind"] == "front" and p["perturbation_amplitude"] > 0:
            # the front's Fourier mode: a front x = X + a cos(k y') holds metal
            # int h dx = X + a cos(k y') per y', so a = (2/H) int h cos(k y') dA
            y = ufl.SpatialCoordinate(pb.mesh)[1] - p["height"] / 2
            k = 2 * math.pi / p["perturbation_wavelength"]
            out["front_mode"] = pb.state.u("metal_fraction") * ufl.cos(k * y) * pb.dx
        return out

    def record(self, pb, integrals, t, dt):
        s = pb.scales
        thickness = s.to_si(integrals["metal_volume"] / pb.area, "m")
        tip = s.to_si(pb.contour_max_x(pb.field_values("eta"), 0.5), "m")
        velocity = 0.0  # (no metal yet: no tip, 0)
        if self.last_tip is not None and dt > 0 and math.isfinite(tip + self.last_tip):
            velocity = (tip - self.last_tip) / s.to_si(dt, "s")
        self.last_tip = tip
        mode = (s.to_si(2 * integrals["front_mode"] / pb.area, "m") if "front_mode" in integrals
                else math.nan)  # (no perturbed front)
        return {"deposit_thickness_m": thickness,
                "metal_mol_m2": s.to_si(integrals["metal_volume"] / pb.area, "mol/m^2"),
                "tip_position_m": tip, "tip_velocity_m_s": velocity, "perturbation_mode_m": mode}

    def fields(self):
        return (Field("eta", "1", lambda pb: pb.field_values("eta")),)

    def stop(self, row):
        si = self.pb.case.si
        fraction, thickness = si["time"]["stop_tip_fraction"], si["time"]["stop_deposit_thickness"]
        if fraction < 1 and row["tip_position_m"] > fraction * si["geometry"]["length"]:
            return f"tip passed {fraction:g} of the domain length"
        if 0 < thickness <= row["deposit_thickness_m"]:
            return f"deposit reached {thickness:g} m (stop_deposit_thickness)"
        return None

    def progress(self, row):
        if not math.isfinite(row["tip_position_m"]):  # (no metal left, or none yet)
            return "no metal front"
        return f"tip = {row['tip_position_m'] * 1e6:.3f} um"
