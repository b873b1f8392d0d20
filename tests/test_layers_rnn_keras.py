"""SimpleRNN, LSTM, GRU, the generic RNN and ConvLSTM2D against real Keras 3 (PyTorch
backend): parameter counts, outputs and gradients after copying weights, with masks,
``go_backwards``, ``return_state``, initial states, and ConvLSTM2D's dropout masks."""

import numpy as np
import pytest

import lapenna as lp
from keras_sequence_reference import compare_with_keras

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)
X = RNG.standard_normal((3, 6, 4))
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [0, 1, 1, 0, 1, 1]], dtype=bool)


@pytest.fixture(autouse=True)
def _float64():
    lp.set_floatx("float64")


def _jitter(layer):
    """Non-zero biases (and so a real test of each bias's layout)."""
    for w in layer.weights:
        w.assign(w.numpy() + RNG.standard_normal(w.shape) * 0.1)


@pytest.mark.parametrize(
    ("name", "kwargs", "count"),
    [
        ("SimpleRNN", {}, 1312),
        ("LSTM", {}, 5248),
        ("GRU", {}, 4032),
        ("GRU", {"reset_after": False}, 3936),
    ],
)
def test_parameter_counts_and_layouts(name, kwargs, count):
    layer = getattr(lp.layers, name)(32, **kwargs)
    layer.build((None, 10, 8))
    k = getattr(keras.layers, name)(32, **kwargs)
    k.build((None, 10, 8))
    assert layer.count_params() == k.count_params() == count
    assert [w.shape for w in layer.weights] == [tuple(w.shape) for w in k.weights]
    if name == "LSTM":  # unit_forget_bias: the forget quarter starts at one
        np.testing.assert_array_equal(layer.weights[2].numpy(), k.weights[2].numpy())


CASES = [
    ("SimpleRNN", {}),
    ("SimpleRNN", {"activation": "relu", "return_sequences": True, "go_backwards": True}),
    ("LSTM", {"return_sequences": True}),
    ("LSTM", {"return_state": True, "go_backwards": True}),
    ("LSTM", {"use_bias": False, "recurrent_activation": "tanh", "return_sequences": True}),
    ("GRU", {"return_sequences": True, "return_state": True}),
    ("GRU", {"reset_after": False, "return_sequences": True}),
    ("GRU", {"reset_after": False, "go_backwards": True, "return_state": True}),
    # activations the fused kernels do not know run the cell step by step
    ("LSTM", {"activation": "softplus", "return_sequences": True}),
    ("GRU", {"recurrent_activation": "softsign", "return_state": True}),
]


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_matches_keras(name, kwargs, masked):
    layer = getattr(lp.layers, name)(5, **kwargs)
    layer.build(X.shape)
    _jitter(layer)
    k = getattr(keras.layers, name)(5, dtype="float64", **kwargs)
    compare_with_keras(layer, k, X, mask=MASK if masked else None)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_initial_state_matches_keras(name):
    layer = getattr(lp.layers, name)(5, return_sequences=True)
    layer.build(X.shape)
    _jitter(layer)
    n = 2 if name == "LSTM" else 1
    states = [RNG.standard_normal((3, 5)) for _ in range(n)]
    ours = [lp.tensor(s, requires_grad=True) for s in states]
    theirs = [torch.tensor(s) for s in states]
    k = getattr(keras.layers, name)(5, return_sequences=True, dtype="float64")
    compare_with_keras(
        layer,
        k,
        X,
        mask=MASK,
        call_kwargs={"initial_state": ours},
        keras_call_kwargs={"initial_state": theirs},
    )


