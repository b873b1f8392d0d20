"""Models: functional, subclassed and Sequential; compile/fit/evaluate/predict."""

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers


def _blobs(n=300, classes=3, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, dim)) * 3
    y = rng.integers(0, classes, n)
    x = centers[y] + rng.standard_normal((n, dim))
    return x.astype(np.float32), y


def _functional():
    inputs = layers.Input((4,))
    h = layers.Dense(16, activation="relu")(inputs)
    return lp.Model(inputs, layers.Dense(3, activation="softmax")(h))


class Net(lp.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(16, activation="relu")
        self.out = layers.Dense(3, activation="softmax")

    def call(self, inputs, training=False):
        return self.out(self.hidden(inputs))


def _sequential():
    return lp.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("make", [_functional, Net, _sequential])
def test_three_ways_to_build_the_same_model_train(make):
    x, y = _blobs()
    model = make()
    model.compile(
        optimizer=lp.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0, validation_split=0.2)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.epoch == list(range(15))
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9
    assert model.predict(x[:5], verbose=0).shape == (5, 3)
    assert model.count_params() == 4 * 16 + 16 + 16 * 3 + 3


def test_functional_graph_shapes_and_layers():
    model = _functional()
    assert model.output_shape == (None, 3)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert model.output.shape == (None, 3)


def test_shared_layers_and_multiple_inputs_and_outputs():
    a, b = layers.Input((3,), name="a"), layers.Input((3,), name="b")
    shared = layers.Dense(4, name="shared")
    ha, hb = shared(a), shared(b)
    joined = layers.Dense(2, name="joined")(ha)
    other = layers.Dense(1, name="other")(hb)
    model = lp.Model([a, b], [joined, other])
    assert len(shared._inbound_nodes) == 2
    out = model([np.ones((5, 3)), np.zeros((5, 3))])
    assert [o.shape for o in out] == [(5, 2), (5, 1)]
    assert model.count_params() == 16 + 10 + 5
    out_dict = model({"a": np.ones((2, 3)), "b": np.ones((2, 3))})
    assert [o.shape for o in out_dict] == [(2, 2), (2, 1)]


def test_nested_models_act_as_layers():
    inner = _functional()
    inputs = layers.Input((4,))
    outer = lp.Model(inputs, layers.Dense(1)(inner(inputs)))
    assert outer.count_params() == inner.count_params() + 4
    assert outer(np.ones((2, 4))).shape == (2, 1)


def test_sequential_add_pop_and_lazy_build():
    model = lp.Sequential()
    model.add(layers.Dense(5))
    model.add(layers.Dense(2))
    assert not model.built
    model(np.ones((3, 7)))
    assert model.built and model.output_shape == (None, 2)
    model.pop()
    assert model.output_shape == (None, 5)
    with pytest.raises(TypeError, match="expects a Layer"):
        model.add("dense")


def test_subclassed_build_creates_weights():
    model = Net()
    model.build((None, 4))
    assert len(model.weights) == 4


def test_fit_errors_are_clear():
    x, y = _blobs(20)
    model = _functional()
    with pytest.raises(RuntimeError, match="must be compiled before fit"):
        model.fit(x, y)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, y[:10], verbose=0)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match="label"):
        model.fit(x, y + 5, verbose=0)
    with pytest.raises(ValueError, match="2 entries, but the model has 1"):
        model.compile(optimizer="sgd", loss=["mse", "mse"])


def test_same_seed_gives_bit_identical_weights():
    x, y = _blobs(100)

    def run(seed):
        lp.set_seed(seed)
        lp.utils.reset_names()
        model = _functional()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return model.get_weights()

    first, second, other = run(3), run(3), run(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_validation_split_takes_the_last_fraction():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.float32).reshape(10, 1)
    seen = []

    class Probe(lp.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def test_step(self, data):
            seen.append(data[1].ravel().tolist())
            return super().test_step(data)

        def call(self, inputs, training=False):
            return self.dense(inputs)

    model = Probe()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, validation_split=0.3, epochs=1, batch_size=4, verbose=0)
    assert seen == [[7.0, 8.0, 9.0]]


def test_frozen_layer_is_unchanged_by_fit_while_others_change():
    x, y = _blobs(100)
    model = _functional()
    frozen = model.layers[0]
    frozen.trainable = False
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    after = model.get_weights()
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])
    assert not np.array_equal(before[2], after[2])


