"""Embedding, Masking, Bidirectional and TimeDistributed against real Keras 3 (PyTorch
backend), and masks flowing from Embedding/Masking through recurrent layers in models."""

import numpy as np
import pytest

import lapenna as lp
from keras_sequence_reference import compare_with_keras

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
X = RNG.standard_normal((3, 6, 4))
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [0, 1, 1, 0, 1, 1]], dtype=bool)
IDS = np.array([[3, 1, 4, 1, 5, 9], [2, 6, 5, 3, 0, 0], [8, 9, 7, 0, 0, 0]])


@pytest.fixture(autouse=True)
def _float64():
    lp.set_floatx("float64")


def _jitter(layer):
    for w in layer.weights:
        w.assign(w.numpy() + RNG.standard_normal(w.shape) * 0.1)


def test_embedding_matches_keras_with_its_mask():
    layer = lp.layers.Embedding(10, 3, mask_zero=True)
    k = keras.layers.Embedding(10, 3, mask_zero=True, dtype="float64")
    compare_with_keras(layer, k, IDS)
    ours = layer(IDS)._keras_mask
    theirs = k.compute_mask(torch.tensor(IDS)).numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_bidirectional_merge_modes_match_keras(name, merge_mode):
    inner = getattr(lp.layers, name)(3, return_sequences=True)
    layer = lp.layers.Bidirectional(inner, merge_mode=merge_mode)
    layer.build(X.shape)
    _jitter(layer)
    k_inner = getattr(keras.layers, name)(3, return_sequences=True, dtype="float64")
    k = keras.layers.Bidirectional(k_inner, merge_mode=merge_mode, dtype="float64")
    compare_with_keras(layer, k, X, mask=MASK)


def test_bidirectional_return_state_matches_keras():
    layer = lp.layers.Bidirectional(lp.layers.LSTM(3, return_state=True))
    layer.build(X.shape)
    _jitter(layer)
    k = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_state=True, dtype="float64"), dtype="float64"
    )
    outs = compare_with_keras(layer, k, X, mask=MASK)
    assert [o.shape for o in outs] == [(3, 6)] + [(3, 3)] * 4


def test_time_distributed_matches_keras():
    layer = lp.layers.TimeDistributed(lp.layers.Dense(5, activation="tanh"))
    k = keras.layers.TimeDistributed(
        keras.layers.Dense(5, activation="tanh", dtype="float64"), dtype="float64"
    )
    layer.build(X.shape)
    _jitter(layer)
    compare_with_keras(layer, k, X)


def _pair(build):
    """The same functional model in lapenna and Keras from ``build(layers_module, Input)``."""
    ours = build(lp.layers, lambda shape, dtype: lp.layers.Input(shape, dtype=dtype))
    theirs = build(keras.layers, lambda shape, dtype: keras.Input(shape, dtype=dtype))
    model = lp.Model(*ours)
    k_model = keras.Model(*theirs)
    return model, k_model


def test_embedding_mask_flows_through_stacked_recurrent_layers():
    def build(L, Input):  # noqa: N803 - the layers module, Keras's Input
        ids = Input((6,), "int64")
        x = L.Embedding(10, 4, mask_zero=True, dtype="float64")(ids)
        x = L.GRU(5, return_sequences=True, dtype="float64")(x)
        x = L.Bidirectional(L.LSTM(3, dtype="float64"), merge_mode="sum", dtype="float64")(x)
        return ids, L.Dense(2, dtype="float64")(x)

    model, k_model = _pair(build)
    _jitter(model)
    compare_with_keras(model, k_model, IDS)
    # the JSON round trip rebuilds the same masked graph
    clone = lp.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(
        clone.predict(IDS, verbose=0), model.predict(IDS, verbose=0), rtol=1e-12
    )


def test_masking_layer_matches_keras_in_a_model():
    x = X.copy()
    x[1, 4:] = 0.0
    x[2, 0] = 0.0

    def build(L, Input):  # noqa: N803
        inputs = Input((6, 4), "float64")
        h = L.Masking(dtype="float64")(inputs)
        h = L.SimpleRNN(3, return_sequences=True, dtype="float64")(h)
        return inputs, L.LSTM(2, dtype="float64")(h)

    model, k_model = _pair(build)
    _jitter(model)
    compare_with_keras(model, k_model, x)


def test_padding_is_ignored_by_masked_models():
    """An LSTM after Embedding(mask_zero=True) gives the same last output whatever the
    length of zero padding after the sequence."""
    layer_in = lp.layers.Input((None,), dtype="int64")
    h = lp.layers.Embedding(10, 4, mask_zero=True)(layer_in)
    model = lp.Model(layer_in, lp.layers.LSTM(3)(h))
    short = model.predict(IDS, verbose=0)
    padded = np.concatenate([IDS, np.zeros((3, 4), dtype=IDS.dtype)], axis=1)
    np.testing.assert_allclose(model.predict(padded, verbose=0), short, rtol=1e-12)
