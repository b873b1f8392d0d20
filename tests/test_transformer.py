"""Positional layers and the Transformer blocks of the zoo: the encoder block against
the same block assembled from real Keras 3 layers, masks, causal decoding, the sine
encoding against the paper's formula, config and save/load round trips."""

import numpy as np
import pytest

import lapenna as lp
from keras_sequence_reference import compare_with_keras
from lapenna.applications import TransformerClassifier, TransformerDecoder, TransformerEncoder
from lapenna.testing import run_layer_test

RNG = np.random.default_rng(9)


def test_encoder_block_matches_the_same_block_in_keras():
    keras = pytest.importorskip("keras")
    lp.set_floatx("float64")
    x = RNG.standard_normal((2, 5, 8))
    mask = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    inputs = lp.layers.Input((5, 8))
    model = lp.Model(inputs, TransformerEncoder(12, 2)(inputs))
    for w in model.weights:
        w.assign(w.numpy() + RNG.standard_normal(w.shape) * 0.1)

    k_in = keras.Input((5, 8), dtype="float64")
    mha = keras.layers.MultiHeadAttention(2, 4, dtype="float64")
    ln = {"epsilon": 1e-5, "dtype": "float64"}
    h = keras.layers.LayerNormalization(**ln)(k_in + mha(k_in, k_in))
    ff = keras.layers.Dense(8, dtype="float64")(
        keras.layers.Dense(12, activation="relu", dtype="float64")(h)
    )
    k_model = keras.Model(k_in, keras.layers.LayerNormalization(**ln)(h + ff))
    compare_with_keras(model, k_model, x)
    # with a padding mask, the padded step's content reaches no valid step
    layer = model.layers[-1]
    ours = layer(lp.tensor(x), mask=mask).numpy()
    changed = x.copy()
    changed[0, 4] += 5.0
    again = layer(lp.tensor(changed), mask=mask).numpy()
    np.testing.assert_allclose(again[0, :4], ours[0, :4], rtol=1e-12)
    assert not np.allclose(layer(lp.tensor(changed)).numpy()[0, :4], ours[0, :4])


def test_decoder_is_causal():
    lp.set_floatx("float64")
    x = RNG.standard_normal((2, 6, 8))
    memory = RNG.standard_normal((2, 4, 8))
    block = TransformerDecoder(16, 2)
    out = block([lp.tensor(x), lp.tensor(memory)]).numpy()
    changed = x.copy()
    changed[:, 4:] += 1.0  # the future must not change the past
    out2 = block([lp.tensor(changed), lp.tensor(memory)]).numpy()
    np.testing.assert_allclose(out2[:, :4], out[:, :4], rtol=1e-12)
    assert not np.allclose(out2[:, 4:], out[:, 4:])


def test_sine_encoding_is_the_papers_formula():
    lp.set_floatx("float64")
    table = lp.layers.SinePositionEncoding()(np.zeros((1, 7, 6), dtype="float64")).numpy()[0]
    for pos in range(7):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert table[pos, 2 * i] == pytest.approx(np.sin(angle), abs=1e-12)
            assert table[pos, 2 * i + 1] == pytest.approx(np.cos(angle), abs=1e-12)


def test_position_layers_and_blocks_harness():
    run_layer_test(
        lp.layers.PositionEmbedding,
        {"sequence_length": 6},
        input_shape=(2, 4, 3),
        expected_output_shape=(2, 4, 3),
        expected_num_trainable_weights=1,
    )
    run_layer_test(
        lp.layers.TokenAndPositionEmbedding,
        {"vocabulary_size": 7, "sequence_length": 5, "embedding_dim": 3, "mask_zero": True},
        input_data=np.array([[1, 2, 0], [4, 5, 6]]),
        expected_output_shape=(2, 3, 3),
        expected_num_trainable_weights=2,
    )
    run_layer_test(
        TransformerEncoder,
        {"intermediate_dim": 6, "num_heads": 2},
        input_shape=(2, 3, 4),
        expected_num_trainable_weights=16,
    )
    with pytest.raises(ValueError, match="knows 6 positions, got a sequence of 7"):
        lp.layers.PositionEmbedding(6)(np.zeros((1, 7, 2), dtype="float32"))


def test_classifier_saves_and_loads(tmp_path):
    model = TransformerClassifier(30, 8, embedding_dim=8, intermediate_dim=16)
    ids = RNG.integers(1, 30, (3, 8))
    ids[0, 5:] = 0
    path = tmp_path / "tc.lpn"
    model.save(path)
    loaded = lp.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    assert loaded.count_params() == model.count_params() == 922


def test_sine_position_encoding_refuses_a_2d_input_when_called_symbolically():
    # the symbolic call used to accept (batch, features) and the model failed only when
    # it was rebuilt from its config
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, features\)"):
        lp.layers.SinePositionEncoding()(lp.layers.Input((4,)))
