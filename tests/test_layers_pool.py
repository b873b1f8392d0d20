"""Pooling layers: the layer harness, the course's pooling and unpooling example through a
functional model, PyTorch references and bad input."""

import doctest

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers, ops
from lapenna.layers import global_pooling, pooling
from lapenna.models import Model
from lapenna.testing import run_layer_test

COURSE_IMAGE = np.array(
    [[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]], dtype="float32"
).reshape(1, 4, 4, 1)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "out"),
    [
        (layers.MaxPooling1D, {}, (2, 7, 3), (2, 3, 3)),
        (
            layers.MaxPooling1D,
            {"pool_size": 3, "strides": 2, "padding": "same"},
            (2, 7, 3),
            (2, 4, 3),
        ),
        (layers.MaxPooling2D, {}, (2, 5, 4, 3), (2, 2, 2, 3)),
        (
            layers.MaxPooling2D,
            {"pool_size": 3, "strides": 2, "padding": "same"},
            (2, 5, 4, 3),
            (2, 3, 2, 3),
        ),
        (layers.MaxPooling3D, {"pool_size": (2, 1, 2)}, (2, 4, 3, 4, 2), (2, 2, 3, 2, 2)),
        (layers.AveragePooling1D, {"pool_size": 3}, (2, 7, 3), (2, 2, 3)),
        (layers.AveragePooling2D, {}, (2, 5, 4, 3), (2, 2, 2, 3)),
        (
            layers.AveragePooling2D,
            {"pool_size": 3, "strides": 2, "padding": "same"},
            (2, 5, 4, 3),
            (2, 3, 2, 3),
        ),
        (layers.AveragePooling3D, {"strides": 1}, (2, 3, 3, 3, 2), (2, 2, 2, 2, 2)),
        (layers.GlobalAveragePooling1D, {}, (2, 5, 3), (2, 3)),
        (layers.GlobalAveragePooling2D, {}, (2, 4, 5, 3), (2, 3)),
        (layers.GlobalAveragePooling2D, {"keepdims": True}, (2, 4, 5, 3), (2, 1, 1, 3)),
        (layers.GlobalAveragePooling3D, {}, (2, 2, 3, 2, 3), (2, 3)),
        (layers.GlobalMaxPooling1D, {"keepdims": True}, (2, 5, 3), (2, 1, 3)),
        (layers.GlobalMaxPooling2D, {}, (2, 4, 5, 3), (2, 3)),
        (layers.GlobalMaxPooling3D, {}, (2, 2, 3, 2, 3), (2, 3)),
    ],
)
def test_run_layer_test(cls, kwargs, shape, out):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=out)


def test_run_layer_test_max_unpooling():
    x = np.random.default_rng(0).standard_normal((2, 4, 6, 3)).astype("float32")
    values, indices = ops.max_pool2d_with_argmax(lp.tensor(x), 2, 2, "valid")
    run_layer_test(
        layers.MaxUnpooling2D,
        {"pool_size": 2},
        input_data=[values.numpy(), indices.numpy()],
        expected_output_shape=(2, 4, 6, 3),
    )


def test_course_pooling_and_unpooling_in_a_functional_model():
    image = layers.Input((4, 4, 1))
    pooled, indices = layers.MaxPooling2D(2, return_indices=True)(image)
    replacement = layers.Input((2, 2, 1))
    unpooled = layers.MaxUnpooling2D(2)([replacement, indices])
    model = Model([image, replacement], [pooled, unpooled])
    values = np.array([[1, 2], [3, 4]], dtype="float32").reshape(1, 2, 2, 1)
    got_pooled, got_unpooled = model([COURSE_IMAGE, values])
    assert got_pooled.numpy()[0, :, :, 0].tolist() == [[5, 6], [7, 8]]
    assert got_unpooled.numpy()[0, :, :, 0].tolist() == [
        [0, 0, 2, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 0],
        [3, 0, 0, 4],
    ]
    assert pooled.shape == indices.shape == (None, 2, 2, 1)
    assert unpooled.shape == (None, 4, 4, 1)


def test_return_indices_gives_integer_positions():
    values, indices = layers.MaxPooling2D(2, return_indices=True)(COURSE_IMAGE)
    assert indices.dtype.kind in "iu"
    assert values.numpy().ravel().tolist() == [5, 6, 7, 8]


def test_unpooling_routes_gradients_to_the_pooled_values():
    values, indices = layers.MaxPooling2D(2, return_indices=True)(COURSE_IMAGE)
    x = lp.tensor(values.numpy(), requires_grad=True)
    out = layers.MaxUnpooling2D(2)([x, indices])
    weights = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    (grad,) = lp.grad((out * lp.tensor(weights)).sum(), [x])
    # each pooled value lands where its maximum was: (1, 1), (0, 2), (3, 0), (3, 3)
    assert grad.numpy().ravel().tolist() == [5.0, 2.0, 12.0, 15.0]


def test_unpooling_output_size_for_odd_inputs():
    image = np.random.default_rng(2).standard_normal((1, 5, 5, 2)).astype("float32")
    values, indices = layers.MaxPooling2D(2, return_indices=True)(image)
    default = layers.MaxUnpooling2D(2)
    assert default.compute_output_shape([values.shape, indices.shape]) == (1, 4, 4, 2)
    explicit = layers.MaxUnpooling2D(2, output_size=(5, 5))
    out = explicit([values, indices]).numpy()
    assert out.shape == (1, 5, 5, 2)
    # the unpooled map keeps the maxima in place and zeros elsewhere
    kept = out != 0
    np.testing.assert_array_equal(out[kept], image[kept])
    assert kept.sum() == values.numpy().size


