"""Stateful recurrent layers and model files, against real Keras 3: the carried states are
not weights (Keras creates them untracked, so they are not in ``model.weights`` nor in
``model.weights.h5``). A model loaded from a file starts from zero states; loading
weights into a model keeps the states it carries; ``reset_state()`` zeroes them.

Keras writes a stateful model, predicts twice, saves, loads, predicts twice; lapenna
loads Keras's file and does the same with its own ``.lpn`` file. The two sequences of
outputs must agree."""

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("keras")
pytest.importorskip("h5py")
from lapenna.testing.keras_reference import keras_module  # noqa: E402

RNG = np.random.default_rng(5)


def _stateful(k, name):
    """A stateful model in Keras (``k`` is ``keras``) and its inputs."""
    if name == "ConvLSTM2D":
        x = RNG.standard_normal((2, 3, 5, 4, 2)).astype("float32")
        layer = k.layers.ConvLSTM2D(3, 2, padding="same", stateful=True)
        head = [k.layers.Flatten()]
    else:
        x = RNG.standard_normal((2, 4, 3)).astype("float32")
        layer = getattr(k.layers, name)(5, stateful=True, return_sequences=True)
        head = []
    model = k.Sequential([k.Input(batch_shape=x.shape), layer, *head, k.layers.Dense(2)])
    # non-zero biases: a zero state is not a fixed point
    for w in layer.weights:
        w.assign(w.numpy() + RNG.standard_normal(w.shape).astype("float32") * 0.3)
    return model, x


def _outputs(model, x, load, save_path):
    """Predict twice, save, load, predict twice; then reset the loaded model's states and
    predict, and load weights into it mid-sequence and predict."""
    outs = [model.predict(x, verbose=0), model.predict(x, verbose=0)]
    model.save(save_path)
    loaded = load(save_path)
    outs += [loaded.predict(x, verbose=0), loaded.predict(x, verbose=0)]
    for layer in loaded.layers:
        if hasattr(layer, "reset_state"):
            layer.reset_state()
    outs.append(loaded.predict(x, verbose=0))
    weights_path = save_path.with_name("w.weights.h5")
    loaded.save_weights(weights_path)
    loaded.load_weights(weights_path)
    outs.append(loaded.predict(x, verbose=0))
    return outs


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN", "ConvLSTM2D"])
def test_stateful_outputs_through_save_and_load_match_keras(tmp_path, name):
    keras = keras_module()
    model, x = _stateful(keras, name)
    model.save(tmp_path / "keras_written.keras")
    # Keras keeps the states out of the weights (and so out of its files)
    assert len(model.weights) == len(model.layers[0].weights) + 2
    want = _outputs(model, x, keras.models.load_model, tmp_path / "k.keras")

    ours = lp.models.load_model(tmp_path / "keras_written.keras")
    assert ours.layers[0].stateful
    assert [w.path for w in ours.weights] == [w.path.split("/", 1)[1] for w in model.weights]
    got = _outputs(ours, x, lp.models.load_model, tmp_path / "ours.lpn")
    assert len(got) == len(want) == 6
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5, err_msg=f"output {i}")
    # what the sequence shows: the second call continues from the first's states, a
    # loaded model starts again from zero, and so does a reset one
    assert not np.allclose(want[1], want[0])
    np.testing.assert_allclose(got[2], got[0], rtol=1e-6)
    np.testing.assert_allclose(got[4], got[0], rtol=1e-6)
    # loading weights keeps the carried states: the next call continues
    assert not np.allclose(got[5], got[0])


def test_reset_state_is_keras_3_s_name():
    x = RNG.standard_normal((2, 4, 3)).astype("float32")
    layer = lp.layers.LSTM(4, stateful=True)
    bi = lp.layers.Bidirectional(lp.layers.GRU(3, stateful=True))
    first = layer(x).numpy()
    bi_first = bi(x).numpy()
    assert not np.allclose(layer(x).numpy(), first)
    assert not np.allclose(bi(x).numpy(), bi_first)
    layer.reset_state()
    bi.reset_state()
    np.testing.assert_allclose(layer(x).numpy(), first, rtol=1e-6)
    np.testing.assert_allclose(bi(x).numpy(), bi_first, rtol=1e-6)
    layer.reset_states()  # the Keras 2 name stays
    np.testing.assert_allclose(layer(x).numpy(), first, rtol=1e-6)
