"""Every row of the convolution selection tables against the reference im2col/col2im."""

import numpy as np
import pytest

from lapenna.backend import conv, conv_reference

ONE, PAD1 = (1, 1), ((1, 1), (1, 1))
NONE = ((0, 0), (0, 0))
# (name, x shape, kernel shape, strides, pads, dilation, groups): each picks its row
FORWARD_CASES = [
    ("winograd", (2, 6, 6, 16), (3, 3, 16, 16), ONE, PAD1, ONE, 1),
    ("depthwise", (2, 7, 7, 4), (3, 3, 1, 8), (2, 2), PAD1, ONE, 4),
    ("banded", (2, 14, 14, 6), (5, 5, 6, 16), ONE, NONE, ONE, 1),
    ("im2col", (2, 7, 7, 3), (3, 3, 3, 32), (2, 1), ((1, 0), (0, 1)), (1, 2), 1),
    ("im2col", (2, 6, 6, 4), (3, 3, 2, 6), ONE, PAD1, ONE, 2),
]
INPUT_CASES = [
    ("correlation", (2, 6, 6, 16), (3, 3, 16, 16), ONE, PAD1, ONE, 1),
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
