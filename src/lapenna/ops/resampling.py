"""Resampling and borders of channels-last images: upsampling, resizing, padding, cropping.

Resizing is linear algebra: each spatial axis is multiplied by an interpolation matrix
(``backend.interpolation_matrix``), so its gradient is the product with the transpose.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor
from lapenna.autograd import functions as F
from lapenna.ops._nn_args import as_tuple, check_input, pairs


def _upsample_nearest(x, size):
    """Repeat every spatial entry ``size[i]`` times along axis ``i`` (a broadcast view)."""
    n, *spatial, c = x.shape
    spread = [n]
    for m in spatial:
        spread += [m, 1]
    target = [n]
    for m, s in zip(spatial, size):
        target += [m, s]
    out = x.reshape(*spread, c).broadcast_to((*target, c))
    return out.reshape(n, *(m * s for m, s in zip(spatial, size)), c)


def upsample1d(x, size=2):
    """Repeat each step of ``(batch, steps, channels)`` ``size`` times (Keras' UpSampling1D)."""
    x = check_input(x, 1, "upsample1d")
    return _upsample_nearest(x, as_tuple(size, 1, "size", "upsample1d"))


def upsample2d(x, size=(2, 2), interpolation="nearest"):
    """Enlarge ``(batch, height, width, channels)`` by integer factors.

    Args:
        x: the input.
        size: an int or ``(factor_h, factor_w)``.
        interpolation: "nearest" (repeat) or "bilinear" (half-pixel centers, like
            PyTorch's ``align_corners=False``).

    Returns:
        ``(batch, height * factor_h, width * factor_w, channels)``.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([[1.0, 2.0]]).reshape(1, 1, 2, 1)
        >>> upsample2d(x, (1, 2)).reshape(-1).tolist()
        [1.0, 1.0, 2.0, 2.0]
    """
    op = "upsample2d"
    x = check_input(x, 2, op)
    factors = as_tuple(size, 2, "size", op)
    if interpolation == "nearest":
        return _upsample_nearest(x, factors)
    return _resize(x, tuple(m * f for m, f in zip(x.shape[1:3], factors)), interpolation, op)


def upsample3d(x, size=(2, 2, 2)):
    """Repeat every voxel of ``(batch, depth, height, width, channels)`` (nearest)."""
    x = check_input(x, 3, "upsample3d")
    return _upsample_nearest(x, as_tuple(size, 3, "size", "upsample3d"))


def resize2d(x, size, interpolation="bilinear"):
    """Resample ``(batch, height, width, channels)`` to ``size = (H, W)``.

    Args:
        x: the input.
        size: the output ``(H, W)``.
        interpolation: "bilinear" or "nearest", with half-pixel centers (TensorFlow's
            ``tf.image.resize`` without antialiasing; PyTorch's ``align_corners=False``
            and "nearest-exact").

    Returns:
        ``(batch, H, W, channels)``: ``R_h @ x @ R_w^T`` per sample and channel.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([[0.0, 4.0]]).reshape(1, 1, 2, 1)
        >>> resize2d(x, (1, 4)).reshape(-1).tolist()
        [0.0, 1.0, 3.0, 4.0]
    """
    op = "resize2d"
    x = check_input(x, 2, op)
    return _resize(x, as_tuple(size, 2, "size", op), interpolation, op)


def _resize(x, size, interpolation, op):
    if interpolation not in B.resample.METHODS:
        raise ValueError(
            f'{op}: interpolation must be "nearest" or "bilinear", got {interpolation!r}'
        )
    n, height, width, c = x.shape
    (out_h, out_w) = size
    if out_h != height:
        rows = Tensor(B.interpolation_matrix(height, out_h, interpolation, x.dtype))
        x = F.matmul(rows, x.reshape(n, height, width * c)).reshape(n, out_h, width, c)
    if out_w != width:
        cols = Tensor(B.interpolation_matrix(width, out_w, interpolation, x.dtype))
        x = F.matmul(cols, x.reshape(n * out_h, width, c)).reshape(n, out_h, out_w, c)
    return x


def _zero_pad(op, rank, x, padding):
    x = check_input(x, rank, op)
    width = pairs(padding, rank, "padding", op)
    return F.Pad.apply(x, pad_width=((0, 0), *width, (0, 0)), value=0)


def zero_pad1d(x, padding=1):
    """Zeros before and after the steps: ``padding`` an int or ``(before, after)``."""
    padding = (padding,) if isinstance(padding, tuple) and len(padding) == 2 else padding
    return _zero_pad("zero_pad1d", 1, x, padding)


def zero_pad2d(x, padding=1):
    """Zero rows and columns around ``(batch, height, width, channels)``.

    Args:
        x: the input.
        padding: an int, ``(h, w)`` (symmetric) or ``((top, bottom), (left, right))``.

    Example:
        >>> import lapenna as lp
        >>> zero_pad2d(lp.tensor(lp.backend.xp.ones((1, 2, 2, 1))), ((1, 0), (0, 2))).shape
        (1, 3, 4, 1)
    """
    return _zero_pad("zero_pad2d", 2, x, padding)


def zero_pad3d(x, padding=1):
    """Zeros around the three spatial axes, padding as in :func:`zero_pad2d`."""
    return _zero_pad("zero_pad3d", 3, x, padding)


def _crop(op, rank, x, cropping):
    x = check_input(x, rank, op)
    width = pairs(cropping, rank, "cropping", op)
    size = x.shape[1:-1]
    if any(b + a >= n for (b, a), n in zip(width, size)):
        raise ValueError(
            f"{op}: cropping {width} removes everything from spatial size {tuple(size)}"
        )
    return x[(slice(None), *(slice(b, n - a) for (b, a), n in zip(width, size)))]


def crop1d(x, cropping=1):
    """Remove steps at both ends: ``cropping`` an int or ``(before, after)``."""
    cropping = (cropping,) if isinstance(cropping, tuple) and len(cropping) == 2 else cropping
    return _crop("crop1d", 1, x, cropping)


def crop2d(x, cropping):
    """Remove rows and columns at the borders of ``(batch, height, width, channels)``.

    Args:
        x: the input.
        cropping: an int, ``(h, w)`` (symmetric) or ``((top, bottom), (left, right))``.

    Example:
        >>> import lapenna as lp
        >>> crop2d(lp.tensor(lp.backend.xp.ones((1, 5, 6, 1))), ((1, 2), (0, 1))).shape
        (1, 2, 5, 1)
    """
    return _crop("crop2d", 2, x, cropping)


def crop3d(x, cropping):
    """Remove borders of the three spatial axes, cropping as in :func:`crop2d`."""
    return _crop("crop3d", 3, x, cropping)
