"""Array-level augmentation: random flips, crops, rotations, zooms, translations,
brightness, contrast, cutout, and per-channel normalization.

Each function takes one image (H, W, C) or a batch (N, H, W, C) of numpy arrays, draws one
random transformation per image from ``generator`` (a numpy Generator or int seed; the
``augment`` stream of ``lapenna.set_seed`` by default, apart from dropout's, so a resumed
run can replay a pipeline's draws) and returns an array of the input's shape and
dtype. They work inside ``Dataset.map`` and back the preprocessing layers.

Example:
    >>> import numpy as np
    >>> from lapenna.data import augment
    >>> batch = np.zeros((8, 32, 32, 3), np.uint8)
    >>> augment.random_crop(augment.random_flip(batch), 32, 32, padding=4).shape
    (8, 32, 32, 3)
"""

from lapenna.data.augment.affine import affine_sample
from lapenna.data.augment.color import cutout, normalize, random_brightness, random_contrast
from lapenna.data.augment.geometric import (
    random_crop,
    random_flip,
    random_rotation,
    random_translation,
    random_zoom,
)

__all__ = [
    "random_flip",
    "random_crop",
    "random_rotation",
    "random_zoom",
    "random_translation",
    "random_brightness",
    "random_contrast",
    "cutout",
    "normalize",
    "affine_sample",
]
