"""Vacancies in the metal, injected by stripping (issue 38, part 2; the
picture of Krauskopf et al., ACS Appl. Mater. Interfaces 11 (2019) 14463
and Yan et al., Adv. Energy Mater. 2021: an atom stripped from the
interface leaves a vacancy, which diffuses into the metal or is annihilated
at sinks; where vacancies supersaturate at the interface, voids nucleate).

The unknown c is the vacancies' excess site fraction over equilibrium in the
metal (h the metal fraction, eps = 1e-6 keeps c defined outside it):

    d((h + eps) c)/dt = div(h (h + eps) D grad c) - h c / tau + f max(-S_F, 0) 2h (1 - c)+

D = D_b + D_i w(eta) l: the bulk diffusivity, plus an interface (surface or
interface-boundary) diffusivity in the interface band (w: the phase field's
interface weight, the delta function of the interface); tau: the sinks'
lifetime (dislocations, grain boundaries; none by default), and the
condensation into voids where the interface_voids block is selected; f: the fraction
of stripped atoms that leave a vacancy behind; S_F: the reaction's charge
per volume (charge_transfer.reaction_source, deposition positive), in site
fractions per time.  Zero flux at every boundary.  Storage on the vertices
(lumped), BDF in time.

So a stripping current I (A/m^2) injects J = f I V_m/(zF) (site fraction x
m/s) at the interface; into a thick film without sinks the interface's
excess grows as 2 J sqrt(t/(pi D)) and reaches c_crit at the vacancy Sand
time pi D c_crit^2 / (4 J^2); with sinks it levels at J sqrt(tau/D), so the
current below which the interface never reaches c_crit is
(zF/(f V_m)) c_crit sqrt(D/tau).

The metal's atoms are its sites less its empty sites (vacancies and
voids).  The sites change locally (site_creation, added to the reaction's
metal balance in charge_transfer): a stripped atom that leaves a vacancy
leaves its site, f max(-S_F, 0) 2h, and a vacancy annihilated at a sink
takes its site, -h c/tau; so the front does not recede for the vacancies'
atoms, the atoms' counter-flux to the vacancies' is the vacancies' own
flux, and the atoms (h less vacancies less voids) change by the reaction
alone.  The injection sits on the metal's side of the interface (2h) and
the mobility is h (h + eps) D: vacancies move through the metal, not the
electrolyte.  Sinks in the bulk lower h there (its sites): the collapse
they stand for is not carried to the front.  Results: the vacancies
per electrode area (mol/m^2, counted from the field) and the largest excess
at the interface; the run stops once it reaches
[vacancies] critical_excess (voids nucleate; 0: never).  The field
vacancy_excess.
"""
from __future__ import annotations

import math

import numpy as np
import ufl
from mpi4py import MPI

from ..blocks import Block, Field, Unknown, register
from ..schema import Param, nonnegative, positive, q
from .charge_transfer import DEPLETED, interface_weight, metal_depleted, reaction_source
from .phase_field import interface_length

EPS = 1e-6  # the storage and mobility floor outside the metal, relative
INTERFACE_BAND = 0.1  # eta (1 - eta) above this: the interface's nodes (the excess there)

PARAMS = {
    "vacancies": {
        "diffusivity": q(None, "m^2/s", "D_b, the vacancies' bulk diffusivity in the metal "
                         "(required with the metal_vacancies block)", positive, (1e-30, 1e-3)),
        "interface_diffusivity": q("0 m^2/s", "m^2/s", "D_i, added in the interface band "
                                   "(surface or interface diffusion)", nonnegative,
                                   (0.0, 1e-3)),
        "sink_time": q("0 s", "s", "tau, the vacancies' lifetime at sinks in the metal; 0: no "
                       "sinks", nonnegative, (0.0, 1e12)),
        "injection_fraction": Param("number", 1.0, "f: the fraction of stripped atoms that "
                                    "leave a vacancy behind", bounds=(0.0, 1.0)),
        "critical_excess": Param("number", 0.0, "c_crit: the run stops once the excess site "
                                 "fraction at the interface reaches it (voids nucleate); 0: "
                                 "never", check=nonnegative, bounds=(0.0, 1.0)),
    },
}


