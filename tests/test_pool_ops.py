"""Pooling: the course's max pooling and unpooling, naive references for "same" padding,
PyTorch references, ties, NaNs, gradient checks and bad input."""

import itertools

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops
from lapenna.testing import gradcheck, gradgradcheck

rng = np.random.default_rng(5)

COURSE = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], np.float32)


def test_course_max_pool_and_unpool():
    x = COURSE.reshape(1, 4, 4, 1)
    values, indices = ops.max_pool2d_with_argmax(x, 2, 2)
    np.testing.assert_array_equal(values.numpy().reshape(2, 2), [[5, 6], [7, 8]])
    np.testing.assert_array_equal(ops.max_pool2d(x).numpy().reshape(2, 2), [[5, 6], [7, 8]])
    assert indices.dtype == np.int64 and not indices.requires_grad
    up = ops.max_unpool2d(
        np.array([[1, 2], [3, 4]], np.float32).reshape(1, 2, 2, 1), indices, (4, 4)
    )
    expected = [[0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]]
    np.testing.assert_array_equal(up.numpy().reshape(4, 4), expected)


def _naive_pool(x, pool, strides, padding, reduce):
    """Loops over output positions; "same" pads as TensorFlow and skips padded cells."""
    n, *size, c = x.shape
    pads = []
    for m, k, s in zip(size, pool, strides):
        out = -(-m // s) if padding == "same" else (m - k) // s + 1
        total = max((out - 1) * s + k - m, 0) if padding == "same" else 0
        pads.append((out, total // 2))
    result = np.zeros((n, *(o for o, _ in pads), c))
    for pos in itertools.product(*(range(o) for o, _ in pads)):
        window = tuple(
            slice(max(p * s - b, 0), min(p * s - b + k, m))
            for p, s, (_, b), k, m in zip(pos, strides, pads, pool, size)
        )
        cells = x[(slice(None), *window)].reshape(n, -1, c)
        result[(slice(None), *pos)] = cells.max(1) if reduce == "max" else cells.mean(1)
    return result


POOL_GRID = list(itertools.product((2, 3), (1, 2, 3), ("valid", "same")))


@pytest.mark.parametrize(("pool", "stride", "padding"), POOL_GRID)
def test_pools_match_naive_reference_and_gradcheck(pool, stride, padding):
    x = rng.permutation(2 * 5 * 7 * 2).reshape(2, 5, 7, 2) * 0.1
    for reduce, fn in (("max", ops.max_pool2d), ("mean", ops.avg_pool2d)):
        y = fn(x, pool, stride, padding)
        np.testing.assert_allclose(
            y.numpy(), _naive_pool(x, (pool,) * 2, (stride,) * 2, padding, reduce)
        )
        assert gradcheck(lambda x, fn=fn: fn(x, pool, stride, padding), [x])


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool1d_pool3d_match_naive_reference(padding):
    x1 = rng.standard_normal((2, 7, 3))
    x3 = rng.standard_normal((1, 3, 5, 4, 2))
    np.testing.assert_allclose(
        ops.max_pool1d(x1, 3, 2, padding).numpy(), _naive_pool(x1, (3,), (2,), padding, "max")
    )
    np.testing.assert_allclose(
        ops.avg_pool1d(x1, 2, 1, padding).numpy(), _naive_pool(x1, (2,), (1,), padding, "mean")
    )
    geometry = ((2, 3, 2), (1, 2, 2))
    np.testing.assert_allclose(
        ops.max_pool3d(x3, *geometry, padding).numpy(), _naive_pool(x3, *geometry, padding, "max")
    )
    np.testing.assert_allclose(
        ops.avg_pool3d(x3, *geometry, padding).numpy(), _naive_pool(x3, *geometry, padding, "mean")
    )


def test_second_derivatives_of_pools():
    x = rng.permutation(1 * 5 * 4 * 2).reshape(1, 5, 4, 2) * 0.3
    assert gradgradcheck(lambda x: ops.max_pool2d(x, 2, 1, "same") ** 2, [x])
    assert gradgradcheck(lambda x: ops.avg_pool2d(x, 3, 2, "same") ** 2, [x])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pools_match_torch(dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 9, 8, 3)).astype(dtype)
    upstream = rng.standard_normal((2, 4, 3, 3)).astype(dtype)
    for ours, theirs in (
        (ops.max_pool2d, torch.nn.functional.max_pool2d),
        (ops.avg_pool2d, torch.nn.functional.avg_pool2d),
    ):
        xl = lp.tensor(x, requires_grad=True)
        y = ours(xl, 3, 2)
        (gx,) = lp.grad(y, xl, grad_outputs=lp.tensor(upstream))
        xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
        yt = theirs(xt, 3, 2)
        yt.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
        assert y.dtype == gx.dtype == np.dtype(dtype)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-6)
        np.testing.assert_allclose(
            gx.numpy(), xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-6, atol=1e-6
        )


def test_argmax_indices_match_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    _, indices = ops.max_pool2d_with_argmax(x, 2, 2)
    _, ref = torch.nn.functional.max_pool2d(
        torch.tensor(x.transpose(0, 3, 1, 2)), 2, 2, return_indices=True
    )
    channel = np.arange(3).reshape(1, 1, 1, 3)
    np.testing.assert_array_equal(indices.numpy(), ref.numpy().transpose(0, 2, 3, 1) * 3 + channel)


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima():
    x = lp.tensor(np.ones((1, 2, 2, 1), np.float32), requires_grad=True)
    (g,) = lp.grad(ops.max_pool2d(x).sum(), x)
    np.testing.assert_array_equal(g.numpy().reshape(2, 2), [[1, 0], [0, 0]])


def test_max_pool_propagates_nan():
    x = COURSE.copy()
    x[2, 3] = np.nan
    y = ops.max_pool2d(x.reshape(1, 4, 4, 1)).numpy().reshape(2, 2)
    assert np.isnan(y[1, 1]) and np.isfinite(y).sum() == 3


@pytest.mark.parametrize(
    "pool, x_shape, kwargs",
    [
        (ops.max_pool2d, (3, 7, 6, 4), {"pool_size": 2}),
        (ops.max_pool2d, (2, 7, 5, 3), {"pool_size": 3, "strides": 2, "padding": "same"}),
        (ops.max_pool2d, (2, 5, 5, 2), {"pool_size": 1}),
        (ops.max_pool1d, (2, 9, 3), {"pool_size": 3, "strides": 1}),
        (ops.max_pool3d, (1, 4, 5, 4, 2), {"pool_size": 2, "padding": "same"}),
    ],
)
def test_max_pool_without_gradients_gives_the_same_values(pool, x_shape, kwargs):
    """Under no_grad (or for an input that needs no gradient) no winner is recorded; the
    values, NaNs included, are those of the training path."""
    x = rng.standard_normal(x_shape)
    x.flat[5] = np.nan
    trained = pool(lp.tensor(x, requires_grad=True), **kwargs)
    assert trained.node.saved_tensors  # the winners are kept for backward
    with lp.no_grad():
        inferred = pool(lp.tensor(x, requires_grad=True), **kwargs)
    plain = pool(lp.tensor(x), **kwargs)
    np.testing.assert_array_equal(inferred.numpy(), trained.numpy())
    np.testing.assert_array_equal(plain.numpy(), trained.numpy())
    assert np.isnan(plain.numpy()).any()


def test_unpool_of_overlapping_windows_adds_repeated_positions():
    x = lp.tensor(np.array([0, 0, 9, 0, 0], np.float32).reshape(1, 1, 5, 1), requires_grad=True)
    values, idx = ops.max_pool2d_with_argmax(x, (1, 3), 1)
    np.testing.assert_array_equal(idx.numpy().reshape(-1), [2, 2, 2])
    up = ops.max_unpool2d(values, idx, (1, 5))
    np.testing.assert_array_equal(up.numpy().reshape(-1), [0, 0, 27, 0, 0])
    (g,) = lp.grad(up.sum(), x)
    np.testing.assert_array_equal(g.numpy().reshape(-1), [0, 0, 3, 0, 0])


def test_global_pools():
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(ops.global_avg_pool2d(x).numpy(), x.mean((1, 2)), rtol=1e-6)
    np.testing.assert_array_equal(
        ops.global_max_pool2d(x, keepdims=True).numpy(), x.max((1, 2), keepdims=True)
    )
    assert ops.global_avg_pool1d(x[:, 0]).shape == (2, 5)
    assert ops.global_max_pool3d(x[:, None]).shape == (2, 5)
    assert ops.global_avg_pool3d(x[:, None], keepdims=True).shape == (2, 1, 1, 1, 5)


BAD_CALLS = {
    "rank": (lambda: ops.max_pool2d(np.zeros((4, 4, 1))), "max_pool2d expects a 4-D input"),
    "too small": (
        lambda: ops.avg_pool2d(np.zeros((1, 2, 5, 1)), 3),
        "avg_pool2d: the input of spatial size (2, 5) is too small for a pool of (3, 3)",
    ),
    "padding": (
        lambda: ops.max_pool2d(np.zeros((1, 4, 4, 1)), padding=1),
        'max_pool2d: padding must be "valid" or "same", got 1',
    ),
    "pool size": (lambda: ops.max_pool1d(np.zeros((1, 4, 1)), 0), "pool_size must be >= 1"),
    "unpool indices": (
        lambda: ops.max_unpool2d(np.zeros((1, 2, 2, 1)), np.full((1, 2, 2, 1), 16), (4, 4)),
        "max_unpool2d: indices must lie in [0, 16)",
    ),
    "unpool shape": (
        lambda: ops.max_unpool2d(np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 1, 1), int), (4, 4)),
        "max_unpool2d: indices must be integers of the values' shape (1, 2, 2, 1)",
    ),
    "global rank": (
        lambda: ops.global_avg_pool2d(np.zeros((3, 4))),
        "global_avg_pool2d expects a 4-D",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_input_raises_clear_errors(name):
    call, message = BAD_CALLS[name]
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("pool", "stride", "padding"), [(2, 2, "valid"), (3, 2, "same"), (2, 1, "same")]
)
def test_argmax_indices_point_at_the_maxima(pool, stride, padding):
    x = rng.permutation(2 * 5 * 7 * 3).reshape(2, 5, 7, 3).astype(np.float32)
    values, indices = ops.max_pool2d_with_argmax(x, pool, stride, padding)
    picked = np.take_along_axis(x.reshape(2, -1), indices.numpy().reshape(2, -1), axis=1)
    np.testing.assert_array_equal(picked, values.numpy().reshape(2, -1))
    channel = indices.numpy() % 3
    np.testing.assert_array_equal(channel, np.broadcast_to(np.arange(3), channel.shape))


