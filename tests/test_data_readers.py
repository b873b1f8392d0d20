"""IDX and CIFAR-binary readers and the file loaders, on tiny files made in tmp_path."""

import gzip

import numpy as np
import pytest

from data_builders import cifar_bytes, cifar_like, idx_bytes, tar_gz, write_mnist_folder
from lapenna.datasets import (
    DatasetFormatError,
    DatasetNotFoundError,
    cifar10,
    cifar100,
    fashion_mnist,
    mnist,
    parse_cifar_binary,
    parse_idx,
    read_idx,
)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(url, timeout=None):
        raise OSError("network disabled in tests")

    monkeypatch.setattr("lapenna.datasets.download.urlopen", refuse)


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
def test_idx_round_trips_every_type_code(dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "u1":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = parse_idx(idx_bytes(array), "x.idx")
    assert out.shape == (2, 3, 4) and out.dtype.isnative and out.flags.writeable
    np.testing.assert_array_equal(out, array)


def test_read_idx_handles_gzip_and_raw(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a"), read_idx(tmp_path / "a.gz"))


GOOD = idx_bytes(np.zeros((2, 3), np.uint8))


@pytest.mark.parametrize(
    "data, field",
    [
        (b"\x00\x00", "shorter than the 4-byte magic number"),
        (b"\x01" + GOOD[1:], "magic number is 0x01000802"),
        (b"\x00\x00\x07\x02" + GOOD[4:], "type code 0x07"),
        (b"\x00\x00\x08\x00", "declares 0 dimensions"),
        (GOOD[:9], "header truncated"),
        (GOOD[:-1], r"data truncated: dimensions \(2, 3\)"),
        (GOOD + b"\x00", "1 unexpected bytes after the data"),
    ],
)
def test_idx_errors_name_the_file_and_field(data, field):
    with pytest.raises(DatasetFormatError, match=field) as info:
        parse_idx(data, "train-images-idx3-ubyte")
    assert str(info.value).startswith("train-images-idx3-ubyte: ")
    assert isinstance(info.value, ValueError)


def test_truncated_gzip_is_reported(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(GOOD)[:-6])
    with pytest.raises(DatasetFormatError, match="t10k-images-idx3-ubyte.gz: the gzip stream"):
        read_idx(path)


def test_mnist_loads_gzip_and_raw_files(tmp_path):
    written = write_mnist_folder(tmp_path, train_count=5, test_count=3)
    (x_train, y_train), (x_test, y_test) = mnist.load_data(path=tmp_path)
    assert x_train.shape == (5, 28, 28) and x_test.shape == (3, 28, 28)  # Keras's shapes
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, written["train"][0])
    np.testing.assert_array_equal(y_test, written["t10k"][1])


def test_data_home_follows_lapenna_data(tmp_path, monkeypatch):
    write_mnist_folder(tmp_path / "fashion_mnist")
    monkeypatch.setenv("LAPENNA_DATA", str(tmp_path))
    (x_train, _), _ = fashion_mnist.load_data()
    assert x_train.shape == (5, 28, 28)


def _rewrite(folder, name, data):
    for old in folder.glob(name.removesuffix(".gz") + "*"):
        old.unlink()
    (folder / name).write_bytes(data)


def test_mnist_checks_that_the_files_fit_together(tmp_path):
    write_mnist_folder(tmp_path, compress_train=False)
    _rewrite(tmp_path, "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(
        DatasetFormatError, match="t10k-labels-idx1-ubyte: item count 4 does not match"
    ):
        mnist.load_data(path=tmp_path)
    _rewrite(tmp_path, "t10k-labels-idx1-ubyte", idx_bytes(np.array([1, 12, 3], np.uint8)))
    with pytest.raises(DatasetFormatError, match="label 12 at index 1 is outside 0..9"):
        mnist.load_data(path=tmp_path)
    _rewrite(tmp_path, "train-images-idx3-ubyte", idx_bytes(np.zeros((5, 784), np.uint8)))
    with pytest.raises(
        DatasetFormatError, match=r"train-images-idx3-ubyte: expected .* 3 dimensions"
    ):
        mnist.load_data(path=tmp_path)
    _rewrite(tmp_path, "train-images-idx3-ubyte", idx_bytes(np.zeros((5, 28, 28), np.float32)))
    with pytest.raises(DatasetFormatError, match="got float32"):
        mnist.load_data(path=tmp_path)


def test_missing_files_say_what_to_put_where(tmp_path):
    write_mnist_folder(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data(path=tmp_path)
    message = str(info.value)
    assert f"missing from {tmp_path}" in message and "network disabled" in message
    assert "t10k-images-idx3-ubyte.gz" in message and "train-images" not in message
    assert "https://" in message and mnist.SHA256["t10k-images-idx3-ubyte.gz"] in message
    with pytest.raises(DatasetNotFoundError, match=r"switched off \(download=False\)"):
        mnist.load_data(path=tmp_path, download=False)


def test_cifar_parser_round_trip_and_layout():
    images, labels = cifar_like(3)
    out_images, out_labels = parse_cifar_binary(cifar_bytes(images, labels), "b.bin")
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)
    # the first 1024 pixel bytes of a record are the red plane, row by row
    raw = np.frombuffer(cifar_bytes(images, labels), np.uint8)
    np.testing.assert_array_equal(raw[1:33], images[0, 0, :, 0])


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d[:-1], "is not a whole number of 3073-byte records"),
        (lambda d: b"", "file is empty"),
        (lambda d: bytes([10]) + d[1:], "record 0 has label 10, outside 0..9"),
    ],
)
def test_cifar_errors_name_the_file_and_field(mutate, field):
    images, labels = cifar_like(2)
    with pytest.raises(DatasetFormatError, match=field) as info:
        parse_cifar_binary(mutate(cifar_bytes(images, labels)), "data_batch_3.bin")
    assert str(info.value).startswith("data_batch_3.bin: ")


