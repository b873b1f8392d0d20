"""The ``Initializer`` base, fan computation and the random draws initializers share."""

import numbers

from lapenna import backend as B
from lapenna.backend import xp
from lapenna.utils.config import Configurable


class Initializer(Configurable):
    """Base class of weight initializers: ``shape, dtype, generator -> array``.

    A subclass writes ``_generate(shape, dtype, generator)`` and, when it has constructor
    arguments, ``get_config``. Calling the initializer checks the shape and dtype, picks
    the generator and returns an array of ``lapenna.backend.xp``.

    Randomness: an initializer built with ``seed=n`` makes a fresh generator from ``n`` on
    every call, so it returns the same values each time and a copy rebuilt from its config
    returns them too (as in Keras). Without a seed it draws from ``generator`` when one is
    passed, else from the global generator seeded by ``lapenna.set_seed``.

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.Ones()((2, 3)).dtype
        dtype('float32')
    """

    #: whether the values are random (integer dtypes are refused then)
    random = False

    def __call__(self, shape, dtype=None, generator=None):
        """Return an array of ``shape``.

        Args:
            shape: a tuple (or list, or int) of non-negative sizes.
            dtype: the array's dtype; ``None`` means floatx.
            generator: a ``numpy.random.Generator`` or an int seed to draw from; ``None``
                means the global generator. A constructor ``seed`` takes precedence.

        Returns:
            An array of ``shape`` and ``dtype``.
        """
        name = type(self).__name__
        shape = check_shape(shape, name)
        dtype = B.to_dtype(dtype)
        if self.random and not B.is_float_dtype(dtype):
            raise ValueError(f"{name} draws random floats, expected a float dtype, got {dtype}")
        seed = getattr(self, "seed", None)
        rng = B.make_generator(seed if seed is not None else generator)
        out = self._generate(shape, dtype, rng)
        return out.astype(dtype, copy=False)

    def _generate(self, shape, dtype, generator):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define _generate")


def check_shape(shape, name):
    """Return ``shape`` as a tuple of ints, or raise a ValueError naming ``name``."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, tuple | list) or not all(
        isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise ValueError(f"{name} expects a shape of non-negative ints, got {shape!r}")
    return tuple(int(d) for d in shape)


def check_seed(seed, name):
    """Return ``seed`` (None or a non-negative int), or raise a ValueError naming ``name``."""
    if seed is None:
        return None
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise ValueError(
        f"{name} expects seed=None or a non-negative int, got {seed!r} (to draw from a "
        "generator of your own, pass it when calling: initializer(shape, generator=g))"
    )


def check_number(value, name, argument, positive=False, nonnegative=False):
    """Return ``value`` as a finite float, or raise a ValueError quoting it.

    ``positive`` also refuses values <= 0, ``nonnegative`` values < 0.
    """
    bad = (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not xp.isfinite(value)
        or (positive and value <= 0)
        or (nonnegative and value < 0)
    )
    if bad:
        kind = "a positive" if positive else "a non-negative" if nonnegative else "a finite"
        raise ValueError(f"{name} expects {argument} to be {kind} number, got {value!r}")
    return float(value)


def compute_fans(shape):
    """Return ``(fan_in, fan_out)`` for a weight of ``shape`` (Keras's rule).

    - ``()``: (1, 1); ``(n,)``: (n, n);
    - Dense ``(in, out)``: (in, out);
    - convolution kernels ``(*receptive_field, in, out)``: fan_in = prod(receptive) * in,
      fan_out = prod(receptive) * out.

    The rule only looks at the last two axes, so a Conv2DTranspose kernel, whose layout
    is ``(kh, kw, out, in)``, gets fan_in = kh * kw * out_channels and fan_out =
    kh * kw * in_channels. Keras computes exactly this (it has no special case for
    transposed convolutions), and so does PyTorch, whose ``ConvTranspose`` weight
    ``(in, out, kh, kw)`` takes its fan_in from axis 1, the output channels. It is also
    the right count for the transposed convolution's backward pass, which is an ordinary
    convolution from ``out`` channels to ``in`` channels.

    Args:
        shape: the weight's shape.

    Returns:
        A tuple of two ints.

    Example:
        >>> from lapenna.initializers import compute_fans
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    shape = check_shape(shape, "compute_fans")
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = 1
    for size in shape[:-2]:
        receptive *= size
    return shape[-2] * receptive, shape[-1] * receptive


def _work_dtype(dtype):
    """Draw in float32 for float16 (the generator has no float16), else in ``dtype``."""
    return xp.dtype(xp.float32) if dtype == xp.float16 else xp.dtype(dtype)


def normal(generator, shape, mean, stddev, dtype):
    """Draw from N(mean, stddev^2) in ``dtype`` (float32 draws stay float32)."""
    work = _work_dtype(dtype)
    z = generator.standard_normal(shape, dtype=work)
    return z * work.type(stddev) + work.type(mean)


def truncated_normal(generator, shape, mean, stddev, dtype):
    """Draw from N(mean, stddev^2), re-drawing every value beyond two stddev from the mean.

    About 4.6% of the draws fall outside and are drawn again, until none is left.
    """
    work = _work_dtype(dtype)
    z = generator.standard_normal(shape, dtype=work)
    outside = xp.abs(z) > 2
    while outside.any():
        z[outside] = generator.standard_normal(int(outside.sum()), dtype=work)
        outside = xp.abs(z) > 2
    return z * work.type(stddev) + work.type(mean)


def uniform(generator, shape, low, high, dtype):
    """Draw from U[low, high) in ``dtype``."""
    work = _work_dtype(dtype)
    u = generator.random(shape, dtype=work)
    return u * work.type(high - low) + work.type(low)