def test_generic_rnn_with_stacked_cells_matches_keras():
    cells = [lp.layers.LSTMCell(4), lp.layers.GRUCell(3), lp.layers.SimpleRNNCell(2)]
    layer = lp.layers.RNN(cells, return_sequences=True, return_state=True)
    layer.build(X.shape)
    _jitter(layer)
    k_cells = [
        keras.layers.LSTMCell(4, dtype="float64"),
        keras.layers.GRUCell(3, dtype="float64"),
        keras.layers.SimpleRNNCell(2, dtype="float64"),
    ]
    k = keras.layers.RNN(k_cells, return_sequences=True, return_state=True, dtype="float64")
    outs = compare_with_keras(layer, k, X, mask=MASK)
    assert [o.shape for o in outs] == [(3, 6, 2), (3, 4), (3, 4), (3, 3), (3, 2)]


CONV_LSTM_CASES = [
    {"padding": "same", "return_sequences": True},
    {"strides": 2, "return_state": True, "go_backwards": True},
    {"dilation_rate": 2, "use_bias": False},
    # "same" with strides on odd sizes: the extra padding row and column go at the end
    {"padding": "same", "strides": 2, "return_sequences": True, "return_state": True},
    {"padding": "same", "dilation_rate": (2, 1), "go_backwards": True},
    {"kernel_size": (3, 1), "strides": (1, 2), "return_sequences": True, "go_backwards": True},
    {"padding": "same", "activation": "relu", "recurrent_activation": "hard_sigmoid"},
]


@pytest.mark.parametrize("kwargs", CONV_LSTM_CASES)
def test_conv_lstm2d_matches_keras(kwargs):
    x = RNG.standard_normal((2, 3, 7, 5, 2))
    mask = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    kwargs = {"kernel_size": 2, **kwargs}
    layer = lp.layers.ConvLSTM2D(3, **kwargs)
    layer.build(x.shape)
    _jitter(layer)
    k = keras.layers.ConvLSTM2D(3, dtype="float64", **kwargs)
    compare_with_keras(layer, k, x, mask=mask)
    k_count = k.count_params()
    assert layer.count_params() == k_count


@pytest.mark.parametrize(
    ("kwargs", "channels"),
    [
        ({"dropout": 0.3, "return_sequences": True}, 2),
        ({"recurrent_dropout": 0.4, "go_backwards": True, "return_state": True}, 2),
        ({"dropout": 0.5, "recurrent_dropout": 0.3, "padding": "same", "strides": 2}, 2),
        # one channel in and one filter: the grouped convolutions are depthwise ones
        ({"dropout": 0.3, "recurrent_dropout": 0.3, "filters": 1, "return_sequences": True}, 1),
    ],
)
def test_conv_lstm2d_dropout_matches_keras(kwargs, channels, monkeypatch):
    """In training, Keras's cell multiplies each gate's copy of the input frame and of the
    state by its own mask, the same at every step. The masks lapenna draws are handed to
    Keras's cell, and outputs and gradients must agree."""
    x = RNG.standard_normal((2, 4, 6, 5, channels))
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], dtype=bool)
    kwargs = {"filters": 3, "kernel_size": 2, "seed": 11, **kwargs}
    layer = lp.layers.ConvLSTM2D(**kwargs)
    layer.build(x.shape)
    _jitter(layer)
    drawn = []
    draw = layer.cell.draw_dropout_masks

    def record(*args, **kw):
        drawn.append(draw(*args, **kw))
        return drawn[-1]

    monkeypatch.setattr(layer.cell, "draw_dropout_masks", record)
    k = keras.layers.ConvLSTM2D(dtype="float64", **kwargs)

    def per_gate(which):  # lapenna lays a mask out (batch, h, w, gate, c)
        m = drawn[0][which]
        return None if m is None else [torch.tensor(m[..., g, :]) for g in range(4)]

    monkeypatch.setattr(k.cell, "get_dropout_mask", lambda step: per_gate(0))
    monkeypatch.setattr(k.cell, "get_recurrent_dropout_mask", lambda step: per_gate(1))
    train = {"training": True}
    compare_with_keras(layer, k, x, mask=mask, call_kwargs=train, keras_call_kwargs=train)
    assert len(drawn) == 1
    for rate, m in zip((kwargs.get("dropout", 0), kwargs.get("recurrent_dropout", 0)), drawn[0]):
        assert (m is None) == (rate == 0)