def test_two_output_model_with_loss_weights_trains():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 6)).astype(np.float32)
    cls = (x[:, 0] > 0).astype(int)
    box = x[:, 1:3] * 0.5
    inputs = layers.Input((6,))
    h = layers.Dense(32, activation="relu")(inputs)
    model = lp.Model(
        inputs,
        [layers.Dense(2, activation="softmax", name="cls")(h), layers.Dense(2, name="box")(h)],
    )
    model.compile(
        optimizer=lp.optimizers.Adam(0.01),
        loss={"cls": "sparse_categorical_crossentropy", "box": "mse"},
        loss_weights={"cls": 1.0, "box": 5.0},
        metrics={"cls": ["accuracy"]},
    )
    history = model.fit(x, {"cls": cls, "box": box}, epochs=20, batch_size=32, verbose=0)
    h = history.history
    assert {"loss", "cls_loss", "box_loss", "cls_accuracy"} <= set(h)
    assert h["box_loss"][-1] < h["box_loss"][0] * 0.5
    assert h["cls_accuracy"][-1] > 0.9
    total = h["cls_loss"][-1] + 5.0 * h["box_loss"][-1]
    assert h["loss"][-1] == pytest.approx(total, rel=0.05)


def test_custom_training_loop_from_the_course():
    x, y = _blobs(200)
    model = _functional()
    optimizer = lp.optimizers.SGD(
        learning_rate=lp.optimizers.schedules.PiecewiseConstantDecay([20, 40], [0.1, 0.01, 0.001])
    )
    loss_fn = lp.losses.SparseCategoricalCrossentropy()
    losses = []
    for step in range(60):
        index = np.arange(step * 10, step * 10 + 32) % len(x)
        with lp.GradientTape() as tape:
            loss = loss_fn(y[index], model(x[index], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss.data))
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert optimizer.learning_rate == pytest.approx(0.001)


def test_train_and_test_on_batch_and_predict_on_batch():
    x, y = _blobs(32)
    model = _functional()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (32, 3)
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


def test_model_regularization_losses_join_the_loss():
    inputs = layers.Input((4,))
    out = layers.Dense(3, kernel_regularizer=lp.regularizers.L2(10.0))(inputs)
    model = lp.Model(inputs, out)
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 4), dtype=np.float32)
    y = np.zeros((8, 3), dtype=np.float32)
    with_penalty = model.train_on_batch(x, y)
    plain = model.test_on_batch(x, y)
    assert with_penalty > plain


def test_config_round_trips():
    for make in (_functional, _sequential):
        model = make()
        config = lp.utils.serialize(model, "layers")
        clone = lp.utils.deserialize(config, "layers")
        clone.set_weights(model.get_weights())
        x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
        np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
        assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


def test_fit_and_evaluate_accept_datasets():
    x, y = _blobs(200)
    train = lp.data.Dataset.from_tensor_slices((x[:160], y[:160])).shuffle(160).batch(32)
    val = lp.data.Dataset.from_tensor_slices((x[160:], y[160:])).batch(20).prefetch(2)
    model = _functional()
    model.compile(
        optimizer=lp.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(train, validation_data=val, epochs=10, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.85
    assert len(history.history["loss"]) == 10
    logs = model.evaluate(val, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(history.history["val_accuracy"][-1])
    weighted = lp.data.Dataset.from_tensor_slices(
        (x[:64], y[:64], np.ones(64, dtype=np.float32))
    ).batch(16)
    assert np.isfinite(model.evaluate(weighted, verbose=0)[0])
    with pytest.raises(ValueError, match="y must not be given"):
        model.fit(train, y, verbose=0)


def test_a_call_with_training_false_keeps_inference_mode_in_the_graph():
    inputs = layers.Input((4,))
    base = lp.Sequential([layers.Input((4,)), layers.BatchNormalization(name="bn")])
    model = lp.Model(inputs, layers.Dense(1)(base(inputs, training=False)))
    bn = base.layers[0]
    before = bn.get_weights()
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32) * 3 + 1
    model.fit(x, np.zeros((16, 1), dtype=np.float32), epochs=1, verbose=0)
    for a, b in zip(before[2:], bn.get_weights()[2:]):  # moving statistics untouched
        np.testing.assert_array_equal(a, b)
    clone = lp.models.model_from_json(model.to_json())
    node = [n for n in clone._graph.nodes if isinstance(n.layer, lp.Sequential)][0]
    assert node.kwargs == {"training": False}