def test_unpooling_rejects_mismatched_inputs():
    layer = layers.MaxUnpooling2D(2)
    with pytest.raises(ValueError, match=r"MaxUnpooling2D 'max_unpooling2d' expects \[values"):
        layer([np.zeros((1, 2, 2, 1), "float32"), np.zeros((1, 3, 2, 1), "int64")])
    with pytest.raises(ValueError, match=r"got shapes \(1, 2, 2, 1\)"):
        layers.MaxUnpooling2D(2)(np.zeros((1, 2, 2, 1), "float32"))


def test_pooling_shapes_with_unknown_sizes():
    x = layers.Input((None, None, 3))
    assert layers.MaxPooling2D(3, strides=2)(x).shape == (None, None, None, 3)
    assert layers.GlobalAveragePooling2D()(x).shape == (None, 3)


def test_input_smaller_than_the_window():
    with pytest.raises(ValueError, match=r"MaxPooling2D 'max_pooling2d' expects inputs at least"):
        layers.MaxPooling2D(3)(np.zeros((1, 2, 5, 1), "float32"))
    assert layers.MaxPooling2D(3, padding="same")(np.zeros((1, 2, 5, 1), "float32")).shape == (
        1,
        1,
        2,
        1,
    )


def test_keras_aliases():
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D


def test_wrong_rank():
    with pytest.raises(ValueError, match="MaxPooling2D 'max_pooling2d' expects inputs of rank 4"):
        layers.MaxPooling2D()(np.zeros((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match="GlobalAveragePooling1D .* rank 3, got shape"):
        layers.GlobalAveragePooling1D()(layers.Input((4, 4, 3)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.MaxPooling2D(0), "pool_size to be a positive int .* got 0"),
        (lambda: layers.MaxPooling2D((2, 2, 2)), r"got \(2, 2, 2\)"),
        (lambda: layers.AveragePooling1D(2, strides=0), "strides .* got 0"),
        (lambda: layers.MaxPooling3D(padding="full"), "padding to be one of .* got 'full'"),
        (lambda: layers.MaxUnpooling2D(2, output_size=(0, 4)), r"output_size .* got \(0, 4\)"),
    ],
)
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# -- PyTorch references --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "kwargs", "torch_name", "torch_kwargs"),
    [
        (layers.MaxPooling2D, {"pool_size": 2}, "max_pool2d", {"kernel_size": 2}),
        (
            layers.MaxPooling2D,
            {"pool_size": 3, "strides": 1},
            "max_pool2d",
            {"kernel_size": 3, "stride": 1},
        ),
        # TF's "same" pads (1, 1) here, so torch's symmetric padding is the same
        (
            layers.MaxPooling2D,
            {"pool_size": 3, "strides": 2, "padding": "same"},
            "max_pool2d",
            {"kernel_size": 3, "stride": 2, "padding": 1},
        ),
        (layers.AveragePooling2D, {"pool_size": (2, 3)}, "avg_pool2d", {"kernel_size": (2, 3)}),
        (
            layers.AveragePooling2D,
            {"pool_size": 3, "strides": 1, "padding": "same"},
            "avg_pool2d",
            {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": False},
        ),
    ],
)
def test_pooling_2d_matches_torch(cls, kwargs, torch_name, torch_kwargs):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = cls(dtype="float64", **kwargs)
    x = np.random.default_rng(4).standard_normal((2, 5, 7, 3))
    fn = getattr(torch.nn.functional, torch_name)

    def reference(tx, tw):
        return fn(tx.permute(0, 3, 1, 2), **torch_kwargs).permute(0, 2, 3, 1)

    compare_with_torch(torch, layer, x, reference)


@pytest.mark.parametrize(
    ("cls", "torch_name"),
    [
        (layers.MaxPooling1D, "max_pool1d"),
        (layers.AveragePooling1D, "avg_pool1d"),
        (layers.MaxPooling3D, "max_pool3d"),
        (layers.AveragePooling3D, "avg_pool3d"),
    ],
)
def test_pooling_1d_3d_match_torch(cls, torch_name):
    torch = pytest.importorskip("torch")
    from layer_reference import compare_with_torch

    layer = cls(2, dtype="float64")
    rank = 1 if torch_name.endswith("1d") else 3
    x = np.random.default_rng(5).standard_normal((2, *(5,) * rank, 3))
    fn = getattr(torch.nn.functional, torch_name)

    def reference(tx, tw):
        out = fn(tx.permute(0, rank + 1, *range(1, rank + 1)), 2)
        return out.permute(0, *range(2, rank + 2), 1)

    compare_with_torch(torch, layer, x, reference)


def test_unpooling_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal((2, 6, 4, 3))
    values, indices = layers.MaxPooling2D(2, return_indices=True, dtype="float64")(x)
    unpooled = layers.MaxUnpooling2D(2, dtype="float64")([values, indices]).numpy()
    t_values, t_indices = torch.nn.functional.max_pool2d(
        torch.tensor(x).permute(0, 3, 1, 2), 2, return_indices=True
    )
    expected = torch.nn.functional.max_unpool2d(t_values, t_indices, 2).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(values.numpy(), t_values.permute(0, 2, 3, 1).numpy())
    np.testing.assert_array_equal(unpooled, expected.numpy())


def test_docstring_examples_run():
    for module in (pooling, global_pooling):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
