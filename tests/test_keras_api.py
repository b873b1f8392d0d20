"""Keras 3 spellings a notebook uses, compared with real Keras: ops, image resizing,
preprocessing per application, tf.keras 2 namespaces and the hints for removed arguments."""

import warnings

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers, ops

pytest.importorskip("keras")
from lapenna.testing.keras_reference import keras_module  # noqa: E402


@pytest.fixture(scope="module")
def keras():
    return keras_module()


def _same(got, want, **kwargs):
    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    want = np.asarray(want.cpu().numpy() if hasattr(want, "cpu") else want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, **kwargs)


def test_creation_and_conversion_ops_equal_keras(keras):
    k = keras.ops
    _same(ops.ones((2, 3)), k.ones((2, 3)))
    _same(ops.zeros(4, dtype="int32"), k.zeros(4, dtype="int32"))
    _same(ops.full((2, 2), 7.5), k.full((2, 2), 7.5))
    _same(ops.eye(3, 4, k=1), k.eye(3, 4, k=1))
    x = np.array([[3.0, 1.0, 2.0], [0.5, 9.0, -1.0]], "float32")
    _same(ops.argsort(x), k.argsort(x).to(dtype=__import__("torch").int64))
    _same(ops.cast(x, "int32"), k.cast(x, "int32"))
    _same(ops.convert_to_tensor([[1.0, 2.0]]), k.convert_to_tensor([[1.0, 2.0]]))
    labels = np.array([0, 3, 1, 2])
    _same(ops.one_hot(labels, 4), k.one_hot(labels, 4))
    _same(ops.one_hot(labels, 4, axis=0), k.one_hot(labels, 4, axis=0))


def test_cast_keeps_the_gradient_and_one_hot_refuses_floats():
    x = lp.tensor([1.0, 2.0], requires_grad=True)
    (g,) = lp.grad(ops.sum(ops.cast(x, "float64") * 3.0), [x])
    assert g.numpy().tolist() == [3.0, 3.0]
    with pytest.raises(TypeError, match="integer class indices"):
        ops.one_hot(np.array([0.0, 1.0]), 2)
    with pytest.raises(ValueError, match="non-negative ints"):
        ops.zeros((2, -1))


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_image_resize_of_one_image_and_of_a_batch_equals_keras(keras, interpolation):
    batch = np.random.default_rng(0).random((2, 5, 7, 3)).astype("float32")
    for images in (batch, batch[0]):
        want = keras.ops.image.resize(images, (8, 4), interpolation=interpolation)
        got = ops.image.resize(images, (8, 4), interpolation=interpolation)
        _same(got, want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="one image"):
        ops.image.resize(np.zeros((4, 4)), (2, 2))


@pytest.mark.parametrize("module", ["resnet50", "resnet_v2", "vgg16", "mobilenet_v2", "xception"])
def test_application_modules_preprocess_like_keras(keras, module):
    images = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype("float32")
    want = getattr(keras.applications, module).preprocess_input(images.copy())
    got = getattr(lp.applications, module).preprocess_input(images)
    _same(got, want, rtol=1e-6, atol=1e-5)
    builder = {
        "resnet50": "ResNet50",
        "resnet_v2": "ResNet50V2",
        "vgg16": "VGG16",
        "mobilenet_v2": "MobileNetV2",
        "xception": "Xception",
    }[module]
    assert getattr(getattr(lp.applications, module), builder) is getattr(lp.applications, builder)


def test_tf_keras_2_preprocessing_namespace_aliases_the_layers():
    preprocessing = layers.experimental.preprocessing
    for name in preprocessing.__all__:
        assert getattr(preprocessing, name) is getattr(layers, name)
    assert {"Rescaling", "Resizing", "RandomFlip", "Normalization"} <= set(preprocessing.__all__)


def test_tf_keras_2_optimizer_arguments_get_a_hint_and_the_hint_is_right(keras):
    with pytest.raises(TypeError, match=r"learning_rate=0.1 instead of lr.*InverseTimeDecay"):
        lp.optimizers.SGD(lr=0.1, decay=1e-4)
    with pytest.raises(TypeError, match=r"Adam: unknown arguments \['betas'\]"):
        lp.optimizers.Adam(betas=(0.9, 0.99))
    # the suggested schedule is tf.keras 2's decay: lr / (1 + decay * step)
    ours = lp.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=1e-4)
    theirs = keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=1e-4)
    for step in (0, 10, 5000):
        assert float(ours(step)) == pytest.approx(float(theirs(step)), rel=1e-6)
        assert float(ours(step)) == pytest.approx(0.1 / (1 + 1e-4 * step), rel=1e-6)


@pytest.mark.parametrize(
    ("method", "hint"),
    [
        ("fit_generator", r"fit\(generator"),
        ("evaluate_generator", r"evaluate\(generator"),
        ("predict_generator", r"predict\(generator"),
        ("predict_classes", r"argmax\(axis=-1\)"),
    ],
)
def test_removed_model_methods_say_what_replaced_them(method, hint):
    model = lp.Sequential([lp.Input((2,)), layers.Dense(1)])
    with pytest.raises(AttributeError, match=hint):
        getattr(model, method)(np.zeros((1, 2), "float32"))


def test_fit_nb_epoch_gets_a_hint_where_keras_raises_a_bare_type_error(keras):
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    theirs = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    theirs.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="nb_epoch"):
        theirs.fit(x, y, nb_epoch=1, verbose=0)
    model = lp.Sequential([lp.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    weights = [w.numpy().copy() for w in model.weights]
    with pytest.raises(TypeError, match=r"Keras 1 name of epochs: fit\(x, y, epochs=\.\.\.\)"):
        model.fit(x, y, nb_epoch=1, verbose=0)
    with pytest.raises(
        TypeError, match="PyDataset.*; fit\\(\\) got an unexpected keyword argument 'epoch'"
    ):
        model.fit(x, y, workers=2, epoch=1, verbose=0)
    for before, after in zip(weights, model.weights):  # nothing trained
        np.testing.assert_array_equal(before, after.numpy())
    assert model.fit(x, y, epochs=1, verbose=0).epoch == [0]


def test_keras_input_is_layers_input():
    assert lp.Input is layers.Input
    assert lp.Input((3,)).shape == (None, 3)


def test_from_logits_on_a_softmax_output_warns_once_at_compile():
    """tf.keras warns here; Keras 3 on torch does not, so the reference is the message."""
    model = lp.Sequential([lp.Input((3,)), layers.Dense(2, activation="softmax")])
    loss = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.warns(UserWarning, match="from_logits=True.*'dense'.*softmax") as record:
        model.compile(optimizer="sgd", loss=loss)
        model.train_on_batch(np.ones((2, 3), "float32"), np.array([0, 1]))
    assert len([w for w in record if w.category is UserWarning]) == 1
    logits = lp.Sequential([lp.Input((3,)), layers.Dense(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logits.compile(optimizer="sgd", loss=lp.losses.SparseCategoricalCrossentropy(True))
