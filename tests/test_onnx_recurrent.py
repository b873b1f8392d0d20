"""ONNX export of SimpleRNN, LSTM, GRU (both reset_after forms), Bidirectional and
Embedding: the files run in onnxruntime and match ``model.predict``."""

import os

import numpy as np
import pytest

import lapenna as lp
from lapenna import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign((w.numpy() + rng.uniform(-0.3, 0.3, w.shape)).astype(w.dtype))
    return model


def _check(model, tmp_path, x):
    path = os.fspath(tmp_path / "seq.onnx")
    lp.io.export_onnx(model, path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    expected = model.predict(x, verbose=0)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return [n.op_type for n in onnx.load(path).graph.node]


@pytest.mark.parametrize(
    ("layer", "op"),
    [
        (lambda: L.SimpleRNN(5, return_sequences=True), "RNN"),
        (lambda: L.SimpleRNN(5, activation="relu", go_backwards=True), "RNN"),
        (lambda: L.LSTM(5, return_sequences=True, go_backwards=True), "LSTM"),
        (lambda: L.LSTM(5, use_bias=False), "LSTM"),
        (lambda: L.GRU(5, return_sequences=True), "GRU"),
        (lambda: L.GRU(5, reset_after=False, go_backwards=True), "GRU"),
        (lambda: L.Bidirectional(L.LSTM(4, return_sequences=True)), "LSTM"),
        (lambda: L.Bidirectional(L.GRU(4), merge_mode="sum"), "GRU"),
        (lambda: L.Bidirectional(L.SimpleRNN(4, return_sequences=True), "mul"), "RNN"),
        (lambda: L.Bidirectional(L.LSTM(4), merge_mode="ave"), "LSTM"),
    ],
)
def test_recurrent_layers_run_in_onnxruntime(tmp_path, layer, op):
    inputs = L.Input((7, 3))
    model = _randomize(lp.Model(inputs, L.Dense(2)(layer()(inputs))))
    x = np.random.default_rng(1).standard_normal((4, 7, 3)).astype("float32")
    assert op in _check(model, tmp_path, x)


def test_embedding_model_runs_in_onnxruntime(tmp_path):
    ids_in = L.Input((6,), dtype="int64")
    h = L.GRU(4)(L.Embedding(20, 3)(ids_in))
    model = _randomize(lp.Model(ids_in, L.Dense(2)(h)))
    ids = np.random.default_rng(2).integers(0, 20, (3, 6)).astype("int64")
    assert "Gather" in _check(model, tmp_path, ids)


def test_masks_are_refused(tmp_path):
    ids_in = L.Input((6,), dtype="int64")
    model = lp.Model(ids_in, L.LSTM(3)(L.Embedding(20, 3, mask_zero=True)(ids_in)))
    with pytest.raises(ValueError, match="mask"):
        lp.io.export_onnx(model, os.fspath(tmp_path / "m.onnx"))


def test_initial_states_from_the_graph_are_refused(tmp_path):
    enc_in, dec_in = L.Input((5, 3)), L.Input((4, 2))
    _, h = L.GRU(3, return_state=True)(enc_in)
    model = lp.Model([enc_in, dec_in], L.GRU(3)(dec_in, initial_state=[h]))
    with pytest.raises(ValueError, match="return_state|initial states"):
        lp.io.export_onnx(model, os.fspath(tmp_path / "s.onnx"))
