"""The four-file IDX layout shared by MNIST and Fashion-MNIST."""

from lapenna.datasets.download import RemoteFile, ensure_files
from lapenna.datasets.idx import read_image_label_pair

FILE_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def remote_files(mirrors, checksums):
    """RemoteFile entries for the four files, each available from every mirror."""
    return tuple(
        RemoteFile(name, checksums[name], tuple(mirror + name for mirror in mirrors))
        for name in FILE_NAMES
    )


def load_idx_dataset(dataset, remotes, path, download):
    """``(x_train, y_train), (x_test, y_test)`` from the four files (``.gz`` or raw), in
    Keras's shapes: images (N, rows, cols) without a channel axis, labels (N,)."""
    alternatives = {name: [name.removesuffix(".gz")] for name in FILE_NAMES}
    files = ensure_files(dataset, remotes, path, download, alternatives)
    train = read_image_label_pair(files[FILE_NAMES[0]], files[FILE_NAMES[1]])
    test = read_image_label_pair(files[FILE_NAMES[2]], files[FILE_NAMES[3]])
    return (train[0][..., 0], train[1]), (test[0][..., 0], test[1])