@register
class MetalVacancies(Block):
    name = "metal_vacancies"
    axisymmetric = True
    order = 170
    params = PARAMS
    unknowns = (Unknown("vacancy_excess", "1", tolerance=1e-3),)
    provides = ("site_creation",)
    # the atoms of the last accepted step (shorter_step), kept across
    # restarts and mesh adaptation: the first step after them is guarded too
    checkpoint_state = ("atoms_before",)
    checkpoint_defaults = {"atoms_before": math.nan}
    requires = ("eta", "metal_fraction", "faradaic_current")
    columns = ("vacancies_mol_m2", "interface_vacancy_excess")

    @classmethod
    def check(cls, si, given):
        if si["vacancies"]["diffusivity"] is None:
            return ["[vacancies] diffusivity: the metal_vacancies block needs the vacancies' "
                    "bulk diffusivity in the metal"]
        return []

    @classmethod
    def internal(cls, si, s):
        v = si["vacancies"]
        tau = v["sink_time"]
        return {"vac_D": s.to_internal(v["diffusivity"], "m^2/s"),
                "vac_D_i": s.to_internal(v["interface_diffusivity"], "m^2/s"),
                "vac_sink_rate": 1.0 / s.to_internal(tau, "s") if tau > 0 else 0.0,
                "vac_f": v["injection_fraction"]}

    def quantities(self):
        # sites the stripped atoms leave behind (f of them), less those the
        # sinks annihilate: charge_transfer's metal balance adds these to
        # the reaction's, so the metal's sites keep the vacancies' sites
        def site_creation(s, lev):
            h = s.at("metal_fraction", lev)
            return (self.injection(s) - s.p["vac_sink_rate"] * h * lev["vacancy_excess"])
        return {"site_creation": site_creation}

    @staticmethod
    def injection(s):
        """f max(-S_F, 0) 2h (1 - c)+: the stripped atoms' vacancies, on the
        metal's side of the interface (2h: the injection's integral across it
        is kept; at the profile's electrolyte side, where h is small, the
        injection over the storage h + eps inflated c, measured), and only
        while the sites hold atoms to leave: a site already vacant (c -> 1)
        takes no more, its stripped atoms take their sites (the front
        recedes).  Unbounded, a film stripped to the end reached c = 1.48."""
        h, c = s.u("metal_fraction"), s.u("vacancy_excess")
        return (s.p["vac_f"] * ufl.max_value(-reaction_source(s), 0.0) * 2 * h
                * ufl.max_value(1 - c, 0.0))

    def residual(self, s):
        p, c, w = s.p, s.u("vacancy_excess"), s.test("vacancy_excess")
        h = s.u("metal_fraction")
        D = p["vac_D"] + p["vac_D_i"] * interface_weight(s.u("eta"), p["ell"]) * p["ell"]
        F = s.ddt(lambda lev: (s.at("metal_fraction", lev) + EPS) * lev["vacancy_excess"]) * w * s.dxl
        # mobility h (h + eps): vacancies move through the metal, not the electrolyte
        F += h * (h + EPS) * D * ufl.inner(ufl.grad(c), ufl.grad(w)) * s.dx
        F += p["vac_sink_rate"] * h * c * w * s.dxl
        if "vacancy_condensation" in s.quantities:  # (into voids: interface_voids)
            F += s.u("vacancy_condensation") * w * s.dxl
        return F - self.injection(s) * w * s.dxl

    def initial(self, p):
        return {"vacancy_excess": lambda x: np.zeros(x.shape[1])}

    def error_indicators(self, p, nodal):
        return {"vacancy_excess": nodal["vacancy_excess"]}

    def integrals(self, pb):
        s = pb.state
        return {"vac_amount": (s.u("metal_fraction") + EPS) * s.u("vacancy_excess") * pb.dxl}

    def record(self, pb, integrals, t, dt):
        eta = pb.field_values("eta")
        at_interface = eta * (1 - eta) > INTERFACE_BAND
        local = pb.field_values("vacancy_excess")[at_interface].max(initial=-np.inf)
        excess = pb.comm.allreduce(local, op=MPI.MAX)
        sc = pb.scales
        self.atoms_before = self.atoms(pb, integrals.__getitem__)
        return {"vacancies_mol_m2": integrals["vac_amount"] / pb.area * sc.site_density
                * sc.length,
                "interface_vacancy_excess": excess if np.isfinite(excess) else 0.0}

    def setup(self, pb):
        self.si = pb.case.si
        self.critical = self.si["vacancies"]["critical_excess"]
        self.molar_volume = 1.0 / pb.scales.site_density
        # the atoms (internal volume) of the last accepted step (NaN: not
        # known yet), and where a strip's last step should land: half the
        # depletion threshold
        self.atoms_before = math.nan
        self.last_step_target = (0.5 * DEPLETED * interface_length(self.si["phase_field"])
                                 / pb.scales.length * pb.area)

    @staticmethod
    def atoms(pb, integral) -> float:
        """The metal's atoms (internal volume): its sites less the vacancies
        and the voids, each from its own field."""
        voids = integral("void_volume") if "void_volume" in pb.integral_forms else 0.0
        return integral("metal_volume") - integral("vac_amount") - voids

    def shorter_step(self, pb, dt):
        """A strip must not take more atoms than are left within a step (its
        stop would come after the metal had gone below zero: -27 nm, 1 % of a
        2 um film, measured): the dt that lands at half the depletion
        threshold, from the step's own rate."""
        before, target = self.atoms_before, self.last_step_target
        if not before > 2 * target:  # (NaN included)
            return None
        after = self.atoms(pb, pb.integral)
        if after > 0:  # (a landing below 2 target stops the run: no knife edge)
            return None
        return dt * (before - target) / (before - after)

    def stop(self, row):
        # the metal's atoms, not its sites (which keep the vacancies and voids)
        atoms = (row["metal_mol_m2"] - row["vacancies_mol_m2"]
                 - row.get("void_volume_m3_m2", 0.0) / self.molar_volume)
        stripping = row.get("collector_current_A_m2", 0.0) < 0
        if stripping and atoms < 0:
            return (f"metal depleted (its atoms): the last step stripped "
                    f"{-atoms * self.molar_volume * 1e9:.3g} nm per electrode area more than "
                    "was left")
        depleted = metal_depleted({"deposit_thickness_m": atoms * self.molar_volume}, self.si)
        if depleted and stripping:
            return depleted.replace("metal depleted:", "metal depleted (its atoms):")
        if self.critical > 0 and row["interface_vacancy_excess"] >= self.critical:
            return (f"vacancies supersaturated at the interface (excess site fraction "
                    f"{row['interface_vacancy_excess']:.3g} >= critical_excess "
                    f"{self.critical:g}): voids nucleate")
        return None

    def progress(self, row):
        return f"vacancy excess at the interface {row['interface_vacancy_excess']:.3g}"

    def fields(self):
        return (Field("vacancy_excess", "1", lambda pb: pb.field_values("vacancy_excess")),)
