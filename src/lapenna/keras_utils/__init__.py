"""``keras.utils``: the Keras names a notebook reaches as ``keras.utils.X`` after
``import lapenna as keras``.

Two packages, two jobs. ``lapenna.utils`` (level 0) is pure-Python internals that every room
may import: the registry, ``tree``, ``Configurable``, names, the version. This room
(level 6) holds the public Keras-style helpers, which need arrays, datasets, the data
pipeline and figures, so they cannot live at level 0. The root package hands this room's
names to ``lapenna.utils.bind_keras_names``, so ``lp.utils.X`` and ``from lapenna.utils
import X`` find them beside the internals. Inside the library, ``from lapenna.utils import
...`` names only the internals.

Example:
    >>> import lapenna as keras
    >>> keras.utils.to_categorical([0, 2], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    >>> from lapenna.utils import pad_sequences
    >>> pad_sequences([[1, 2], [3]]).tolist()
    [[1, 2], [0, 3]]
"""

import random as _python_random

from lapenna.backend import host_np as _np
from lapenna.backend import set_seed as _set_seed
from lapenna.data.image_folder import image_dataset_from_directory
from lapenna.keras_utils.arrays import normalize, pad_sequences, to_categorical
from lapenna.keras_utils.files import get_file
from lapenna.keras_utils.images import array_to_img, img_to_array, load_img, save_img
from lapenna.keras_utils.plot_model import plot_model
from lapenna.utils import (
    Registry,
    deserialize,
    get_registry,
    register,
    reset_names,
    serialize,
    to_snake_case,
    unique_name,
)


def set_random_seed(seed):
    """Keras's ``keras.utils.set_random_seed``: seed every lapenna random stream (weights,
    shuffling, augmentation, dropout, ``keras.random``) with ``lapenna.set_seed``, and, as
    Keras does, Python's ``random`` and numpy's global generator."""
    _set_seed(seed)
    _python_random.seed(seed)
    _np.random.seed(seed)


__all__ = [
    "to_categorical",
    "normalize",
    "pad_sequences",
    "get_file",
    "plot_model",
    "image_dataset_from_directory",
    "load_img",
    "img_to_array",
    "array_to_img",
    "save_img",
    "set_random_seed",
    "Registry",
    "register",
    "get_registry",
    "serialize",
    "deserialize",
    "unique_name",
    "reset_names",
    "to_snake_case",
]
