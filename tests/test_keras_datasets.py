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


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_matches_keras_on_the_same_arrays(keras, tmp_path, monkeypatch, label_mode):
    import pickle

    from data_builders import cifar_bytes, cifar_like

    splits = {
        "train": cifar_like(5, label_columns=2, seed=1, classes=(20, 100)),
        "test": cifar_like(3, label_columns=2, seed=2, classes=(20, 100)),
    }
    python_dir = tmp_path / "keras" / "cifar-100-python"  # Keras reads the pickled version
    python_dir.mkdir(parents=True)
    for name, (images, labels) in splits.items():
        (tmp_path / f"{name}.bin").write_bytes(cifar_bytes(images, labels))
        batch = {
            b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1),
            b"coarse_labels": labels[:, 0].tolist(),
            b"fine_labels": labels[:, 1].tolist(),
        }
        (python_dir / name).write_bytes(pickle.dumps(batch))
    paths = {"cifar-100-python-target": str(tmp_path / "keras")}
    theirs = _keras_loader("cifar100", monkeypatch, paths).load_data(label_mode)
    ours = lp.datasets.cifar100.load_data(label_mode, path=tmp_path, download=False)
    for our_split, their_split in zip(ours, theirs):
        for a, b in zip(our_split, their_split):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert ours[0][0].shape == (5, 32, 32, 3) and ours[0][1].shape == (5, 1)


def test_boston_housing_splits_as_keras_does(keras, tmp_path, monkeypatch):
    from mlxtend.data import boston_housing_data  # lapenna's loader reads the same copy

    features, targets = boston_housing_data()
    npz = tmp_path / "boston_housing.npz"  # Keras's file holds the same 506 rows
    np.savez(npz, x=features, y=targets)
    paths = {"boston_housing.npz": str(npz)}
    for split, seed in ((0.2, 113), (0.3, 5)):
        theirs = _keras_loader("boston_housing", monkeypatch, paths).load_data(
            test_split=split, seed=seed
        )
        ours = lp.datasets.boston_housing.load_data(test_split=split, seed=seed)
        for our_split, their_split in zip(ours, theirs):
            for a, b in zip(our_split, their_split):
                assert a.shape == b.shape and a.dtype == np.float32  # Keras: float64
                np.testing.assert_array_equal(a, b.astype(np.float32))
    assert ours[0][0].shape == (354, 13)
