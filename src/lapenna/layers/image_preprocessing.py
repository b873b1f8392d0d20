"""Image preprocessing layers: Resizing and CenterCrop, and the image helpers they share with
the augmentation layers.

Images are channels-last, ``(batch, height, width, channels)`` or one image ``(height, width,
channels)``; integer images (``uint8``) are cast to the layer's float dtype first. Both layers
are differentiable (slicing and ``ops.resize2d``).
"""

from lapenna import ops
from lapenna.layers.base import Layer, register_layer

_INTERPOLATIONS = ("bilinear", "nearest")


def check_image_shape(layer, shape):
    """Check that ``shape`` is (height, width, channels) or (batch, height, width, channels)."""
    if len(shape) not in (3, 4):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' expects images (height, width, channels) "
            f"or (batch, height, width, channels), got shape {tuple(shape)}"
        )


def crop_to_aspect_ratio(images, height, width):
    """The largest centered window of ``images`` with the aspect ratio ``height / width``."""
    rows, cols = images.shape[-3], images.shape[-2]
    crop_rows = max(min(rows, int(cols * height / width)), 1)
    crop_cols = max(min(cols, int(rows * width / height)), 1)
    top, left = (rows - crop_rows) // 2, (cols - crop_cols) // 2
    return images[..., top : top + crop_rows, left : left + crop_cols, :]


def resize_images(images, height, width, interpolation="bilinear", crop_to_aspect=False):
    """Resize (H, W, C) or (N, H, W, C) images to ``height`` x ``width`` with
    ``ops.resize2d``, after a centered crop to the target aspect ratio if asked."""
    if crop_to_aspect:
        images = crop_to_aspect_ratio(images, height, width)
    if images.shape[-3:-1] == (height, width):
        return images
    if images.ndim == 3:
        batch = ops.expand_dims(images, 0)
        return ops.squeeze(ops.resize2d(batch, (height, width), interpolation=interpolation), 0)
    return ops.resize2d(images, (height, width), interpolation=interpolation)


def check_size(layer, height, width):
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{layer} expects {name} as a positive int, got {value!r}")
    return height, width


@register_layer
class Resizing(Layer):
    """Resize images to ``height`` x ``width``.

    Args:
        height, width: the output size.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        crop_to_aspect_ratio: first cut the largest centered window with the target aspect
            ratio, so the content is not stretched.

    Input shape:
        ``(batch, rows, cols, channels)`` or one image ``(rows, cols, channels)``.

    Output shape:
        ``(batch, height, width, channels)`` (or without the batch axis).

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Resizing(4, 6)(lp.ops.reshape(lp.tensor([1.0] * 12), (1, 2, 2, 3))).shape
        (1, 4, 6, 3)
    """

    def __init__(
        self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False, **kwargs
    ):
        super().__init__(**kwargs)
        self.height, self.width = check_size("Resizing", height, width)
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"Resizing expects interpolation in {_INTERPOLATIONS}, got {interpolation!r}"
            )
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)

    def build(self, input_shape):
        check_image_shape(self, input_shape)

    def call(self, inputs):
        return resize_images(
            inputs.astype(self.dtype),
            self.height,
            self.width,
            self.interpolation,
            self.crop_to_aspect_ratio,
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-3], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
        }


@register_layer
class CenterCrop(Layer):
    """Cut the central ``height`` x ``width`` window out of images.

    An image smaller than the target on either side is instead cropped to the target aspect
    ratio and resized (bilinear), as Keras does, so the output always has the target size.
    With an odd difference the extra row or column is cut at the bottom or right.

    Args:
        height, width: the output size.

    Input shape:
        ``(batch, rows, cols, channels)`` or one image ``(rows, cols, channels)``.

    Output shape:
        ``(batch, height, width, channels)`` (or without the batch axis).

    Example:
        >>> import lapenna as lp
        >>> x = lp.ops.reshape(lp.tensor([float(i) for i in range(16)]), (1, 4, 4, 1))
        >>> lp.layers.CenterCrop(2, 2)(x).numpy()[0, :, :, 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height, width, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width = check_size("CenterCrop", height, width)

    def build(self, input_shape):
        check_image_shape(self, input_shape)

    def call(self, inputs):
        return center_crop(inputs.astype(self.dtype), self.height, self.width)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-3], self.height, self.width, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


def center_crop(images, height, width):
    """The central ``height`` x ``width`` window, or an aspect-preserving resize when the
    images are smaller than that."""
    rows, cols = images.shape[-3], images.shape[-2]
    if rows < height or cols < width:
        return resize_images(images, height, width, "bilinear", crop_to_aspect=True)
    top, left = (rows - height) // 2, (cols - width) // 2
    return images[..., top : top + height, left : left + width, :]
