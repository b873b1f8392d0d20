"""Image augmentation layers: RandomFlip, RandomCrop, RandomContrast, RandomBrightness, and
their base (the affine ones, RandomRotation, RandomZoom, RandomTranslation, are in
``affine_augmentation``).

They transform images only when called with ``training=True`` (``fit`` passes it) and are
the identity at inference, except RandomCrop, which then returns the central window resized
to its output size. Each image of a batch gets its own random transformation. The array work
is done by ``lapenna.data.augment`` on the input's values under ``no_grad``: augmentation sits
at a model's input, where no gradient is needed, so the output of a training call is a new
Tensor with no history. With ``seed=n`` a layer owns its generator; otherwise it draws from
the global one, so ``lapenna.set_seed`` makes augmentation reproducible.
"""

import math

from lapenna.autograd import Tensor, no_grad
from lapenna.backend import to_host
from lapenna.data import augment
from lapenna.layers.base import register_layer
from lapenna.layers.image_preprocessing import check_image_shape, check_size, resize_images
from lapenna.layers.input_spec import InputSpec
from lapenna.layers.seeding import SeededLayer

_FILL_MODES = ("reflect", "constant", "wrap", "nearest")
_INTERPOLATIONS = ("bilinear", "nearest")


def _finite(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_factor(layer, name, value, low=None, high=None):
    """Check a factor: ``f >= 0`` (meaning ``(-f, f)``) or a pair ``(lower, upper)``, within
    ``[low, high]`` when given; return it as floats, in the form given."""
    if isinstance(value, list | tuple):
        ok = len(value) == 2 and all(map(_finite, value)) and value[0] <= value[1]
        bounds = value
    else:
        ok = _finite(value) and value >= 0
        bounds = (-value, value) if ok else None
    if ok and low is not None:
        ok = low <= bounds[0] and bounds[1] <= high
    if not ok:
        where = "" if low is None else f" within [{low}, {high}]"
        raise ValueError(
            f"{layer} expects {name} as a number >= 0 or a pair (lower, upper){where}, "
            f"got {value!r}"
        )
    return [float(v) for v in value] if isinstance(value, list | tuple) else float(value)


def check_warp_arguments(layer, fill_mode, interpolation, fill_value):
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"{layer} expects fill_mode in {_FILL_MODES}, got {fill_mode!r}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"{layer} expects interpolation in {_INTERPOLATIONS}, got {interpolation!r}"
        )
    if isinstance(fill_value, bool) or not isinstance(fill_value, int | float):
        raise ValueError(f"{layer} expects fill_value as a number, got {fill_value!r}")
    return fill_mode, interpolation, float(fill_value)


def check_value_range(layer, value_range):
    ok = isinstance(value_range, list | tuple) and len(value_range) == 2
    ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value_range)
    if not ok or not value_range[0] < value_range[1]:
        raise ValueError(
            f"{layer} expects value_range (low, high) with low < high, got {value_range!r}"
        )
    return [float(value_range[0]), float(value_range[1])]


