"""Shared pieces of the augmentation functions: batch handling, dtypes and factor ranges."""

from lapenna.backend import host_np as np
from lapenna.backend import make_generator


def as_batch(images, where):
    """Return ``(batch, was_single)``: an (N, H, W, C) array and whether one image came in."""
    array = np.asarray(images)
    if array.ndim == 3:
        return array[None], True
    if array.ndim == 4:
        return array, False
    raise ValueError(
        f"{where} expects one image (height, width, channels) or a batch (batch, height, "
        f"width, channels), got shape {array.shape}"
    )


def work_dtype(dtype):
    """Float images are processed in their own dtype, integer images in float32."""
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


def restore(batch, single, dtype):
    """Cast back to the input dtype (rounding and clipping integers) and drop a batch axis."""
    if not np.issubdtype(dtype, np.floating) and batch.dtype != dtype:
        info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
        batch = np.rint(batch)
        if info is not None:
            batch = np.clip(batch, info.min, info.max)
        batch = batch.astype(dtype)
    elif batch.dtype != dtype:
        batch = batch.astype(dtype)
    return batch[0] if single else batch


def factor_range(factor, where, name="factor", minimum=None):
    """``f`` -> ``(-f, f)``; ``(low, high)`` stays; both checked for order and ``minimum``."""
    if isinstance(factor, list | tuple):
        if len(factor) != 2:
            raise ValueError(f"{where} expects {name} as a number or (low, high), got {factor!r}")
        low, high = float(factor[0]), float(factor[1])
    else:
        if float(factor) < 0:
            raise ValueError(f"{where} expects a non-negative {name}, got {factor!r}")
        low, high = -float(factor), float(factor)
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"{where} expects {name} with low <= high, got {factor!r}")
    if minimum is not None and low <= minimum:
        raise ValueError(f"{where} expects {name} values above {minimum}, got {factor!r}")
    return low, high


def uniform(generator, low, high, count, dtype):
    """``count`` draws in [low, high), cast to ``dtype`` (default: the ``augment`` stream)."""
    return make_generator(generator, "augment").uniform(low, high, size=count).astype(dtype)


def pair(value, where, name):
    """An int or a pair of ints -> (rows, cols)."""
    values = tuple(value) if isinstance(value, list | tuple) else (value, value)
    if len(values) != 2 or not all(isinstance(v, int | np.integer) and v >= 0 for v in values):
        raise ValueError(f"{where} expects {name} as a non-negative int or a pair, got {value!r}")
    return int(values[0]), int(values[1])
