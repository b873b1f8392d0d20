"""Merging and reshaping layers: the layer harness, values, shape errors that name the layer
and every shape, PyTorch references and bad input."""

import doctest

import numpy as np
import pytest

from lapenna import layers
from lapenna.layers import merging, padding, reshaping
from lapenna.models import Model
from lapenna.testing import run_layer_test


@pytest.mark.parametrize(
    ("cls", "kwargs", "shapes", "out"),
    [
        (layers.Add, {}, [(2, 3, 4), (2, 3, 4), (2, 3, 4)], (2, 3, 4)),
        (layers.Add, {}, [(2, 3, 4), (2, 1, 4)], (2, 3, 4)),
        (layers.Subtract, {}, [(2, 5), (2, 5)], (2, 5)),
        (layers.Multiply, {}, [(2, 3, 1), (2, 3, 4)], (2, 3, 4)),
        (layers.Average, {}, [(2, 5), (2, 5), (2, 5)], (2, 5)),
        (layers.Maximum, {}, [(2, 5), (2, 5)], (2, 5)),
        (layers.Minimum, {}, [(2, 2, 3), (2, 2, 3), (2, 2, 3)], (2, 2, 3)),
        (layers.Concatenate, {}, [(2, 3, 4), (2, 3, 2)], (2, 3, 6)),
        (layers.Concatenate, {"axis": 1}, [(2, 3, 4), (2, 1, 4), (2, 2, 4)], (2, 6, 4)),
        (layers.Dot, {"axes": 1}, [(2, 5), (2, 5)], (2, 1)),
        (layers.Dot, {"axes": (2, 2)}, [(2, 3, 4), (2, 5, 4)], (2, 3, 5)),
        (layers.Dot, {"axes": (1, 2), "normalize": True}, [(2, 4, 3), (2, 5, 4)], (2, 3, 5)),
    ],
)
def test_run_layer_test_merging(cls, kwargs, shapes, out):
    run_layer_test(cls, kwargs, input_shape=shapes, expected_output_shape=out)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "out"),
    [
        (layers.Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3)),
        (layers.Permute, {"dims": (3, 1, 2)}, (2, 3, 4, 5), (2, 5, 3, 4)),
        (layers.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4)),
        (layers.UpSampling1D, {"size": 3}, (2, 3, 2), (2, 9, 2)),
        (layers.UpSampling2D, {}, (2, 3, 2, 2), (2, 6, 4, 2)),
        (
            layers.UpSampling2D,
            {"size": (2, 3), "interpolation": "bilinear"},
            (2, 3, 2, 2),
            (2, 6, 6, 2),
        ),
        (layers.UpSampling3D, {"size": (1, 2, 2)}, (2, 2, 2, 3, 2), (2, 2, 4, 6, 2)),
        (layers.ZeroPadding1D, {"padding": (2, 1)}, (2, 3, 2), (2, 6, 2)),
        (layers.ZeroPadding2D, {}, (2, 3, 2, 2), (2, 5, 4, 2)),
        (layers.ZeroPadding2D, {"padding": ((1, 0), (0, 2))}, (2, 3, 2, 2), (2, 4, 4, 2)),
        (layers.ZeroPadding3D, {"padding": (1, 0, 2)}, (2, 2, 2, 2, 1), (2, 4, 2, 6, 1)),
        (layers.Cropping1D, {"cropping": (1, 2)}, (2, 6, 2), (2, 3, 2)),
        (layers.Cropping2D, {"cropping": ((1, 0), (1, 2))}, (2, 4, 5, 2), (2, 3, 2, 2)),
        (layers.Cropping3D, {"cropping": 1}, (2, 3, 4, 3, 2), (2, 1, 2, 1, 2)),
    ],
)
def test_run_layer_test_reshaping(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=out)