class BaseImageAugmentationLayer(SeededLayer):
    """The base of augmentation layers: it checks the image rank, casts to the float dtype,
    and in training returns ``self._augment(images_array, generator)`` as a new Tensor.

    A subclass writes ``_augment`` (arrays in, arrays out) and, if it is not the identity at
    inference, ``_inference``.
    """

    def build(self, input_shape):
        check_image_shape(self, input_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))

    def call(self, inputs, training=None):
        inputs = inputs.astype(self.dtype)
        if not training:
            return self._inference(inputs)
        with no_grad():
            # the augmentation functions work on host arrays (a round trip on a GPU)
            return Tensor(self._augment(to_host(inputs.data), self.generator()))

    def _inference(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


@register_layer
class RandomFlip(BaseImageAugmentationLayer):
    """Flip each image left-right and/or up-down, each with probability 1/2, in training.

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (up-down) or
            ``"horizontal_and_vertical"``.
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.RandomFlip("horizontal", seed=0)
        >>> x = lp.tensor([[[[1.0], [2.0]]]])  # one 1x2 image
        >>> layer(x).numpy().ravel().tolist()  # inference: unchanged
        [1.0, 2.0]
        >>> layer(x, training=True).numpy().ravel().tolist() in ([1.0, 2.0], [2.0, 1.0])
        True
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip expects mode in {self._MODES}, got {mode!r}")
        self.mode = mode

    def _augment(self, images, generator):
        return augment.random_flip(images, mode=self.mode, generator=generator)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@register_layer
class RandomCrop(BaseImageAugmentationLayer):
    """Cut a random ``height`` x ``width`` window out of each image in training.

    At inference, and in training for images smaller than the target, the output is the
    largest central window with the target aspect ratio, resized to ``height`` x ``width``
    (Keras's behaviour): a plain central crop when nothing needs resizing.

    Args:
        height, width: the output size.
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, rows, cols, channels)`` or one image ``(rows, cols, channels)``.

    Output shape:
        ``(batch, height, width, channels)`` (or without the batch axis).

    Example:
        >>> import lapenna as lp
        >>> x = lp.ops.reshape(lp.tensor([1.0] * 32), (2, 4, 4, 1))
        >>> lp.layers.RandomCrop(3, 3, seed=0)(x, training=True).shape
        (2, 3, 3, 1)
    """

    def __init__(self, height, width, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.height, self.width = check_size("RandomCrop", height, width)

    def call(self, inputs, training=None):
        rows, cols = inputs.shape[-3], inputs.shape[-2]
        if rows < self.height or cols < self.width:
            training = False  # too small to crop: resize instead, as at inference
        return super().call(inputs, training=training)

    def _inference(self, inputs):
        return resize_images(inputs, self.height, self.width, crop_to_aspect=True)

    def _augment(self, images, generator):
        return augment.random_crop(images, self.height, self.width, generator=generator)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-3], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


@register_layer
class RandomContrast(BaseImageAugmentationLayer):
    """Scale each image's deviation from its per-channel mean by a random factor in
    training: ``(x - mean) * c + mean``, clipped to ``value_range``.

    Args:
        factor: ``f`` draws ``c`` in ``[1 - f, 1 + f]``; ``(lower, upper)`` in
            ``[1 - lower, 1 + upper]``; ``lower`` at most 1 so that ``c`` stays >= 0.
        value_range: the range the pixels live in, ``(0, 255)`` or ``(0, 1)`` usually.
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.RandomContrast(0.5, seed=0)
        >>> layer(lp.ops.reshape(lp.tensor([1.0] * 32), (2, 4, 4, 1)), training=True).shape
        (2, 4, 4, 1)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        pair = list(factor) if isinstance(factor, list | tuple) else [factor, factor]
        if (
            len(pair) != 2
            or not all(map(_finite, pair))
            or not (0 <= pair[0] <= 1 and pair[1] >= 0)
        ):
            raise ValueError(
                "RandomContrast expects factor f in [0, 1] or (lower, upper) with "
                f"0 <= lower <= 1 and upper >= 0, got {factor!r}"
            )
        self.factor = (
            [float(f) for f in factor] if isinstance(factor, list | tuple) else float(factor)
        )
        self.value_range = check_value_range("RandomContrast", value_range)

    def _augment(self, images, generator):
        return augment.random_contrast(images, self.factor, self.value_range, generator=generator)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


@register_layer
class RandomBrightness(BaseImageAugmentationLayer):
    """Add a random offset to each image in training, clipped to ``value_range``.

    Args:
        factor: ``f`` or ``(lower, upper)`` within [-1, 1], fractions of the value range:
            the offset is drawn in ``[lower, upper] * (high - low)``; ``f`` means ``(-f, f)``.
        value_range: the range the pixels live in, ``(0, 255)`` or ``(0, 1)`` usually.
        seed: an int giving the layer its own generator; default the global one.

    Input shape:
        ``(batch, height, width, channels)`` or one image ``(height, width, channels)``.

    Output shape:
        the input's.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.RandomBrightness(0.2, value_range=(0, 1), seed=0)
        >>> layer(lp.ops.reshape(lp.tensor([0.5] * 32), (2, 4, 4, 1)), training=True).shape
        (2, 4, 4, 1)
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = check_factor("RandomBrightness", "factor", factor, low=-1.0, high=1.0)
        self.value_range = check_value_range("RandomBrightness", value_range)

    def _augment(self, images, generator):
        return augment.random_brightness(images, self.factor, self.value_range, generator=generator)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}
