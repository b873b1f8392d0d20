"""Files lapenna writes in Keras 3's formats (``model.save("m.keras")``,
``save_weights("w.weights.h5")``) load in real Keras 3 inside the test and predict what
lapenna predicts; the same files load back in lapenna; what Keras cannot hold is refused
before anything is written."""

import json
import zipfile

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("keras")
pytest.importorskip("h5py")
from lapenna.io.keras_h5 import keras_layer_order  # noqa: E402
from lapenna.testing.keras_reference import keras_module  # noqa: E402
from lapenna.utils import get_registry  # noqa: E402

RNG = np.random.default_rng(0)


def cnn(k):
    inputs = k.Input((10, 10, 3))
    x = k.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.MaxPooling2D()(x)
    y = k.layers.Conv2D(6, 1, kernel_initializer="he_normal")(x)
    x = k.layers.Add()([x, y])
    x = k.layers.Activation("relu")(x)
    pooled = k.layers.GlobalAveragePooling2D()(x)
    flat = k.layers.Flatten()(x)
    x = k.layers.Concatenate()([pooled, flat])
    x = k.layers.Dropout(0.3)(x)
    return k.Model(inputs, k.layers.Dense(4, activation="softmax")(x), name="cnn")


def mlp(k):
    return k.Sequential(
        [
            k.Input((7,)),
            k.layers.Dense(
                16,
                kernel_regularizer=k.regularizers.L2(1e-3),
                kernel_constraint=k.constraints.MaxNorm(3.0),
                bias_initializer=k.initializers.Constant(0.1),
            ),
            k.layers.BatchNormalization(momentum=0.9, epsilon=1e-4),
            k.layers.Activation("tanh"),
            k.layers.Dropout(0.5),
            k.layers.Dense(3, activation="sigmoid", use_bias=False),
        ],
        name="mlp",
    )


def recurrent(k):
    return k.Sequential(
        [
            k.Input((6,), dtype="int32"),
            k.layers.Embedding(12, 5),
            k.layers.LSTM(4, return_sequences=True),
            k.layers.GRU(3, return_sequences=True),
            k.layers.SimpleRNN(2),
            k.layers.Dense(1),
        ]
    )


def branches(k):
    """Two Dense layers at one depth, created in the other order than Keras lists them:
    the weight file's keys (dense, dense_1, dense_2) follow Keras's order."""
    inputs = k.Input((4,), name="x")
    a = k.layers.Dense(4, name="a")(inputs)
    b = k.layers.Dense(4, name="b")(a)
    c = k.layers.Dense(4, name="c")(inputs)
    return k.Model(inputs, k.layers.Add(name="add")([c, b]))


def two_heads(k):
    image = k.Input((8, 8, 2), name="image")
    extra = k.Input((3,), name="extra")
    x = k.layers.ZeroPadding2D(1)(image)
    x = k.layers.DepthwiseConv2D(3, depth_multiplier=2)(x)
    x = k.layers.ReLU(max_value=6.0)(x)
    x = k.layers.Conv2DTranspose(3, 3, strides=2, padding="same")(x)
    x = k.layers.AveragePooling2D(2)(x)
    x = k.layers.UpSampling2D(2)(x)
    x = k.layers.LayerNormalization()(x)
    x = k.layers.GlobalMaxPooling2D()(x)
    x = k.layers.LeakyReLU(0.2)(x)
    e = k.layers.Dense(3, activation="elu")(extra)
    merged = [
        k.layers.Multiply()([x, e]),
        k.layers.Subtract()([x, e]),
        k.layers.Average()([x, e]),
        k.layers.Maximum()([x, e]),
        k.layers.Minimum()([x, e]),
    ]
    joined = k.layers.Concatenate(axis=-1)(merged)
    seq = k.layers.Reshape((5, 3))(joined)
    seq = k.layers.Conv1D(4, 2, padding="causal", activation="swish")(seq)
    seq = k.layers.MaxPooling1D(2, padding="same")(seq)
    mean = k.layers.GlobalAveragePooling1D()(seq)
    peak = k.layers.GlobalMaxPooling1D()(k.layers.AveragePooling1D(2, strides=1)(seq))
    seq = k.layers.Concatenate()([mean, peak])
    probs = k.layers.Softmax()(k.layers.Dense(2)(seq))
    return k.Model([image, extra], [probs, k.layers.ELU()(joined)], name="two_heads")


