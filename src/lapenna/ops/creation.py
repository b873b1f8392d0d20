"""Keras's array-creation and conversion ops: ``ones``, ``zeros``, ``full``, ``eye``,
``convert_to_tensor``, ``cast``, ``one_hot`` and ``argsort``.

Created arrays are constants (no gradient flows to them); ``cast`` between float dtypes
passes the gradient through. Float results default to floatx.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor, as_tensor


def _shape(shape, op):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in shape):
        raise ValueError(f"{op} expects a shape of non-negative ints, got {shape!r}")
    return shape


def zeros(shape, dtype=None):
    """A Tensor of zeros (floatx unless ``dtype`` says)."""
    return Tensor(B.xp.zeros(_shape(shape, "zeros"), dtype=B.to_dtype(dtype)))


def ones(shape, dtype=None):
    """A Tensor of ones (floatx unless ``dtype`` says)."""
    return Tensor(B.xp.ones(_shape(shape, "ones"), dtype=B.to_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    """A Tensor of ``fill_value`` (floatx unless ``dtype`` says)."""
    return Tensor(B.xp.full(_shape(shape, "full"), fill_value, dtype=B.to_dtype(dtype)))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's and numpy's names
    """The ``N x M`` identity (ones on diagonal ``k``).

    Example:
        >>> eye(2).numpy().tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    return Tensor(B.xp.eye(N, M, k, dtype=B.to_dtype(dtype)))


def convert_to_tensor(x, dtype=None):
    """``x`` as a Tensor (a Tensor stays itself unless ``dtype`` changes it)."""
    if isinstance(x, Tensor):
        return x if dtype is None else x.astype(dtype)
    array = B.as_array(x)
    if dtype is not None:
        array = array.astype(B.to_dtype(dtype))
    elif array.dtype.kind == "f":
        array = array.astype(B.to_dtype(None))
    return Tensor(array)


def cast(x, dtype):
    """``x`` converted to ``dtype``; float to float keeps the gradient.

    Example:
        >>> cast([1.7, -2.2], "int32").numpy().tolist()
        [1, -2]
    """
    return as_tensor(x).astype(dtype)


def argsort(x, axis=-1):
    """The indices that sort ``x`` along ``axis`` (ascending, stable), an int Tensor."""
    data = x.data if isinstance(x, Tensor) else B.as_array(x)
    return Tensor(B.xp.argsort(data, axis=axis, kind="stable"))


def one_hot(x, num_classes, axis=-1, dtype=None):
    """Integer class indices to one-hot vectors on a new ``axis`` (floatx by default);
    indices outside ``[0, num_classes)`` give rows of zeros (as Keras on TensorFlow).

    Example:
        >>> one_hot([0, 2], 3).numpy().tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    data = x.data if isinstance(x, Tensor) else B.as_array(x)
    if data.dtype.kind not in "iu":
        raise TypeError(f"one_hot expects integer class indices, got dtype {data.dtype}")
    classes = B.xp.arange(num_classes).reshape((num_classes,) + (1,) * data.ndim)
    out = (classes == data).astype(B.to_dtype(dtype))
    return Tensor(B.xp.moveaxis(out, 0, axis if axis >= 0 else data.ndim + 1 + axis))
