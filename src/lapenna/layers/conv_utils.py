"""Argument checks and shape arithmetic shared by convolution, pooling and reshaping layers.

Every checker raises ``ValueError`` naming the layer class, the argument and the bad value,
so ``Conv2D(8, kernel_size=0)`` fails at construction with a message a student can act on.
"""

import math


def normalize_tuple(value, rank, argument, owner, allow_zero=False):
    """``3`` or ``(3, 3)`` -> ``(3, 3)`` for ``rank`` 2; every entry a positive int.

    Args:
        value: an int or a sequence of ``rank`` ints.
        rank: the number of spatial axes.
        argument: the argument's name, for the error message (``"kernel_size"``).
        owner: the layer class name, for the error message.
        allow_zero: accept zeros (paddings, croppings).
    """
    least = 0 if allow_zero else 1
    kind = "non-negative" if allow_zero else "positive"
    items = (value,) * rank if _is_int(value) else value
    if (
        not isinstance(items, list | tuple)
        or len(items) != rank
        or not all(_is_int(v) and v >= least for v in items)
    ):
        raise ValueError(
            f"{owner} expects {argument} to be a {kind} int or a tuple of {rank} {kind} ints,"
            f" got {value!r}"
        )
    return tuple(int(v) for v in items)


def normalize_padding(value, owner, allowed=("valid", "same")):
    """Lower-case ``padding`` and check it is one of ``allowed``."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"{owner} expects padding to be one of {list(allowed)}, got {value!r}")
    return padding


def normalize_pairs(value, rank, argument, owner):
    """Paddings or croppings per spatial axis as ``((before, after), ...)``.

    Accepts an int (the same on both sides of every axis), a tuple of ``rank`` ints
    (symmetric per axis) or a tuple of ``rank`` pairs; for ``rank`` 1 also one pair.
    """
    if _is_int(value):
        value = (value,) * rank
    if (
        rank == 1
        and isinstance(value, list | tuple)
        and len(value) == 2
        and all(map(_is_int, value))
    ):
        value = (tuple(value),)
    error = ValueError(
        f"{owner} expects {argument} to be a non-negative int, a tuple of {rank} ints or a "
        f"tuple of {rank} (before, after) pairs, got {value!r}"
    )
    if not isinstance(value, list | tuple) or len(value) != rank:
        raise error
    pairs = []
    for item in value:
        pair = (item, item) if _is_int(item) else item
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise error
        if not all(_is_int(v) and v >= 0 for v in pair):
            raise error
        pairs.append((int(pair[0]), int(pair[1])))
    return tuple(pairs)


def positive_int(value, argument, owner):
    """Check a positive int argument (``filters``, ``depth_multiplier``...)."""
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{owner} expects {argument} to be a positive int, got {value!r}")
    return int(value)


def conv_output_length(length, kernel, stride, padding, dilation=1):
    """Output length of a convolution or pooling window along one axis (TF rules).

    ``"valid"``: ``floor((length - dilated_kernel) / stride) + 1``; ``"same"`` and
    ``"causal"``: ``ceil(length / stride)``. ``None`` (unknown) stays ``None``.
    """
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    span = (kernel - 1) * dilation + 1
    return max((length - span) // stride + 1, 0)


def conv_transpose_output_length(length, kernel, stride, padding, output_padding, dilation=1):
    """Output length of a transposed convolution along one axis, as Keras computes it.

    Without ``output_padding``: ``(length - 1) * stride + max(kernel, stride)`` for
    ``"valid"`` and ``length * stride`` for ``"same"``. With it: ``(length - 1) * stride +
    kernel + output_padding`` (``"valid"``), ``(length - 1) * stride + kernel % 2 +
    output_padding`` (``"same"``); ``kernel`` is the dilated kernel span.
    """
    if length is None:
        return None
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (length - 1) * stride + span + extra
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + span % 2 + output_padding


def check_output_size(layer, input_shape, spatial):
    """Raise when a window does not fit: some output axis would be empty."""
    if any(n is not None and n < 1 for n in spatial):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' expects inputs at least as large as its "
            f"window, got shape {tuple(input_shape)} (output size {tuple(spatial)})"
        )
    return tuple(spatial)


def spatial_size(shape):
    """The number of positions in the spatial part of a batch-1 channels-last shape."""
    return math.prod(d for d in shape[1:-1] if d)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
