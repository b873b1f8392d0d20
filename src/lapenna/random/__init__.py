"""``keras.random``: random tensors with Keras 3's signatures, drawn from lapenna's
seeded generator.

``seed`` is what Keras takes:

- ``None``: the global stream (``lapenna.set_seed`` / ``keras.utils.set_random_seed``
  make it reproducible; each call draws new numbers);
- an int: a generator made from that int, so the same call gives the same numbers every
  time (as in Keras);
- a :class:`SeedGenerator`: its own stream, advanced by every draw.

Example:
    >>> import lapenna as keras
    >>> x = keras.random.normal((2, 3), seed=1)
    >>> x.shape, str(x.dtype)
    ((2, 3), 'float32')
"""

import numbers

from lapenna import ops
from lapenna.autograd import Tensor
from lapenna.backend import floatx, make_generator, to_dtype
from lapenna.backend import xp as _xp


class SeedGenerator:
    """A stream of seeds, as ``keras.random.SeedGenerator(seed)``: pass it as ``seed=`` and
    every draw advances it, so successive draws differ but the sequence repeats for the same
    ``seed``."""

    def __init__(self, seed=None, **kwargs):
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"SeedGenerator expects a non-negative int or None, got {seed!r}")
        self.seed = seed
        self.generator = make_generator(seed if seed is not None else None)
        if seed is None:
            # no seed: one draw from the global stream, so set_seed still makes it repeat
            self.generator = _xp.random.default_rng(self.generator.integers(2**63))


def _generator(seed, op):
    if seed is None:
        return make_generator(None)
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return make_generator(int(seed))
    raise ValueError(
        f"keras.random.{op}: seed must be None, a non-negative int or a SeedGenerator, got {seed!r}"
    )


def _shape(shape, op):
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"keras.random.{op}: shape must be a tuple of ints, got {shape!r}"
        ) from None
    if any(d < 0 for d in shape):
        raise ValueError(f"keras.random.{op}: shape must not be negative, got {shape}")
    return shape


def _float_dtype(dtype, op):
    dtype = to_dtype(dtype or floatx())
    if dtype.kind != "f":
        raise ValueError(f"keras.random.{op}: dtype must be a float type, got {dtype}")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution ``N(mean, stddev**2)``, a Tensor of ``shape``."""
    shape, dtype = _shape(shape, "normal"), _float_dtype(dtype, "normal")
    draw = _generator(seed, "normal").standard_normal(shape)
    return Tensor((draw * stddev + mean).astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples redrawn until they lie within two ``stddev`` of ``mean``."""
    shape, dtype = _shape(shape, "truncated_normal"), _float_dtype(dtype, "truncated_normal")
    generator = _generator(seed, "truncated_normal")
    draw = generator.standard_normal(shape)
    outside = _xp.abs(draw) > 2
    while outside.any():
        draw[outside] = generator.standard_normal(int(outside.sum()))
        outside = _xp.abs(draw) > 2
    return Tensor((draw * stddev + mean).astype(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of the uniform distribution on ``[minval, maxval)``, a Tensor of ``shape``."""
    shape, dtype = _shape(shape, "uniform"), _float_dtype(dtype, "uniform")
    if not minval < maxval:
        raise ValueError(
            f"keras.random.uniform: minval must be below maxval, got {minval} and {maxval}"
        )
    draw = _generator(seed, "uniform").uniform(minval, maxval, shape)
    return Tensor(draw.astype(dtype))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from ``[minval, maxval)``, a Tensor of ``shape``."""
    shape, dtype = _shape(shape, "randint"), to_dtype(dtype)
    if dtype.kind not in "iu":
        raise ValueError(f"keras.random.randint: dtype must be an integer type, got {dtype}")
    if not minval < maxval:
        raise ValueError(
            f"keras.random.randint: minval must be below maxval, got {minval} and {maxval}"
        )
    draw = _generator(seed, "randint").integers(minval, maxval, shape)
    return Tensor(draw.astype(dtype))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order (gradients flow through)."""
    x = ops.convert_to_tensor(x)
    if not x.ndim:
        raise ValueError("keras.random.shuffle expects at least one axis, got a scalar")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"keras.random.shuffle: axis {axis} is out of range for shape {x.shape}")
    order = _generator(seed, "shuffle").permutation(x.shape[axis])
    return ops.take(x, Tensor(order), axis=axis)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero each entry with probability ``rate`` and scale the rest by ``1 / (1 - rate)``
    (``lapenna.ops.dropout`` with Keras's argument names)."""
    return ops.dropout(
        ops.convert_to_tensor(inputs),
        rate,
        noise_shape=noise_shape,
        generator=_generator(seed, "dropout"),
    )


__all__ = [
    "SeedGenerator",
    "normal",
    "truncated_normal",
    "uniform",
    "randint",
    "shuffle",
    "dropout",
]
