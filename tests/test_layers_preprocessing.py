"""Preprocessing layers: Rescaling, Normalization, Resizing, CenterCrop."""

import warnings

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.testing import run_layer_test
from lapenna.utils import get_registry

IMAGE = np.array([[0.0, 1.0], [2.0, 3.0]], dtype="float32").reshape(1, 2, 2, 1)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape"),
    [
        (layers.Rescaling, {"scale": 1 / 255}, (2, 3)),
        (layers.Rescaling, {"scale": [0.5, 2.0, 1.0], "offset": [-1.0, 0.0, 1.0]}, (2, 4, 3)),
        (layers.Normalization, {"mean": [1.0, 2.0, 3.0], "variance": [4.0, 1.0, 0.25]}, (2, 3)),
        (layers.Normalization, {"axis": None, "mean": 0.5, "variance": 2.0}, (2, 3, 2)),
        (
            layers.Normalization,
            {"axis": -1, "mean": [1.0, -1.0], "variance": [2.0, 3.0], "invert": True},
            (2, 3, 2),
        ),
        (layers.Resizing, {"height": 5, "width": 3}, (2, 4, 4, 2)),
        (layers.Resizing, {"height": 3, "width": 3, "interpolation": "nearest"}, (2, 4, 6, 1)),
        (layers.Resizing, {"height": 2, "width": 2, "crop_to_aspect_ratio": True}, (1, 4, 6, 1)),
        (layers.CenterCrop, {"height": 2, "width": 3}, (2, 4, 5, 2)),
        (layers.CenterCrop, {"height": 6, "width": 6}, (1, 3, 4, 1)),
    ],
)
def test_run_layer_test(cls, kwargs, shape):
    # all of these are differentiable, so the float64 gradient check runs through them
    run_layer_test(
        cls,
        kwargs,
        input_shape=shape,
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )


def test_rescaling_pixels_to_unit_range():
    pixels = np.array([[0, 51, 255]], dtype=np.uint8)
    out = layers.Rescaling(1 / 255)(pixels)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), [[0.0, 0.2, 1.0]], rtol=1e-6)
    signed = layers.Rescaling(1 / 127.5, offset=-1.0)(pixels).numpy()
    np.testing.assert_allclose(signed, [[-1.0, -0.6, 1.0]], rtol=1e-6, atol=1e-7)


def test_rescaling_per_channel_and_gradient():
    x = lp.tensor(np.ones((2, 3), dtype="float32"), requires_grad=True)
    out = layers.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 0.5, 1.0])(x)
    np.testing.assert_allclose(out.numpy()[0], [1.0, 2.5, 4.0])
    (grad,) = lp.grad(out.sum(), [x])
    np.testing.assert_allclose(grad.numpy(), [[1.0, 2.0, 3.0]] * 2)


def test_normalization_adapt_matches_numpy():
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((500, 4, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 100.0]).astype(
        "float32"
    )
    exact = data.astype(np.float64)
    layer = layers.Normalization()
    layer.adapt(data)
    # float32 statistics, accurate to a few float32 rounding errors of the data
    np.testing.assert_allclose(layer.mean.numpy(), exact.mean(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_allclose(layer.variance.numpy(), exact.var(axis=(0, 1)), rtol=1e-5)
    out = layer(data).numpy().astype(np.float64)
    np.testing.assert_allclose(out.mean(axis=(0, 1)), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1)), 1.0, rtol=1e-4)
    per_position = layers.Normalization(axis=(1, 2))
    per_position.adapt(data)
    assert per_position.mean.shape == (4, 3)
    np.testing.assert_allclose(per_position.variance.numpy(), data.var(axis=0), rtol=1e-4)
    scalar = layers.Normalization(axis=None)
    scalar.adapt(data)
    np.testing.assert_allclose(scalar.mean.numpy(), data.mean(), rtol=1e-4)
    np.testing.assert_allclose(scalar.variance.numpy(), data.var(), rtol=1e-4)


