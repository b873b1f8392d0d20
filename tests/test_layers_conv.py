"""Convolution layers: the layer harness, Keras weight counts, the course's worked example,
cost counts, PyTorch references and bad input."""

import doctest

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.layers import conv_transpose, convolutional, depthwise_conv
from lapenna.testing import run_layer_test
from layer_reference import tf_same_pads


# -- the harness for every layer --------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "out"),
    [
        (layers.Conv1D, {"filters": 3, "kernel_size": 3}, (2, 7, 2), (2, 5, 3)),
        (layers.Conv1D, {"filters": 3, "kernel_size": 3, "padding": "causal"}, (2, 6, 2), None),
        (
            layers.Conv1D,
            {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
            (2, 7, 2),
            (2, 4, 2),
        ),
        (layers.Conv2D, {"filters": 3, "kernel_size": 3}, (2, 5, 5, 2), (2, 3, 3, 3)),
        (
            layers.Conv2D,
            {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
            (2, 5, 5, 2),
            (2, 3, 3, 3),
        ),
        (
            layers.Conv2D,
            {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "activation": "tanh"},
            (2, 5, 5, 2),
            (2, 3, 3, 2),
        ),
        (
            layers.Conv2D,
            {"filters": 4, "kernel_size": (1, 3), "groups": 2, "use_bias": False},
            (2, 4, 4, 2),
            (2, 4, 2, 4),
        ),
        (layers.Conv3D, {"filters": 2, "kernel_size": 2}, (2, 3, 3, 3, 2), (2, 2, 2, 2, 2)),
        (layers.Conv2DTranspose, {"filters": 3, "kernel_size": 3}, (2, 3, 3, 2), (2, 5, 5, 3)),
        (
            layers.Conv2DTranspose,
            {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
            (2, 3, 3, 2),
            (2, 6, 6, 2),
        ),
        (
            layers.Conv2DTranspose,
            {"filters": 2, "kernel_size": 2, "strides": 3, "output_padding": (1, 0)},
            (2, 2, 3, 2),
            (2, 6, 8, 2),
        ),
        (
            layers.Conv1DTranspose,
            {"filters": 2, "kernel_size": 3, "strides": 2},
            (2, 4, 2),
            (2, 9, 2),
        ),
        (
            layers.Conv3DTranspose,
            {"filters": 2, "kernel_size": 2, "strides": (2, 1, 1)},
            (1, 2, 2, 2, 2),
            (1, 4, 3, 3, 2),
        ),
        (
            layers.DepthwiseConv2D,
            {"kernel_size": 3, "depth_multiplier": 2},
            (2, 5, 5, 2),
            (2, 3, 3, 4),
        ),
        (
            layers.DepthwiseConv2D,
            {"kernel_size": 2, "strides": 2, "padding": "same"},
            (2, 5, 5, 2),
            (2, 3, 3, 2),
        ),
        (layers.SeparableConv2D, {"filters": 3, "kernel_size": 3}, (2, 5, 5, 2), (2, 3, 3, 3)),
    ],
)
def test_run_layer_test(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=out)


# -- weight counts and layouts, as Keras reports them for the same configuration ---------
@pytest.mark.parametrize(
    ("make", "shape", "params", "kernel_shapes"),
    [
        # (3 * 3 * 3 + 1) * 32
        (lambda: layers.Conv2D(32, 3), (1, 8, 8, 3), 896, [(3, 3, 3, 32), (32,)]),
        (lambda: layers.Conv2D(32, 3, use_bias=False), (1, 8, 8, 3), 864, [(3, 3, 3, 32)]),
        # 3 * 3 * (4 / 2) * 8 + 8
        (lambda: layers.Conv2D(8, 3, groups=2), (1, 8, 8, 4), 152, [(3, 3, 2, 8), (8,)]),
        # 5 * 4 * 10 + 10
        (lambda: layers.Conv1D(10, 5), (1, 9, 4), 210, [(5, 4, 10), (10,)]),
        # 3 * 3 * 3 * 2 * 4 + 4
        (lambda: layers.Conv3D(4, 3), (1, 4, 4, 4, 2), 220, [(3, 3, 3, 2, 4), (4,)]),
        # 3 * 3 * 16 * 8 + 16: the kernel is (kh, kw, filters, in)
        (lambda: layers.Conv2DTranspose(16, 3), (1, 4, 4, 8), 1168, [(3, 3, 16, 8), (16,)]),
        # 2 * 2 * 2 * 4 * 3 + 4
        (lambda: layers.Conv3DTranspose(4, 2), (1, 2, 2, 2, 3), 100, [(2, 2, 2, 4, 3), (4,)]),
        # 3 * 3 * 4 * 2 + 4 * 2
        (
            lambda: layers.DepthwiseConv2D(3, depth_multiplier=2),
            (1, 5, 5, 4),
            80,
            [(3, 3, 4, 2), (8,)],
        ),
        # depthwise 3 * 3 * 8 + pointwise 8 * 16 + bias 16
        (
            lambda: layers.SeparableConv2D(16, 3),
            (1, 5, 5, 8),
            216,
            [(3, 3, 8, 1), (1, 1, 8, 16), (16,)],
        ),
    ],
)
def test_weight_counts_match_keras(make, shape, params, kernel_shapes):
    layer = make()
    layer(np.zeros(shape, dtype="float32"))
    assert layer.count_params() == params
    assert [w.shape for w in layer.weights] == kernel_shapes
    assert not layer.non_trainable_weights


def test_default_names_follow_keras():
    names = [layers.Conv2D(1, 1).name, layers.Conv2D(1, 1).name, layers.Conv1DTranspose(1, 1).name]
    assert names == ["conv2d", "conv2d_1", "conv1d_transpose"]
    assert layers.SeparableConv2D(1, 1).name == "separable_conv2d"


def test_weight_names_follow_keras():
    separable = layers.SeparableConv2D(4, 3)
    separable(np.zeros((1, 5, 5, 2), dtype="float32"))
    assert [w.name for w in separable.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    depthwise = layers.DepthwiseConv2D(3)
    depthwise(np.zeros((1, 5, 5, 2), dtype="float32"))
    assert [w.name for w in depthwise.weights] == ["kernel", "bias"]


# -- the course's worked example ---------------------------------------------------------
def _course_input():
    rows = {
        0: ["0000000", "0012220", "0201020", "0001120", "0102200", "0212100", "0000000"],
        1: ["0000000", "0010220", "0010200", "0211200", "0100000", "0021000", "0000000"],
        2: ["0000000", "0012120", "0201010", "0112100", "0102100", "0200220", "0000000"],
    }
    x = np.zeros((7, 7, 3), dtype="float32")
    for c, lines in rows.items():
        x[:, :, c] = [[int(ch) for ch in line] for line in lines]
    return x[None]


def test_course_convolution_example():
    w0 = [
        [[0, 0, 1], [1, -1, -1], [1, 1, 0]],
        [[0, 1, -1], [0, 1, 0], [0, 0, 0]],
        [[1, 0, 1], [0, 1, 1], [-1, 1, 0]],
    ]
    w1 = [
        [[-1, 1, 0], [1, 1, -1], [0, -1, -1]],
        [[1, 1, -1], [1, 1, 1], [0, -1, 1]],
        [[1, 1, -1], [-1, 0, 1], [-1, 1, -1]],
    ]
    # filters are given per input channel as (c, kh, kw); Keras kernels are (kh, kw, c, f)
    kernel = np.stack([np.array(w0), np.array(w1)], axis=-1).transpose(1, 2, 0, 3)
    layer = layers.Conv2D(2, 3, strides=2)
    layer(_course_input())
    layer.set_weights([kernel.astype("float32"), np.array([1.0, 0.0], dtype="float32")])
    out = layer(_course_input()).numpy()[0]
    np.testing.assert_array_equal(out[:, :, 0], [[5, 3, 8], [6, 5, 1], [1, 5, 5]])
    np.testing.assert_array_equal(out[:, :, 1], [[2, 6, 6], [6, 2, 8], [6, 10, -2]])


def test_output_size_rule_of_the_course():
    # (W - F + 2P) / S + 1: 28x28 with a 5x5 filter, no padding, stride 1 gives 24x24
    assert layers.Conv2D(1, 5).compute_output_shape((None, 28, 28, 1)) == (None, 24, 24, 1)


# -- cost ---------------------------------------------------------------------------------
def test_course_parameter_and_mac_count():
    layer = layers.Conv2D(200, 5, padding="same")
    layer(layers.Input((150, 100, 3)))
    assert layer.count_params() == 15_200
    out = layer.compute_output_shape((1, 150, 100, 3))
    assert out == (1, 150, 100, 200)
    assert layer.macs((1, 150, 100, 3), out) == 225_000_000


def test_course_count_through_summarize():
    from lapenna.models import Sequential, summarize

    model = Sequential([layers.Input((150, 100, 3)), layers.Conv2D(200, 5, padding="same")])
    summary = summarize(model)
    assert (summary.params, summary.macs) == (15_200, 225_000_000)


def test_macs_of_the_variants():
    # a 3x3 depthwise step on 8 channels then a 1x1 to 16, over 4x4 outputs
    separable = layers.SeparableConv2D(16, 3)
    separable(layers.Input((6, 6, 8)))
    assert separable.macs((1, 6, 6, 8), (1, 4, 4, 16)) == 16 * (9 * 8 + 8 * 16)
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2)
    depthwise(layers.Input((6, 6, 8)))
    assert depthwise.macs((1, 6, 6, 8), (1, 4, 4, 16)) == 16 * 9 * 16
    grouped = layers.Conv2D(8, 3, groups=4)
    grouped(layers.Input((6, 6, 8)))
    assert grouped.macs((1, 6, 6, 8), (1, 4, 4, 8)) == 16 * 9 * 2 * 8
    transposed = layers.Conv2DTranspose(4, 3, strides=2)
    transposed(layers.Input((3, 3, 2)))
    assert transposed.macs((1, 3, 3, 2), (1, 7, 7, 4)) == 9 * 9 * 2 * 4


# -- behaviour ----------------------------------------------------------------------------
def test_causal_convolution_sees_only_the_past():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = np.random.default_rng(0).standard_normal((1, 9, 2)).astype("float32")
    x = lp.tensor(x, requires_grad=True)
    out = layer(x)
    assert out.shape == (1, 9, 2)
    (grad,) = lp.grad(out[:, 4, :].sum(), [x])
    touched = np.flatnonzero(np.abs(grad.numpy()[0]).sum(axis=1))
    assert touched.max() <= 4
    assert set(touched) <= {0, 2, 4}


def test_unknown_spatial_sizes_in_a_graph():
    x = layers.Input((None, None, 3))
    assert layers.Conv2D(4, 3, strides=2)(x).shape == (None, None, None, 4)
    assert layers.Conv2DTranspose(4, 3, strides=2)(x).shape == (None, None, None, 4)


def test_activity_regularizer_and_activation():
    layer = layers.Conv2D(2, 1, activation="relu", activity_regularizer="l2")
    out = layer(np.random.default_rng(1).standard_normal((2, 3, 3, 2)))
    assert float(out.numpy().min()) >= 0.0
    assert len(layer.losses) == 1


# -- bad input ----------------------------------------------------------------------------
def test_channel_mismatch_after_build():
    layer = layers.Conv2D(4, 3)
    layer(np.zeros((1, 5, 5, 3), dtype="float32"))
    with pytest.raises(ValueError) as err:
        layer(np.zeros((1, 5, 5, 4), dtype="float32"))
    assert str(err.value) == (
        "Conv2D 'conv2d' expects inputs whose last axis is 3, got shape (1, 5, 5, 4)"
    )


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d' expects inputs of rank 4, got shape"):
        layers.Conv2D(4, 3)(np.zeros((5, 5, 3), dtype="float32"))
    with pytest.raises(ValueError, match="Conv1D 'conv1d' expects inputs of rank 3"):
        layers.Conv1D(4, 3)(layers.Input((5, 5, 3)))


def test_input_smaller_than_the_window():
    message = r"Conv2D 'conv2d' expects inputs at least as large as its window, got shape"
    with pytest.raises(ValueError, match=message):
        layers.Conv2D(2, 5)(layers.Input((4, 8, 1)))
    with pytest.raises(ValueError, match=r"Conv1D 'conv1d' .* \(1, 3, 1\)"):
        layers.Conv1D(2, 2, dilation_rate=3)(np.zeros((1, 3, 1), "float32"))


def test_channels_not_divisible_by_groups():
    with pytest.raises(ValueError, match=r"divisible by groups=2, got shape \(1, 5, 5, 3\)"):
        layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), dtype="float32"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.Conv2D(0, 3), "filters to be a positive int, got 0"),
        (lambda: layers.Conv2D(2.5, 3), "filters to be a positive int, got 2.5"),
        (lambda: layers.Conv2D(4, (3,)), r"kernel_size to be a positive int or a tuple of 2"),
        (lambda: layers.Conv2D(4, 0), r"kernel_size .* got 0"),
        (lambda: layers.Conv2D(4, 3, strides=(1, 0)), r"strides .* got \(1, 0\)"),
        (lambda: layers.Conv2D(4, 3, padding="full"), r"padding to be one of .* got 'full'"),
        (lambda: layers.Conv2D(4, 3, padding="causal"), "got 'causal'"),
        (lambda: layers.Conv2D(4, 3, dilation_rate=-1), r"dilation_rate .* got -1"),
        (lambda: layers.Conv2D(5, 3, groups=2), "filters divisible by groups, got filters=5"),
        (
            lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
            "output_padding smaller than strides",
        ),
        (
            lambda: layers.DepthwiseConv2D(3, depth_multiplier=0),
            "depth_multiplier to be a positive int, got 0",
        ),
        (lambda: layers.SeparableConv2D(4, 3, depth_multiplier=-2), "got -2"),
    ],
)
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_transpose_has_no_groups():
    with pytest.raises(TypeError, match="groups"):
        layers.Conv2DTranspose(4, 3, groups=2)


