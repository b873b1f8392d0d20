"""Every row of the convolution selection tables against the reference im2col/col2im,
and the Winograd algorithms' own properties (matrices, selection, float32 error)."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.backend import conv, conv_reference, winograd
from lapenna.testing import gradgradcheck, numerical_gradient

ONE, PAD1 = (1, 1), ((1, 1), (1, 1))
NONE = ((0, 0), (0, 0))
# (name, x shape, kernel shape, strides, pads, dilation, groups): each picks its row
FORWARD_CASES = [
    # 15x14 outputs: the last 4x4 tiles of each axis are partial
    ("winograd 4x4", (2, 15, 14, 16), (3, 3, 16, 24), ONE, PAD1, ONE, 1),
    ("winograd 4x4", (2, 15, 17, 24), (3, 3, 24, 16), ONE, ((2, 0), (0, 1)), ONE, 1),
    ("winograd 4x4", (3, 17, 19, 16), (3, 3, 16, 16), ONE, NONE, ONE, 1),
    ("winograd 2x2", (2, 6, 6, 16), (3, 3, 16, 16), ONE, PAD1, ONE, 1),
    ("winograd 2x2", (2, 9, 7, 16), (3, 3, 16, 20), ONE, PAD1, ONE, 1),
    ("depthwise", (2, 7, 7, 4), (3, 3, 1, 8), (2, 2), PAD1, ONE, 4),
    ("banded", (2, 14, 14, 6), (5, 5, 6, 16), ONE, NONE, ONE, 1),
    ("im2col", (2, 7, 7, 3), (3, 3, 3, 32), (2, 1), ((1, 0), (0, 1)), (1, 2), 1),
    ("im2col", (2, 6, 6, 4), (3, 3, 2, 6), ONE, PAD1, ONE, 2),
]
INPUT_CASES = [
    ("correlation 4x4", (2, 15, 14, 16), (3, 3, 16, 24), ONE, PAD1, ONE, 1),
    ("correlation 4x4", (2, 15, 17, 24), (3, 3, 24, 16), ONE, ((2, 0), (0, 1)), ONE, 1),
    ("correlation 4x4", (3, 17, 19, 16), (3, 3, 16, 16), ONE, NONE, ONE, 1),
    ("correlation 2x2", (2, 6, 6, 16), (3, 3, 16, 16), ONE, PAD1, ONE, 1),
    ("banded", (2, 14, 14, 6), (5, 5, 6, 16), ONE, NONE, ONE, 1),
    ("depthwise", (2, 7, 7, 4), (3, 3, 1, 8), (2, 2), PAD1, ONE, 4),
    ("one GEMM", (2, 5, 5, 8), (1, 1, 8, 4), ONE, NONE, ONE, 1),
    ("col2im", (2, 7, 7, 3), (3, 3, 3, 32), (2, 1), ((1, 0), (0, 1)), (1, 2), 1),
    ("col2im", (2, 6, 6, 4), (3, 3, 2, 6), ONE, PAD1, ONE, 2),
]


def _problem(x_shape, w_shape, strides, pads, dilation):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out = conv.conv_output_size(x_shape[1:-1], w_shape[:2], strides, pads, dilation)
    dy = rng.standard_normal((x_shape[0], *out, w_shape[-1]))
    return x, w, dy


@pytest.mark.parametrize("case", FORWARD_CASES, ids=[c[0] for c in FORWARD_CASES])
def test_forward_and_kernel_paths_match_the_reference(case):
    name, x_shape, w_shape, strides, pads, dilation, groups = case
    x, w, dy = _problem(x_shape, w_shape, strides, pads, dilation)
    geometry = (strides, pads, dilation, groups)
    assert conv.select(conv.FORWARD, x, w, *geometry).name == name
    bias = np.linspace(-1, 1, w_shape[-1])
    want = np.maximum(conv_reference.forward(x, w, *geometry) + bias, 0)
    got = conv.conv_forward(x, w, *geometry, bias=bias, relu=True)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    kernel = w_shape[:2]
    assert conv.select(conv.KERNEL_GRAD, x, dy, kernel, *geometry).name == name
    np.testing.assert_allclose(
        conv.conv_kernel_grad(x, dy, kernel, *geometry),
        conv_reference.kernel_grad(x, dy, kernel, *geometry),
        rtol=1e-10,
        atol=1e-10,
    )


@pytest.mark.parametrize("case", INPUT_CASES, ids=[c[0] for c in INPUT_CASES])
def test_input_gradient_paths_match_the_reference(case):
    name, x_shape, w_shape, strides, pads, dilation, groups = case
    _, w, dy = _problem(x_shape, w_shape, strides, pads, dilation)
    args = (dy, w, x_shape[1:-1], strides, pads, dilation, groups)
    assert conv.select(conv.INPUT_GRAD, *args).name == name
    np.testing.assert_allclose(
        conv.conv_input_grad(*args), conv_reference.input_grad(*args), rtol=1e-10, atol=1e-10
    )


def test_the_reference_is_the_adjoint_pair_of_a_direct_sum():
    x, w, dy = _problem((2, 6, 5, 3), (3, 2, 3, 4), (2, 1), ((1, 0), (0, 1)), (1, 2))
    geometry = ((2, 1), ((1, 0), (0, 1)), (1, 2), 1)
    y = conv_reference.forward(x, w, *geometry)
    xpad = conv_reference.pad_spatial(x, geometry[1])
    direct = np.zeros_like(y)
    for i in range(3):
        for j in range(2):
            patch = xpad[:, i : i + 2 * (y.shape[1] - 1) + 1 : 2, 2 * j : 2 * j + y.shape[2]]
            direct += patch @ w[i, j]
    np.testing.assert_allclose(y, direct, rtol=1e-12)
    # <dy, conv(x, w)> = <dx, x> = <dw, w>: the two gradients are the adjoints
    inner = np.sum(dy * y)
    dx = conv_reference.input_grad(dy, w, x.shape[1:-1], *geometry)
    dw = conv_reference.kernel_grad(x, dy, w.shape[:2], *geometry)
    np.testing.assert_allclose([np.sum(dx * x), np.sum(dw * w)], [inner, inner], rtol=1e-12)


def test_every_row_of_every_table_is_tested():
    for table, cases in (
        (conv.FORWARD, FORWARD_CASES),
        (conv.KERNEL_GRAD, FORWARD_CASES),
        (conv.INPUT_GRAD, INPUT_CASES),
    ):
        assert {row.name for row in table} == {case[0] for case in cases}
        assert all(row.why for row in table)


# -- the Winograd algorithms -------------------------------------------------------------
def test_the_matrices_built_from_the_points():
    # 0, +-1, +-2 and infinity: Lavin and Gray's F(4, 3), entry for entry
    at, g, bt = winograd._matrices((0, 1, -1, 2, -2))
    assert bt[0] == (4, 0, -5, 0, 1, 0) and bt[1] == (0, -4, -4, 1, 1, 0)
    assert bt[5] == (0, 4, 0, -5, 0, 1) and g[0] == (1 / 4, 0, 0)
    assert g[3] == (1 / 24, 1 / 12, 1 / 6) and at[3] == (0, 1, -1, 8, -8, 1)
    # one dimension: m outputs of a 3-tap correlation from t inputs, t multiplications
    rng = np.random.default_rng(1)
    for f in (winograd.F2x2, winograd.F4x4):
        d, g = rng.standard_normal(f.t), rng.standard_normal(3)
        y = np.array(f.at) @ ((np.array(f.g) @ g) * (np.array(f.bt) @ d))
        np.testing.assert_allclose(y, np.correlate(d, g, "valid"), rtol=1e-12)


@pytest.mark.parametrize("f", [winograd.F2x2, winograd.F4x4], ids=["2x2", "4x4"])
def test_the_transforms_apply_their_matrices(f):
    """By additions (F(2x2)'s 0 and +-1) or by one product (F(4x4)), along either axis."""
    rng = np.random.default_rng(2)
    for matrix in (f.bt, f.at, f.a):
        k = len(matrix[0])
        d = rng.standard_normal((k, 3, 4))
        want = np.tensordot(np.array(matrix), d, 1)
        np.testing.assert_allclose(winograd._apply(matrix, list(d)), want, rtol=1e-12)
        np.testing.assert_allclose(winograd._apply(matrix, d), want, rtol=1e-12)
        out = np.empty((3, len(matrix), 4))
        winograd._apply(matrix, d.swapaxes(0, 1).copy(), out, axis=1)
        np.testing.assert_allclose(out, want.swapaxes(0, 1), rtol=1e-12)
    w = rng.standard_normal((3, 3, 5, 7))
    u = np.einsum("ik,jl,klco->ijco", np.array(f.g), np.array(f.g), w)
    np.testing.assert_allclose(winograd._sandwich(f.g, w), u, rtol=1e-12)


@pytest.mark.parametrize(
    ("shape", "four"),
    [
        ((64, 32, 32, 64), True),  # ResNet-18 on CIFAR at batch 64
        ((64, 16, 16, 128), True),
        ((64, 8, 8, 256), True),
        ((64, 4, 4, 512), False),  # one tile a sample: U outweighs the 4x fewer products
        ((64, 6, 6, 64), False),  # as many products as F(2x2): 2x2 tiles of 4 or 3x3 of 2
        ((64, 14, 14, 128), False),  # 1.36x fewer products only
        ((8, 8, 8, 256), False),  # 32 tiles for 256 channels
        ((64, 32, 32, 1024), False),  # wider than its float32 error was measured at
    ],
)
def test_f4x4_is_chosen_where_it_was_measured_faster(shape, four):
    assert winograd.prefers_4x4(shape, PAD1, shape[-1]) is four
    x, w = np.empty(shape, np.float32), np.empty((3, 3, shape[-1], shape[-1]), np.float32)
    name = conv.select(conv.FORWARD, x, w, ONE, PAD1, ONE, 1).name
    assert name == ("winograd 4x4" if four else "winograd 2x2")
    name = conv.select(conv.INPUT_GRAD, x, w, shape[1:3], ONE, PAD1, ONE, 1).name
    assert name == ("correlation 4x4" if four else "correlation 2x2")


def test_float32_error_of_f4x4_stays_within_a_few_times_f2x2s():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 16, 16, 128))
    w = rng.standard_normal((3, 3, 128, 128)) * np.sqrt(2 / (9 * 128))
    exact = conv_reference.forward(x, w, ONE, PAD1, ONE, 1)
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    errors = {}
    for f in (winograd.F2x2, winograd.F4x4):
        y = winograd.conv3x3(x32, w32, PAD1, f)
        assert y.dtype == np.float32
        errors[f.m] = np.linalg.norm(y - exact) / np.linalg.norm(exact)
    assert errors[2] < 1e-6 and errors[4] < 5e-6 and errors[4] < 6 * errors[2]