INPUTS = {
    "cnn": lambda: RNG.random((3, 10, 10, 3), dtype=np.float32),
    "mlp": lambda: RNG.standard_normal((5, 7)).astype(np.float32),
    "recurrent": lambda: RNG.integers(0, 12, (3, 6)).astype(np.int32),
    "branches": lambda: RNG.standard_normal((3, 4)).astype(np.float32),
    "two_heads": lambda: [
        RNG.standard_normal((2, 8, 8, 2)).astype(np.float32),
        RNG.standard_normal((2, 3)).astype(np.float32),
    ],
}
BUILDERS = {"cnn": cnn, "mlp": mlp, "recurrent": recurrent, "branches": branches}
BUILDERS["two_heads"] = two_heads


def trained_lapenna_model(build, x):
    """The model with weights away from their initial values (moving statistics too)."""
    lp.set_seed(3)
    model = build(lp)
    for weight in model.weights:
        values = RNG.standard_normal(weight.shape) * 0.4
        if "variance" in weight.name:
            values = np.abs(values) + 0.5
        weight.assign(values.astype(np.float32))
    model.predict(x, verbose=0)
    return model


def keras_predict(model, x):
    keras = keras_module()
    out = model.predict(x, verbose=0)
    return [keras.ops.convert_to_numpy(o) for o in out] if isinstance(out, list) else out


def assert_close(got, want):
    for g, w in zip(
        got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]
    ):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=2e-6)


def layer_rows(model):
    """``(name, class, parameters)`` per layer, inputs left out (Keras lists them in a
    functional model, lapenna does not)."""
    return [
        (layer.name, type(layer).__name__, layer.count_params())
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    ]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_keras_loads_the_keras_file_and_predicts_what_lapenna_predicts(tmp_path, name):
    keras = keras_module()
    x = INPUTS[name]()
    model = trained_lapenna_model(BUILDERS[name], x)
    want = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.saving.load_model(path)
    assert_close(keras_predict(loaded, x), want)
    assert loaded.count_params() == model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in loaded.trainable_weights)
    assert trainable == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert sorted(layer_rows(loaded)) == sorted(layer_rows(model))
    assert loaded.name == model.name

    back = lp.models.load_model(path)  # and lapenna reads its own Keras file
    assert_close(back.predict(x, verbose=0), want)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_keras_loads_the_weights_file_into_the_same_architecture(tmp_path, name):
    keras = keras_module()
    x = INPUTS[name]()
    model = trained_lapenna_model(BUILDERS[name], x)
    want = model.predict(x, verbose=0)
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)

    keras.utils.set_random_seed(0)
    twin = BUILDERS[name](keras)
    twin.load_weights(path)
    assert_close(keras_predict(twin, x), want)

    fresh = BUILDERS[name](lp)
    fresh.load_weights(path)
    assert_close(fresh.predict(x, verbose=0), want)


@pytest.mark.parametrize("name", ["recurrent", "branches", "two_heads"])
def test_weights_written_by_keras_load_in_lapenna(tmp_path, name):
    keras = keras_module()
    keras.utils.set_random_seed(1)
    source = BUILDERS[name](keras)
    x = INPUTS[name]()
    path = tmp_path / "keras.weights.h5"
    source.save_weights(path)
    model = BUILDERS[name](lp)
    model.load_weights(path)
    assert_close(model.predict(x, verbose=0), keras_predict(source, x))


