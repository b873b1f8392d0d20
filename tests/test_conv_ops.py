"""Convolutions: the course example, gradient checks over a grid of geometries, Winograd,
bad input, what backward keeps, and the parallel chunk loops (PyTorch references are in
tests/test_conv_torch.py)."""

import itertools

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops
from lapenna.backend import banded, winograd
from lapenna.testing import gradcheck, gradgradcheck

rng = np.random.default_rng(11)


# -- the course's worked example -------------------------------------------------------
COURSE_INPUT = [
    ["0000000", "0012220", "0201020", "0001120", "0102200", "0212100", "0000000"],
    ["0000000", "0010220", "0010200", "0211200", "0100000", "0021000", "0000000"],
    ["0000000", "0012120", "0201010", "0112100", "0102100", "0200220", "0000000"],
]
COURSE_W0 = [
    [[0, 0, 1], [1, -1, -1], [1, 1, 0]],
    [[0, 1, -1], [0, 1, 0], [0, 0, 0]],
    [[1, 0, 1], [0, 1, 1], [-1, 1, 0]],
]
COURSE_W1 = [
    [[-1, 1, 0], [1, 1, -1], [0, -1, -1]],
    [[1, 1, -1], [1, 1, 1], [0, -1, 1]],
    [[1, 1, -1], [-1, 0, 1], [-1, 1, -1]],
]


def test_course_convolution_example():
    x = np.array([[[int(ch) for ch in row] for row in c] for c in COURSE_INPUT], np.float32)
    x = x.transpose(1, 2, 0)[None]  # (1, 7, 7, 3), x[row, col, channel]
    w = np.stack([np.array(COURSE_W0), np.array(COURSE_W1)], axis=-1)  # (c, kh, kw, out)
    w = w.transpose(1, 2, 0, 3).astype(np.float32)
    y = ops.conv2d(x, w, np.array([1.0, 0.0], np.float32), strides=2)
    assert y.shape == (1, 3, 3, 2) and y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy()[0, :, :, 0], [[5, 3, 8], [6, 5, 1], [1, 5, 5]])
    np.testing.assert_array_equal(y.numpy()[0, :, :, 1], [[2, 6, 6], [6, 2, 8], [6, 10, -2]])


def test_output_size_rule():
    y = ops.conv2d(np.zeros((2, 28, 28, 1), np.float32), np.zeros((5, 5, 1, 3), np.float32))
    assert y.shape == (2, 24, 24, 3)
    y = ops.conv2d(np.zeros((1, 7, 8, 1)), np.zeros((2, 2, 1, 1)), strides=2, padding="same")
    assert y.shape == (1, 4, 4, 1)


# -- gradient checks over a grid -------------------------------------------------------
PADDINGS = ("valid", "same", 1, ((1, 0), (0, 2)))
GRID = list(itertools.product((1, 2, 3), (1, 2), (1, 2), PADDINGS, (1, 2)))


