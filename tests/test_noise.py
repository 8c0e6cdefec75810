import numpy as np
import pytest

from anodex.noise import step_average, uniform_field


def grid(n=100):
    x, y = np.meshgrid(np.linspace(0, 20, n), np.linspace(0, 10, n))
    return np.column_stack([x.ravel(), y.ravel(), np.zeros(n * n)])


def test_uniform_on_minus_one_one():
    v = uniform_field(grid(), seed=1, step=3, size=20.0)
    n = v.size
    assert v.min() >= -1 and v.max() < 1
    assert abs(v.mean()) < 4 * (1 / np.sqrt(3)) / np.sqrt(n)
    assert abs(v.std() - 1 / np.sqrt(3)) < 0.01


def test_depends_only_on_seed_step_and_position():
    c = grid()
    v = uniform_field(c, 1, 3, 20.0)
    perm = np.random.default_rng(0).permutation(len(c))
    assert np.array_equal(uniform_field(c[perm], 1, 3, 20.0), v[perm])  # any partition order
    # coordinates that differ in the last bits (as dolfinx's do between partitions)
    assert np.array_equal(uniform_field(np.nextafter(c, 1e9), 1, 3, 20.0), v)
    assert not np.array_equal(uniform_field(c, 2, 3, 20.0), v)
    assert not np.array_equal(uniform_field(c, 1, 4, 20.0), v)


def test_step_average_of_one_window_is_that_windows_draw():
    c, tau = grid(20), 0.02
    for k in (0, 1, 7, 123):
        t0 = sum([tau] * k)  # accumulated like a stepper's t, with round-off
        assert np.array_equal(step_average(c, 5, t0, t0 + tau, tau, 20.0),
                              uniform_field(c, 5, k, 20.0))


def test_step_average_does_not_depend_on_how_time_is_split():
    """The forcing integrated over [0, T] is the same for any step sequence."""
    c, tau, T = grid(20), 0.02, 0.37
    whole = T * step_average(c, 5, 0.0, T, tau, 20.0)
    cuts = np.sort(np.random.default_rng(1).uniform(0, T, 9))
    ends = np.concatenate([[0.0], cuts, [T]])
    pieces = sum((b - a) * step_average(c, 5, a, b, tau, 20.0) for a, b in zip(ends[:-1], ends[1:]))
    assert np.allclose(pieces, whole, rtol=0, atol=1e-14)
    # within one window the average is that window's draw
    assert np.array_equal(step_average(c, 5, 0.041, 0.047, tau, 20.0), uniform_field(c, 5, 2, 20.0))


def test_step_average_over_n_windows_has_variance_one_third_over_n():
    c = grid(100)
    for n in (1, 4, 16):
        v = step_average(c, 3, 0.0, n * 0.5, 0.5, 20.0)
        assert abs(v.var() * 3 * n - 1) < 0.05


def test_lattice_noise_does_not_depend_on_the_mesh():
    """With lattice_spacing the draws sit on the lattice: a node on a lattice
    point gets exactly the per-node draw there (so the published 1 um grid
    sees the same forcing with and without the lattice), a node between two
    lattice points on an edge their linear interpolation, a cell centre the
    mean of the four corners, whatever other points are evaluated with it."""
    h, size = 1.0, 200.0
    corners = np.array([[3.0, 7.0, 0.0], [4.0, 7.0, 0.0], [3.0, 8.0, 0.0], [4.0, 8.0, 0.0]])
    per_node = uniform_field(corners, 5, 11, size)
    on_lattice = uniform_field(corners, 5, 11, size, spacing=h)
    assert np.array_equal(on_lattice, per_node)
    fine = np.array([[3.25, 7.0, 0.0], [3.5, 7.5, 0.0], [150.0, 20.0, 0.0]])
    values = uniform_field(fine, 5, 11, size, spacing=h)
    assert values[0] == pytest.approx(0.75 * per_node[0] + 0.25 * per_node[1], abs=1e-15)
    assert values[1] == pytest.approx(per_node.mean(), abs=1e-15)
    assert uniform_field(fine[1:2], 5, 11, size, spacing=h)[0] == values[1]
