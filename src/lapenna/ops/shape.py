"""Shape manipulation with numpy names."""

from lapenna.autograd import Tensor, as_tensor
from lapenna.autograd import functions as F
from lapenna.backend import xp


def reshape(x, shape):
    return as_tensor(x).reshape(tuple(shape) if not isinstance(shape, int) else (shape,))


def transpose(x, axes=None):
    return as_tensor(x).transpose(axes or ())


def swapaxes(x, axis1, axis2):
    return as_tensor(x).swapaxes(axis1, axis2)


def broadcast_to(x, shape):
    return as_tensor(x).broadcast_to(shape)


def expand_dims(x, axis):
    return as_tensor(x).expand_dims(axis)


def squeeze(x, axis=None):
    return as_tensor(x).squeeze(axis)


def flatten(x):
    return as_tensor(x).reshape(-1)


def _like_first(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    return [as_tensor(t, like) for t in tensors]


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = _like_first(tensors, "concatenate")
    ndim = tensors[0].ndim
    axis = axis % ndim if ndim else 0
    for t in tensors[1:]:
        if t.ndim != ndim or any(
            a != b for i, (a, b) in enumerate(zip(t.shape, tensors[0].shape)) if i != axis
        ):
            raise ValueError(
                f"concatenate: shapes {tensors[0].shape} and {t.shape} differ outside axis {axis}"
            )
    return F.Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join tensors along a new axis."""
    tensors = _like_first(tensors, "stack")
    return concatenate([t.expand_dims(axis) for t in tensors], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Split into equal sections or at indices (numpy semantics); returns a list."""
    x = as_tensor(x)
    size = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if size % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of size {size} does not divide into "
                f"{indices_or_sections} equal sections"
            )
        step = size // indices_or_sections
        bounds = list(range(0, size + 1, step))
    else:
        bounds = [0, *indices_or_sections, size]
    prefix = (slice(None),) * (axis % x.ndim)
    return [x[prefix + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:])]


def pad(x, pad_width, constant_values=0):
    """Constant padding; ``pad_width`` as in numpy (an int, a pair, or a pair per axis)."""
    x = as_tensor(x)
    width = xp.broadcast_to(xp.asarray(pad_width, dtype=int), (x.ndim, 2))
    if (width < 0).any():
        raise ValueError(f"pad: widths must be non-negative, got {pad_width!r}")
    return F.Pad.apply(x, pad_width=tuple(map(tuple, width.tolist())), value=constant_values)


def take(x, indices, axis=None):
    """Gather entries at integer ``indices`` along ``axis`` (flattened when None)."""
    x = as_tensor(x)
    indices = xp.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, got dtype {indices.dtype}")
    if axis is None:
        return x.reshape(-1)[indices]
    axis = axis % x.ndim
    bound = x.shape[axis]
    if indices.size and (indices.max() >= bound or indices.min() < -bound):
        raise IndexError(f"take: index out of range for axis {axis} of size {bound}")
    return x[(slice(None),) * axis + (indices,)]


def gather(x, indices, axis=0):
    """TensorFlow's name for ``take`` along an axis."""
    return take(x, indices, axis=axis)


def take_along_axis(x, indices, axis):
    """numpy's take_along_axis: pick one entry per position along ``axis``."""
    x = as_tensor(x)
    indices = xp.asarray(indices.data if isinstance(indices, Tensor) else indices)
    axis = axis % x.ndim
    grids = xp.ogrid[tuple(slice(0, d) for d in indices.shape)]
    index = tuple(indices if i == axis else grids[i] for i in range(x.ndim))
    return x[index]
