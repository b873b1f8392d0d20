"""tf.keras 2's ``layers.experimental.preprocessing``: the same classes as ``layers``.

>>> from lapenna import layers
>>> layers.experimental.preprocessing.Rescaling is layers.Rescaling
True
"""

from lapenna.layers.affine_augmentation import RandomRotation, RandomTranslation, RandomZoom
from lapenna.layers.image_augmentation import (
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
)
from lapenna.layers.image_preprocessing import CenterCrop, Resizing
from lapenna.layers.preprocessing import Normalization, Rescaling

__all__ = [
    "CenterCrop",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Resizing",
]