# -- values ---------------------------------------------------------------------------------
def test_merging_values():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((2, 3)).astype("float32") for _ in range(3))
    close = np.testing.assert_allclose
    close(layers.Add()([a, b, c]).numpy(), a + b + c, rtol=1e-6)
    close(layers.Subtract()([a, b]).numpy(), a - b)
    close(layers.Multiply()([a, b, c]).numpy(), a * b * c, rtol=1e-6)
    close(layers.Average()([a, b, c]).numpy(), (a + b + c) / 3, rtol=1e-6)
    close(layers.Maximum()([a, b, c]).numpy(), np.maximum(np.maximum(a, b), c))
    close(layers.Minimum()([a, b, c]).numpy(), np.minimum(np.minimum(a, b), c))
    close(layers.Concatenate(axis=-1)([a, b]).numpy(), np.concatenate([a, b], axis=-1))
    close(layers.Dot(axes=1)([a, b]).numpy(), (a * b).sum(axis=1, keepdims=True), rtol=1e-6)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    close(layers.Dot(axes=1, normalize=True)([a, b]).numpy()[:, 0], cosine, rtol=1e-5)
    assert layers.Add()([a, b]).dtype == np.float32


def test_batched_dot_over_chosen_axes():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 4))
    out = layers.Dot(axes=(1, 2))([x, y]).numpy()
    np.testing.assert_allclose(out, np.einsum("bkc,bdk->bcd", x, y), rtol=1e-5, atol=1e-6)


def test_reshaping_values():
    x = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(layers.Permute((2, 1))(x).numpy(), x.transpose(0, 2, 1))
    image = np.arange(12, dtype="float32").reshape(1, 3, 4, 1)
    padded = layers.ZeroPadding2D(((1, 0), (0, 2)))(image).numpy()
    np.testing.assert_array_equal(padded, np.pad(image, ((0, 0), (1, 0), (0, 2), (0, 0))))
    cropped = layers.Cropping2D(((1, 0), (1, 2)))(image).numpy()
    np.testing.assert_array_equal(cropped, image[:, 1:, 1:2])
    up = layers.UpSampling2D((2, 3))(image).numpy()
    np.testing.assert_array_equal(up, image.repeat(2, axis=1).repeat(3, axis=2))
    volume = np.arange(8, dtype="float32").reshape(1, 2, 2, 2, 1)
    up3 = layers.UpSampling3D((1, 2, 3))(volume).numpy()
    np.testing.assert_array_equal(up3, volume.repeat(2, axis=2).repeat(3, axis=3))
    np.testing.assert_array_equal(
        layers.RepeatVector(2)(x[:, 0]).numpy(), np.stack([x[:, 0], x[:, 0]], axis=1)
    )


def test_merging_in_a_functional_residual_block():
    inputs = layers.Input((4, 4, 3))
    branch = layers.Conv2D(3, 3, padding="same")(inputs)
    joined = layers.Concatenate()([layers.Add()([inputs, branch]), inputs])
    assert joined.shape == (None, 4, 4, 6)
    model = Model(inputs, joined)
    assert model(np.ones((2, 4, 4, 3), "float32")).shape == (2, 4, 4, 6)


# -- shape errors name the layer and every shape --------------------------------------------
def test_merge_shape_errors():
    a, b = np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")
    with pytest.raises(ValueError) as err:
        layers.Add()([a, b])
    assert str(err.value) == (
        "Add 'add' expects inputs of one shape (an axis of size 1 broadcasts; batch sizes "
        "must agree), got shapes [(2, 3), (2, 4)]"
    )
    with pytest.raises(ValueError, match=r"got shapes \[\(2, 3\), \(3, 3\)\]"):
        layers.Multiply()([a, np.zeros((3, 3), "float32")])
    with pytest.raises(ValueError, match=r"got shapes \[\(None, 3\), \(None, 2, 3\)\]"):
        layers.Maximum()([layers.Input((3,)), layers.Input((2, 3))])
    with pytest.raises(ValueError, match=r"Subtract 'subtract' expects exactly 2 inputs, got 3"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match=r"Average 'average' expects a list of input tensors"):
        layers.Average()(a)


