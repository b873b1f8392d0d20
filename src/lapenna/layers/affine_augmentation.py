"""Affine image augmentation layers: RandomRotation, RandomZoom, RandomTranslation.

Like the other augmentation layers (see ``image_augmentation``), they act only in training,
draw one transformation per image, and do their array work with ``lapenna.data.augment``
under ``no_grad``. Output pixels are sampled from the input through the inverse affine map;
points that fall outside the image are filled according to ``fill_mode``.
"""

from lapenna.data import augment
from lapenna.layers.base import register_layer
from lapenna.layers.image_augmentation import (
    BaseImageAugmentationLayer,
    check_factor,
    check_warp_arguments,
)


class _RandomWarp(BaseImageAugmentationLayer):
    """Shared arguments of the affine augmentations (rotation, zoom, translation)."""

    def __init__(self, fill_mode, interpolation, fill_value, seed, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.fill_mode, self.interpolation, self.fill_value = check_warp_arguments(
            type(self).__name__, fill_mode, interpolation, fill_value
        )

    def _warp_kwargs(self, generator):
        return {
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
            "generator": generator,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


@register_layer
class RandomRotation(_RandomWarp):
    """Rotate each image about its center by a random angle in training.

    Args:
        factor: a fraction of a full turn: ``f`` draws angles in ``[-f, f] * 2 pi``,
            ``(lower, upper)`` in ``[lower, upper] * 2 pi``; positive angles turn
            counter-clockwise.
        fill_mode: how points outside the image are filled: ``"reflect"`` (mirrored about
            the edge), ``"constant"`` (``fill_value``), ``"wrap"`` or ``"nearest"``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        seed: an int giving the layer its own generator; default the global one.
        fill_value: the value outside the image for ``fill_mode="constant"``.

    Input shape:
        ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.RandomRotation(0.1, seed=0)
        >>> layer(lp.ops.reshape(lp.tensor([1.0] * 32), (2, 4, 4, 1)), training=True).shape
        (2, 4, 4, 1)
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, fill_value, seed, **kwargs)
        self.factor = check_factor("RandomRotation", "factor", factor)

    def _augment(self, images, generator):
        return augment.random_rotation(images, self.factor, **self._warp_kwargs(generator))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_layer
class RandomZoom(_RandomWarp):
    """Zoom each image in or out about its center by a random amount in training.

    Args:
        height_factor: ``f`` or ``(lower, upper)``, fractions of the height, each > -1:
            positive values zoom out (the content shrinks), negative values zoom in;
            ``f`` means ``(-f, f)``.
        width_factor: the same for the width; ``None`` keeps the aspect ratio (one zoom
            for both axes).
        fill_mode, interpolation, fill_value: as in :class:`RandomRotation`.
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.RandomZoom((-0.2, 0.2), seed=0)
        >>> layer(lp.ops.reshape(lp.tensor([1.0] * 32), (2, 4, 4, 1)), training=True).shape
        (2, 4, 4, 1)
    """

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, fill_value, seed, **kwargs)
        self.height_factor = _zoom_factor("height_factor", height_factor)
        self.width_factor = None
        if width_factor is not None:
            self.width_factor = _zoom_factor("width_factor", width_factor)

    def _augment(self, images, generator):
        return augment.random_zoom(
            images, self.height_factor, self.width_factor, **self._warp_kwargs(generator)
        )

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


def _zoom_factor(name, value):
    factor = check_factor("RandomZoom", name, value)
    lower = factor[0] if isinstance(factor, list) else -factor
    if lower <= -1:
        raise ValueError(f"RandomZoom expects {name} values above -1, got {value!r}")
    return factor


@register_layer
class RandomTranslation(_RandomWarp):
    """Shift each image by a random fraction of its height and width in training.

    Args:
        height_factor: ``f`` or ``(lower, upper)``, fractions of the height; ``f`` means
            ``(-f, f)``; positive shifts move the content down.
        width_factor: the same for the width; positive shifts move the content right.
        fill_mode, interpolation, fill_value: as in :class:`RandomRotation`.
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.RandomTranslation(0.1, 0.1, seed=0)
        >>> layer(lp.ops.reshape(lp.tensor([1.0] * 32), (2, 4, 4, 1)), training=True).shape
        (2, 4, 4, 1)
    """

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, fill_value, seed, **kwargs)
        self.height_factor = check_factor("RandomTranslation", "height_factor", height_factor)
        self.width_factor = check_factor("RandomTranslation", "width_factor", width_factor)

    def _augment(self, images, generator):
        return augment.random_translation(
            images, self.height_factor, self.width_factor, **self._warp_kwargs(generator)
        )

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }
