"""Argument checks shared by the neural-network ops: tuples, padding, input ranks.

Every error names the op, what it expected and what it got, and is raised before any
array work starts.
"""

import numbers

from lapenna import backend as B
from lapenna.autograd import as_tensor

_SPATIAL = {1: "width", 2: "height, width", 3: "depth, height, width"}


def _is_int(value):
    if type(value) is int:  # the common case, without the abstract-class check
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_tuple(value, rank, name, op, minimum=1):
    """``value`` (an int or a sequence of ``rank`` ints, each >= ``minimum``) as a tuple."""
    if _is_int(value):
        values = (int(value),) * rank
    elif isinstance(value, tuple | list) and len(value) == rank and all(map(_is_int, value)):
        values = tuple(int(v) for v in value)
    else:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {rank} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return values


def pairs(value, rank, name, op):
    """An int, ``rank`` ints (symmetric) or ``rank`` (before, after) pairs, all >= 0."""
    given = value
    if _is_int(value):
        value = (value,) * rank
    ok = isinstance(value, tuple | list) and len(value) == rank
    out = []
    for item in value if ok else ():
        if _is_int(item):
            out.append((int(item), int(item)))
        elif isinstance(item, tuple | list) and len(item) == 2 and all(map(_is_int, item)):
            out.append((int(item[0]), int(item[1])))
        else:
            ok = False
    if not ok:
        raise ValueError(
            f"{op}: {name} must be an int, a tuple of {rank} ints or a tuple of {rank} "
            f"(before, after) pairs, got {given!r}"
        )
    if any(b < 0 or a < 0 for b, a in out):
        raise ValueError(f"{op}: {name} must be non-negative, got {given!r}")
    return tuple(out)


def same_pads(size, window, strides):
    """TensorFlow's "same": output ceil(n / s); the odd padded cell goes at the end."""
    pads = []
    for n, k, s in zip(size, window, strides):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def resolve_padding(padding, size, window, strides, op, explicit=True):
    """Explicit ``(before, after)`` pads for "valid", "same" or (if allowed) numbers."""
    rank = len(size)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * rank
        if mode == "same":
            return same_pads(size, window, strides)
    elif explicit:
        return pairs(padding, rank, "padding", op)
    choices = '"valid", "same", an int or a tuple' if explicit else '"valid" or "same"'
    raise ValueError(f"{op}: padding must be {choices}, got {padding!r}")


def check_input(x, rank, op, name="input"):
    """``x`` as a float Tensor of rank ``rank + 2`` (batch, *spatial, channels)."""
    x = as_tensor(x)
    if x.ndim != rank + 2:
        raise ValueError(
            f"{op} expects a {rank + 2}-D {name} (batch, {_SPATIAL[rank]}, channels), "
            f"got shape {x.shape}"
        )
    if not B.is_float_dtype(x.dtype):
        raise TypeError(f"{op} expects a floating-point {name}, got dtype {x.dtype}")
    return x


def normalize_axes(axis, ndim, op):
    """``axis`` (an int or a sequence, negatives allowed) as a sorted tuple of axes."""
    axes = (axis,) if _is_int(axis) else tuple(axis) if isinstance(axis, tuple | list) else None
    if axes is None or not all(map(_is_int, axes)) or not axes:
        raise ValueError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"{op}: axis {axis!r} is out of range for an input of rank {ndim}")
    out = sorted(a % ndim for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    return tuple(out)


def check_param(value, like, shape, name, op):
    """An optional parameter (gamma, bias...) as a Tensor of ``like``'s dtype and ``shape``."""
    if value is None:
        return None
    value = as_tensor(value, like)
    if value.shape != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {value.shape}")
    if value.dtype != like.dtype:
        raise TypeError(f"{op}: {name} has dtype {value.dtype} but the input has {like.dtype}")
    return value


def check_output(size, out_size, op, what):
    if any(m < 1 for m in out_size):
        raise ValueError(
            f"{op}: the input of spatial size {tuple(size)} is too small for {what}: "
            f"the output would have size {tuple(out_size)}"
        )
