"""Batches of arrays: the ``Dataset`` pipeline, image folders and array-level augmentation.

This room works on numpy arrays only and knows nothing of Tensors. ``Model.fit`` iterates a
batched :class:`Dataset` whose elements are ``(x, y)`` or ``(x, y, sample_weight)``.

Example:
    >>> import numpy as np
    >>> import lapenna as lp
    >>> ds = lp.data.Dataset.from_tensor_slices((np.zeros((6, 2)), np.arange(6)))
    >>> [x.shape for x, y in ds.batch(4)]
    [(4, 2), (2, 2)]
"""

from lapenna.data import augment
from lapenna.data.adapter import as_dataset, split_validation
from lapenna.data.dataset import INFINITE, UNKNOWN, Dataset
from lapenna.data.image_folder import image_dataset_from_directory
from lapenna.data.splitting import split
from lapenna.data.structure import ArraySpec, element_kind, unpack_x_y_sample_weight
from lapenna.data.workers import AUTOTUNE
from lapenna.utils.errors import DatasetFormatError

__all__ = [
    "Dataset",
    "ArraySpec",
    "AUTOTUNE",
    "INFINITE",
    "UNKNOWN",
    "split",
    "as_dataset",
    "split_validation",
    "image_dataset_from_directory",
    "unpack_x_y_sample_weight",
    "element_kind",
    "augment",
    "DatasetFormatError",
]
