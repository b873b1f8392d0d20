"""The course's Keras workflows, run with the same source in real Keras 3 and in lapenna.

Each ``build(k)`` below is written once and called with ``k = keras`` and ``k = lapenna``:
a notebook that changes only its import line must give the same model and numbers.
"""

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("keras")
from lapenna.testing.keras_reference import (  # noqa: E402
    compare_with_keras,
    copy_weights_from_keras,
    keras_module,
)


def data(shape, outputs, n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape)).astype("float32")
    return x, rng.standard_normal((n, outputs)).astype("float32")


def linear_layer_class(k):
    """The course's ``Linear`` layer: Variables created in ``__init__`` and in ``build``."""

    class Linear(k.layers.Layer):
        def __init__(self, units, input_dim):
            super().__init__()
            w = np.random.default_rng(1).standard_normal((input_dim, units)) * 0.3
            self.w = k.Variable(w.astype("float32"))
            self.b = k.Variable(np.zeros(units, "float32"))

        def call(self, inputs):
            return k.ops.matmul(inputs, self.w) + self.b

    class Scale(k.layers.Layer):
        def build(self, input_shape):
            self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            self.shift = self.add_variable((input_shape[-1],), "zeros")

        def call(self, inputs):
            return inputs * self.gain + self.shift

    return Linear, Scale


def test_custom_layer_with_variables_trains_like_keras():
    def build(k):
        linear, scale = linear_layer_class(k)
        return k.Sequential([k.Input((3,)), linear(4, 3), scale(), k.layers.Dense(2)])

    x, y = data((3,), 2)
    report = compare_with_keras(build, x, y)
    assert report.params == 16 + 8 + 10
    layer = report.model.layers[0]
    assert len(layer.trainable_weights) == 2 and layer.count_params() == 16
    assert set(report.gradient_errors) >= {w.path for w in layer.weights}


def test_custom_layer_variables_follow_trainable_and_fit():
    linear, _ = linear_layer_class(lp)
    layer = linear(2, 3)
    model = lp.Sequential([lp.Input((3,)), layer])
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    layer.trainable = True
    x, y = data((3,), 2, n=32)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < history[0]


def small_base(k):
    inputs = k.Input((16, 16, 3))
    x = k.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = k.layers.MaxPooling2D(name="pool_a")(x)
    x = k.layers.Conv2D(8, 3, activation="relu", name="conv_b")(x)
    return k.Model(inputs, x, name="base")


def test_transfer_learning_through_base_model_input_and_output():
    def build(k):
        base = small_base(k)
        base.trainable = False
        x = k.layers.GlobalAveragePooling2D()(base.output)
        x = k.layers.Dense(3, activation="softmax")(x)
        return k.Model(base.input, x)

    x, _ = data((16, 16, 3), 3)
    y = np.eye(3, dtype="float32")[np.arange(8) % 3]
    report = compare_with_keras(build, x, y, loss="categorical_crossentropy")
    assert report.params == 835 and len(report.model.trainable_weights) == 2
    keras_model, model = report.keras_model, report.model
    assert model.input_shape == keras_model.input_shape == (None, 16, 16, 3)
    assert model.output_shape == keras_model.output_shape == (None, 3)
    assert isinstance(model.inputs, list) and isinstance(model.outputs, list)
    pool = model.get_layer("pool_a").output
    assert pool.shape == tuple(keras_model.get_layer("pool_a").output.shape) == (None, 8, 8, 8)


def test_sequential_add_takes_the_nested_models_input():
    def build(k):
        model = k.Sequential()
        model.add(small_base(k))
        model.add(k.layers.GlobalAveragePooling2D())
        model.add(k.layers.Dense(2))
        return model

    report = compare_with_keras(build, *data((16, 16, 3), 2))
    assert report.model.output_shape == report.keras_model.output_shape == (None, 2)
    assert report.model.input_shape == (None, 16, 16, 3)


def two_outputs(k):
    inputs = k.Input((5,))
    hidden = k.layers.Dense(6, activation="tanh")(inputs)
    return k.Model(inputs, [k.layers.Dense(2)(hidden), k.layers.Dense(1)(hidden)])


def test_two_output_model_with_loss_weights_and_no_metrics_matches_keras():
    keras = keras_module()
    keras_model, model = two_outputs(keras), two_outputs(lp)
    copy_weights_from_keras(keras_model, model)
    assert model.output_shape == keras_model.output_shape == [(None, 2), (None, 1)]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 5)).astype("float32")
    ys = [rng.standard_normal((16, 2)).astype("float32"), rng.standard_normal((16, 1))]
    ys[1] = ys[1].astype("float32")
    keras_model.compile(
        optimizer=keras.optimizers.SGD(0.1), loss=["mse", "mae"], loss_weights=[1.0, 0.5]
    )
    model.compile(optimizer=lp.optimizers.SGD(0.1), loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    want = keras_model.fit(x, ys, batch_size=8, epochs=2, shuffle=False, verbose=0)
    got = model.fit(x, ys, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(got.history["loss"], want.history["loss"], rtol=1e-5)
    for k_w, w in zip(keras_model.weights, model.weights):
        np.testing.assert_allclose(w.numpy(), np.asarray(k_w.numpy()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.evaluate(x, ys, verbose=0), keras_model.evaluate(x, ys, verbose=0), rtol=1e-5
    )
    assert model.metrics_names == ["loss", *[f"{n}_loss" for n in model.output_names]]
    assert len(model.evaluate(x, ys, verbose=0)) == len(keras_model.metrics_names) == 3


def test_data_format_channels_last_is_accepted_and_channels_first_refused():
    for data_format in ("channels_last", None):
        layer = lp.layers.Conv2D(2, 3, data_format=data_format)
        assert layer(np.zeros((1, 5, 5, 1), "float32")).shape == (1, 3, 3, 2)
    lp.layers.MaxPooling2D(data_format="channels_last")
    lp.layers.Flatten(data_format=None)
    with pytest.raises(ValueError, match="data_format='channels_first'.*channels-last"):
        lp.layers.Conv2D(2, 3, data_format="channels_first")


def test_model_without_input_says_what_to_do():
    model = lp.Sequential([lp.layers.Dense(2)])
    with pytest.raises(AttributeError, match="give it Input"):
        model.input_shape  # noqa: B018
    with pytest.raises(AttributeError, match="never called"):
        lp.layers.Dense(2).output  # noqa: B018


def test_custom_layer_variables_go_through_weight_files(tmp_path):
    linear, _ = linear_layer_class(lp)
    model = lp.Sequential([lp.Input((3,)), linear(2, 3)])
    x = np.ones((1, 3), "float32")
    want = model.predict(x, verbose=0)
    assert [w.path for w in model.weights] == [f"{model.layers[0].name}/{n}" for n in "wb"]
    for name in ("w.h5", "w.safetensors"):
        model.save_weights(tmp_path / name)
        model.layers[0].w.assign(np.zeros((3, 2), "float32"))
        model.load_weights(tmp_path / name)
        np.testing.assert_array_equal(model.predict(x, verbose=0), want)
    other = lp.Sequential([lp.Input((3,)), linear(2, 3)])
    other.layers[0].w.assign(np.zeros((3, 2), "float32"))
    other.load_weights(tmp_path / "w.h5")  # Keras's HDF5 layout pairs layers in order
    np.testing.assert_array_equal(other.predict(x, verbose=0), want)
