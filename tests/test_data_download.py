"""Downloads through a replaced opener: verified, atomic, with clear errors; never the network."""

import gzip
import hashlib
import urllib.error

import numpy as np
import pytest

from data_builders import FakeOpener, cifar_bytes, cifar_like, idx_bytes, mnist_like, tar_gz
from lapenna.datasets import DatasetFormatError, DatasetNotFoundError, cifar10, download, mnist
from lapenna.datasets.download import RemoteFile, ensure_files


def _sha(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served_mnist(monkeypatch):
    """Fake MNIST files whose checksums replace the real ones, served from two mirrors."""
    payloads, expected = {}, {}
    for split, count in (("train", 6), ("t10k", 4)):
        images, labels = mnist_like(count, seed=count)
        expected[split] = (images, labels)
        payloads[f"{split}-images-idx3-ubyte.gz"] = gzip.compress(idx_bytes(images))
        payloads[f"{split}-labels-idx1-ubyte.gz"] = gzip.compress(idx_bytes(labels))
    mirrors = ("https://down.example/", "https://up.example/")
    files = tuple(
        RemoteFile(name, _sha(data), tuple(m + name for m in mirrors))
        for name, data in payloads.items()
    )
    monkeypatch.setattr(mnist, "FILES", files)
    routes = {mirrors[0] + name: urllib.error.URLError("unreachable") for name in payloads}
    routes.update({mirrors[1] + name: data for name, data in payloads.items()})
    opener = FakeOpener(routes)
    monkeypatch.setattr(download, "urlopen", opener)
    return opener, expected


def test_download_falls_back_to_the_next_mirror_and_caches(tmp_path, served_mnist):
    opener, expected = served_mnist
    (x_train, y_train), (x_test, _) = mnist.load_data(path=tmp_path)
    np.testing.assert_array_equal(x_train, expected["train"][0])
    np.testing.assert_array_equal(y_train, expected["train"][1])
    assert x_test.shape == (4, 28, 28)
    assert len(opener.calls) == 8  # each file: the dead mirror, then the live one
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in mnist.FILES)
    mnist.load_data(path=tmp_path)
    assert len(opener.calls) == 8  # the second load reads the cache


def test_default_folder_is_under_lapenna_data(tmp_path, served_mnist, monkeypatch):
    monkeypatch.setenv("LAPENNA_DATA", str(tmp_path))
    mnist.load_data()
    assert (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_checksum_mismatch_keeps_nothing(tmp_path, monkeypatch):
    data = b"the right bytes"
    remote = RemoteFile("file.bin", _sha(data), ("https://a.example/file.bin",))
    monkeypatch.setattr(download, "urlopen", FakeOpener({remote.urls[0]: b"tampered bytes"}))
    with pytest.raises(DatasetFormatError, match="file.bin: checksum mismatch") as info:
        ensure_files("demo", [remote], path=tmp_path)
    assert _sha(b"tampered bytes") in str(info.value) and remote.sha256 in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no partial or wrong file left behind


def test_checksum_mismatch_on_one_mirror_uses_the_next(tmp_path, monkeypatch):
    data = b"payload"
    remote = RemoteFile("f", _sha(data), ("https://bad.example/f", "https://good.example/f"))
    opener = FakeOpener({remote.urls[0]: b"evil", remote.urls[1]: data})
    monkeypatch.setattr(download, "urlopen", opener)
    assert ensure_files("demo", [remote], path=tmp_path)["f"].read_bytes() == data


def test_unreachable_network_lists_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "urlopen", FakeOpener({}))
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data(path=tmp_path)
    message = str(info.value)
    assert "4 file(s) missing" in message and "could not be downloaded" in message
    assert all(name in message for name in mnist.SHA256)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    class Broken:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, size):
            raise TimeoutError("connection stalled")

    remote = RemoteFile("f", _sha(b"x"), ("https://slow.example/f",))
    monkeypatch.setattr(download, "urlopen", lambda url, timeout=None: Broken())
    with pytest.raises(DatasetNotFoundError, match="connection stalled"):
        ensure_files("demo", [remote], path=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_oversized_answer_is_refused(tmp_path, monkeypatch):
    remote = RemoteFile("f", _sha(b"x"), ("https://big.example/f",))
    monkeypatch.setattr(download, "MAX_DOWNLOAD_BYTES", 10)
    monkeypatch.setattr(download, "urlopen", FakeOpener({remote.urls[0]: b"y" * 11}))
    with pytest.raises(DatasetFormatError, match="more than 10 bytes"):
        ensure_files("demo", [remote], path=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cifar10_archive_download(tmp_path, monkeypatch):
    members = {}
    for i, name in enumerate([*cifar10.TRAIN_FILES, *cifar10.TEST_FILES]):
        members[f"cifar-10-batches-bin/{name}"] = cifar_bytes(*cifar_like(1, seed=i))
    archive = tar_gz(members)
    remote = RemoteFile(cifar10.ARCHIVE.name, _sha(archive), ("https://c.example/c.tgz",))
    monkeypatch.setattr(cifar10, "ARCHIVE", remote)
    monkeypatch.setattr(download, "urlopen", FakeOpener({remote.urls[0]: archive}))
    (x_train, y_train), (x_test, _) = cifar10.load_data(path=tmp_path)
    assert x_train.shape == (5, 32, 32, 3) and x_test.shape == (1, 32, 32, 3)
    assert (tmp_path / cifar10.ARCHIVE.name).read_bytes() == archive
