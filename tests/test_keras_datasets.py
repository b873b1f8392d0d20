"""``keras.datasets.<name>.load_data()`` through ``import lapenna as keras`` returns what
real Keras 3 returns from the same files (shapes, dtypes, values), while the command line
keeps its NHWC float images."""

import gzip
import importlib

import numpy as np
import pytest

import lapenna as lp
from data_builders import write_mnist_folder
from lapenna.cli import sources
from lapenna.testing.keras_reference import keras_module


@pytest.fixture(scope="module")
def keras():
    return keras_module()


def _keras_loader(name, monkeypatch, paths):
    """Keras's own loader module, its download replaced by the local files of the test."""
    module = importlib.import_module(f"keras.src.datasets.{name}")
    monkeypatch.setattr(module, "get_file", lambda fname, *args, **kwargs: paths[fname])
    return module


def test_fashion_mnist_matches_keras_on_the_same_files(keras, tmp_path, monkeypatch):
    folder = tmp_path / "fashion_mnist"
    write_mnist_folder(folder, train_count=6, test_count=4, compress_test=True)
    paths = {p.name: str(p) for p in folder.iterdir()}
    theirs = _keras_loader("fashion_mnist", monkeypatch, paths).load_data()
    ours = lp.datasets.fashion_mnist.load_data(path=folder, download=False)
    for our_split, their_split in zip(ours, theirs):
        for a, b in zip(our_split, their_split):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert ours[0][0].shape == (6, 28, 28) and ours[0][1].shape == (6,)


def test_mnist_matches_keras_shapes(keras, tmp_path, monkeypatch):
    written = write_mnist_folder(tmp_path / "mnist", train_count=5, test_count=3)
    (x_train, y_train), (x_test, y_test) = written["train"], written["t10k"]
    npz = tmp_path / "mnist.npz"  # Keras reads one npz of the same arrays
    np.savez(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    theirs = _keras_loader("mnist", monkeypatch, {"mnist.npz": str(npz)}).load_data()
    ours = lp.datasets.mnist.load_data(path=tmp_path / "mnist", download=False)
    for our_split, their_split in zip(ours, theirs):
        for a, b in zip(our_split, their_split):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert ours[0][0].shape == (5, 28, 28) and ours[0][0].dtype == np.uint8


def test_the_command_line_keeps_nhwc_float_images(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path / "mnist", train_count=5, test_count=3)
    with gzip.open(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") as stream:
        first_pixels = np.frombuffer(stream.read(), np.uint8, offset=16)[: 28 * 28]
    monkeypatch.setenv("LAPENNA_DATA", str(tmp_path))
    data = sources.load("mnist")
    assert data.x_train.shape == (5, 28, 28, 1) and data.x_test.shape == (3, 28, 28, 1)
    assert data.x_train.dtype == np.float32
    np.testing.assert_allclose(data.x_train[0, ..., 0].reshape(-1) * 255, first_pixels, atol=1e-4)