def test_merge_checks_every_call():
    layer = layers.Add()
    layer([np.zeros((2, 3), "float32")] * 2)
    with pytest.raises(ValueError, match=r"got shapes \[\(2, 3\), \(2, 5\)\]"):
        layer([np.zeros((2, 3), "float32"), np.zeros((2, 5), "float32")])


def test_concatenate_and_dot_shape_errors():
    with pytest.raises(ValueError) as err:
        layers.Concatenate()([np.zeros((2, 3, 4), "float32"), np.zeros((2, 2, 4), "float32")])
    assert "Concatenate 'concatenate'" in str(err.value)
    assert "[(2, 3, 4), (2, 2, 4)]" in str(err.value)
    with pytest.raises(ValueError, match="not the batch axis"):
        layers.Concatenate(axis=0)([np.zeros((2, 3), "float32")] * 2)
    with pytest.raises(ValueError, match=r"Dot 'dot' .* got shapes \[\(2, 3\), \(2, 4\)\]"):
        layers.Dot(axes=1)([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match="Dot 'dot_1' .*not the batch axis"):
        layers.Dot(axes=0)([np.zeros((2, 3), "float32")] * 2)


def test_reshaping_shape_errors():
    with pytest.raises(ValueError, match=r"Permute 'permute' expects inputs of rank 3"):
        layers.Permute((2, 1))(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"RepeatVector 'repeat_vector' expects inputs of rank 2"):
        layers.RepeatVector(2)(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"Cropping2D 'cropping2d' cannot crop .* \(1, 4, 4, 1\)"):
        layers.Cropping2D(((2, 2), (0, 0)))(np.zeros((1, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match="UpSampling2D 'up_sampling2d' expects inputs of rank 4"):
        layers.UpSampling2D()(layers.Input((4, 4)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.Permute((1, 3)), r"permutation of 1..n .* got \(1, 3\)"),
        (lambda: layers.Permute((0, 1)), r"got \(0, 1\)"),
        (lambda: layers.RepeatVector(0), "n to be a positive int, got 0"),
        (lambda: layers.UpSampling2D(0), "size to be a positive int .* got 0"),
        (lambda: layers.UpSampling2D(interpolation="cubic"), "got 'cubic'"),
        (lambda: layers.ZeroPadding2D(-1), "padding to be a non-negative int"),
        (lambda: layers.ZeroPadding2D((1, 2, 3)), r"got \(1, 2, 3\)"),
        (lambda: layers.Cropping1D((1, 2, 3)), r"cropping .* got \(1, 2, 3\)"),
        (lambda: layers.Concatenate(axis=1.0), "an int axis, got 1.0"),
        (lambda: layers.Dot(axes=(1, 2, 3)), r"a pair of ints, got \(1, 2, 3\)"),
    ],
)
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- PyTorch references ----------------------------------------------------------------------
def test_bilinear_upsampling_matches_torch():
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = layers.UpSampling2D((2, 3), interpolation="bilinear", dtype="float64")
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 2))

    def reference(tx, tw):
        out = torch.nn.functional.interpolate(
            tx.permute(0, 3, 1, 2), scale_factor=(2, 3), mode="bilinear", align_corners=False
        )
        return out.permute(0, 2, 3, 1)

    compare_with_torch(torch, layer, x, reference)


def test_merges_match_torch_gradients():
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    rng = np.random.default_rng(8)
    xs = [rng.standard_normal((2, 3, 4)) for _ in range(3)]
    cases = [
        (layers.Average(dtype="float64"), lambda t: (t[0] + t[1] + t[2]) / 3),
        (layers.Maximum(dtype="float64"), lambda t: torch.maximum(torch.maximum(t[0], t[1]), t[2])),
        (layers.Concatenate(axis=1, dtype="float64"), lambda t: torch.cat(t, dim=1)),
    ]
    for layer, fn in cases:
        compare_with_torch(torch, layer, xs, lambda tx, tw, fn=fn: fn(tx))


def test_docstring_examples_run():
    for module in (merging, reshaping, padding):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
