"""Image augmentation layers: random in training, the identity at inference, seeded."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers
from lapenna.data import augment
from lapenna.testing import run_layer_test

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(0, 255, size=(4, 8, 10, 3)).astype("float32")

# (layer class, constructor arguments, the data-room function and its arguments)
CASES = [
    (layers.RandomFlip, {}, augment.random_flip, {"mode": "horizontal_and_vertical"}),
    (layers.RandomFlip, {"mode": "vertical"}, augment.random_flip, {"mode": "vertical"}),
    (layers.RandomCrop, {"height": 5, "width": 6}, augment.random_crop, {"height": 5, "width": 6}),
    (
        layers.RandomRotation,
        {"factor": 0.2},
        augment.random_rotation,
        {"factor": 0.2, "fill_mode": "reflect", "interpolation": "bilinear", "fill_value": 0.0},
    ),
    (
        layers.RandomZoom,
        {"height_factor": (-0.3, 0.3), "fill_mode": "constant", "fill_value": 1.0},
        augment.random_zoom,
        {"height_factor": [-0.3, 0.3], "fill_mode": "constant", "fill_value": 1.0},
    ),
    (
        layers.RandomTranslation,
        {"height_factor": 0.2, "width_factor": (-0.1, 0.3), "interpolation": "nearest"},
        augment.random_translation,
        {"height_factor": 0.2, "width_factor": [-0.1, 0.3], "interpolation": "nearest"},
    ),
    (layers.RandomContrast, {"factor": 0.5}, augment.random_contrast, {"factor": 0.5}),
    (
        layers.RandomBrightness,
        {"factor": (-0.2, 0.4)},
        augment.random_brightness,
        {"factor": [-0.2, 0.4]},
    ),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, *_) in enumerate(CASES)]


@pytest.mark.parametrize(("cls", "kwargs", "function", "arguments"), CASES, ids=IDS)
def test_run_layer_test_at_inference(cls, kwargs, function, arguments):
    # at inference the layers are the identity (RandomCrop: a crop and resize), which the
    # float64 gradient check goes through
    run_layer_test(
        cls,
        kwargs,
        input_shape=(2, 8, 10, 3),
        training=False,
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
    )


@pytest.mark.parametrize(("cls", "kwargs", "function", "arguments"), CASES, ids=IDS)
def test_training_applies_the_data_room_function(cls, kwargs, function, arguments):
    out = cls(seed=5, **kwargs)(IMAGES, training=True)
    expected = function(IMAGES, **arguments, generator=np.random.default_rng(5))
    assert out.dtype == np.float32
    assert out.shape == expected.shape == cls(**kwargs).compute_output_shape(IMAGES.shape)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out.shape != IMAGES.shape or not np.array_equal(out.numpy(), IMAGES)


@pytest.mark.parametrize(
    ("cls", "kwargs"), [(c[0], c[1]) for c in CASES if c[0] is not layers.RandomCrop]
)
def test_identity_at_inference(cls, kwargs):
    # RandomCrop crops at inference too: test_random_crop_windows_and_inference
    layer = cls(**kwargs)
    for training in (None, False):
        np.testing.assert_array_equal(layer(IMAGES, training=training).numpy(), IMAGES)


@pytest.mark.parametrize(("cls", "kwargs", "function", "arguments"), CASES, ids=IDS)
def test_reproducible_with_seed_and_set_seed(cls, kwargs, function, arguments):
    a = cls(seed=11, **kwargs)(IMAGES, training=True).numpy()
    b = cls(seed=11, **kwargs)(IMAGES, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    lp.set_seed(3)
    c = cls(**kwargs)(IMAGES, training=True).numpy()
    lp.set_seed(3)
    d = cls(**kwargs)(IMAGES, training=True).numpy()
    np.testing.assert_array_equal(c, d)
    layer = cls(seed=11, **kwargs)
    first, second = layer(IMAGES, training=True), layer(IMAGES, training=True)
    assert not np.array_equal(first.numpy(), second.numpy())  # the generator advances


@pytest.mark.parametrize(("cls", "kwargs", "function", "arguments"), CASES, ids=IDS)
def test_uint8_and_single_images(cls, kwargs, function, arguments):
    pixels = IMAGES.astype(np.uint8)
    out = cls(seed=0, **kwargs)(pixels, training=True)
    assert out.dtype == np.float32
    single = cls(seed=0, **kwargs)(IMAGES[0], training=True)
    assert single.shape == cls(**kwargs).compute_output_shape(IMAGES.shape)[1:]


def test_augmentation_output_has_no_history():
    inputs = lp.tensor(IMAGES, requires_grad=True)
    assert layers.RandomFlip(seed=0)(inputs, training=True).requires_grad is False
    assert layers.RandomFlip(seed=0)(inputs).requires_grad is True  # inference: identity


def test_random_flip_flips_whole_images():
    out = layers.RandomFlip("horizontal", seed=1)(IMAGES, training=True).numpy()
    for image, result in zip(IMAGES, out):
        assert np.array_equal(result, image) or np.array_equal(result, image[:, ::-1])


def test_random_crop_windows_and_inference():
    x = np.arange(8 * 10, dtype="float32").reshape(1, 8, 10, 1)
    out = layers.RandomCrop(4, 5, seed=2)(x, training=True).numpy()[0, :, :, 0]
    top, left = divmod(int(out[0, 0]), 10)
    np.testing.assert_array_equal(out, x[0, top : top + 4, left : left + 5, 0])
    # inference: the largest central window of the target aspect ratio, resized (Keras)
    central = layers.RandomCrop(8, 8)(x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(central, x[0, :, 1:9, 0])
    expected = layers.Resizing(4, 5, crop_to_aspect_ratio=True)(x).numpy()
    np.testing.assert_allclose(layers.RandomCrop(4, 5)(x).numpy(), expected)
    # images smaller than the target are resized, in training too
    small = layers.RandomCrop(16, 20, seed=0)(x, training=True)
    np.testing.assert_allclose(small.numpy(), layers.Resizing(16, 20)(x).numpy())


def test_random_layers_reject_non_images():
    with pytest.raises(ValueError, match=r"RandomFlip 'random_flip' expects images"):
        layers.RandomFlip()(np.ones((2, 3), dtype="float32"), training=True)


@pytest.mark.parametrize(
    ("make", "bad"),
    [
        (lambda: layers.RandomFlip("diagonal"), "'diagonal'"),
        (lambda: layers.RandomFlip(seed="x"), "'x'"),
        (lambda: layers.RandomCrop(0, 3), "0"),
        (lambda: layers.RandomRotation(-0.1), "-0.1"),
        (lambda: layers.RandomRotation((0.3, 0.1)), r"\(0.3, 0.1\)"),
        (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), "'mirror'"),
        (lambda: layers.RandomRotation(0.1, interpolation="cubic"), "'cubic'"),
        (lambda: layers.RandomZoom((-1.0, 0.5)), r"\(-1.0, 0.5\)"),
        (lambda: layers.RandomZoom(0.2, width_factor="wide"), "'wide'"),
        (lambda: layers.RandomTranslation(0.1, [0.1, 0.2, 0.3]), r"\[0.1, 0.2, 0.3\]"),
        (lambda: layers.RandomContrast(1.5), "1.5"),
        (lambda: layers.RandomContrast((0.2, -0.1)), r"\(0.2, -0.1\)"),
        (lambda: layers.RandomBrightness(1.2), "1.2"),
        (lambda: layers.RandomBrightness(0.2, value_range=(1, 0)), r"\(1, 0\)"),
    ],
)
def test_bad_arguments_raise_value_error_quoting_the_value(make, bad):
    with pytest.raises(ValueError, match=bad):
        make()
