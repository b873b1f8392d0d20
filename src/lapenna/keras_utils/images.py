"""Single images as Keras's ``keras.utils`` reads and writes them: ``load_img``,
``img_to_array``, ``array_to_img``, ``save_img`` (Pillow images, channels-last arrays)."""

import io
import os

from lapenna.backend import floatx
from lapenna.backend import host_np as np

_COLOR_MODES = {"grayscale": ("L", "I;16", "I"), "rgb": ("RGB",), "rgba": ("RGBA",)}
_RESAMPLE = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil():
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError("keras.utils image functions need Pillow: pip install pillow") from err
    return Image


def _channels_last(data_format, op):
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{op}: lapenna images are channels_last (NHWC) only, got data_format="
            f"{data_format!r}; transpose the array with x.transpose(1, 2, 0)"
        )


def load_img(
    path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False
):
    """Open an image file as a Pillow image, converted to ``color_mode`` and resized to
    ``target_size=(height, width)`` (with ``keep_aspect_ratio``, the centre crop of that
    aspect ratio is resized, as in Keras)."""
    image_module = _pil()
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            f"load_img color_mode must be one of {list(_COLOR_MODES)}, got {color_mode!r}"
        )
    if isinstance(path, io.BytesIO):
        image = image_module.open(path)
    elif isinstance(path, str | bytes | os.PathLike):
        with open(path, "rb") as stream:
            image = image_module.open(io.BytesIO(stream.read()))
    else:
        raise TypeError(f"load_img expects a path or io.BytesIO, got {type(path).__name__}")
    if image.mode not in _COLOR_MODES[color_mode]:
        image = image.convert(_COLOR_MODES[color_mode][0])
    if target_size is None:
        return image
    if interpolation not in _RESAMPLE:
        raise ValueError(
            f"load_img interpolation must be one of {_RESAMPLE}, got {interpolation!r}"
        )
    target_width, target_height = target_size[1], target_size[0]
    if image.size == (target_width, target_height):
        return image
    box = None
    if keep_aspect_ratio:
        width, height = image.size
        crop_height = min(height, (width * target_height) // target_width)
        crop_width = min(width, (height * target_width) // target_height)
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        box = (left, top, left + crop_width, top + crop_height)
    resample = getattr(image_module.Resampling, interpolation.upper())
    return image.resize((target_width, target_height), resample=resample, box=box)


def img_to_array(img, data_format=None, dtype=None):
    """A Pillow image (or array) as a ``(height, width, channels)`` array of ``dtype``
    (floatx by default)."""
    _channels_last(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or floatx())
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array expects a 2-D or 3-D image, got shape {x.shape}")
    return x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A ``(height, width, 1, 3 or 4)`` array as a Pillow image; ``scale`` stretches the
    values to 0..255 first (min to 0, max to 255), as Keras does."""
    _channels_last(data_format, "array_to_img")
    image_module = _pil()
    x = np.array(x, dtype=dtype or floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img expects one image of rank 3 (h, w, c), got shape {x.shape}")
    if scale:
        x = x - x.min()
        if x.max() != 0:
            x /= x.max()
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if x.max() > 255:
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img expects 1, 3 or 4 channels, got {channels}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write the array ``x`` as an image file (format from ``file_format`` or the suffix)."""
    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and (
        file_format == "jpeg" or str(path).lower().endswith((".jpg", ".jpeg"))
    ):
        image = image.convert("RGB")
    image.save(path, format=file_format, **kwargs)
