"""``keras.ops.image``'s spelling of the image ops lapenna has: ``resize``."""

from lapenna.ops.resampling import resize2d


def resize(images, size, interpolation="bilinear", antialias=False, data_format=None):
    """Resize one image ``(height, width, channels)`` or a batch of them to ``size``.

    Args:
        images: a 3-D or 4-D channels-last array or Tensor.
        size: the output ``(height, width)``.
        interpolation: "bilinear" or "nearest" (half-pixel centers, as Keras).
        antialias: must be False (lapenna has no antialiased resize).
        data_format: None or "channels_last".

    Example:
        >>> import numpy as np
        >>> resize(np.zeros((4, 6, 3), "float32"), (2, 3)).shape
        (2, 3, 3)
    """
    if antialias:
        raise ValueError("image.resize: antialias=True is not supported; use antialias=False")
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"image.resize computes channels-last only, got data_format={data_format!r}"
        )
    ndim = len(images.shape)
    if ndim not in (3, 4):
        raise ValueError(
            f"image.resize expects one image (height, width, channels) or a batch of them, "
            f"got shape {tuple(images.shape)}"
        )
    if ndim == 4:
        return resize2d(images, size, interpolation)
    return resize2d(images[None], size, interpolation)[0]
