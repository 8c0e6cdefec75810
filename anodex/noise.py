"""Partition-independent random numbers for the Langevin-type noise.

The noise rate is piecewise constant in time: uniform in [-1, 1) at each
node, redrawn every correlation time tau (window k covers [k tau, (k+1) tau)).
A time step [t0, t1] sees its exact time average (``step_average``), so the
forcing a run receives does not depend on the steps it takes: with fixed
steps dt = tau it is one draw per step (the published MOOSE input, which
redraws every step of 0.02 s), and an adaptive step spanning N windows sees
their mean (variance 1/(3N)), as the integral of the noise over the step.

Each node's value is a hash (SplitMix64) of the seed, the window number and
its coordinates quantised to 1e-9 of the domain size, so the same seed
gives the same field on any number of MPI ranks and after a restart.  (Raw
coordinate bits are not enough: dolfinx's tabulated dof coordinates differ
in the last bit between partitions, measured on 1 vs 3 ranks.)
"""
from __future__ import annotations

import numpy as np

_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def lattice(coords: np.ndarray, size: float) -> np.ndarray:
    """Node coordinates (N x 3) quantised to 1e-9 of the domain's extent:
    integers that are the same for a node on any partition."""
    return np.round(coords / (1e-9 * size)).astype(np.int64)


def uniform_field(coords: np.ndarray, seed: int, step: int, size: float,
                  spacing: float = 0.0) -> np.ndarray:
    """Values uniform in [-1, 1), one per row of coords (N x 3 floats), for
    draw number `step`; `size`: the domain's extent (sets the quantisation).
    spacing > 0: the draws sit on the nodes of a lattice of that spacing and
    are interpolated (multilinear) to coords, so the field does not depend
    on the mesh (an adaptive mesh sees what a uniform grid of that spacing
    sees at its nodes)."""
    if spacing <= 0:
        return _node_draws(coords, seed, step, size)
    grid = coords / spacing
    base = np.floor(grid)
    frac = grid - base
    out = np.zeros(len(coords))
    for corner in np.ndindex(*(2,) * coords.shape[1]):
        weight = np.prod(np.where(np.array(corner), frac, 1.0 - frac), axis=1)
        used = weight > 0
        if used.any():
            at = (base[used] + np.array(corner)) * spacing
            out[used] += weight[used] * _node_draws(at, seed, step, size)
    return out


def _node_draws(coords, seed, step, size):
    lattice_ = lattice(coords, size).view(np.uint64)
    with np.errstate(over="ignore"):
        z = _mix(np.uint64(seed) * _GOLD + np.uint64(step))
        for k in range(coords.shape[1]):
            z = _mix(z ^ (lattice_[:, k] + _GOLD))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -52 - 1.0


def step_average(coords: np.ndarray, seed: int, t0: float, t1: float, tau: float,
                 size: float, spacing: float = 0.0) -> np.ndarray:
    """Time average over [t0, t1] of the field that takes draw k on
    [k tau, (k+1) tau).  Overlaps within 1e-9 tau of the step's ends (round-off
    in t) are left out, so a step of exactly one window sees exactly one draw."""
    eps = 1e-9 * tau
    first = int(np.floor((t0 + eps) / tau))
    last = max(int(np.ceil((t1 - eps) / tau)), first + 1)  # windows first .. last - 1
    if last == first + 1:
        return uniform_field(coords, seed, first, size, spacing)
    total, weight = np.zeros(len(coords)), 0.0
    for k in range(first, last):
        overlap = min(t1, (k + 1) * tau) - max(t0, k * tau)
        total += overlap * uniform_field(coords, seed, k, size, spacing)
        weight += overlap
    return total / weight