@pytest.mark.parametrize("channels", [1, 6, 20])
def test_max_pool_copy_first_path_keeps_ties_and_nans(monkeypatch, channels):
    """Few channels copy each window offset before comparing; the winners (first maximum
    on ties) and the NaNs are those of the direct path."""
    from lapenna.backend import pool

    x = rng.integers(0, 3, (3, 8, 6, channels)).astype(np.float32)  # many ties
    x[0, 1, 1, 0] = np.nan
    overlapping = {"pool": (3, 2), "strides": (2, 2), "pads": ((1, 1), (0, 0))}
    tiling = {"pool": (2, 3), "strides": (2, 3), "pads": ((0, 0), (0, 0))}
    for geometry in (overlapping, tiling):
        results = []
        for few in (10**6, 0):
            monkeypatch.setattr(pool, "_FEW_CHANNELS", few)
            values, winners = pool.max_pool(x, **geometry)
            g = np.arange(values.size, dtype=np.float32).reshape(values.shape) + 1
            scattered = pool.max_pool_scatter(g, winners, x.shape, **geometry)
            results.append((values, winners, pool.max_pool_values(x, **geometry), scattered))
        for fast, direct in zip(*results):
            np.testing.assert_array_equal(fast, direct)
        assert np.isnan(results[0][0]).any() and np.isnan(results[0][2]).any()
        # every gradient entry lands at its window's winner (one cell per window when the
        # windows tile the input; overlapping windows can share a winner)
        assert results[0][3].sum() == g.sum()
        if geometry is tiling:
            assert np.count_nonzero(results[0][3]) == g.size
