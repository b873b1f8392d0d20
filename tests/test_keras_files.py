"""Files written by real Keras 3 inside the test (``.keras``, ``.weights.h5``, legacy
``.h5``) load in lapenna and predict what Keras predicts."""

import json
import zipfile

import numpy as np
import pytest

import lapenna as lp

pytest.importorskip("keras")
pytest.importorskip("h5py")
from lapenna.testing.keras_reference import keras_module  # noqa: E402


def small_cnn(k):
    inputs = k.Input((12, 12, 3))
    x = k.layers.Conv2D(6, 3, padding="same", activation="relu")(inputs)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.MaxPooling2D()(x)
    x = k.layers.Conv2D(8, 3, kernel_initializer="he_normal")(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    x = k.layers.Dropout(0.3)(x)
    return k.Model(inputs, k.layers.Dense(4, activation="softmax")(x))


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    keras = keras_module()
    keras.utils.set_random_seed(1)
    model = small_cnn(keras)
    x = np.random.default_rng(0).random((3, 12, 12, 3)).astype("float32")
    y = np.eye(4, dtype="float32")[[0, 1, 3]]
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)  # moving statistics away from 0 and 1
    folder = tmp_path_factory.mktemp("keras_files")
    model.save(folder / "model.keras")
    model.save(folder / "model.h5")
    model.save_weights(folder / "model.weights.h5")
    return folder, x, model.predict(x, verbose=0)


@pytest.mark.parametrize("name", ["model.keras", "model.h5"])
def test_whole_keras_model_files_load_and_predict_identically(keras_files, name):
    folder, x, want = keras_files
    model = lp.models.load_model(folder / name)
    assert model.count_params() == 6 * 27 + 6 + 4 * 6 + 8 * 54 + 8 + 36
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_keras3_weights_file_loads_by_layer_key(keras_files):
    folder, x, want = keras_files
    model = small_cnn(lp)
    model.load_weights(folder / "model.weights.h5")
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_config_keys_that_change_nothing_are_dropped_and_others_refused(keras_files):
    folder, _, _ = keras_files
    config = json.loads(zipfile.ZipFile(folder / "model.keras").read("config.json"))
    initializer = config["config"]["layers"][1]["config"]["kernel_initializer"]
    assert initializer["config"]["input_axes"] is None  # Keras 3.15's field, at its default
    assert lp.io.model_from_keras_json(json.dumps(config)).count_params() > 0
    initializer["config"]["input_axes"] = [0, 1]
    with pytest.raises(ValueError, match="'input_axes'=\\[0, 1\\]"):
        lp.io.model_from_keras_json(json.dumps(config))


def test_a_weights_only_hdf5_file_is_not_a_model(keras_files):
    folder, _, _ = keras_files
    with pytest.raises(lp.io.FormatError, match="model.load_weights"):
        lp.models.load_model(folder / "model.weights.h5")


# -- sequence models: recurrent, wrapped and attention layers ------------------------------
TOKENS = np.array([[3, 4, 5, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7], [9, 0, 0, 0, 0, 0, 0]], "float32")


def _padded_floats(shape, seed=0):
    x = np.random.default_rng(seed).normal(size=(3, *shape)).astype("float32")
    x[0, 4:] = 0.0  # padded steps, masked by Masking
    x[2, 1:] = 0.0
    return x


def embedding_lstm_gru(k):
    """Two stacked recurrent layers behind Embedding(mask_zero=True): Keras records the
    mask as a call argument computed by a not_equal operation."""
    inputs = k.Input((7,))
    x = k.layers.Embedding(20, 6, mask_zero=True)(inputs)
    x = k.layers.LSTM(5, return_sequences=True)(x)
    x = k.layers.GRU(4)(x)
    return k.Model(inputs, k.layers.Dense(3, activation="softmax")(x)), TOKENS


def masking_simple_rnn_gru(k):
    model = k.Sequential(
        [
            k.Input((7, 4)),
            k.layers.Masking(),
            k.layers.SimpleRNN(5, return_sequences=True),
            k.layers.GRU(4, reset_after=False, return_sequences=True),
        ]
    )
    return model, _padded_floats((7, 4))


def bidirectional(merge_mode):
    def build(k):
        inputs = k.Input((7, 4))
        x = k.layers.Masking()(inputs)
        x = k.layers.Bidirectional(k.layers.LSTM(5, return_sequences=True), merge_mode=merge_mode)(
            x
        )
        x = k.layers.Bidirectional(k.layers.GRU(3), merge_mode=merge_mode)(x)
        return k.Model(inputs, x), _padded_floats((7, 4), seed=1)

    return build


def time_distributed_stacked_cells(k):
    inputs = k.Input((7, 4))
    x = k.layers.TimeDistributed(k.layers.Dense(3, activation="tanh"))(inputs)
    cells = [k.layers.LSTMCell(4), k.layers.GRUCell(3), k.layers.LSTMCell(2)]
    x = k.layers.RNN(cells, return_sequences=True)(x)
    return k.Model(inputs, x), _padded_floats((7, 4), seed=2)


def conv1d_text(k):
    inputs = k.Input((9,))
    x = k.layers.Embedding(30, 8)(inputs)
    x = k.layers.Conv1D(6, 3, activation="relu")(x)
    x = k.layers.GlobalAveragePooling1D()(x)
    tokens = np.random.default_rng(3).integers(0, 30, (3, 9)).astype("float32")
    return k.Model(inputs, k.layers.Dense(2, activation="softmax")(x)), tokens