def test_normalization_adapt_over_batches_equals_one_pass():
    rng = np.random.default_rng(1)
    data = (rng.standard_normal((103, 5)) * 3 + 7).astype("float32")
    whole = layers.Normalization()
    whole.adapt(data)
    streamed = layers.Normalization()
    streamed.adapt(lp.data.Dataset.from_tensor_slices(data).batch(10))
    np.testing.assert_allclose(streamed.mean.numpy(), whole.mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(streamed.variance.numpy(), whole.variance.numpy(), rtol=1e-5)
    generated = layers.Normalization()
    generated.adapt(data[i : i + 16] for i in range(0, 103, 16))
    np.testing.assert_allclose(generated.variance.numpy(), data.var(axis=0), rtol=1e-4)
    chunked = layers.Normalization()
    chunked.adapt(data, batch_size=20)
    np.testing.assert_allclose(chunked.mean.numpy(), data.mean(axis=0), rtol=1e-5)
    limited = layers.Normalization()
    limited.adapt(lp.data.Dataset.from_tensor_slices(data).batch(10), steps=2)
    np.testing.assert_allclose(limited.mean.numpy(), data[:20].mean(axis=0), rtol=1e-5)


def test_normalization_weights_round_trip_through_config():
    data = np.random.default_rng(2).uniform(0, 255, size=(64, 3)).astype("float32")
    layer = layers.Normalization()
    layer.adapt(data)
    assert [w.name for w in layer.non_trainable_weights] == ["mean", "variance", "count"]
    assert layer.trainable_weights == []
    registry = get_registry("layers")
    clone = registry.deserialize(registry.serialize(layer))
    clone.build((None, 3))
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(data).numpy(), layer(data).numpy())


def test_normalization_before_adapt_warns_once_and_passes_through():
    layer = layers.Normalization()
    x = np.full((2, 3), 5.0, dtype="float32")
    with pytest.warns(UserWarning, match=r"Normalization 'normalization' .*adapt"):
        out = layer(x)
    np.testing.assert_array_equal(out.numpy(), x)  # mean 0, variance 1, as in Keras
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x)  # the warning came once


def test_normalization_given_statistics_invert_and_gradient():
    x = np.array([[1.0, 2.0], [3.0, 6.0]], dtype="float32")
    layer = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 16.0])
    out = layer(x)
    np.testing.assert_allclose(out.numpy(), [[0.0, 0.0], [1.0, 1.0]])
    back = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 16.0], invert=True)(out)
    np.testing.assert_allclose(back.numpy(), x)
    inputs = lp.tensor(x, requires_grad=True)
    (grad,) = lp.grad(layer(inputs).sum(), [inputs])
    np.testing.assert_allclose(grad.numpy(), [[0.5, 0.25]] * 2)
    constant = layers.Normalization(mean=0.0, variance=0.0)(x)
    assert np.isfinite(constant.numpy()).all()  # the standard deviation is floored


def test_normalization_adapt_refusals():
    with pytest.raises(ValueError, match="given mean and variance"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 2)))
    pairs = lp.data.Dataset.from_tensor_slices((np.ones((4, 2)), np.zeros(4))).batch(2)
    with pytest.raises(ValueError, match=r"ds.map\(lambda x, y: x\)"):
        layers.Normalization().adapt(pairs)
    with pytest.raises(ValueError, match="got no data"):
        layers.Normalization().adapt(iter([]))
    adapted = layers.Normalization()
    adapted.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"last axis is 3, got shape \(4, 2\)"):
        adapted.adapt(np.ones((4, 2)))


