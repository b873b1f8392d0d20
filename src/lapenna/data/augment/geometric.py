"""Random geometric augmentation: flips, crops, rotations, zooms and translations.

Every function takes one image (H, W, C) or a batch (N, H, W, C), draws one random
transformation per image from ``generator`` (the seeded ``augment`` stream by default, so
``lapenna.set_seed`` makes them reproducible), and returns an array of the input's shape and
dtype. Factor conventions follow the Keras preprocessing layers.
"""

import math

from lapenna.backend import host_np as np
from lapenna.backend import make_generator
from lapenna.data.augment._common import (
    as_batch,
    factor_range,
    pair,
    restore,
    uniform,
    work_dtype,
)
from lapenna.data.augment.affine import affine_sample, centered, check_modes

_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def random_flip(images, mode="horizontal", generator=None):
    """Flip each image left-right and/or up-down with probability 1/2.

    Args:
        images: (H, W, C) or (N, H, W, C).
        mode: ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"``.
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.

    Example:
        >>> random_flip(np.zeros((4, 8, 8, 3)), generator=0).shape
        (4, 8, 8, 3)
    """
    if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
        raise ValueError(f"random_flip expects a mode of horizontal/vertical, got {mode!r}")
    batch, single = as_batch(images, "random_flip")
    rng = make_generator(generator, "augment")
    out = batch.copy()
    if mode in ("horizontal", "horizontal_and_vertical"):
        chosen = rng.random(len(out)) < 0.5
        out[chosen] = out[chosen][:, :, ::-1]
    if mode in ("vertical", "horizontal_and_vertical"):
        chosen = rng.random(len(out)) < 0.5
        out[chosen] = out[chosen][:, ::-1]
    return out[0] if single else out


def random_crop(
    images, height, width, padding=0, padding_mode="constant", fill_value=0, generator=None
):
    """Pad each image, then cut a random ``height`` x ``width`` window out of it.

    With ``padding=4`` on 32x32 images and a 32x32 crop this is the standard CIFAR
    augmentation (shifts of up to 4 pixels).

    Args:
        images: (H, W, C) or (N, H, W, C).
        height, width: size of the crop.
        padding: pixels added on every side (an int or ``(rows, cols)``).
        padding_mode: ``"constant"`` (``fill_value``), ``"edge"``, ``"reflect"`` (edge not
            repeated) or ``"symmetric"`` (edge repeated).
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.

    Raises:
        ValueError: if the padded image is smaller than the crop.
    """
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"random_crop expects padding_mode in {_PAD_MODES}, got {padding_mode!r}")
    batch, single = as_batch(images, "random_crop")
    pad_rows, pad_cols = pair(padding, "random_crop", "padding")
    height, width = pair((height, width), "random_crop", "height and width")
    if pad_rows or pad_cols:
        widths = ((0, 0), (pad_rows, pad_rows), (pad_cols, pad_cols), (0, 0))
        extra = {"constant_values": fill_value} if padding_mode == "constant" else {}
        batch = np.pad(batch, widths, mode=padding_mode, **extra)
    n, h, w, _ = batch.shape
    if height > h or width > w or height < 1 or width < 1:
        raise ValueError(
            f"random_crop: cannot cut {height}x{width} out of padded images of {h}x{w}"
        )
    rng = make_generator(generator, "augment")
    tops = rng.integers(0, h - height + 1, size=n)
    lefts = rng.integers(0, w - width + 1, size=n)
    rows = (tops[:, None] + np.arange(height))[:, :, None]
    cols = (lefts[:, None] + np.arange(width))[:, None, :]
    out = batch[np.arange(n)[:, None, None], rows, cols]
    return out[0] if single else out


def _warp(images, where, make_matrices, fill_mode, interpolation, fill_value):
    check_modes(fill_mode, interpolation, where)
    batch, single = as_batch(images, where)
    dtype = work_dtype(batch.dtype)
    n, h, w, _ = batch.shape
    matrices = make_matrices(n, h, w, dtype)
    out = affine_sample(
        batch.astype(dtype, copy=False), matrices, interpolation, fill_mode, fill_value
    )
    return restore(out, single, batch.dtype)