def test_layer_order_is_the_one_keras_gives():
    keras = keras_module()
    for build in (branches, cnn, two_heads):
        config = get_registry("layers").serialize(build(lp))["config"]
        keras_names = [layer.name for layer in build(keras).layers]
        ours = keras_layer_order(config)
        # names differ between the two processes' counters; classes in order must agree
        classes = {item["name"]: item["class_name"] for item in config["layers"]}
        assert [classes[n] for n in ours] == [type(layer).__name__ for layer in build(keras).layers]
        if build is branches:
            assert ours == keras_names == ["x", "a", "c", "b", "add"]


def test_the_archive_is_laid_out_as_keras_writes_it(tmp_path):
    h5py = pytest.importorskip("h5py")
    import io

    model = recurrent(lp)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert archive.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        metadata = json.loads(archive.read("metadata.json"))
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    assert metadata["keras_version"].startswith("3.")
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    lstm = config["config"]["layers"][2]
    assert lstm["module"] == "keras.layers" and lstm["registered_name"] is None
    assert lstm["build_config"] == {"input_shape": [None, 6, 5]}
    assert lstm["config"]["dtype"]["class_name"] == "DTypePolicy"
    assert lstm["config"]["kernel_initializer"]["module"] == "keras.initializers"
    with h5py.File(io.BytesIO(weights), "r") as f:
        assert sorted(f["layers"]) == ["dense", "embedding", "gru", "lstm", "simple_rnn"]
        assert f["layers/lstm/cell/vars/0"].shape == (5, 16)
        assert f["layers/lstm/vars"].attrs["name"] == model.layers[1].name


class Doubler(lp.layers.Layer):
    def call(self, inputs, training=None):
        return inputs * 2.0


class Net(lp.Model):
    def __init__(self):
        super().__init__()
        self.dense = lp.layers.Dense(2)

    def call(self, inputs, training=None):
        return self.dense(inputs)


def _act(x):
    return lp.ops.tanh(x)


def _refused_models(monkeypatch):
    custom = lp.Sequential([lp.Input((3,)), lp.layers.Dense(2), Doubler(name="doubler")])
    subclassed = Net()
    subclassed.build((None, 3))
    inner = lp.Sequential([lp.layers.Dense(2)], name="inner")
    inputs = lp.Input((3,))
    nested = lp.Model(inputs, inner(inputs))
    registry = get_registry("activations")  # a custom activation, for this test only
    monkeypatch.setattr(registry, "_entries", {**registry._entries, "my_tanh": _act})
    monkeypatch.setattr(registry, "_canonical", {**registry._canonical, _act: "my_tanh"})
    unknown_activation = lp.Sequential(
        [lp.Input((3,)), lp.layers.Dense(2, activation="my_tanh", name="head")]
    )
    return [
        (custom, "'doubler' \\(Doubler\\): a custom layer class"),
        (subclassed, "subclassed model .*Save it as .lpn"),
        (nested, "'inner' \\(Sequential\\): a model nested"),
        (unknown_activation, "'head' \\(Dense\\), argument 'activation': activation 'my_tanh'"),
    ]


def test_what_keras_cannot_hold_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    mlp(lp).save(path)
    before = path.read_bytes()
    for model, message in _refused_models(monkeypatch):
        with pytest.raises(ValueError, match=message):
            model.save(path)
        assert path.read_bytes() == before  # the previous file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_weights_of_models_keras_lays_out_otherwise_keep_lapennas_layout(tmp_path):
    model = Net()
    model.build((None, 3))
    path = tmp_path / "net.weights.h5"
    model.save_weights(path)  # a subclassed model: layer-name layout, still readable
    twin = Net()
    twin.build((None, 3))
    twin.load_weights(path)
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(twin.predict(x, verbose=0), model.predict(x, verbose=0))


def test_every_layer_class_written_is_loaded_by_keras_in_these_tests():
    from lapenna.io.keras_write import KERAS_LAYERS

    used = {type(layer).__name__ for build in BUILDERS.values() for layer in build(lp).layers}
    assert set(KERAS_LAYERS) <= used, sorted(set(KERAS_LAYERS) - used)
