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
