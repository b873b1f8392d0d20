"""``keras.utils`` names reached through ``import lapenna as keras``, each compared with
real Keras 3 where Keras has the function."""

import hashlib
import io
import random
from pathlib import Path

import numpy as np
import pytest

import lapenna as lp
from lapenna.datasets import download as download_module
from lapenna.datasets.errors import DatasetFormatError, DatasetNotFoundError
from lapenna.testing.keras_reference import keras_module


@pytest.fixture(scope="module")
def keras():
    return keras_module()


@pytest.mark.parametrize(
    "labels, num_classes",
    [([0, 2, 1, 2], None), ([[3], [0], [1]], 5), (np.array([[0, 1], [2, 0]]), 3), ([1.0, 0.0], 2)],
)
def test_to_categorical_matches_keras(keras, labels, num_classes):
    ours = lp.utils.to_categorical(labels, num_classes)
    theirs = keras.utils.to_categorical(labels, num_classes)
    assert ours.shape == theirs.shape
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_to_categorical_refuses_out_of_range_and_fractions():
    with pytest.raises(ValueError, match=r"indices in \[0, 3\), got values from 0 to 3"):
        lp.utils.to_categorical([0, 3], 3)
    with pytest.raises(ValueError, match="integer class indices"):
        lp.utils.to_categorical([0.5, 1.0])


@pytest.mark.parametrize("axis, order", [(-1, 2), (1, 2), (-1, 1)])
def test_normalize_matches_keras(keras, axis, order):
    x = np.random.default_rng(0).normal(size=(4, 5, 3)).astype("float32")
    x[1] = 0  # a zero row stays zero
    np.testing.assert_allclose(
        lp.utils.normalize(x, axis, order), keras.utils.normalize(x, axis, order), rtol=1e-6
    )


def test_normalize_along_axis_0():
    # Keras 3 reads axis=0 as -1 (``axis or -1``) and fails on a (4, 5) array; lapenna does not
    x = np.array([[3.0, 1.0], [4.0, 0.0]])
    np.testing.assert_allclose(lp.utils.normalize(x, axis=0), [[0.6, 1.0], [0.8, 0.0]])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"maxlen": 3},
        {"maxlen": 3, "padding": "post", "truncating": "post"},
        {"maxlen": 5, "value": -1, "padding": "post"},
        {"maxlen": 2, "truncating": "pre", "dtype": "float32"},
        {"maxlen": 1, "padding": "post"},
    ],
)
def test_pad_sequences_matches_keras(keras, kwargs):
    sequences = [[1, 2, 3, 4], [5], [], [6, 7]]
    ours = lp.utils.pad_sequences(sequences, **kwargs)
    theirs = keras.utils.pad_sequences(sequences, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(
        lp.preprocessing.sequence.pad_sequences(sequences, **kwargs), theirs
    )


def test_pad_sequences_of_vectors_and_bad_input(keras):
    sequences = [np.ones((2, 3)), np.arange(9).reshape(3, 3)]
    np.testing.assert_array_equal(
        lp.utils.pad_sequences(sequences, maxlen=4, dtype="float32"),
        keras.utils.pad_sequences(sequences, maxlen=4, dtype="float32"),
    )
    # Keras 3 fails on maxlen=0 ("could not broadcast"); lapenna gives empty rows
    assert lp.utils.pad_sequences([[1, 2], []], maxlen=0).shape == (2, 0)
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post', got 'middle'"):
        lp.utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="item 1 is 3"):
        lp.utils.pad_sequences([[1], 3])


def test_set_random_seed_seeds_every_generator_as_keras_does():
    def draws():
        weights = np.asarray(lp.initializers.get("glorot_uniform")((2, 3)))
        return weights, random.random(), np.random.rand()

    lp.utils.set_random_seed(7)
    first = draws()
    lp.utils.set_random_seed(7)
    second = draws()
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1:] == second[1:]
    lp.utils.set_random_seed(8)
    assert draws()[1] != first[1]


