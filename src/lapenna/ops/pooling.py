"""Pooling on channels-last inputs: max, average, global, and max unpooling.

Windows of ``pool_size`` move by ``strides`` (default: the pool size). With "same"
padding the output has ``ceil(n / stride)`` positions (TensorFlow's rule, the odd padded
cell at the end); padded cells never win a max and are not counted in an average.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor, as_tensor
from lapenna.autograd import functions as F
from lapenna.ops._nn_args import as_tuple, check_input, check_output, resolve_padding


def _geometry(op, rank, x, pool_size, strides, padding):
    pool = as_tuple(pool_size, rank, "pool_size", op)
    strides = pool if strides is None else as_tuple(strides, rank, "strides", op)
    size = x.shape[1:-1]
    pads = resolve_padding(padding, size, pool, strides, op, explicit=False)
    check_output(size, B.pool_output_size(size, pool, strides, pads), op, f"a pool of {pool}")
    return {"pool": pool, "strides": strides, "pads": pads}


def _max_pool(op, rank, x, pool_size, strides, padding):
    x = check_input(x, rank, op)
    return F.MaxPool.apply(x, **_geometry(op, rank, x, pool_size, strides, padding))


def _avg_pool(op, rank, x, pool_size, strides, padding):
    x = check_input(x, rank, op)
    return F.AvgPool.apply(x, **_geometry(op, rank, x, pool_size, strides, padding))


def max_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """Max over windows of ``(batch, width, channels)``; see :func:`max_pool2d`."""
    return _max_pool("max_pool1d", 1, x, pool_size, strides, padding)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max over windows of ``(batch, height, width, channels)``.

    Args:
        x: the input.
        pool_size: an int or a pair.
        strides: an int or a pair; ``None`` means ``pool_size``.
        padding: "valid" or "same".

    Returns:
        ``(batch, out_height, out_width, channels)``. The gradient goes to the first
        maximum of each window; NaNs propagate.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([[1.0, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
        >>> max_pool2d(x.reshape(1, 4, 4, 1)).reshape(2, 2).tolist()
        [[5.0, 6.0], [7.0, 8.0]]
    """
    return _max_pool("max_pool2d", 2, x, pool_size, strides, padding)


def max_pool3d(x, pool_size=2, strides=None, padding="valid"):
    """Max over windows of ``(batch, depth, height, width, channels)``."""
    return _max_pool("max_pool3d", 3, x, pool_size, strides, padding)


