"""Upsampling, resizing, zero padding and cropping: numpy and PyTorch references."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import ops

rng = np.random.default_rng(9)


def test_nearest_upsampling_repeats():
    x = rng.standard_normal((2, 3, 4, 2)).astype(np.float32)
    y = ops.upsample2d(x, (2, 3))
    np.testing.assert_array_equal(y.numpy(), x.repeat(2, axis=1).repeat(3, axis=2))
    np.testing.assert_array_equal(ops.upsample1d(x[:, 0], 2).numpy(), x[:, 0].repeat(2, axis=1))
    x3 = x[:, None]
    np.testing.assert_array_equal(
        ops.upsample3d(x3, (1, 2, 2)).numpy(), x3.repeat(2, axis=2).repeat(2, axis=3)
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    ("call", "torch_args"),
    [
        (lambda x: ops.upsample2d(x, 2, "bilinear"), {"scale_factor": 2, "mode": "bilinear"}),
        (
            lambda x: ops.upsample2d(x, (3, 2), "bilinear"),
            {"scale_factor": (3, 2), "mode": "bilinear"},
        ),
        (lambda x: ops.resize2d(x, (7, 3)), {"size": (7, 3), "mode": "bilinear"}),
        (lambda x: ops.resize2d(x, (2, 9), "nearest"), {"size": (2, 9), "mode": "nearest-exact"}),
    ],
)
def test_resizing_matches_torch(call, torch_args, dtype):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 5, 4, 3)).astype(dtype)
    xl = lp.tensor(x, requires_grad=True)
    y = call(xl)
    upstream = rng.standard_normal(y.shape).astype(dtype)
    (g,) = lp.grad(y, xl, grad_outputs=lp.tensor(upstream))
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    extra = {"align_corners": False} if torch_args["mode"] == "bilinear" else {}
    ref = torch.nn.functional.interpolate(xt, **torch_args, **extra)
    ref.backward(torch.tensor(upstream.transpose(0, 3, 1, 2)))
    tol = 1e-5 if dtype == "float32" else 1e-10
    assert y.dtype == g.dtype == np.dtype(dtype)
    np.testing.assert_allclose(
        y.numpy(), ref.detach().numpy().transpose(0, 2, 3, 1), rtol=tol, atol=tol
    )
    np.testing.assert_allclose(g.numpy(), xt.grad.numpy().transpose(0, 2, 3, 1), rtol=tol, atol=tol)


def test_zero_padding_and_cropping_forms():
    x = rng.standard_normal((1, 4, 5, 2)).astype(np.float32)
    for padding, pads in [
        (1, ((1, 1), (1, 1))),
        ((2, 0), ((2, 2), (0, 0))),
        (((1, 0), (0, 3)), ((1, 0), (0, 3))),
    ]:
        expected = np.pad(x, ((0, 0), *pads, (0, 0)))
        np.testing.assert_array_equal(ops.zero_pad2d(x, padding).numpy(), expected)
        (top, bottom), (left, right) = pads
        back = ops.crop2d(expected, padding).numpy()
        np.testing.assert_array_equal(back, x)
        assert ops.crop2d(x, ((0, 1), (2, 0))).shape == (1, 3, 3, 2)
    assert ops.zero_pad1d(x[:, 0], (1, 2)).shape == (1, 8, 2)
    assert ops.crop1d(x[:, 0], 2).shape == (1, 1, 2)
    assert ops.zero_pad3d(x[:, None], 1).shape == (1, 3, 6, 7, 2)
    assert ops.crop3d(x[:, None], ((0, 0), (1, 1), (0, 2))).shape == (1, 1, 2, 3, 2)


RESAMPLE_ERRORS = {
    "interpolation": (
        lambda: ops.resize2d(np.zeros((1, 2, 2, 1)), (4, 4), "bicubic"),
        'resize2d: interpolation must be "nearest" or "bilinear", got \'bicubic\'',
    ),
    "resize size": (lambda: ops.resize2d(np.zeros((1, 2, 2, 1)), (0, 4)), "size must be >= 1"),
    "upsample rank": (
        lambda: ops.upsample2d(np.zeros((2, 2, 1))),
        "upsample2d expects a 4-D input",
    ),
    "over-cropping": (
        lambda: ops.crop2d(np.zeros((1, 4, 4, 1)), ((2, 2), (0, 0))),
        "crop2d: cropping ((2, 2), (0, 0)) removes everything from spatial size (4, 4)",
    ),
    "negative padding": (
        lambda: ops.zero_pad2d(np.zeros((1, 4, 4, 1)), -1),
        "zero_pad2d: padding must be non-negative, got -1",
    ),
    "padding form": (
        lambda: ops.zero_pad2d(np.zeros((1, 4, 4, 1)), (1, 2, 3)),
        "zero_pad2d: padding must be an int, a tuple of 2 ints or a tuple of 2 (before, after)",
    ),
}


@pytest.mark.parametrize("name", sorted(RESAMPLE_ERRORS))
def test_resampling_errors(name):
    call, message = RESAMPLE_ERRORS[name]
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)
