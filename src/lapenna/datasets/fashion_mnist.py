"""Fashion-MNIST: 70,000 28x28 grayscale images of clothing in 10 classes.

Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine
Learning Algorithms", 2017. The same four-file IDX layout as MNIST.
"""

from lapenna.datasets._idx_files import load_idx_dataset, remote_files

MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)
SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",  # noqa: E501
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",  # noqa: E501
}
FILES = remote_files(MIRRORS, SHA256)
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def load_data(path=None, download=True):
    """Load Fashion-MNIST.

    Args:
        path: folder holding the files; default ``$LAPENNA_DATA/fashion_mnist`` or
            ``~/.lapenna/datasets/fashion_mnist``.
        download: fetch missing files (checked by SHA-256) when the network answers.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) (Keras's shape;
        ``x[..., None]`` adds the channel axis) and uint8 labels (N,) indexing
        :data:`CLASS_NAMES`.

    Raises:
        DatasetNotFoundError: files are missing and could not be downloaded.
        DatasetFormatError: a file is corrupt (the message names the file and field).
    """
    return load_idx_dataset("fashion_mnist", FILES, path, download)