def test_docstring_examples_run():
    for module in (convolutional, conv_transpose, depthwise_conv):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# -- PyTorch references (forward, input and weight gradients, float64) --------------------
def _randomize(layer, shape, seed=0):
    """Build ``layer`` for ``shape`` and give every weight random values (biases too)."""
    rng = np.random.default_rng(seed)
    layer(layers.Input(shape[1:]))
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.weights])
    return rng.standard_normal(shape)


def _nchw(torch_x):
    return torch_x.permute(0, 3, 1, 2)


def _nhwc(torch_x):
    return torch_x.permute(0, 2, 3, 1)


def _torch_conv2d(torch, x, kernel, bias, strides, padding, dilation, groups):
    """A Keras Conv2D in torch: TF "same" pads applied explicitly (they may be uneven)."""
    x = _nchw(x)
    if padding == "same":
        (top, bottom), (left, right) = (
            tf_same_pads(x.shape[2 + i], kernel.shape[i], strides[i], dilation[i]) for i in (0, 1)
        )
        x = torch.nn.functional.pad(x, (left, right, top, bottom))
    out = torch.nn.functional.conv2d(
        x, kernel.permute(3, 2, 0, 1), bias, stride=strides, dilation=dilation, groups=groups
    )
    return _nhwc(out)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3},
        {"kernel_size": 3, "strides": 2, "padding": "same"},
        {"kernel_size": (2, 3), "strides": (2, 1), "padding": "same"},
        {"kernel_size": 3, "dilation_rate": 2, "padding": "same"},
        {"kernel_size": 2, "dilation_rate": 2, "strides": 2, "padding": "same"},
        {"kernel_size": 3, "groups": 2, "strides": 2},
        {"kernel_size": 1, "use_bias": False},
    ],
)
def test_conv2d_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = layers.Conv2D(4, dtype="float64", **kwargs)
    x = _randomize(layer, (2, 7, 6, 4))

    def reference(tx, tw):
        bias = tw[1] if layer.use_bias else None
        return _torch_conv2d(
            torch, tx, tw[0], bias, layer.strides, layer.padding, layer.dilation_rate, layer.groups
        )

    compare_with_torch(torch, layer, x, reference)