def test_resizing_bilinear_and_nearest_on_a_known_image():
    # half-pixel centres: output pixel i samples input coordinate (i + 0.5) / 2 - 0.5
    bilinear = layers.Resizing(4, 4)(IMAGE).numpy()[0, :, :, 0]
    ramp = np.array([0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(bilinear, 2 * ramp[:, None] + ramp[None, :], atol=1e-6)
    nearest = layers.Resizing(4, 4, interpolation="nearest")(IMAGE).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(nearest, IMAGE[0, :, :, 0].repeat(2, 0).repeat(2, 1))
    same = layers.Resizing(2, 2)(IMAGE).numpy()
    np.testing.assert_array_equal(same, IMAGE)


def test_resizing_crop_to_aspect_ratio_and_single_images():
    image = np.arange(24, dtype="float32").reshape(4, 6, 1)
    cropped = layers.Resizing(4, 4, crop_to_aspect_ratio=True)(image[None]).numpy()
    np.testing.assert_array_equal(cropped[0], image[:, 1:5])
    single = layers.Resizing(8, 12)(np.zeros((4, 6, 3), dtype="uint8"))
    assert single.shape == (8, 12, 3) and single.dtype == np.float32
    assert layers.Resizing(3, 5).compute_output_shape((None, 9, 9, 2)) == (None, 3, 5, 2)


def test_center_crop_values():
    x = np.arange(25, dtype="float32").reshape(1, 5, 5, 1)
    out = layers.CenterCrop(2, 3)(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(out, x[0, 1:3, 1:4, 0])
    grown = layers.CenterCrop(4, 4)(IMAGE).numpy()
    np.testing.assert_allclose(grown, layers.Resizing(4, 4)(IMAGE).numpy())  # too small
    inputs = lp.tensor(x, requires_grad=True)
    (grad,) = lp.grad(layers.CenterCrop(3, 3)(inputs).sum(), [inputs])
    assert grad.numpy().sum() == 9 and grad.numpy()[0, 1:4, 1:4, 0].min() == 1


def test_image_layers_reject_non_images():
    with pytest.raises(ValueError, match=r"Resizing 'resizing' expects images .*\(2, 3\)"):
        layers.Resizing(2, 2)(np.ones((2, 3), dtype="float32"))


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: layers.Rescaling("x"), "'x'"),
        (lambda: layers.Rescaling(1.0, offset=[1.0, None]), r"\[1.0, None\]"),
        (lambda: layers.Normalization(axis="last"), "'last'"),
        (lambda: layers.Normalization(mean=[1.0]), r"mean=\[1.0\]"),
        (lambda: layers.Normalization(mean=0.0, variance=-1.0), "-1.0"),
        (lambda: layers.Normalization(axis=3).build((None, 2)), "3"),
        (lambda: layers.Resizing(0, 4), "0"),
        (lambda: layers.Resizing(4, 4.5), "4.5"),
        (lambda: layers.Resizing(4, 4, interpolation="cubic"), "'cubic'"),
        (lambda: layers.CenterCrop(-1, 2), "-1"),
    ],
)
def test_bad_arguments_raise_value_error_quoting_the_value(make, bad):
    with pytest.raises(ValueError, match=bad):
        make()


def test_model_with_preprocessing_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(32, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("int64")
    normalization = layers.Normalization()
    normalization.adapt(x / 255)
    model = lp.Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.RandomFlip("horizontal", seed=1),
            layers.Rescaling(1 / 255),
            normalization,
            layers.Flatten(),
            layers.Dense(8),
            layers.PReLU(alpha_initializer="ones"),
            layers.Dropout(0.5, seed=2),
            layers.GaussianNoise(0.1),
            layers.Dense(2),
            layers.Softmax(),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    predicted = model.predict(x, verbose=0)
    np.testing.assert_array_equal(predicted, model.predict(x, verbose=0))  # no randomness
    path = tmp_path / "model.lpn"
    model.save(path)
    loaded = lp.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), predicted, rtol=1e-6)
    restored = [layer for layer in loaded.layers if isinstance(layer, layers.Normalization)]
    np.testing.assert_array_equal(restored[0].mean.numpy(), normalization.mean.numpy())