@pytest.mark.parametrize(("padding", "size"), [("same", (12, 11)), ("valid", (14, 10))])
def test_a_conv2d_layer_on_f4x4_passes_gradchecks(monkeypatch, padding, size):
    monkeypatch.setattr(winograd, "_MIN_CHANNELS", 1)
    lp.set_floatx("float64")
    rng = np.random.default_rng(4)
    layer = layers.Conv2D(3, 3, padding=padding, bias_initializer="glorot_uniform")
    x = lp.tensor(rng.standard_normal((2, *size, 2)), requires_grad=True)
    y = layer(x)
    pads = PAD1 if padding == "same" else NONE
    geometry = (ONE, pads, ONE, 1)
    assert conv.select(conv.FORWARD, x.numpy(), layer.kernel.numpy(), *geometry).name == (
        "winograd 4x4"
    )
    assert conv.select(conv.KERNEL_GRAD, x.numpy(), y.numpy(), (3, 3), *geometry).name == (
        "winograd 4x4"
    )
    if padding == "same":  # dX is dY convolved with the flipped kernel, also on F(4x4)
        args = (y.numpy(), layer.kernel.numpy(), size, *geometry)
        assert conv.select(conv.INPUT_GRAD, *args).name == "correlation 4x4"
    weights = rng.standard_normal(y.shape)
    inputs = [x, layer.kernel, layer.bias]
    grads = lp.grad((y * lp.tensor(weights)).sum(), inputs)
    for i, g in enumerate(grads):
        expected = numerical_gradient(lambda *_: layer(x), inputs, i, weights)
        np.testing.assert_allclose(g.numpy(), expected, rtol=1e-6, atol=1e-7)
    kernel = layer.kernel.numpy()
    assert gradgradcheck(lambda x, k: lp.ops.conv2d(x, k, padding=padding), [x.numpy(), kernel])
