"""Builders of tiny, valid dataset files for the data tests (IDX, CIFAR binary, archives)."""

import gzip
import io
import tarfile

import numpy as np

IDX_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array):
    """The IDX encoding of ``array`` (its dtype picks the type code)."""
    array = np.asarray(array)
    kind = array.dtype.kind + str(array.dtype.itemsize)
    header = bytes([0, 0, IDX_CODES[kind], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def mnist_like(count, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8)
    return images, labels


def write_mnist_folder(
    folder, train_count=5, test_count=3, compress_train=True, compress_test=False
):
    """Write the four MNIST files (gzip or raw) and return the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, count, compress, seed in (
        ("train", train_count, compress_train, 1),
        ("t10k", test_count, compress_test, 2),
    ):
        images, labels = mnist_like(count, seed)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{split}-{kind}-ubyte"
            data = idx_bytes(array)
            if compress:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
        written[split] = (images, labels)
    return written


def cifar_bytes(images, labels):
    """Records of label byte(s) then the channel-planar pixels; ``labels`` is (N, k)."""
    labels = np.asarray(labels, dtype=np.uint8).reshape(len(images), -1)
    planar = np.asarray(images, dtype=np.uint8).transpose(0, 3, 1, 2).reshape(len(images), -1)
    return np.concatenate([labels, planar], axis=1).tobytes()


def cifar_like(count, label_columns=1, seed=0, classes=(10,)):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
    labels = np.stack([rng.integers(0, c, size=count) for c in classes], axis=1).astype(np.uint8)
    return images, labels[:, :label_columns]


def tar_gz(members):
    """A .tar.gz archive (bytes) holding ``{name: bytes}``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class FakeResponse(io.BytesIO):
    """What ``urlopen`` returns: a readable context manager."""


class FakeOpener:
    """Serves ``{url: bytes or exception}`` and records the URLs asked for."""

    def __init__(self, routes):
        self.routes, self.calls = routes, []

    def __call__(self, url, timeout=None):
        self.calls.append(url)
        answer = self.routes.get(url, OSError(f"no route to {url}"))
        if isinstance(answer, BaseException):
            raise answer
        return FakeResponse(answer)