def random_rotation(
    images, factor, fill_mode="reflect", interpolation="bilinear", fill_value=0.0, generator=None
):
    """Rotate each image about its center by a random angle.

    Args:
        images: (H, W, C) or (N, H, W, C).
        factor: a fraction of a full turn (2*pi): ``f`` draws angles in ``[-f, f] * 2*pi``,
            ``(low, high)`` in ``[low, high] * 2*pi``. Positive angles turn counter-clockwise.
        fill_mode: ``"reflect"``, ``"constant"``, ``"wrap"`` or ``"nearest"`` (see
            :mod:`lapenna.data.augment.affine`).
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_value: the value outside the image for ``fill_mode="constant"``.
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.

    Example:
        >>> random_rotation(np.zeros((8, 8, 1)), (0.25, 0.25)).shape  # a quarter turn
        (8, 8, 1)
    """
    low, high = factor_range(factor, "random_rotation")

    def matrices(n, h, w, dtype):
        angles = uniform(generator, low * 2 * math.pi, high * 2 * math.pi, n, dtype)
        cos, sin = np.cos(angles), np.sin(angles)
        linear = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], axis=1)
        zeros = np.zeros(n, dtype=dtype)
        return centered(linear, zeros, zeros, h, w)

    return _warp(images, "random_rotation", matrices, fill_mode, interpolation, fill_value)


def random_zoom(
    images,
    height_factor,
    width_factor=None,
    fill_mode="reflect",
    interpolation="bilinear",
    fill_value=0.0,
    generator=None,
):
    """Zoom each image in or out about its center by a random amount.

    Args:
        images: (H, W, C) or (N, H, W, C).
        height_factor: ``f`` or ``(low, high)``, fractions of the height; positive values
            zoom out (the content shrinks), negative values zoom in. Values must stay above -1.
        width_factor: the same for the width; ``None`` keeps the aspect ratio (one zoom for
            both axes).
        fill_mode, interpolation, fill_value: as in :func:`random_rotation`.
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.
    """
    h_low, h_high = factor_range(height_factor, "random_zoom", "height_factor", minimum=-1.0)
    w_range = None
    if width_factor is not None:
        w_range = factor_range(width_factor, "random_zoom", "width_factor", minimum=-1.0)

    def matrices(n, h, w, dtype):
        rng = make_generator(generator, "augment")
        zoom_y = 1 + uniform(rng, h_low, h_high, n, dtype)
        zoom_x = zoom_y if w_range is None else 1 + uniform(rng, *w_range, n, dtype)
        zeros = np.zeros(n, dtype=dtype)
        linear = np.stack([np.stack([zoom_x, zeros], -1), np.stack([zeros, zoom_y], -1)], axis=1)
        return centered(linear, zeros, zeros, h, w)

    return _warp(images, "random_zoom", matrices, fill_mode, interpolation, fill_value)


def random_translation(
    images,
    height_factor,
    width_factor,
    fill_mode="reflect",
    interpolation="bilinear",
    fill_value=0.0,
    generator=None,
):
    """Shift each image by a random fraction of its height and width.

    Args:
        images: (H, W, C) or (N, H, W, C).
        height_factor: ``f`` or ``(low, high)`` as fractions of the height; positive values
            shift the content down.
        width_factor: the same for the width; positive values shift right.
        fill_mode, interpolation, fill_value: as in :func:`random_rotation`.
        generator: a numpy Generator or int seed; ``None`` uses the seeded ``augment`` stream.
    """
    h_low, h_high = factor_range(height_factor, "random_translation", "height_factor")
    w_low, w_high = factor_range(width_factor, "random_translation", "width_factor")

    def matrices(n, h, w, dtype):
        rng = make_generator(generator, "augment")
        shift_y = uniform(rng, h_low, h_high, n, dtype) * dtype.type(h)
        shift_x = uniform(rng, w_low, w_high, n, dtype) * dtype.type(w)
        eye = np.broadcast_to(np.eye(2, dtype=dtype), (n, 2, 2))
        return centered(eye, shift_x, shift_y, h, w)

    return _warp(images, "random_translation", matrices, fill_mode, interpolation, fill_value)
