"""ConvLSTM2D beyond the Keras comparison (tests/test_layers_rnn_keras.py): dropout masks
(reproducible from a seed, off at inference, the right fraction dropped, one per gate),
the layer's loop against the generic RNN over its cell, float64 gradient
checks through time with dropout and masks, and bad arguments."""

import numpy as np
import pytest

import lapenna as lp
from lapenna.testing import gradgradcheck
from lapenna.testing.gradcheck import numerical_gradient

L = lp.layers
RNG = np.random.default_rng(17)


@pytest.fixture(autouse=True)
def _float64():
    lp.set_floatx("float64")


def _layer(x, **kwargs):
    layer = L.ConvLSTM2D(**{"filters": 3, "kernel_size": 2, **kwargs})
    layer.build(x.shape)
    for w in layer.weights:  # non-zero biases
        w.assign(w.numpy() + RNG.standard_normal(w.shape) * 0.1)
    return layer


def test_same_seed_same_output_and_a_fresh_mask_each_call():
    x = RNG.standard_normal((2, 4, 5, 5, 2))
    kwargs = {"dropout": 0.4, "recurrent_dropout": 0.4, "return_sequences": True}
    layer = _layer(x, **kwargs)
    lp.set_seed(3)
    first = layer(x, training=True).numpy()
    second = layer(x, training=True).numpy()
    lp.set_seed(3)
    np.testing.assert_array_equal(layer(x, training=True).numpy(), first)
    assert not np.allclose(first, second)  # masks are drawn again for every call

    # a layer's own seed: two layers with the same seed draw the same masks
    a, b = _layer(x, seed=8, **kwargs), _layer(x, seed=8, **kwargs)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x, training=True).numpy(), b(x, training=True).numpy())


def test_inference_ignores_dropout():
    x = RNG.standard_normal((2, 3, 5, 4, 2))
    layer = _layer(x, dropout=0.5, recurrent_dropout=0.5, padding="same")
    plain = _layer(x, padding="same")
    plain.set_weights(layer.get_weights())
    want = plain(x).numpy()
    np.testing.assert_array_equal(layer(x).numpy(), want)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), want)
    assert not np.allclose(layer(x, training=True).numpy(), want)
    assert layer.cell.draw_dropout_masks(2, None, "float64", training=False) == (None, None)


@pytest.mark.parametrize(("rate", "recurrent_rate"), [(0.25, 0.6), (0.1, 0.0)])
def test_mask_statistics(rate, recurrent_rate):
    x = np.zeros((1, 1, 9, 8, 5))
    layer = _layer(x, filters=6, kernel_size=3, dropout=rate, recurrent_dropout=recurrent_rate)
    lp.set_seed(0)
    batch = 300
    x_mask, h_mask = layer.cell.draw_dropout_masks(batch, None, "float32", training=True)
    # the frame's and the state's shape, one mask per gate (i, f, c, o) on axis -2
    assert x_mask.shape == (batch, 9, 8, 4, 5) and x_mask.dtype == np.float32
    checks = [(x_mask, rate)]
    if recurrent_rate:
        assert h_mask.shape == (batch, 7, 6, 4, 6)
        checks.append((h_mask, recurrent_rate))
    else:
        assert h_mask is None
    for mask, r in checks:
        assert set(np.unique(mask)) == {np.float32(0), np.float32(1 / (1 - r))}
        dropped = (mask == 0).mean()
        assert abs(dropped - r) < 4 * np.sqrt(r * (1 - r) / mask.size)
        per_gate = (mask == 0).mean(axis=(0, 1, 2, 4))
        np.testing.assert_allclose(per_gate, r, atol=0.02)
        gates = [mask[..., g, :] for g in range(4)]
        # independent draws: two gates agree where both keep or both drop
        agree = (gates[0] == gates[1]).mean()
        assert abs(agree - (r * r + (1 - r) ** 2)) < 0.01
        np.testing.assert_allclose(mask.mean(), 1.0, atol=0.02)  # inverted dropout


@pytest.mark.parametrize(
    ("cell_args", "loop_args"),
    [
        ({"padding": "same"}, {"return_sequences": True}),
        ({"strides": 2, "dropout": 0.3, "recurrent_dropout": 0.3}, {"go_backwards": True}),
        ({"dilation_rate": 2, "dropout": 0.5}, {"return_sequences": True, "return_state": True}),
    ],
)
def test_the_layer_equals_the_generic_rnn_over_its_cell(cell_args, loop_args):
    """``ConvLSTM2D``'s own loop and ``RNN(ConvLSTM2DCell)`` over the cell, with the same
    weights and seed (so the same masks): the same numbers."""
    x = RNG.standard_normal((2, 4, 7, 6, 2))
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], dtype=bool)
    layer = _layer(x, seed=5, **cell_args, **loop_args)
    steps = L.RNN(L.ConvLSTM2DCell(3, 2, seed=5, **cell_args), **loop_args)
    steps.build(x.shape)
    steps.set_weights(layer.get_weights())
    for training in (True, False):
        got = layer(x, mask=mask, training=training)
        want = steps(x, mask=mask, training=training)
        got, want = (v if isinstance(v, list) else [v] for v in (got, want))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_sequences": True, "go_backwards": True},
        {"dropout": 0.3, "recurrent_dropout": 0.4, "strides": 2, "padding": "same"},
    ],
)
def test_gradcheck_float64_through_time(kwargs):
    """Gradients of the inputs and of every weight against central differences, with a
    sequence mask and (in training) dropout; ``set_seed`` fixes the masks per evaluation."""
    x = lp.tensor(RNG.standard_normal((2, 3, 5, 4, 2)), requires_grad=True)
    mask = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    layer = _layer(x, filters=2, return_state=True, **kwargs)

    def fn(*_):
        lp.set_seed(1)
        out, h, c = layer(x, mask=mask, training=True)
        return lp.ops.concatenate([out.reshape(-1), h.reshape(-1), c.reshape(-1)])

    params = [x, *layer.trainable_weights]
    out = fn()
    weights = np.random.default_rng(0).standard_normal(out.shape)
    grads = lp.grad(out, params, grad_outputs=lp.tensor(weights))
    for i, g in enumerate(grads):
        want = numerical_gradient(fn, params, i, weights)
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-6, atol=1e-7, err_msg=str(i))


def test_second_derivatives_through_the_layer():
    x0 = RNG.standard_normal((1, 3, 3, 3, 1))
    layer = _layer(x0, filters=1, dropout=0.3, recurrent_dropout=0.3, padding="same")

    def fn(x):
        lp.set_seed(2)
        return layer(x, training=True)

    assert gradgradcheck(fn, [x0])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="cannot combine strides > 1 with dilation_rate > 1"):
        L.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding 'valid' or 'same', got 'causal'"):
        L.ConvLSTM2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"rate in \[0, 1\), got 1.0"):
        L.ConvLSTM2D(2, 3, dropout=1.0)
    with pytest.raises(ValueError, match=r"rate in \[0, 1\), got -0.1"):
        L.ConvLSTM2D(2, 3, recurrent_dropout=-0.1)
    # Keras accepts the padding in any case and writes it lower case
    assert L.ConvLSTM2D(2, 3, padding="SAME").get_config()["padding"] == "same"