@pytest.mark.parametrize(("k", "stride", "dilation", "padding", "groups"), GRID)
def test_conv2d_gradients_over_grid(k, stride, dilation, padding, groups):
    # a 5x7 input: odd sizes, and "same" with even kernels and stride 2 in the grid
    x = rng.standard_normal((1, 5, 7, 2))
    w = rng.standard_normal((k, k, 2 // groups, 2))
    b = rng.standard_normal(2)

    def fn(x, w, b):
        return ops.conv2d(x, w, b, stride, padding, dilation, groups)

    assert gradcheck(fn, [x, w, b])


@pytest.mark.parametrize(
    ("k", "stride", "padding"), list(itertools.product((1, 2, 3), (1, 2, 3), ("valid", "same", 2)))
)
def test_conv1d_and_conv3d_gradients(k, stride, padding):
    x1, w1 = rng.standard_normal((2, 7, 2)), rng.standard_normal((k, 2, 3))
    assert gradcheck(lambda x, w: ops.conv1d(x, w, strides=stride, padding=padding), [x1, w1])
    x3, w3 = rng.standard_normal((1, 3, 4, 5, 1)), rng.standard_normal((min(k, 3), k, 2, 1, 2))
    assert gradcheck(lambda x, w: ops.conv3d(x, w, strides=stride, padding=padding), [x3, w3])


@pytest.mark.parametrize(("stride", "padding"), [(1, "same"), (2, "same"), (2, "valid")])
def test_conv2d_second_derivatives(stride, padding):
    x, w = rng.standard_normal((1, 5, 4, 2)), rng.standard_normal((3, 2, 2, 2))
    assert gradgradcheck(lambda x, w: ops.conv2d(x, w, strides=stride, padding=padding), [x, w])
    d = rng.standard_normal((1, 3, 2, 2))
    assert gradgradcheck(
        lambda d, w: ops.conv2d_transpose(d, w, strides=stride, padding=padding), [d, w]
    )


# -- Winograd ----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(6, 6), (7, 5), (2, 3)])
@pytest.mark.parametrize("padding", ["same", "valid", ((2, 0), (0, 1))])
def test_winograd_matches_im2col_and_passes_gradchecks(monkeypatch, size, padding):
    if padding == "valid" and min(size) < 3:
        padding = "same"
    x, w = rng.standard_normal((1, *size, 2)), rng.standard_normal((3, 3, 2, 2))
    monkeypatch.setattr(winograd, "_MIN_CHANNELS", 1)

    def fn(x, w):
        return ops.conv2d(x, w, padding=padding)

    assert winograd.applies((1, *size, 2), (3, 3, 2, 2), (1, 1), (1, 1), 1)
    fast = fn(lp.tensor(x), lp.tensor(w)).numpy()
    assert gradcheck(fn, [x, w])
    assert gradgradcheck(fn, [x, w])
    monkeypatch.setattr(winograd, "_MIN_CHANNELS", 10**9)
    np.testing.assert_allclose(fast, fn(lp.tensor(x), lp.tensor(w)).numpy(), atol=1e-12)


# -- banded kernels (few output channels) ----------------------------------------------
@pytest.mark.parametrize(("k", "stride", "dilation"), [(5, 1, 1), (3, 2, 1), (4, 1, 2), (2, 3, 1)])
def test_banded_expand_and_fold_are_adjoint(k, stride, dilation):
    w = rng.standard_normal((2, k, 3, 4))
    b = 3
    band = banded.expand(w, b, stride, dilation)
    assert band.shape == (2, banded.span(b, k, stride, dilation), 3, b * 4)
    other = rng.standard_normal(band.shape)
    np.testing.assert_allclose(
        np.sum(band * other), np.sum(w * banded.fold(other, b, k, stride, dilation)), rtol=1e-12
    )
    # each of the b output columns of the band holds the whole kernel once
    assert np.isclose(band.sum(), b * w.sum())


# (input shape, kernel shape, strides, padding, dilation): all take the banded path
BANDED = {
    "lenet-conv1": ((2, 12, 14, 1), (5, 5, 1, 6), 1, "same", 1),
    "lenet-conv2": ((2, 9, 14, 6), (5, 5, 6, 16), 1, "valid", 1),
    "stride-2": ((2, 9, 17, 2), (7, 7, 2, 5), 2, "same", 1),
    "rect-stride-pad": ((1, 8, 13, 3), (2, 5, 3, 4), (2, 1), ((1, 0), (2, 1)), 1),
    "dilated": ((1, 7, 16, 2), (3, 5, 2, 3), 1, "same", (1, 2)),
    "one-output": ((2, 6, 9, 4), (3, 5, 4, 1), 1, "same", 1),
    "1d": ((2, 20, 3), (5, 3, 8), 1, "same", 1),
    "3d": ((1, 3, 4, 8, 3), (2, 3, 3, 3, 6), 1, "same", 1),
}


@pytest.mark.parametrize("name", sorted(BANDED))
def test_banded_matches_im2col_and_passes_gradchecks(monkeypatch, name):
    xs, ws, strides, padding, dilation = BANDED[name]
    conv = {3: ops.conv1d, 4: ops.conv2d, 5: ops.conv3d}[len(xs)]
    x, w, bias = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[-1:])

    def fn(x, w, bias):
        return conv(x, w, bias, strides, padding, dilation, activation="relu")

    out = fn(*(lp.tensor(a) for a in (x, w, bias)))
    rank = len(xs) - 2

    def per_axis(v):
        return (v,) * rank if isinstance(v, int) else tuple(v)

    geometry = (ws[:-2], ws[-2], ws[-1], out.shape[1:-1], per_axis(strides), per_axis(dilation), 1)
    assert banded.width(*geometry) is not None and banded.grad_width(*geometry) is not None
    inputs = [lp.tensor(a, requires_grad=True) for a in (x, w, bias)]
    upstream = lp.tensor(rng.standard_normal(out.shape))
    fast = [fn(*inputs).numpy(), *(g.numpy() for g in lp.grad(fn(*inputs), inputs, upstream))]
    assert gradcheck(fn, [x, w, bias])
    assert gradgradcheck(lambda x, w: conv(x, w, None, strides, padding, dilation), [x, w])
    monkeypatch.setattr(banded, "_MIN_COLUMNS", 0)  # every convolution is a plain one now
    assert banded.width(*geometry) is None and banded.grad_width(*geometry) is None
    plain = [fn(*inputs).numpy(), *(g.numpy() for g in lp.grad(fn(*inputs), inputs, upstream))]
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_banded_width_rules():
    lenet = ((5, 5), 1, 6, (28, 28), (1, 1), (1, 1), 1)
    assert banded.width(*lenet) == 7  # 42 columns instead of 6
    assert banded.width((5, 5), 6, 16, (10, 10), (1, 1), (1, 1), 1) == 2
    assert banded.grad_width((5, 5), 6, 16, (10, 10), (1, 1), (1, 1), 1) == 5
    # wide enough already, grouped, 1-wide kernels, too much extra work, too short runs
    assert banded.width((5, 5), 6, 32, (10, 10), (1, 1), (1, 1), 1) is None
    assert banded.width((5, 5), 3, 16, (10, 10), (1, 1), (1, 1), 2) is None
    assert banded.width((5, 1), 6, 16, (10, 10), (1, 1), (1, 1), 1) is None
    assert banded.width((3, 3), 8, 8, (16, 16), (1, 1), (1, 2), 1) is None
    assert banded.width((3, 3), 1, 8, (28, 28), (1, 1), (1, 1), 1) is None
    # an output width with no usable divisor keeps the plain product
    assert banded.width((5, 5), 6, 16, (13, 13), (1, 1), (1, 1), 1) is None


# -- bad input ---------------------------------------------------------------------------
X = np.zeros((2, 6, 6, 3), np.float32)
W = np.zeros((3, 3, 3, 4), np.float32)
BAD_CALLS = {
    "input rank": (lambda: ops.conv2d(X[0], W), "conv2d expects a 4-D input", ValueError),
    "kernel rank": (lambda: ops.conv2d(X, W[0]), "conv2d expects a 4-D kernel", ValueError),
    "channels": (
        lambda: ops.conv2d(X, np.zeros((3, 3, 2, 4), np.float32)),
        "the input has 3 channels but the kernel",
        ValueError,
    ),
    "padding string": (
        lambda: ops.conv2d(X, W, padding="full"),
        'conv2d: padding must be "valid", "same"',
        ValueError,
    ),
    "negative padding": (
        lambda: ops.conv2d(X, W, padding=-1),
        "conv2d: padding must be non-negative",
        ValueError,
    ),
    "zero stride": (lambda: ops.conv2d(X, W, strides=0), "strides must be >= 1", ValueError),
    "stride tuple": (lambda: ops.conv2d(X, W, strides=(1, 2, 3)), "tuple of 2 ints", ValueError),
    "too small": (
        lambda: ops.conv2d(X, np.zeros((7, 7, 3, 1), np.float32)),
        "conv2d: the input of spatial size (6, 6) is too small",
        ValueError,
    ),
    "groups": (lambda: ops.conv2d(X, W, groups=2), "with groups=2 expects", ValueError),
    "bias": (
        lambda: ops.conv2d(X, W, np.zeros(3, np.float32)),
        "bias must have shape (4,)",
        ValueError,
    ),
    "dtype": (
        lambda: ops.conv2d(X, lp.tensor(W.astype(np.float64))),
        "kernel has dtype float64",
        TypeError,
    ),
    "int input": (
        lambda: ops.conv2d(X.astype(np.int64), W),
        "floating-point input, got dtype int64",
        TypeError,
    ),
    "depthwise kernel": (
        lambda: ops.depthwise_conv2d(X, np.zeros((3, 3, 2, 1), np.float32)),
        "depthwise_conv2d expects a kernel (kh, kw, 3, multiplier)",
        ValueError,
    ),
    "transpose channels": (
        lambda: ops.conv2d_transpose(X, np.zeros((3, 3, 4, 2), np.float32)),
        "the input has 3 channels",
        ValueError,
    ),
    "output padding": (
        lambda: ops.conv2d_transpose(X, W.transpose(0, 1, 3, 2), strides=2, output_padding=2),
        "output_padding (2, 2) must be smaller than strides (2, 2)",
        ValueError,
    ),
    "conv rank": (
        lambda: ops.conv(X, np.zeros((3, 3))),
        "conv expects a 3-D, 4-D or 5-D",
        ValueError,
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_input_raises_clear_errors(name):
    call, message, error = BAD_CALLS[name]
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


# -- what backward computes and keeps ---------------------------------------------------
def test_input_gradient_is_skipped_when_not_needed(monkeypatch):
    from lapenna.autograd.functions import conv as conv_functions

    def fail(*args, **kwargs):
        raise AssertionError("the input gradient was computed")

    monkeypatch.setattr(conv_functions.B, "conv_input_grad", fail)
    x = lp.tensor(rng.standard_normal((2, 5, 5, 2)).astype(np.float32))
    w = lp.tensor(rng.standard_normal((3, 3, 2, 4)).astype(np.float32), requires_grad=True)
    (gw,) = lp.grad(ops.conv2d(x, w).sum(), w)
    assert gw.shape == w.shape and gw.dtype == np.float32


def test_backward_keeps_only_input_and_kernel():
    x = lp.tensor(rng.standard_normal((2, 5, 5, 2)), requires_grad=True)
    w = lp.tensor(rng.standard_normal((3, 3, 2, 4)), requires_grad=True)
    y = ops.conv2d(x, w, lp.tensor(np.zeros(4)), padding="same")
    assert [id(t) for t in y.node.saved_tensors] == [id(x), id(w)]


# -- the chunk loops give the same result on one core and on several -------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda x, w: ops.conv2d(x, w, strides=2, padding="same"),
        lambda x, w: ops.conv2d(x, w[:, :, :, :3], padding="same"),  # Winograd F(2x2)
        lambda x, w: ops.conv2d(x[:, :8], w, padding="same"),  # Winograd F(4x4)
        lambda x, w: ops.depthwise_conv2d(x, w.reshape(3, 3, 16, -1)[:, :, :, :1]),
        lambda x, w: ops.max_pool2d(ops.conv2d(x, w), 2),
    ],
)
def test_parallel_chunks_match_serial(monkeypatch, call):
    from lapenna.backend import parallel

    pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(winograd, "_MIN_CHANNELS", 1)
    monkeypatch.setattr(parallel, "_MIN_PARALLEL_BYTES", 0)
    x = rng.standard_normal((5, 9, 8, 16))
    w = rng.standard_normal((3, 3, 16, 4))
    results = []
    for count in (1, 2, 3):
        monkeypatch.setattr(parallel, "workers", lambda count=count: count)
        inputs = [lp.tensor(x, requires_grad=True), lp.tensor(w, requires_grad=True)]
        out = call(*inputs)
        results.append([out.numpy(), *(g.numpy() for g in lp.grad(out.sum(), inputs))])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda x, w: ops.conv2d(x, w, padding="same"),  # Winograd
        lambda x, w: ops.conv2d(x, w, strides=2),
        lambda x, w: ops.depthwise_conv2d(x, w[:, :, :, :1]),
        lambda x, w: ops.conv2d_transpose(x, w, strides=2),
        lambda x, w: ops.max_pool2d(x, 2) * ops.sum(w),
    ],
)
def test_an_empty_batch_gives_empty_outputs_and_zero_kernel_gradients(call):
    x = lp.tensor(np.zeros((0, 8, 8, 16), np.float32), requires_grad=True)
    w = lp.tensor(np.ones((3, 3, 16, 16), np.float32), requires_grad=True)
    out = call(x, w)
    assert out.shape[0] == 0
    gx, gw = lp.grad(out.sum(), [x, w])
    assert gx.shape == x.shape and gw.shape == w.shape and not gw.numpy().any()
