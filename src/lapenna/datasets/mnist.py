"""MNIST handwritten digits: 60,000 training and 10,000 test images of 28x28 pixels.

LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document
recognition", 1998. Read from the four IDX files (gzip-compressed or raw); see
:mod:`lapenna.datasets.download` for where they are looked up and fetched from.
"""

from lapenna.datasets._idx_files import load_idx_dataset, remote_files

MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",  # noqa: E501
}
FILES = remote_files(MIRRORS, SHA256)
CLASS_NAMES = tuple(str(digit) for digit in range(10))


def load_data(path=None, download=True):
    """Load MNIST.

    Args:
        path: folder holding the files; default ``$LAPENNA_DATA/mnist`` or
            ``~/.lapenna/datasets/mnist``.
        download: fetch missing files (checked by SHA-256) when the network answers.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) in 0..255
        (Keras's shape: ``x[..., None]`` adds the channel axis ``Conv2D`` reads) and
        uint8 labels (N,) in 0..9.

    Raises:
        DatasetNotFoundError: files are missing and could not be downloaded.
        DatasetFormatError: a file is corrupt (the message names the file and field).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
        >>> x_train.shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    return load_idx_dataset("mnist", FILES, path, download)