def test_internals_stay_reachable_through_the_public_utils():
    from lapenna.utils import registry

    assert lp.utils.register is registry.register
    assert lp.utils.image_dataset_from_directory is lp.data.image_dataset_from_directory
    assert lp.preprocessing.image_dataset_from_directory is lp.data.image_dataset_from_directory


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_get_file_returns_a_present_file_whose_hash_matches(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("get_file touched the network for a present file")

    monkeypatch.setattr(download_module, "urlopen", no_network)
    folder = tmp_path / "datasets"
    folder.mkdir()
    (folder / "data.bin").write_bytes(b"abc")
    path = lp.utils.get_file(
        "data.bin", "https://example.org/data.bin", file_hash=_sha256(b"abc"), cache_dir=tmp_path
    )
    assert path == str(folder / "data.bin")
    md5 = hashlib.md5(b"abc").hexdigest()
    assert lp.utils.get_file("data.bin", md5_hash=md5, cache_dir=tmp_path) == path


def test_get_file_offline_names_the_path_it_looked_in(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(download_module, "urlopen", offline)
    expected = tmp_path / "models" / "w.h5"
    with pytest.raises(
        DatasetNotFoundError, match="looked for .*w.h5 \\(no file there\\).*network is unreachable"
    ) as err:
        lp.utils.get_file(
            "w.h5", "https://example.org/w.h5", cache_subdir="models", cache_dir=tmp_path
        )
    assert str(expected) in str(err.value)
    (tmp_path / "models").mkdir(exist_ok=True)
    expected.write_bytes(b"wrong")
    with pytest.raises(DatasetNotFoundError, match="sha256 .* expected 0{64}"):
        lp.utils.get_file(
            "w.h5",
            "https://example.org/w.h5",
            file_hash="0" * 64,
            cache_subdir="models",
            cache_dir=tmp_path,
        )


def test_get_file_downloads_and_checks_the_hash(tmp_path, monkeypatch):
    monkeypatch.setattr(download_module, "urlopen", lambda url, timeout: io.BytesIO(b"payload"))
    path = lp.utils.get_file(
        origin="https://example.org/x/file.txt?raw=1",
        file_hash=_sha256(b"payload"),
        cache_dir=tmp_path,
    )
    assert path.endswith("file.txt") and Path(path).read_bytes() == b"payload"
    with pytest.raises(DatasetFormatError, match="expected " + "1" * 64):
        lp.utils.get_file(
            "other.txt", "https://example.org/o", file_hash="1" * 64, cache_dir=tmp_path
        )
    assert not (tmp_path / "datasets" / "other.txt").exists()
    with pytest.raises(ValueError, match="extract the archive yourself"):
        lp.utils.get_file(
            "a.tar.gz", "https://example.org/a.tar.gz", extract=True, cache_dir=tmp_path
        )


def test_plot_model_writes_a_png_with_one_box_per_layer(tmp_path):
    model = lp.Sequential(
        [lp.Input((4,)), lp.layers.Dense(3, activation="relu", name="hidden"), lp.layers.Dense(2)]
    )
    figure = lp.utils.plot_model(
        model, tmp_path / "m.png", show_shapes=True, show_layer_activations=True
    )
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = [t.get_text() for t in figure.axes[0].texts if t.get_text()]
    assert len(texts) == len(model.layers)
    assert any("hidden (Dense)" in t and "(None, 3)" in t and "relu" in t for t in texts)
    with pytest.raises(ValueError, match="rankdir must be 'TB' or 'LR', got 'BT'"):
        lp.utils.plot_model(model, None, rankdir="BT")


@pytest.fixture
def picture(tmp_path):
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 256, (9, 14, 3)).astype("uint8")
    path = tmp_path / "picture.png"
    Image.fromarray(pixels, "RGB").save(path)
    return path, pixels


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"color_mode": "grayscale"},
        {"color_mode": "rgba", "target_size": (5, 7)},
        {"target_size": (6, 6), "interpolation": "bilinear"},
        {"target_size": (4, 4), "keep_aspect_ratio": True, "interpolation": "bicubic"},
    ],
)
def test_load_img_and_img_to_array_match_keras(keras, picture, kwargs):
    path, pixels = picture
    ours = lp.utils.img_to_array(lp.utils.load_img(path, **kwargs))
    theirs = keras.utils.img_to_array(keras.utils.load_img(path, **kwargs))
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)
    if not kwargs:
        np.testing.assert_array_equal(ours, pixels)


def test_array_to_img_and_save_img_match_keras(keras, tmp_path):
    x = np.random.default_rng(2).normal(size=(5, 6, 3)).astype("float32")
    for scale in (True, False):
        y = x if scale else np.clip(x * 40 + 120, 0, 255)
        ours = np.asarray(lp.utils.array_to_img(y, scale=scale))
        np.testing.assert_array_equal(ours, np.asarray(keras.utils.array_to_img(y, scale=scale)))
    gray = x[..., :1]
    np.testing.assert_array_equal(
        np.asarray(lp.utils.array_to_img(gray)), np.asarray(keras.utils.array_to_img(gray))
    )
    lp.utils.save_img(tmp_path / "ours.png", x)
    keras.utils.save_img(tmp_path / "theirs.png", x)
    np.testing.assert_array_equal(
        lp.utils.img_to_array(lp.utils.load_img(tmp_path / "ours.png")),
        lp.utils.img_to_array(lp.utils.load_img(tmp_path / "theirs.png")),
    )
    with pytest.raises(ValueError, match="channels_last .* only, got data_format='channels_first'"):
        lp.utils.img_to_array(x, data_format="channels_first")
    with pytest.raises(ValueError, match="expects 1, 3 or 4 channels, got 2"):
        lp.utils.array_to_img(x[..., :2])
    with pytest.raises(ValueError, match="color_mode must be one of .* got 'cmyk'"):
        lp.utils.load_img(tmp_path / "ours.png", color_mode="cmyk")
