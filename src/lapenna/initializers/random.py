"""Random initializers with fixed parameters, and the orthogonal initializer."""

from lapenna.backend import xp
from lapenna.initializers.base import (
    Initializer,
    check_number,
    check_seed,
    normal,
    truncated_normal,
    uniform,
)
from lapenna.utils import register


class RandomInitializer(Initializer):
    """Base of the random initializers: holds and validates ``seed``."""

    random = True

    def __init__(self, seed=None):
        self.seed = check_seed(seed, type(self).__name__)

    def get_config(self):
        return {"seed": self.seed}


@register("initializers", aliases=("random_normal", "normal"))
class RandomNormal(RandomInitializer):
    """Draw from a normal distribution N(mean, stddev^2).

    Args:
        mean: the mean.
        stddev: the standard deviation (non-negative).
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.RandomNormal(stddev=0.01, seed=1)((3, 2)).shape
        (3, 2)
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = check_number(mean, "RandomNormal", "mean")
        self.stddev = check_number(stddev, "RandomNormal", "stddev", nonnegative=True)

    def _generate(self, shape, dtype, generator):
        return normal(generator, shape, self.mean, self.stddev, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@register("initializers", aliases=("truncated_normal",))
class TruncatedNormal(RandomInitializer):
    """Draw from N(mean, stddev^2), re-drawing values more than 2 stddev from the mean.

    The result's standard deviation is about 0.88 * stddev (the truncation cuts the tails).

    Args:
        mean: the mean.
        stddev: the standard deviation before truncation (non-negative).
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> w = lp.initializers.TruncatedNormal(stddev=1.0, seed=0)((1000,))
        >>> bool(abs(w).max() <= 2)
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = check_number(mean, "TruncatedNormal", "mean")
        self.stddev = check_number(stddev, "TruncatedNormal", "stddev", nonnegative=True)

    def _generate(self, shape, dtype, generator):
        return truncated_normal(generator, shape, self.mean, self.stddev, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@register("initializers", aliases=("random_uniform", "uniform"))
class RandomUniform(RandomInitializer):
    """Draw from a uniform distribution on [minval, maxval).

    Args:
        minval: the lower bound.
        maxval: the upper bound (not below ``minval``).
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> w = lp.initializers.RandomUniform(-1.0, 1.0, seed=0)((100,))
        >>> bool(w.min() >= -1 and w.max() < 1)
        True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = check_number(minval, "RandomUniform", "minval")
        self.maxval = check_number(maxval, "RandomUniform", "maxval")
        if self.maxval < self.minval:
            raise ValueError(
                f"RandomUniform expects minval <= maxval, got minval={minval!r}, maxval={maxval!r}"
            )

    def _generate(self, shape, dtype, generator):
        return uniform(generator, shape, self.minval, self.maxval, dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


@register("initializers", aliases=("orthogonal",))
class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian matrix.

    The weight is seen as a matrix of ``prod(shape[:-1])`` rows and ``shape[-1]``
    columns (so a conv kernel ``(kh, kw, in, out)`` has orthonormal columns when
    ``kh * kw * in >= out``, else orthonormal rows). Multiplying Q by the signs of R's
    diagonal makes it uniformly distributed over orthogonal matrices.

    Reference: Saxe et al., 2014, "Exact solutions to the nonlinear dynamics of learning
    in deep linear neural networks", https://arxiv.org/abs/1312.6120.

    Args:
        gain: a factor applied to the orthogonal matrix.
        seed: None (draw from the global generator) or an int (same values on every call).

    Raises:
        ValueError: when the shape has fewer than two axes.

    Example:
        >>> import lapenna as lp
        >>> q = lp.initializers.Orthogonal(seed=0)((4, 4))
        >>> bool(abs(q.T @ q - lp.backend.xp.eye(4)).max() < 1e-5)
        True
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = check_number(gain, "Orthogonal", "gain")

    def _generate(self, shape, dtype, generator):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal expects a shape of at least 2 axes, got {shape}")
        rows = 1
        for size in shape[:-1]:
            rows *= size
        cols = shape[-1]
        a = normal(generator, (max(rows, cols), min(rows, cols)), 0.0, 1.0, dtype)
        q, r = xp.linalg.qr(a)
        q = q * xp.where(xp.diagonal(r) < 0, -1, 1).astype(q.dtype)
        if rows < cols:
            q = xp.ascontiguousarray(q.T)  # a weight is a C-ordered array, as everywhere
        return q.reshape(shape) * q.dtype.type(self.gain)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}
