"""CIFAR-100: 60,000 32x32 color images in 100 fine classes grouped into 20 coarse ones.

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009. Read from
``cifar-100-binary.tar.gz`` or its extracted ``train.bin`` and ``test.bin``; each record
carries the coarse label byte, then the fine label byte.
"""

from lapenna.datasets._cifar_files import load_batches
from lapenna.datasets.download import RemoteFile

ARCHIVE = RemoteFile(
    "cifar-100-binary.tar.gz",
    "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
    ("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",),
)
MEMBER_DIR = "cifar-100-binary"
LABEL_CLASSES = (20, 100)


def load_data(label_mode="fine", path=None, download=True):
    """Load CIFAR-100.

    Args:
        label_mode: ``"fine"`` (100 classes) or ``"coarse"`` (20 superclasses).
        path: folder holding the archive or the extracted files; default
            ``$LAPENNA_DATA/cifar100`` or ``~/.lapenna/datasets/cifar100``.
        download: fetch the archive (checked by SHA-256) when it is missing and the network
            answers.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3) and int64
        labels of shape (N, 1), as Keras returns them.

    Raises:
        ValueError: for another ``label_mode``.
        DatasetNotFoundError: files are missing and could not be downloaded.
        DatasetFormatError: a file is corrupt (the message names the file and field).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            f'cifar100.load_data expects label_mode "fine" or "coarse", got {label_mode!r}'
        )
    column = 1 if label_mode == "fine" else 0
    (x_train, y_train), (x_test, y_test) = load_batches(
        "cifar100",
        ARCHIVE,
        MEMBER_DIR,
        [("train.bin",), ("test.bin",)],
        LABEL_CLASSES,
        path,
        download,
    )
    # int64 labels (N, 1), as Keras's loader returns them (it reads them from a Python list)
    y_train = y_train[:, column : column + 1].astype("int64")
    y_test = y_test[:, column : column + 1].astype("int64")
    return (x_train, y_train), (x_test, y_test)