def _cifar10_members(count=2):
    members, arrays = {}, {}
    for i, name in enumerate([*cifar10.TRAIN_FILES, *cifar10.TEST_FILES]):
        images, labels = cifar_like(count, seed=i)
        members[name] = cifar_bytes(images, labels)
        arrays[name] = (images, labels)
    return members, arrays


def test_cifar10_from_extracted_files(tmp_path):
    members, arrays = _cifar10_members()
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, data in members.items():
        (folder / name).write_bytes(data)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(path=tmp_path)
    assert x_train.shape == (10, 32, 32, 3) and y_train.shape == (10, 1) and y_test.shape == (2, 1)
    np.testing.assert_array_equal(x_train[2:4], arrays["data_batch_2.bin"][0])
    np.testing.assert_array_equal(y_test, arrays["test_batch.bin"][1])


def test_cifar10_from_the_archive_and_its_errors(tmp_path):
    members, arrays = _cifar10_members()
    archive = {f"cifar-10-batches-bin/{name}": data for name, data in members.items()}
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(tar_gz(archive))
    (x_train, _), (x_test, _) = cifar10.load_data(path=tmp_path)
    np.testing.assert_array_equal(x_test, arrays["test_batch.bin"][0])
    del archive["cifar-10-batches-bin/data_batch_4.bin"]
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(tar_gz(archive))
    with pytest.raises(DatasetFormatError, match="no member cifar-10-batches-bin/data_batch_4.bin"):
        cifar10.load_data(path=tmp_path)
    archive["cifar-10-batches-bin/data_batch_4.bin"] = b"\x00" * 100
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(tar_gz(archive))
    with pytest.raises(
        DatasetFormatError,
        match="cifar-10-binary.tar.gz:cifar-10-batches-bin/data_batch_4.bin: size 100",
    ):
        cifar10.load_data(path=tmp_path)
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"not an archive at all")
    with pytest.raises(DatasetFormatError, match="cifar-10-binary.tar.gz: not a readable tar.gz"):
        cifar10.load_data(path=tmp_path)


def test_cifar10_missing_lists_archive_and_extracted_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        cifar10.load_data(path=tmp_path)
    assert "cifar-10-binary.tar.gz" in str(info.value) and "test_batch.bin" in str(info.value)


def test_cifar100_fine_and_coarse_labels(tmp_path):
    train = cifar_like(4, label_columns=2, seed=1, classes=(20, 100))
    test = cifar_like(2, label_columns=2, seed=2, classes=(20, 100))
    (tmp_path / "train.bin").write_bytes(cifar_bytes(*train))
    (tmp_path / "test.bin").write_bytes(cifar_bytes(*test))
    (x_train, y_fine), _ = cifar100.load_data(path=tmp_path)
    (_, y_coarse), (_, y_test) = cifar100.load_data("coarse", path=tmp_path)
    np.testing.assert_array_equal(y_fine[:, 0], train[1][:, 1])
    np.testing.assert_array_equal(y_coarse[:, 0], train[1][:, 0])
    assert x_train.shape == (4, 32, 32, 3) and y_test.shape == (2, 1)
    bad = train[1].copy()
    bad[2, 0] = 25
    (tmp_path / "train.bin").write_bytes(cifar_bytes(train[0], bad))
    with pytest.raises(DatasetFormatError, match="train.bin: record 2 has coarse label 25"):
        cifar100.load_data(path=tmp_path)
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium", path=tmp_path)


def test_empty_idx_with_absurd_dimensions_is_refused():
    # found by the fuzzer: a zero dimension makes the data empty, numpy still refuses the shape
    header = bytes([0, 0, 8, 4]) + b"".join(
        d.to_bytes(4, "big") for d in (0, 40655, 2061519, 110049588)
    )
    with pytest.raises(DatasetFormatError, match="impossibly large"):
        parse_idx(header, "empty.idx")
    assert parse_idx(bytes([0, 0, 8, 2, 0, 0, 0, 0, 0, 0, 0, 5]), "e").shape == (0, 5)
