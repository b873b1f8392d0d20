"""Convolutions against PyTorch (forward and gradients, float32 and float64), and the
transposed convolution as the exact adjoint of the convolution."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops

rng = np.random.default_rng(12)


def close(got, ref, dtype):
    """Scale-aware comparison: errors relative to the largest reference entry."""
    tol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-10
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert got.shape == ref.shape
    scale = max(np.abs(ref).max(initial=0.0), 1.0)
    err = np.abs(got - ref).max(initial=0.0)
    assert err <= tol * scale, f"max error {err:.3g} > {tol:.0e} * {scale:.3g}"


# -- against PyTorch -------------------------------------------------------------------
def _torch_conv(torch, x, w, b, strides, pads, dilation, groups):
    """Channels-last convolution through torch: transpose, pad TF-style, convolve, back."""
    rank = x.ndim - 2
    first = (0, rank + 1, *range(1, rank + 1))
    last = (0, *range(2, rank + 2), 1)
    flat = [p for pair in reversed(pads) for p in pair]
    xt = torch.nn.functional.pad(x.permute(first), flat)
    wt = w.permute(rank + 1, rank, *range(rank))
    fn = getattr(torch.nn.functional, f"conv{rank}d")
    return fn(xt, wt, b, stride=strides, dilation=dilation, groups=groups).permute(last)


def _compare_with_torch(lp_fn, torch_fn, shapes, dtype):
    torch = pytest.importorskip("torch")
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [lp.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = lp_fn(*ours), torch_fn(torch, *theirs)
    assert out.dtype == np.dtype(dtype)
    close(out.numpy(), ref.detach().numpy(), dtype)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    grads = lp.grad(out, ours, grad_outputs=lp.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    for g, t in zip(grads, theirs):
        assert g.dtype == np.dtype(dtype)
        close(g.numpy(), t.grad.numpy(), dtype)


# (input shape, kernel shape, strides, padding, explicit pads torch gets, dilation, groups)
TORCH_CONV2D = {
    "3x3-same": ((2, 9, 8, 3), (3, 3, 3, 4), 1, "same", ((1, 1), (1, 1)), 1, 1),
    "even-same-stride2": ((2, 9, 8, 3), (2, 2, 3, 4), 2, "same", ((0, 1), (0, 0)), 1, 1),
    "dilated-valid": ((1, 11, 10, 2), (3, 3, 2, 3), 1, "valid", ((0, 0), (0, 0)), 2, 1),
    "groups-stride2": ((2, 7, 9, 4), (3, 3, 2, 6), 2, "same", ((1, 1), (1, 1)), 1, 2),
    "wide-groups-dilated": ((2, 9, 8, 12), (3, 2, 6, 8), 1, "same", ((2, 2), (1, 1)), 2, 2),
    "explicit": ((1, 6, 5, 2), (3, 2, 2, 2), (2, 1), ((2, 0), (1, 3)), ((2, 0), (1, 3)), 1, 1),
    "winograd-same": ((2, 10, 9, 16), (3, 3, 16, 16), 1, "same", ((1, 1), (1, 1)), 1, 1),
    "winograd-odd-valid": ((2, 7, 8, 32), (3, 3, 32, 20), 1, "valid", ((0, 0), (0, 0)), 1, 1),
    "lenet": ((3, 28, 28, 1), (5, 5, 1, 6), 1, "same", ((2, 2), (2, 2)), 1, 1),
    "lenet-conv2": ((3, 14, 14, 6), (5, 5, 6, 16), 1, "valid", ((0, 0), (0, 0)), 1, 1),
    "banded-stride2": ((2, 15, 17, 2), (7, 7, 2, 5), 2, "same", ((3, 3), (3, 3)), 1, 1),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(TORCH_CONV2D))
def test_conv2d_matches_torch(name, dtype):
    xs, ws, strides, padding, pads, dilation, groups = TORCH_CONV2D[name]
    stride2 = (strides,) * 2 if isinstance(strides, int) else strides
    _compare_with_torch(
        lambda x, w, b: ops.conv2d(x, w, b, strides, padding, dilation, groups),
        lambda torch, x, w, b: _torch_conv(torch, x, w, b, stride2, pads, (dilation,) * 2, groups),
        [xs, ws, ws[-1:]],
        dtype,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv1d_conv3d_depthwise_match_torch(dtype):
    _compare_with_torch(
        lambda x, w: ops.conv1d(x, w, strides=2, padding="same", dilation_rate=1),
        lambda torch, x, w: _torch_conv(torch, x, w, None, (2,), ((1, 2),), (1,), 1),
        [(2, 9, 3), (4, 3, 5)],
        dtype,
    )
    _compare_with_torch(
        lambda x, w: ops.conv3d(x, w, padding="same", groups=2),
        lambda torch, x, w: _torch_conv(torch, x, w, None, (1,) * 3, ((1, 1),) * 3, (1,) * 3, 2),
        [(1, 4, 5, 3, 4), (3, 3, 3, 2, 6)],
        dtype,
    )

    def torch_depthwise(torch, x, w):
        kh, kw, c, m = w.shape
        return _torch_conv(
            torch, x, w.reshape(kh, kw, 1, c * m), None, (2, 2), ((0, 1), (1, 1)), (1, 1), c
        )

    _compare_with_torch(
        lambda x, w: ops.depthwise_conv2d(x, w, strides=2, padding="same"),
        torch_depthwise,
        [(2, 8, 7, 3), (3, 3, 3, 2)],
        dtype,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_conv2d_transpose_matches_torch(dtype):
    def ours(x, w, b):
        return ops.conv2d_transpose(x, w, b, strides=2, output_padding=1)

    def theirs(torch, x, w, b):
        y = torch.nn.functional.conv_transpose2d(
            x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, stride=2, output_padding=1
        )
        return y.permute(0, 2, 3, 1)

    _compare_with_torch(ours, theirs, [(2, 4, 5, 3), (3, 3, 6, 3), (6,)], dtype)


# -- the transposed convolution is the adjoint of the convolution ----------------------
TRANSPOSE_CASES = [
    ((1, 4, 5, 3), (3, 3, 2, 3), 2, "same", None, 1),
    ((2, 3, 3, 2), (3, 3, 4, 2), 2, "valid", None, 1),
    ((1, 3, 4, 2), (2, 3, 3, 2), (3, 2), "valid", (2, 1), 1),
    ((1, 4, 4, 1), (4, 4, 2, 1), 2, "same", 1, 1),
    ((1, 5, 5, 2), (3, 3, 2, 2), 1, "same", None, 2),
    ((1, 3, 3, 2), (2, 2, 1, 2), 3, "valid", None, 1),  # kernel smaller than the stride
    ((2, 6, 6, 16), (3, 3, 16, 16), 1, "same", None, 1),  # through Winograd
]


@pytest.mark.parametrize(("xs", "ws", "strides", "padding", "out_pad", "dil"), TRANSPOSE_CASES)
def test_conv2d_transpose_is_the_vjp_of_conv2d(xs, ws, strides, padding, out_pad, dil):
    lp.set_floatx("float64")
    y = lp.tensor(rng.standard_normal(xs))
    w = lp.tensor(rng.standard_normal(ws))
    out = ops.conv2d_transpose(
        y, w, strides=strides, padding=padding, output_padding=out_pad, dilation_rate=dil
    )
    z = lp.tensor(np.zeros(out.shape), requires_grad=True)
    forward = ops.conv2d(z, w, strides=strides, padding=padding, dilation_rate=dil)
    assert forward.shape == y.shape
    (vjp,) = lp.grad(forward, z, grad_outputs=y)
    np.testing.assert_allclose(out.numpy(), vjp.numpy(), rtol=1e-12, atol=1e-12)


def test_conv2d_transpose_output_sizes():
    x = np.zeros((1, 5, 6, 2), np.float32)
    w = np.zeros((3, 3, 4, 2), np.float32)
    assert ops.conv2d_transpose(x, w, strides=2, padding="same").shape == (1, 10, 12, 4)
    assert ops.conv2d_transpose(x, w, strides=2).shape == (1, 11, 13, 4)
    assert ops.conv2d_transpose(x, w, strides=2, output_padding=1).shape == (1, 12, 14, 4)
    assert ops.conv2d_transpose(x, w, strides=2, padding="same", output_padding=1).shape == (
        1,
        10,
        12,
        4,
    )
    assert ops.conv2d_transpose(x, w, dilation_rate=2).shape == (1, 9, 10, 4)
    assert ops.conv1d_transpose(np.zeros((1, 5, 2)), np.zeros((3, 4, 2)), strides=3).shape == (
        1,
        15,
        4,
    )
    assert ops.conv3d_transpose(
        np.zeros((1, 2, 2, 2, 1)), np.zeros((2, 2, 2, 3, 1)), strides=2
    ).shape == (1, 4, 4, 4, 3)
