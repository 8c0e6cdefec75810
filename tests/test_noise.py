import numpy as np

from solver.noise import uniform_field


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
