"""Recurrent, embedding and wrapper layers through the layer harness (shapes, weight
counts, config round trip, float64 gradient check, one training step), save/load, the
fused kernels against the step-by-step cells (and second derivatives through the cells),
stateful layers, dropout, and bad input."""

import numpy as np
import pytest

import lapenna as lp
from lapenna.testing import gradgradcheck, run_layer_test

L = lp.layers


def _cfg(class_name, **config):
    """A layer config: the harness builds its layer several times (and in float64), so
    sub-layers are given as configs, not shared objects."""
    return {"class_name": class_name, "config": config}


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "out", "n_weights"),
    [
        (L.SimpleRNN, {"units": 3, "return_sequences": True}, (2, 4, 2), (2, 4, 3), 3),
        (L.LSTM, {"units": 2, "go_backwards": True}, (2, 4, 2), (2, 2), 3),
        (L.GRU, {"units": 2, "reset_after": False}, (2, 3, 2), (2, 2), 3),
        (L.GRU, {"units": 2, "use_bias": False, "return_sequences": True}, (2, 3, 2), (2, 3, 2), 2),
        (
            L.RNN,
            {
                "cell": [_cfg("SimpleRNNCell", units=2), _cfg("GRUCell", units=2)],
                "return_sequences": True,
            },
            (2, 3, 2),
            (2, 3, 2),
            6,
        ),
        (
            L.Bidirectional,
            {"layer": _cfg("LSTM", units=2, return_sequences=True)},
            (2, 3, 2),
            (2, 3, 4),
            6,
        ),
        (L.TimeDistributed, {"layer": _cfg("Dense", units=3)}, (2, 3, 2), (2, 3, 3), 2),
        (L.Masking, {}, (2, 3, 2), (2, 3, 2), 0),
        (L.ConvLSTM2D, {"filters": 1, "kernel_size": 2}, (1, 2, 3, 3, 1), (1, 2, 2, 1), 3),
    ],
)
def test_run_layer_test(cls, kwargs, shape, out, n_weights):
    run_layer_test(
        cls,
        kwargs,
        input_shape=shape,
        expected_output_shape=out,
        expected_num_trainable_weights=n_weights,
        expected_num_non_trainable_weights=0,
    )


def test_embedding_harness_and_round_trip():
    ids = np.array([[1, 2, 0], [3, 3, 1]])
    run_layer_test(
        L.Embedding,
        {"input_dim": 4, "output_dim": 2, "mask_zero": True},
        input_data=ids,
        expected_output_shape=(2, 3, 2),
        expected_num_trainable_weights=1,
    )


def _masked_text_model():
    ids = L.Input((None,), dtype="int64")
    x = L.Embedding(12, 4, mask_zero=True)(ids)
    x = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="ave")(x)
    x = L.TimeDistributed(L.Dense(3, activation="tanh"))(x)
    x = L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)])(x)
    return lp.Model(ids, L.Dense(2)(x))


def test_save_and_load_a_sequence_model(tmp_path):
    model = _masked_text_model()
    model.compile(optimizer="adam", loss="mse")
    ids = np.array([[3, 1, 4, 0, 0], [5, 9, 2, 6, 5]])
    model.fit(ids, np.ones((2, 2), dtype="float32"), epochs=1, verbose=0)
    path = tmp_path / "seq.lpn"
    model.save(path)
    loaded = lp.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    assert [w.shape for w in loaded.weights] == [w.shape for w in model.weights]


