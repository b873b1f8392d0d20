"""Attention, AdditiveAttention and MultiHeadAttention against real Keras 3 (PyTorch
backend): weights, outputs, attention scores and gradients, with value and query masks,
causal masks and explicit attention masks."""

import numpy as np
import pytest

import lapenna as lp
from keras_sequence_reference import compare_with_keras
from lapenna.testing import run_layer_test

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
Q = RNG.standard_normal((2, 4, 6))
V = RNG.standard_normal((2, 5, 6))
K = RNG.standard_normal((2, 5, 6))
V_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)


@pytest.fixture(autouse=True)
def _float64():
    lp.set_floatx("float64")


def _jitter(layer):
    for w in layer.weights:
        w.assign(w.numpy() + RNG.standard_normal(w.shape) * 0.1)


@pytest.mark.parametrize(
    ("kwargs", "call"),
    [
        ({}, {}),
        ({"use_scale": True}, {"return_attention_scores": True}),
        ({"score_mode": "concat", "use_scale": True}, {}),
        ({}, {"use_causal_mask": True}),
    ],
)
@pytest.mark.parametrize("with_key", [False, True])
def test_dot_attention_matches_keras(kwargs, call, with_key):
    inputs = [Q, V, K] if with_key else [Q, V]
    layer = lp.layers.Attention(**kwargs)
    layer.build([x.shape for x in inputs])
    _jitter(layer)
    k = keras.layers.Attention(dtype="float64", **kwargs)
    mask = [None, V_MASK]
    compare_with_keras(
        layer,
        k,
        inputs,
        call_kwargs={**call, "mask": mask},
        keras_call_kwargs={**call, "mask": [None, torch.tensor(V_MASK)]},
    )


@pytest.mark.parametrize("use_scale", [True, False])
def test_additive_attention_matches_keras(use_scale):
    q_mask = np.array([[1, 1, 0, 1], [1, 1, 1, 1]], dtype=bool)
    layer = lp.layers.AdditiveAttention(use_scale=use_scale)
    k = keras.layers.AdditiveAttention(use_scale=use_scale, dtype="float64")
    compare_with_keras(
        layer,
        k,
        [Q, V],
        call_kwargs={"mask": [q_mask, V_MASK]},
        keras_call_kwargs={"mask": [torch.tensor(q_mask), torch.tensor(V_MASK)]},
    )


@pytest.mark.parametrize(
    ("kwargs", "call", "with_key"),
    [
        ({"num_heads": 2, "key_dim": 3}, {}, False),
        ({"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": 5}, {}, True),
        ({"num_heads": 2, "key_dim": 3, "use_bias": False}, {"use_causal_mask": True}, False),
        ({"num_heads": 2, "key_dim": 3}, {"return_attention_scores": True}, True),
    ],
)
def test_multi_head_attention_matches_keras(kwargs, call, with_key):
    inputs = [Q, V, K] if with_key else [Q, V]
    layer = lp.layers.MultiHeadAttention(**kwargs)
    layer(*[lp.tensor(x) for x in inputs])
    _jitter(layer)
    k = keras.layers.MultiHeadAttention(dtype="float64", **kwargs)
    mask = np.ones((2, 4, 5), dtype=bool)
    mask[0, :, 4] = False
    mask[1, 2, :2] = False
    compare_with_keras(
        layer,
        k,
        inputs,
        several_args=True,
        call_kwargs={**call, "attention_mask": mask},
        keras_call_kwargs={**call, "attention_mask": torch.tensor(mask)},
    )
    # Keras's paths after the layer's own (counter-numbered) name
    assert [w.path.split("/", 1)[1] for w in layer.weights] == [
        w.path.split("/", 1)[1] for w in k.weights
    ]


def test_multi_head_self_attention_takes_the_embedding_mask():
    """The padded key is ignored exactly as in Keras. A padded query's row has every key
    masked; what it outputs differs between backends, so only valid rows are compared."""
    ids = np.array([[3, 1, 4, 0], [2, 7, 1, 8]])

    def build(L, Input):  # noqa: N803
        x_in = Input((4,), "int64")
        x = L.Embedding(9, 6, mask_zero=True, dtype="float64")(x_in)
        return x_in, L.MultiHeadAttention(2, 3, dtype="float64")(x, x)

    model = lp.Model(*build(lp.layers, lambda s, d: lp.layers.Input(s, dtype=d)))
    k_model = keras.Model(*build(keras.layers, lambda s, d: keras.Input(s, dtype=d)))
    _jitter(model)
    k_model.set_weights(model.get_weights())
    ours = model.predict(ids, verbose=0)
    theirs = k_model(torch.tensor(ids)).detach().numpy()
    valid = ids != 0
    np.testing.assert_allclose(ours[valid], theirs[valid], rtol=1e-5, atol=1e-6)
    assert np.isfinite(ours).all()


def test_attention_layers_harness():
    run_layer_test(
        lp.layers.Attention,
        {"use_scale": True},
        input_shape=[(2, 3, 4), (2, 5, 4)],
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=1,
    )
    run_layer_test(
        lp.layers.AdditiveAttention,
        {},
        input_shape=[(2, 3, 4), (2, 5, 4)],
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=1,
    )
    run_layer_test(
        lp.layers.MultiHeadAttention,
        {"num_heads": 2, "key_dim": 2},
        input_shape=[(2, 3, 4), (2, 5, 4)],
        expected_output_shape=(2, 3, 4),
        expected_num_trainable_weights=8,
    )


def test_bad_attention_input():
    mha = lp.layers.MultiHeadAttention(2, 3, name="mha")
    x = lp.tensor(np.ones((2, 4, 6)))
    with pytest.raises(
        ValueError, match=r"'mha' expects an attention_mask of shape \(batch, 4, 4\)"
    ):
        mha(x, x, attention_mask=np.ones((2, 4, 3), dtype=bool))
    with pytest.raises(ValueError, match="same last axis"):
        lp.layers.Attention()([lp.tensor(np.ones((1, 2, 3))), lp.tensor(np.ones((1, 2, 4)))])
