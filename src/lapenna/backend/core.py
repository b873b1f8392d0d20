"""The array namespace, the default float type and conversions that never upcast."""

import numbers

import numpy as host_np  # exported by backend for host-only code

from lapenna.backend.device import xp

# ``xp`` is the array namespace of the device: every array operation outside this room
# goes through it, so that it can become cupy. ``host_np`` is numpy itself, for arrays
# that stay on the host whatever the device (file formats, the data pipeline, host-side
# metrics); a module outside backend that imports it says so by that import.

_FLOAT_TYPES = ("float16", "float32", "float64")
_floatx = "float32"


def floatx():
    """Return the default float type as a string, ``"float32"`` unless changed."""
    return _floatx


def set_floatx(dtype):
    """Set the default float type used for new tensors, weights and data.

    Args:
        dtype: ``"float16"``, ``"float32"`` or ``"float64"`` (a numpy dtype works too).

    Raises:
        ValueError: for any other type.
    """
    global _floatx
    if dtype is None:  # numpy reads None as float64: refuse it rather than guess
        raise ValueError(f"set_floatx expects one of {_FLOAT_TYPES}, got None")
    name = xp.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _FLOAT_TYPES:
        raise ValueError(f"set_floatx expects one of {_FLOAT_TYPES}, got {dtype!r}")
    _floatx = name


def to_dtype(dtype):
    """Return a numpy dtype for a name or dtype; ``None`` means floatx."""
    return xp.dtype(_floatx if dtype is None else dtype)


def is_float_dtype(dtype):
    return xp.dtype(dtype).kind == "f"


def as_array(data, dtype=None):
    """Convert ``data`` to an array.

    Python floats (and lists of them) become floatx, Python ints become int64, bools stay
    bool; numpy arrays keep their dtype unless ``dtype`` is given.
    """
    if dtype is not None:
        return xp.asarray(data, dtype=to_dtype(dtype))
    if isinstance(data, xp.ndarray):
        return data
    if isinstance(data, host_np.generic):
        return xp.asarray(data)
    try:
        arr = xp.asarray(data)
    except ValueError as err:
        if "inhomogeneous" not in str(err) and "sequence" not in str(err):
            raise
        raise ValueError(
            "expected a rectangular array of numbers, got a ragged nested list (its rows "
            "differ in length)"
        ) from None
    if arr.dtype == xp.float64:
        arr = arr.astype(_floatx, copy=False)
    return arr


def cast_like(value, dtype):
    """Convert a Python number, numpy scalar or array to ``dtype`` when ``dtype`` is float.

    This is what keeps ``float32_tensor * 2.0`` (or ``* np.float64(2)``) float32.
    Integer and bool targets leave float values alone so that ``int_tensor * 0.5`` is float.
    """
    if isinstance(value, bool | numbers.Integral) or is_float_dtype(dtype):
        if isinstance(value, xp.ndarray) and not is_float_dtype(value.dtype):
            return value.astype(dtype) if is_float_dtype(dtype) else value
        return xp.asarray(value, dtype=dtype) if is_float_dtype(dtype) else xp.asarray(value)
    return as_array(value)
