"""Variance scaling: random weights whose variance is ``scale / fan``.

Glorot (Xavier), He (Kaiming) and LeCun initialization are the same idea with different
scales and fans: keep the variance of the activations (forward) or of the gradients
(backward) the same from layer to layer.
"""

import math

from lapenna.initializers.base import (
    check_number,
    compute_fans,
    normal,
    truncated_normal,
    uniform,
)
from lapenna.initializers.random import RandomInitializer
from lapenna.utils import register

# the standard deviation of a standard normal truncated to [-2, 2]; dividing by it makes
# the truncated draw's standard deviation exactly sqrt(scale / fan)
TRUNCATED_STDDEV = 0.87962566103423978
_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


@register("initializers", aliases=("variance_scaling",))
class VarianceScaling(RandomInitializer):
    """Draw with variance ``scale / n``, n being fan_in, fan_out or their average.

    - ``"truncated_normal"``: N(0, s^2) truncated at 2 s with s = sqrt(scale / n) / 0.8796,
      so the draw's standard deviation is sqrt(scale / n);
    - ``"untruncated_normal"``: N(0, scale / n);
    - ``"uniform"``: U[-limit, limit] with limit = sqrt(3 * scale / n).

    Fans follow ``compute_fans``: for a convolution kernel they count the receptive
    field times the channels.

    Args:
        scale: the variance factor (positive).
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``.
        distribution: ``"truncated_normal"``, ``"untruncated_normal"`` or ``"uniform"``
            (``"normal"`` means ``"truncated_normal"``, as in Keras).
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> init = lp.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal")
        >>> init((256, 128)).shape
        (256, 128)
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        name = type(self).__name__
        self.scale = check_number(scale, name, "scale", positive=True)
        if mode not in _MODES:
            raise ValueError(f"{name} expects mode to be one of {_MODES}, got {mode!r}")
        if isinstance(distribution, str) and distribution.lower() == "normal":
            distribution = "truncated_normal"
        if not isinstance(distribution, str) or distribution.lower() not in _DISTRIBUTIONS:
            raise ValueError(
                f"{name} expects distribution to be one of {_DISTRIBUTIONS} or 'normal', "
                f"got {distribution!r}"
            )
        self.mode = mode
        self.distribution = distribution.lower()

    def _variance(self, shape):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        return self.scale / max(1.0, fan[self.mode])

    def _generate(self, shape, dtype, generator):
        variance = self._variance(shape)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / TRUNCATED_STDDEV
            return truncated_normal(generator, shape, 0.0, stddev, dtype)
        if self.distribution == "untruncated_normal":
            return normal(generator, shape, 0.0, math.sqrt(variance), dtype)
        limit = math.sqrt(3.0 * variance)
        return uniform(generator, shape, -limit, limit, dtype)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            **super().get_config(),
        }


class _FixedVarianceScaling(VarianceScaling):
    """A named variance scaling whose only argument is ``seed``."""

    _settings = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None):
        super().__init__(*self._settings, seed=seed)

    def get_config(self):
        return {"seed": self.seed}


@register("initializers", aliases=("glorot_normal", "xavier_normal"))
class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with variance 2 / (fan_in + fan_out).

    Reference: Glorot and Bengio, 2010, "Understanding the difficulty of training deep
    feedforward neural networks", https://proceedings.mlr.press/v9/glorot10a.html.

    Args:
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.GlorotNormal(seed=0)((3, 3, 8, 16)).shape
        (3, 3, 8, 16)
    """

    _settings = (1.0, "fan_avg", "truncated_normal")


@register("initializers", aliases=("glorot_uniform", "xavier_uniform"))
class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform, the default kernel initializer: U[-r, r] with
    r = sqrt(6 / (fan_in + fan_out)).

    Reference: Glorot and Bengio, 2010, "Understanding the difficulty of training deep
    feedforward neural networks", https://proceedings.mlr.press/v9/glorot10a.html.

    Args:
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> w = lp.initializers.GlorotUniform(seed=0)((100, 50))
        >>> bool(abs(w).max() <= (6 / 150) ** 0.5)
        True
    """

    _settings = (1.0, "fan_avg", "uniform")


@register("initializers", aliases=("he_normal", "kaiming_normal"))
class HeNormal(_FixedVarianceScaling):
    """He (Kaiming) normal, for ReLU networks: truncated normal with variance 2 / fan_in.

    Reference: He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
    Performance on ImageNet Classification", https://arxiv.org/abs/1502.01852.

    Args:
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.HeNormal(seed=0)((784, 256)).dtype
        dtype('float32')
    """

    _settings = (2.0, "fan_in", "truncated_normal")


@register("initializers", aliases=("he_uniform", "kaiming_uniform"))
class HeUniform(_FixedVarianceScaling):
    """He (Kaiming) uniform: U[-r, r] with r = sqrt(6 / fan_in), variance 2 / fan_in.

    Reference: He et al., 2015, "Delving Deep into Rectifiers: Surpassing Human-Level
    Performance on ImageNet Classification", https://arxiv.org/abs/1502.01852.

    Args:
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> w = lp.initializers.HeUniform(seed=0)((600, 10))
        >>> bool(abs(w).max() <= 0.1)
        True
    """

    _settings = (2.0, "fan_in", "uniform")


@register("initializers", aliases=("lecun_normal",))
class LecunNormal(_FixedVarianceScaling):
    """LeCun normal, for SELU networks: truncated normal with variance 1 / fan_in.

    References: LeCun et al., 1998, "Efficient BackProp"; Klambauer et al., 2017,
    "Self-Normalizing Neural Networks", https://arxiv.org/abs/1706.02515.

    Args:
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.LecunNormal(seed=0)((64, 32)).shape
        (64, 32)
    """

    _settings = (1.0, "fan_in", "truncated_normal")


@register("initializers", aliases=("lecun_uniform",))
class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: U[-r, r] with r = sqrt(3 / fan_in), variance 1 / fan_in.

    References: LeCun et al., 1998, "Efficient BackProp"; Klambauer et al., 2017,
    "Self-Normalizing Neural Networks", https://arxiv.org/abs/1706.02515.

    Args:
        seed: None (draw from the global generator) or an int (same values on every call).

    Example:
        >>> import lapenna as lp
        >>> w = lp.initializers.LecunUniform(seed=0)((300, 10))
        >>> bool(abs(w).max() <= 0.1)
        True
    """

    _settings = (1.0, "fan_in", "uniform")