def test_fused_kernels_equal_the_step_by_step_cells():
    """The same weights through the fused primitive and through the cell loop (a cell
    subclass is never fused), with a mask and initial states, values and gradients."""
    lp.set_floatx("float64")
    rng = np.random.default_rng(0)
    x = lp.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    mask = np.array([[1, 1, 0, 1, 1], [0, 1, 1, 1, 0]], dtype=bool)

    class LoopLSTM(L.LSTMCell):
        pass

    class LoopGRU(L.GRUCell):
        pass

    for fused_cell, loop_cell in [(L.LSTMCell(4), LoopLSTM(4)), (L.GRUCell(4), LoopGRU(4))]:
        fused = L.RNN(fused_cell, return_sequences=True, go_backwards=True)
        loop = L.RNN(loop_cell, return_sequences=True, go_backwards=True)
        fused.build(x.shape)
        loop.build(x.shape)
        for w in fused.weights:
            w.assign(w.numpy() + rng.standard_normal(w.shape) * 0.2)
        loop.set_weights(fused.get_weights())
        a, b = fused(x, mask=mask), loop(x, mask=mask)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
        up = lp.tensor(rng.standard_normal(a.shape))
        ga = lp.grad(a, [x, *fused.weights], grad_outputs=up)
        gb = lp.grad(b, [x, *loop.weights], grad_outputs=up)
        for g1, g2 in zip(ga, gb):
            np.testing.assert_allclose(g1.numpy(), g2.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("cell", "kwargs"),
    [(L.LSTMCell, {}), (L.GRUCell, {}), (L.GRUCell, {"reset_after": False})],
)
def test_fused_kernels_in_blocks_of_samples_match_the_cells(cell, kwargs):
    """A batch large enough to be split into blocks of samples on two workers, with a mask,
    dropout and recurrent dropout: values and gradients equal the step-by-step cell's."""
    lp.set_floatx("float64")
    threads = lp.get_num_threads()
    lp.set_num_threads(2)
    try:
        rng = np.random.default_rng(4)
        x = lp.tensor(rng.standard_normal((40, 6, 3)), requires_grad=True)
        mask = rng.random((40, 6)) > 0.3

        class Loop(cell):
            pass

        args = dict(dropout=0.3, recurrent_dropout=0.4, seed=5, **kwargs)
        fused = L.RNN(cell(4, **args), return_sequences=True, go_backwards=True)
        loop = L.RNN(Loop(4, **args), return_sequences=True, go_backwards=True)
        fused.build(x.shape)
        loop.build(x.shape)
        for w in fused.weights:
            w.assign(w.numpy() + rng.standard_normal(w.shape) * 0.2)
        loop.set_weights(fused.get_weights())
        a = fused(x, mask=mask, training=True)
        b = loop(x, mask=mask, training=True)
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
        up = lp.tensor(rng.standard_normal(a.shape))
        ga = lp.grad(a, [x, *fused.weights], grad_outputs=up)
        gb = lp.grad(b, [x, *loop.weights], grad_outputs=up)
        for g1, g2 in zip(ga, gb):
            np.testing.assert_allclose(g1.numpy(), g2.numpy(), rtol=1e-10, atol=1e-12)
    finally:
        lp.set_num_threads(threads)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_captured_training_step_replays_the_fused_kernels(kind):
    """``lp.function`` records the fused forward and its backward, and its replays train
    exactly as eager steps do."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 5, 3)).astype("float32")
    y = rng.integers(0, 2, 8)

    def build():
        lp.set_seed(0)
        return lp.Sequential([L.Input((5, 3)), getattr(L, kind)(4), L.Dense(2)])

    def trainer(model):
        loss_fn = lp.losses.SparseCategoricalCrossentropy(from_logits=True)
        optimizer = lp.optimizers.SGD(learning_rate=0.1, momentum=0.9)

        def step(x, labels):
            with lp.GradientTape() as tape:
                loss = loss_fn(labels, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            return loss

        return step

    eager_model, captured_model = build(), build()
    eager, captured = trainer(eager_model), lp.function(trainer(captured_model))
    for _ in range(4):
        eager(lp.tensor(x), y)
        captured(lp.tensor(x), y)
    assert captured.plans and not captured.reasons
    for a, b in zip(eager_model.get_weights(), captured_model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with lp.no_grad():  # a replay's forward still keeps what its backward reads
        captured(lp.tensor(x), y)
    assert captured.plans and not captured.reasons


@pytest.mark.parametrize("cell", [L.SimpleRNNCell, L.LSTMCell, L.GRUCell])
def test_second_derivatives_through_the_cells(cell):
    lp.set_floatx("float64")

    class Loop(cell):  # a subclass runs step by step (ops only)
        pass

    layer = L.RNN(Loop(2), return_sequences=True)
    x0 = np.random.default_rng(1).standard_normal((2, 3, 2))
    layer.build(x0.shape)
    mask = np.array([[1, 0, 1], [1, 1, 1]], dtype=bool)
    assert gradgradcheck(lambda x: layer(x, mask=mask), [x0])


def test_fused_kernels_refuse_second_derivatives():
    lp.set_floatx("float64")
    layer = L.LSTM(2)
    x = lp.tensor(np.ones((1, 3, 2)), requires_grad=True)
    (g,) = lp.grad(layer(x).sum(), [x], create_graph=False)
    assert g.shape == (1, 3, 2)
    with pytest.raises(RuntimeError, match="higher-order"):
        lp.grad(layer(x).sum(), [x], create_graph=True)


def test_stateful_carries_states_between_calls():
    x = np.random.default_rng(2).standard_normal((2, 6, 3)).astype("float32")
    whole = L.GRU(4, return_sequences=True)
    part = L.GRU(4, return_sequences=True, stateful=True)
    whole.build(x.shape)
    part.build(x.shape)
    part.set_weights(whole.get_weights())
    full = whole(x).numpy()
    halves = np.concatenate([part(x[:, :3]).numpy(), part(x[:, 3:]).numpy()], axis=1)
    np.testing.assert_allclose(halves, full, rtol=1e-5, atol=1e-6)
    part.reset_states()
    np.testing.assert_allclose(part(x[:, :3]).numpy(), full[:, :3], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="stateful with batch size 2, got a batch of 1"):
        part(x[:1, :3])


def test_dropout_is_fixed_across_time_and_off_at_inference():
    lp.set_floatx("float64")
    x = np.random.default_rng(3).standard_normal((4, 5, 3))
    layer = L.LSTM(3, dropout=0.5, recurrent_dropout=0.5, seed=1, return_sequences=True)
    plain = L.LSTM(3, return_sequences=True)
    layer.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x, training=False).numpy(), plain(x).numpy())
    trained = layer(x, training=True).numpy()
    assert not np.allclose(trained, plain(x).numpy())

    # the fused path and the cell loop draw the same masks from the same seed
    class Loop(L.LSTMCell):
        pass

    loop = L.RNN(Loop(3, dropout=0.5, recurrent_dropout=0.5, seed=1), return_sequences=True)
    loop.build(x.shape)
    loop.set_weights(layer.get_weights())
    np.testing.assert_allclose(loop(x, training=True).numpy(), trained, rtol=1e-12)


def test_bad_input_names_the_layer():
    layer = L.LSTM(3, name="encoder")
    with pytest.raises(ValueError, match=r"LSTM 'encoder' expects inputs of shape \(batch, time"):
        layer(np.ones((2, 4), dtype="float32"))
    x = np.ones((2, 4, 3), dtype="float32")
    with pytest.raises(ValueError, match=r"'encoder' expects initial states of shape \(2, 3\)"):
        layer(x, initial_state=[np.zeros((2, 4)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match="'encoder' expects 2 initial states, got 1"):
        layer(x, initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"'encoder' expects a mask of shape \(2, 4\)"):
        layer(x, mask=np.ones((2, 5), dtype=bool))
    with pytest.raises(ValueError, match=r"Embedding 'emb' expects ids in \[0, 5\)"):
        L.Embedding(5, 2, name="emb")(np.array([[1, 5]]))
    with pytest.raises(ValueError, match="merge_mode"):
        L.Bidirectional(L.GRU(2), merge_mode="max")
    with pytest.raises(ValueError, match="positive int for units"):
        L.GRU(0)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, time, h, w, c\)"):
        L.ConvLSTM2D(2, 3)(np.ones((2, 4, 5, 3), dtype="float32"))


def test_encoder_states_feed_a_decoder_in_a_graph_model(tmp_path):
    """Keras's seq2seq pattern: ``LSTM(return_state=True)`` states as the decoder's
    ``initial_state`` are edges of the graph, and survive save and load."""
    enc_in, dec_in = L.Input((5, 3)), L.Input((4, 2))
    _, h, c = L.LSTM(6, return_state=True)(enc_in)
    dec = L.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    model = lp.Model([enc_in, dec_in], L.TimeDistributed(L.Dense(2))(dec))
    rng = np.random.default_rng(4)
    x = [
        rng.standard_normal((2, 5, 3)).astype("float32"),
        rng.standard_normal((2, 4, 2)).astype("float32"),
    ]
    out = model.predict(x, verbose=0)
    # the decoder really starts from the encoder's states
    encoder, decoder = model.layers[0], model.layers[1]
    _, h0, c0 = encoder(x[0])
    direct = decoder(x[1], initial_state=[h0, c0]).numpy()
    zero_start = decoder(x[1]).numpy()
    dense = model.layers[-1]
    np.testing.assert_allclose(dense(direct).numpy(), out, rtol=1e-5, atol=1e-6)
    assert not np.allclose(dense(zero_start).numpy(), out)
    model.save(tmp_path / "s2s.lpn")
    loaded = lp.models.load_model(tmp_path / "s2s.lpn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), out)
