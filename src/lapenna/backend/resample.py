"""Interpolation as linear algebra: resizing one axis is a matrix product.

Resizing an axis from ``n`` to ``m`` samples multiplies it by an ``(m, n)`` matrix whose
row ``i`` holds the weights output ``i`` gives to the inputs; a 2-D resize is one such
product per axis, and its gradient is the product with the transposes.
"""

from lapenna.backend.device import xp

METHODS = ("nearest", "bilinear")


def interpolation_matrix(in_size, out_size, method, dtype):
    """The ``(out_size, in_size)`` matrix that resamples one axis with half-pixel centers.

    Output sample ``i`` sits at input coordinate ``(i + 0.5) * in_size / out_size - 0.5``
    (PyTorch's ``align_corners=False``, TensorFlow's ``half_pixel_centers=True``).
    "bilinear" mixes the two nearest inputs (clamped at the borders); "nearest" takes the
    input whose cell contains the output's center.
    """
    scale = in_size / out_size
    rows = xp.arange(out_size)
    matrix = xp.zeros((out_size, in_size), dtype=dtype)
    if method == "nearest":
        source = xp.minimum(xp.floor((rows + 0.5) * scale).astype(xp.int64), in_size - 1)
        matrix[rows, source] = 1
        return matrix
    center = xp.maximum((rows + 0.5) * scale - 0.5, 0.0)
    low = xp.minimum(xp.floor(center).astype(xp.int64), in_size - 1)
    high = xp.minimum(low + 1, in_size - 1)
    frac = (center - low).astype(dtype)
    xp.add.at(matrix, (rows, low), 1 - frac)
    xp.add.at(matrix, (rows, high), frac)
    return matrix
