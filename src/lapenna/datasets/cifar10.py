"""CIFAR-10: 60,000 32x32 color images in 10 classes, from the binary version of the files.

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009. The loader reads
``cifar-10-binary.tar.gz`` directly, or its extracted ``.bin`` files; it never reads the
pickled Python version.
"""

from lapenna.datasets._cifar_files import load_batches
from lapenna.datasets.download import RemoteFile

ARCHIVE = RemoteFile(
    "cifar-10-binary.tar.gz",
    "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
)
MEMBER_DIR = "cifar-10-batches-bin"
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


def load_data(path=None, download=True):
    """Load CIFAR-10.

    Args:
        path: folder holding the archive or the extracted files; default
            ``$LAPENNA_DATA/cifar10`` or ``~/.lapenna/datasets/cifar10``.
        download: fetch the archive (checked by SHA-256) when it is missing and the network
            answers.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 32, 32, 3) and uint8
        labels of shape (N, 1), as Keras returns them.

    Raises:
        DatasetNotFoundError: files are missing and could not be downloaded.
        DatasetFormatError: a file is corrupt (the message names the file and field).
    """
    train, test = load_batches(
        "cifar10", ARCHIVE, MEMBER_DIR, [TRAIN_FILES, TEST_FILES], (10,), path, download
    )
    return train, test