def attention_block(k):
    inputs = k.Input((6, 8))
    x = k.layers.MultiHeadAttention(num_heads=2, key_dim=4)(inputs, inputs)
    x = k.layers.LayerNormalization()(k.layers.Add()([inputs, x]))
    x = k.layers.Attention(use_scale=True)([x, inputs])
    return k.Model(inputs, k.layers.Dense(3)(x)), _padded_floats((6, 8), seed=4)


def masked_self_attention(k):
    inputs = k.Input((7,))
    x = k.layers.Embedding(20, 8, mask_zero=True)(inputs)
    x = k.layers.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3)(x, x, x)
    return k.Model(inputs, x), TOKENS


SEQUENCE_MODELS = {
    "embedding_lstm_gru": embedding_lstm_gru,
    "masking_simple_rnn_gru": masking_simple_rnn_gru,
    **{f"bidirectional_{m}": bidirectional(m) for m in ("concat", "sum", "mul", "ave")},
    "time_distributed_stacked_cells": time_distributed_stacked_cells,
    "conv1d_text": conv1d_text,
    "attention_block": attention_block,
    "masked_self_attention": masked_self_attention,
}


@pytest.fixture(scope="module", params=sorted(SEQUENCE_MODELS))
def sequence_files(request, tmp_path_factory):
    keras = keras_module()
    keras.utils.set_random_seed(5)
    model, x = SEQUENCE_MODELS[request.param](keras)
    folder = tmp_path_factory.mktemp(request.param)
    model.save(folder / "model.keras")
    model.save(folder / "model.h5")
    model.save_weights(folder / "model.weights.h5")
    return folder, model, x, model.predict(x, verbose=0)


def _close(got, want):
    """float32: within a few units in the last place at the output's scale."""
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("name", ["model.keras", "model.h5", "model.weights.h5"])
def test_sequence_model_files_load_and_predict_identically(sequence_files, name):
    folder, keras_model, x, want = sequence_files
    if name == "model.weights.h5":
        model = lp.io.model_from_keras_json(keras_model.to_json())
        model.load_weights(folder / name)
    else:
        model = lp.models.load_model(folder / name)
    assert model.count_params() == keras_model.count_params()
    _close(model.predict(x, verbose=0), want)


def test_masked_steps_change_nothing_after_loading(tmp_path):
    """A padded sequence gives what its unpadded prefix gives: the mask reached LSTM/GRU."""
    keras = keras_module()
    keras.utils.set_random_seed(6)
    model, _ = embedding_lstm_gru(keras)
    model.save(tmp_path / "model.keras")
    loaded = lp.models.load_model(tmp_path / "model.keras")
    short = loaded.predict(np.array([[3, 4, 5]], "float32"), verbose=0)
    padded = loaded.predict(TOKENS[:1], verbose=0)
    np.testing.assert_allclose(padded, short, rtol=1e-6, atol=1e-7)
    _close(padded, model.predict(TOKENS[:1], verbose=0))


def _keras_error(tmp_path, build):
    keras = keras_module()
    build(keras).save(tmp_path / "model.keras")
    with pytest.raises(ValueError) as info:
        lp.models.load_model(tmp_path / "model.keras")
    return str(info.value)


def test_recurrent_features_lapenna_lacks_are_refused_by_name(tmp_path):
    def regularized(k):
        return k.Sequential([k.Input((7, 4)), k.layers.LSTM(3, activity_regularizer="l2")])

    assert "activity_regularizer" in _keras_error(tmp_path, regularized)

    def explicit_mask(k):
        inputs, mask = k.Input((7, 4)), k.Input((7,), dtype="bool")
        return k.Model([inputs, mask], k.layers.GRU(3, name="gru")(inputs, mask=mask))

    message = _keras_error(tmp_path, explicit_mask)
    assert "layer 'gru'" in message and "argument 'mask': an explicit mask" in message

    def masked_average(k):
        inputs = k.Input((7,))
        x = k.layers.Embedding(20, 4, mask_zero=True)(inputs)
        return k.Model(inputs, k.layers.GlobalAveragePooling1D()(x))

    message = _keras_error(tmp_path, masked_average)
    assert "GlobalAveragePooling1D does not use" in message


@pytest.mark.parametrize("kind", ["ratio", "bound"])
def test_a_keras_archive_weights_entry_is_bounded_before_it_is_inflated(
    keras_files, tmp_path, kind
):
    import tracemalloc

    from lapenna.io import FormatError

    folder, _, _ = keras_files
    path = tmp_path / "bomb.keras"
    size = 48 * 2**20
    with zipfile.ZipFile(folder / "model.keras") as src, zipfile.ZipFile(path, "w") as out:
        out.writestr("config.json", src.read("config.json"))
        info = zipfile.ZipInfo("model.weights.h5")
        info.compress_type = zipfile.ZIP_DEFLATED
        with out.open(info, "w", force_zip64=True) as entry:
            if kind == "bound":  # random bytes keep the ratio near 250:1, under the cap
                entry.write(np.random.default_rng(0).bytes(size // 300))
            for _ in range(size // 2**20 - (kind == "bound")):
                entry.write(bytes(2**20))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="model.weights.h5") as info:
            lp.models.load_model(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert str(path) in str(info.value)
    assert ("times as many" if kind == "ratio" else "bound") in str(info.value)
    assert peak < 8 * 2**20, f"{peak} bytes used before the refusal"
