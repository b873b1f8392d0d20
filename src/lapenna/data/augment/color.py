"""Random photometric augmentation (brightness, contrast), cutout, and normalization.

Like the geometric functions, each takes one image (H, W, C) or a batch (N, H, W, C) and
returns the input's shape; random ones draw per image from ``generator`` (the seeded
``augment`` stream by default).
"""

from lapenna.backend import floatx, make_generator
from lapenna.backend import host_np as np
from lapenna.data.augment._common import as_batch, factor_range, pair, restore, uniform, work_dtype


def _value_range(value_range, where):
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(
            f"{where} expects value_range (low, high) with low < high, got {value_range!r}"
        )
    return low, high


def random_brightness(images, factor, value_range=(0, 255), generator=None):
    """Add a random offset to each image, clipped to ``value_range``.

    Args:
        images: (H, W, C) or (N, H, W, C).
        factor: ``f`` or ``(low, high)`` within [-1, 1], a fraction of the value range: the
            offset is drawn in ``[low, high] * (range_high - range_low)``.
        value_range: the range the pixels live in, ``(0, 255)`` or ``(0, 1)`` usually.
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.
    """
    low, high = factor_range(factor, "random_brightness")
    if low < -1 or high > 1:
        raise ValueError(f"random_brightness expects factor within [-1, 1], got {factor!r}")
    range_low, range_high = _value_range(value_range, "random_brightness")
    batch, single = as_batch(images, "random_brightness")
    dtype = work_dtype(batch.dtype)
    delta = uniform(generator, low, high, len(batch), dtype) * dtype.type(range_high - range_low)
    out = batch.astype(dtype) + delta[:, None, None, None]
    out = np.clip(out, dtype.type(range_low), dtype.type(range_high))
    return restore(out, single, batch.dtype)


def random_contrast(images, factor, value_range=(0, 255), generator=None):
    """Scale each image's deviation from its per-channel mean by a random factor.

    Args:
        images: (H, W, C) or (N, H, W, C).
        factor: ``f`` draws the contrast factor in ``[1 - f, 1 + f]``; ``(lower, upper)`` in
            ``[1 - lower, 1 + upper]`` (Keras's convention). Must keep the factor >= 0.
        value_range: the output is clipped to it.
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.
    """
    if isinstance(factor, list | tuple):
        lower, upper = (float(f) for f in factor)
    else:
        lower = upper = float(factor)
    if not (0 <= lower <= 1 and upper >= 0):
        raise ValueError(
            f"random_contrast expects factors with 0 <= lower <= 1, upper >= 0, got {factor!r}"
        )
    range_low, range_high = _value_range(value_range, "random_contrast")
    batch, single = as_batch(images, "random_contrast")
    dtype = work_dtype(batch.dtype)
    scale = uniform(generator, 1 - lower, 1 + upper, len(batch), dtype)[:, None, None, None]
    values = batch.astype(dtype)
    mean = values.mean(axis=(1, 2), keepdims=True)
    out = np.clip((values - mean) * scale + mean, dtype.type(range_low), dtype.type(range_high))
    return restore(out, single, batch.dtype)


def cutout(images, size, fill_value=0, generator=None):
    """Blank out one random rectangle per image (cut at the image border).

    DeVries & Taylor, "Improved Regularization of Convolutional Neural Networks with
    Cutout", 2017. The rectangle's center is uniform over the image, so near the border only
    part of it is inside.

    Args:
        images: (H, W, C) or (N, H, W, C).
        size: side of the rectangle, an int or ``(rows, cols)``.
        fill_value: the value written into the rectangle.
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.
    """
    rows, cols = pair(size, "cutout", "size")
    batch, single = as_batch(images, "cutout")
    n, h, w, _ = batch.shape
    rng = make_generator(generator, "augment")
    tops = rng.integers(0, h, size=n) - rows // 2
    lefts = rng.integers(0, w, size=n) - cols // 2
    row_ids, col_ids = np.arange(h)[None, :, None], np.arange(w)[None, None, :]
    inside = (
        (row_ids >= tops[:, None, None])
        & (row_ids < (tops + rows)[:, None, None])
        & (col_ids >= lefts[:, None, None])
        & (col_ids < (lefts + cols)[:, None, None])
    )
    out = np.where(inside[..., None], batch.dtype.type(fill_value), batch)
    return out[0] if single else out


def normalize(images, mean, std, dtype=None):
    """Return ``(images - mean) / std`` per channel, as floats.

    Args:
        images: any array whose last axis is the channels (one image or a batch).
        mean, std: a number or one value per channel.
        dtype: the output float type; defaults to the input's float type, or floatx for
            integer images.

    Raises:
        ValueError: if ``std`` has a zero or the per-channel values do not match the channels.

    Example:
        >>> normalize(np.full((2, 2, 3), 255, np.uint8), 127.5, 127.5)[0, 0]
        array([1., 1., 1.], dtype=float32)
    """
    array = np.asarray(images)
    if dtype is None:
        dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else floatx()
    dtype = np.dtype(dtype)
    mean, std = np.asarray(mean, dtype=dtype), np.asarray(std, dtype=dtype)
    for name, value in (("mean", mean), ("std", std)):
        if value.ndim > 1 or (value.ndim == 1 and value.shape[0] not in (1, array.shape[-1])):
            raise ValueError(
                f"normalize expects {name} as a number or one value per channel "
                f"({array.shape[-1]}), got shape {value.shape}"
            )
    if np.any(std == 0):
        raise ValueError(f"normalize expects a non-zero std, got {std}")
    return (array.astype(dtype) - mean) / std