def _torch_conv_transpose(torch, x, kernel, bias, strides, padding, output_padding):
    """Keras's transposed convolution in torch, any rank: torch's full output (a pad of
    ``k - 1`` on each side of the stride-dilated input), cropped to the pads Keras uses;
    negative crops are zeros appended, and the bias comes last so they get it too."""
    rank = x.ndim - 2
    fn = getattr(torch.nn.functional, f"conv_transpose{rank}d")
    weight = kernel.permute(rank + 1, rank, *range(rank))
    out = fn(x.permute(0, rank + 1, *range(1, rank + 1)), weight, stride=strides)
    for axis in range(rank):
        k, s = kernel.shape[axis], strides[axis]
        extra = None if output_padding is None else output_padding[axis]
        if padding == "valid":
            left, right = k - 1, k - 1 + (max(k, s) - k if extra is None else extra)
        else:
            total = s + k - 2 if extra is None else k + k % 2 - 2 + extra
            left = min(total // 2 + total % 2, k - 1)
            right = total - left
        dim = 2 + axis
        out = out.narrow(dim, k - 1 - left, out.shape[dim] - (k - 1 - left))
        cut = k - 1 - right
        if cut > 0:
            out = out.narrow(dim, 0, out.shape[dim] - cut)
        elif cut < 0:
            widths = [0] * (2 * rank)
            widths[2 * (rank - 1 - axis) + 1] = -cut  # torch lists the last axis first
            out = torch.nn.functional.pad(out, widths)
    return out.permute(0, *range(2, rank + 2), 1) + bias


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3},
        {"kernel_size": 3, "strides": 2},
        {"kernel_size": 3, "strides": 2, "padding": "same"},
        {"kernel_size": (2, 3), "strides": (3, 2), "output_padding": (1, 1)},
        {"kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1},
        {"kernel_size": 1, "strides": 3},
    ],
)
def test_conv2d_transpose_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = layers.Conv2DTranspose(3, dtype="float64", **kwargs)
    x = _randomize(layer, (2, 3, 4, 2))

    def reference(tx, tw):
        return _torch_conv_transpose(
            torch, tx, tw[0], tw[1], layer.strides, layer.padding, layer.output_padding
        )

    out = compare_with_torch(torch, layer, x, reference)
    assert out.shape == layer.compute_output_shape(x.shape)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3, "depth_multiplier": 2},
        {"kernel_size": 3, "strides": 2, "padding": "same"},
        {"kernel_size": 2, "dilation_rate": 2, "padding": "same", "depth_multiplier": 3},
    ],
)
def test_depthwise_conv2d_matches_torch_grouped_conv(kwargs):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = layers.DepthwiseConv2D(dtype="float64", **kwargs)
    x = _randomize(layer, (2, 6, 5, 3))

    def reference(tx, tw):
        kh, kw, channels, multiplier = tw[0].shape
        kernel = tw[0].reshape(kh, kw, 1, channels * multiplier)
        return _torch_conv2d(
            torch, tx, kernel, tw[1], layer.strides, layer.padding, layer.dilation_rate, channels
        )

    compare_with_torch(torch, layer, x, reference)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape"),
    [
        (layers.Conv1DTranspose, {"kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 3)),
        (layers.Conv1DTranspose, {"kernel_size": 2, "strides": 3, "output_padding": 1}, (2, 3, 2)),
        (layers.Conv3DTranspose, {"kernel_size": 2, "strides": (1, 2, 2)}, (1, 2, 3, 2, 2)),
        (
            layers.Conv3DTranspose,
            {"kernel_size": 3, "strides": 2, "padding": "same"},
            (1, 2, 2, 3, 2),
        ),
    ],
)
def test_conv1d_and_conv3d_transpose_match_torch(cls, kwargs, shape):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = cls(2, dtype="float64", **kwargs)
    x = _randomize(layer, shape)

    def reference(tx, tw):
        return _torch_conv_transpose(
            torch, tx, tw[0], tw[1], layer.strides, layer.padding, layer.output_padding
        )

    out = compare_with_torch(torch, layer, x, reference)
    assert out.shape == layer.compute_output_shape(x.shape)


def test_separable_conv2d_matches_torch():
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = layers.SeparableConv2D(
        4, 3, strides=2, padding="same", depth_multiplier=2, dtype="float64"
    )
    x = _randomize(layer, (2, 6, 6, 3))

    def reference(tx, tw):
        depthwise, pointwise, bias = tw
        kh, kw, channels, multiplier = depthwise.shape
        middle = _torch_conv2d(
            torch, tx, depthwise.reshape(kh, kw, 1, -1), None, (2, 2), "same", (1, 1), channels
        )
        return _torch_conv2d(torch, middle, pointwise, bias, (1, 1), "valid", (1, 1), 1)

    compare_with_torch(torch, layer, x, reference)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape"),
    [
        (layers.Conv1D, {"kernel_size": 3, "strides": 2}, (2, 9, 3)),
        (layers.Conv3D, {"kernel_size": 2, "dilation_rate": (1, 2, 1)}, (1, 4, 5, 4, 2)),
    ],
)
def test_conv1d_and_conv3d_match_torch(cls, kwargs, shape):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = cls(3, dtype="float64", **kwargs)
    x = _randomize(layer, shape)
    rank = len(shape) - 2
    conv = {1: torch.nn.functional.conv1d, 3: torch.nn.functional.conv3d}[rank]
    to_first = (0, rank + 1, *range(1, rank + 1))
    to_last = (0, *range(2, rank + 2), 1)

    def reference(tx, tw):
        weight = tw[0].permute(rank + 1, rank, *range(rank))
        out = conv(
            tx.permute(*to_first), weight, tw[1], layer.strides, dilation=layer.dilation_rate
        )
        return out.permute(*to_last)

    compare_with_torch(torch, layer, x, reference)
