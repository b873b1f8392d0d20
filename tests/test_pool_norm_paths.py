"""Every row of the pooling and normalisation selection tables against plain loops."""

import itertools

import numpy as np
import pytest

from lapenna.backend import norm, pool

SAME2 = ((0, 0), (0, 0))
# (row, x shape, pool, strides, pads): each picks its row of pool.READ and pool.SCATTER
READ_CASES = [
    ("pixels", (3, 6, 6, 5), (2, 2), (2, 2), SAME2),
    ("view", (3, 6, 6, 24), (2, 2), (2, 2), SAME2),
]
SCATTER_CASES = [
    ("pixels", (3, 6, 6, 5), (2, 2), (2, 2), SAME2),
    ("tiles", (3, 6, 4, 24), (3, 2), (3, 2), SAME2),
    ("tiles", (2, 5, 5, 24), (3, 3), (3, 3), ((1, 0), (0, 1))),
    ("accumulate", (3, 7, 7, 5), (3, 3), (2, 2), ((1, 1), (1, 1))),
    ("accumulate", (2, 7, 6, 24), (2, 3), (1, 2), SAME2),
]


def _windows(x, pool_size, strides, pads):
    """(output index, window values (taps, C)) for every output position, by loops."""
    xpad = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=-np.inf)
    out = pool.pool_output_size(x.shape[1:-1], pool_size, strides, pads)
    for n in range(x.shape[0]):
        for pos in itertools.product(*(range(m) for m in out)):
            corner = [p * s for p, s in zip(pos, strides)]
            window = xpad[(n, *(slice(c, c + k) for c, k in zip(corner, pool_size)))]
            yield (n, *pos), corner, window.reshape(-1, x.shape[-1])


def _reference(x, g, pool_size, strides, pads):
    """Max values, winning offsets and the input gradient of ``sum(g * max_pool(x))``."""
    out = pool.pool_output_size(x.shape[1:-1], pool_size, strides, pads)
    values = np.empty((x.shape[0], *out, x.shape[-1]))
    winners = np.empty(values.shape, dtype=int)
    padded = [n + b + a for n, (b, a) in zip(x.shape[1:-1], pads)]
    dx = np.zeros((x.shape[0], *padded, x.shape[-1]))
    for index, corner, window in _windows(x, pool_size, strides, pads):
        best = window.argmax(axis=0)  # the first maximum in row-major window order
        values[index] = window.max(axis=0)
        winners[index] = best
        for c, t in enumerate(best):
            offset = np.unravel_index(t, pool_size)
            cell = tuple(k + o for k, o in zip(corner, offset))
            dx[(index[0], *cell, c)] += g[(*index, c)]
    crop = tuple(slice(b, n - a) for n, (b, a) in zip(padded, pads))
    return values, winners, dx[(slice(None), *crop)]


def _problem(x_shape, pool_size, strides, pads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    x[0, :2, :2, 0] = 1.5  # a tie: the first offset in row-major order wins
    out = pool.pool_output_size(x_shape[1:-1], pool_size, strides, pads)
    g = rng.standard_normal((x_shape[0], *out, x_shape[-1]))
    return x, g


@pytest.mark.parametrize("case", READ_CASES, ids=[c[0] for c in READ_CASES])
def test_read_paths_give_the_window_maxima_and_winners(case):
    name, x_shape, pool_size, strides, pads = case
    x, g = _problem(x_shape, pool_size, strides, pads)
    assert pool.select(pool.READ, x).name == name
    want_values, want_winners, _ = _reference(x, g, pool_size, strides, pads)
    values, winners = pool.max_pool(x, pool_size, strides, pads)
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(winners, want_winners)
    np.testing.assert_array_equal(pool.max_pool_values(x, pool_size, strides, pads), want_values)


@pytest.mark.parametrize("case", SCATTER_CASES, ids=[c[0] for c in SCATTER_CASES])
def test_scatter_paths_give_the_input_gradient(case):
    name, x_shape, pool_size, strides, pads = case
    x, g = _problem(x_shape, pool_size, strides, pads)
    padded = (x_shape[0], *(n + b + a for n, (b, a) in zip(x_shape[1:-1], pads)), x_shape[-1])
    out = pool.pool_output_size(x_shape[1:-1], pool_size, strides, pads)
    tiles = pool._tiles_exactly(x_shape, pool_size, strides, pads, out)
    assert pool.select(pool.SCATTER, tiles, np.empty(padded)).name == name
    _, winners, want = _reference(x, g, pool_size, strides, pads)
    _, argmax = pool.max_pool(x, pool_size, strides, pads)
    got = pool.max_pool_scatter(g, argmax, x_shape, pool_size, strides, pads)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


# (row, array shape, axes): each picks its row of norm.SUM; DOT_CASES of norm.DOT
SUM_CASES = [
    ("leading", (4, 5, 6, 3), (0, 1, 2)),
    ("trailing", (4, 5, 6), (1, 2)),
    ("reduce", (4, 5, 6), (0, 2)),
    ("reduce", (4, 5, 6), (1,)),
]
DOT_CASES = [
    ("einsum", (4, 5, 16), (0, 1)),
    ("product", (4, 5, 3), (0, 1)),
    ("product", (4, 5, 16), (2,)),
]


@pytest.mark.parametrize("case", SUM_CASES, ids=[c[0] for c in SUM_CASES])
def test_sum_paths_equal_numpys_reduction(case):
    name, shape, axes = case
    a = np.random.default_rng(1).standard_normal(shape)
    assert norm.select(norm.SUM, a, axes).name == name
    got = norm.axis_sum(a, axes)
    np.testing.assert_allclose(got, a.sum(axis=axes, keepdims=True), rtol=1e-12, atol=1e-12)
    assert got.shape == a.sum(axis=axes, keepdims=True).shape


@pytest.mark.parametrize("case", DOT_CASES, ids=[c[0] for c in DOT_CASES])
def test_dot_paths_equal_the_sum_of_the_product(case):
    name, shape, axes = case
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    assert norm.select(norm.DOT, a, b, axes).name == name
    want = (a * b).sum(axis=axes, keepdims=True)
    np.testing.assert_allclose(norm.axis_dot(a, b, axes), want, rtol=1e-12, atol=1e-12)


def test_every_row_of_every_table_is_tested():
    for table, cases in (
        (pool.READ, READ_CASES),
        (pool.SCATTER, SCATTER_CASES),
        (norm.SUM, SUM_CASES),
        (norm.DOT, DOT_CASES),
    ):
        assert {row.name for row in table} == {case[0] for case in cases}
        assert all(row.why for row in table)