def avg_pool1d(x, pool_size=2, strides=None, padding="valid"):
    """Mean over windows of ``(batch, width, channels)``; see :func:`avg_pool2d`."""
    return _avg_pool("avg_pool1d", 1, x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Mean over windows of ``(batch, height, width, channels)``.

    With "same" padding each window averages only its real cells (Keras' rule).

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(lp.backend.xp.arange(9.0).reshape(1, 3, 3, 1))
        >>> avg_pool2d(x, 2, padding="same").reshape(2, 2).tolist()
        [[2.0, 3.5], [6.5, 8.0]]
    """
    return _avg_pool("avg_pool2d", 2, x, pool_size, strides, padding)


def avg_pool3d(x, pool_size=2, strides=None, padding="valid"):
    """Mean over windows of ``(batch, depth, height, width, channels)``."""
    return _avg_pool("avg_pool3d", 3, x, pool_size, strides, padding)


def _global(op, rank, x, keepdims, reduce):
    x = check_input(x, rank, op)
    axes = tuple(range(1, rank + 1))
    return x.mean(axis=axes, keepdims=keepdims) if reduce == "mean" else x.max(axes, keepdims)


def global_avg_pool1d(x, keepdims=False):
    """Mean over the width: ``(batch, channels)`` (or ``(batch, 1, channels)``)."""
    return _global("global_avg_pool1d", 1, x, keepdims, "mean")


def global_avg_pool2d(x, keepdims=False):
    """Mean over height and width: ``(batch, channels)`` (or ``(batch, 1, 1, channels)``).

    Example:
        >>> import lapenna as lp
        >>> global_avg_pool2d(lp.tensor(lp.backend.xp.ones((2, 4, 4, 3)))).shape
        (2, 3)
    """
    return _global("global_avg_pool2d", 2, x, keepdims, "mean")


def global_avg_pool3d(x, keepdims=False):
    """Mean over depth, height and width."""
    return _global("global_avg_pool3d", 3, x, keepdims, "mean")


def global_max_pool1d(x, keepdims=False):
    """Max over the width; tied maxima share the gradient."""
    return _global("global_max_pool1d", 1, x, keepdims, "max")


def global_max_pool2d(x, keepdims=False):
    """Max over height and width; tied maxima share the gradient."""
    return _global("global_max_pool2d", 2, x, keepdims, "max")


def global_max_pool3d(x, keepdims=False):
    """Max over depth, height and width; tied maxima share the gradient."""
    return _global("global_max_pool3d", 3, x, keepdims, "max")


def max_pool2d_with_argmax(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling that also returns where each maximum came from.

    Returns:
        ``(values, indices)``: values as :func:`max_pool2d`; indices an int64 Tensor of
        the same shape (no gradient) holding flat positions within one sample,
        ``(y * W + x) * C + c`` (TensorFlow's ``include_batch_in_index=False``).

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([[1.0, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
        >>> _, idx = max_pool2d_with_argmax(x.reshape(1, 4, 4, 1))
        >>> idx.reshape(2, 2).tolist()
        [[5, 2], [12, 15]]
    """
    op = "max_pool2d_with_argmax"
    x = check_input(x, 2, op)
    geometry = _geometry(op, 2, x, pool_size, strides, padding)
    _, argmax = B.max_pool(x.data, **geometry)
    values = F.MaxPoolGather.apply(x, argmax=argmax, in_shape=x.shape, **geometry)
    return values, Tensor(B.argmax_positions(argmax, x.shape, **geometry))


def max_unpool2d(x, indices, output_size):
    """Scatter pooled values back to the positions :func:`max_pool2d_with_argmax` found.

    Args:
        x: ``(batch, h, w, channels)`` values (differentiable).
        indices: int array or Tensor of ``x``'s shape, flat positions
            ``(y * W + x) * C + c`` within one sample of the output.
        output_size: ``(H, W)`` of the output.

    Returns:
        ``(batch, H, W, channels)``, zero except at the indices (repeated indices add).

    Example:
        >>> import lapenna as lp
        >>> v = lp.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
        >>> idx = lp.tensor([[5, 2], [12, 15]]).reshape(1, 2, 2, 1)
        >>> max_unpool2d(v, idx, (4, 4)).reshape(4, 4).tolist()[0]
        [0.0, 0.0, 2.0, 0.0]
    """
    op = "max_unpool2d"
    x = check_input(x, 2, op)
    height, width = as_tuple(output_size, 2, "output_size", op)
    indices = B.xp.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if indices.shape != x.shape or indices.dtype.kind not in "iu":
        raise ValueError(
            f"{op}: indices must be integers of the values' shape {x.shape}, got "
            f"{indices.dtype} of shape {indices.shape}"
        )
    size = height * width * x.shape[-1]
    if indices.size and (indices.min() < 0 or indices.max() >= size):
        raise ValueError(
            f"{op}: indices must lie in [0, {size}) for output_size {(height, width)} with "
            f"{x.shape[-1]} channels, got values in [{indices.min()}, {indices.max()}]"
        )
    n = x.shape[0]
    rows = B.xp.arange(n).reshape(n, 1)
    flat = as_tensor(x).reshape(n, -1)
    index = (rows, indices.reshape(n, -1).astype(B.xp.int64))
    out = F.IndexAdd.apply(flat, index=index, shape=(n, size))
    return out.reshape(n, height, width, x.shape[-1])
