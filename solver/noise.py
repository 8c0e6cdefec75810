"""Partition-independent random numbers for the Langevin-type noise.

Each node's value is a hash (SplitMix64) of the seed, the step number and
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


def uniform_field(coords: np.ndarray, seed: int, step: int, size: float) -> np.ndarray:
    """Values uniform in [-1, 1), one per row of coords (N x 3 floats);
    `size`: the domain's extent (sets the quantisation)."""
    lattice_ = lattice(coords, size).view(np.uint64)
    with np.errstate(over="ignore"):
        z = _mix(np.uint64(seed) * _GOLD + np.uint64(step))
        for k in range(coords.shape[1]):
            z = _mix(z ^ (lattice_[:, k] + _GOLD))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -52 - 1.0
