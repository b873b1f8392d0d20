"""Activation functions: Tensor in, Tensor out, composed from ops (Keras 3 definitions).

Each function is registered in the "activations" family under its name, so layers accept
``activation="relu"``. Gradients come from the ops they are built of.
"""

import math
import numbers

from lapenna import ops
from lapenna.autograd import as_tensor
from lapenna.utils import register

# the fixed point constants of SELU (Klambauer et al., 2017)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2)


def _check(value, name, argument, allow_negative=False):
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or (value < 0 and not allow_negative)
    ):
        kind = "a finite" if allow_negative else "a non-negative"
        raise ValueError(f"{name} expects {argument} to be {kind} number, got {value!r}")


@register("activations")
def linear(x):
    """The identity, ``x`` (what ``activation=None`` means).

    Example:
        >>> import lapenna as lp
        >>> lp.activations.linear(lp.tensor([-1.0, 2.0])).tolist()
        [-1.0, 2.0]
    """
    return as_tensor(x)


@register("activations")
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """The rectified linear unit, ``max(x, 0)``, with Keras's optional extras.

    With the extras: ``max_value`` where x >= max_value, ``x`` where threshold < x <
    max_value, ``negative_slope * (x - threshold)`` otherwise.

    Args:
        x: the input Tensor.
        negative_slope: the slope below the threshold (non-negative).
        max_value: an upper bound (non-negative), or None.
        threshold: the value below which units are off.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.relu(lp.tensor([-2.0, 1.0, 8.0]), 0.5, max_value=6.0).tolist()
        [-1.0, 1.0, 6.0]
    """
    _check(negative_slope, "relu", "negative_slope")
    _check(threshold, "relu", "threshold", allow_negative=True)
    if max_value is not None:
        _check(max_value, "relu", "max_value")
    x = as_tensor(x)
    if threshold == 0 and max_value is None:
        return ops.relu(x) if negative_slope == 0 else ops.leaky_relu(x, negative_slope)
    out = ops.relu(x) if threshold == 0 else ops.where(x > threshold, x, 0)
    if max_value is not None:
        out = ops.clip(out, 0, max_value)
    if negative_slope != 0:
        out = out - ops.relu(threshold - x) * negative_slope
    return out


@register("activations")
def relu6(x):
    """``min(max(x, 0), 6)``, the ReLU capped at 6 (MobileNet).

    Example:
        >>> import lapenna as lp
        >>> lp.activations.relu6(lp.tensor([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    return ops.clip(as_tensor(x), 0, 6)


@register("activations")
def leaky_relu(x, negative_slope=0.2):
    """``x`` where x > 0, else ``negative_slope * x`` (Keras 3 default slope 0.2).

    Example:
        >>> import lapenna as lp
        >>> lp.activations.leaky_relu(lp.tensor([-1.0, 2.0]), negative_slope=0.5).tolist()
        [-0.5, 2.0]
    """
    return ops.leaky_relu(as_tensor(x), negative_slope)


@register("activations")
def elu(x, alpha=1.0):
    """The exponential linear unit: ``x`` where x > 0, else ``alpha * (exp(x) - 1)``.

    Reference: Clevert et al., 2016, https://arxiv.org/abs/1511.07289.

    Example:
        >>> import lapenna as lp
        >>> round(lp.activations.elu(lp.tensor([-1.0])).item(), 4)
        -0.6321
    """
    return ops.elu(as_tensor(x), alpha)


@register("activations")
def selu(x):
    """The scaled ELU, ``scale * elu(x, alpha)`` with Klambauer et al.'s constants.

    Use it with the LeCun normal initializer (and AlphaDropout) for self-normalizing
    networks. Reference: Klambauer et al., 2017, https://arxiv.org/abs/1706.02515.

    Example:
        >>> import lapenna as lp
        >>> round(lp.activations.selu(lp.tensor([1.0])).item(), 4)
        1.0507
    """
    return ops.elu(as_tensor(x), SELU_ALPHA) * SELU_SCALE


@register("activations")
def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.sigmoid(lp.tensor([0.0])).tolist()
        [0.5]
    """
    return ops.sigmoid(as_tensor(x))


@register("activations")
def hard_sigmoid(x):
    """A piecewise-linear sigmoid, ``relu6(x + 3) / 6`` (Keras 3's definition).

    0 for x <= -3, 1 for x >= 3, ``x / 6 + 0.5`` in between.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.hard_sigmoid(lp.tensor([-4.0, 0.0, 4.0])).tolist()
        [0.0, 0.5, 1.0]
    """
    return ops.clip(as_tensor(x) + 3, 0, 6) / 6


@register("activations", aliases=("swish",))
def silu(x):
    """The sigmoid linear unit (swish), ``x * sigmoid(x)``.

    References: Hendrycks and Gimpel, 2016, https://arxiv.org/abs/1606.08415;
    Ramachandran et al., 2017, https://arxiv.org/abs/1710.05941.

    Example:
        >>> import lapenna as lp
        >>> round(lp.activations.swish(lp.tensor([1.0])).item(), 4)
        0.7311
    """
    x = as_tensor(x)
    return x * ops.sigmoid(x)


@register("activations", aliases=("hard_swish",))
def hard_silu(x):
    """The hard SiLU (hard swish), ``x * hard_sigmoid(x)`` (MobileNetV3).

    Reference: Howard et al., 2019, https://arxiv.org/abs/1905.02244.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.hard_swish(lp.tensor([0.0, 4.0])).tolist()
        [0.0, 4.0]
    """
    x = as_tensor(x)
    return x * hard_sigmoid(x)


@register("activations")
def gelu(x, approximate=False):
    """The Gaussian error linear unit, ``x * Phi(x)`` with Phi the normal CDF.

    Exact: ``0.5 * x * (1 + erf(x / sqrt(2)))`` (the default, as in Keras 3). With
    ``approximate=True``: ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))``.

    Reference: Hendrycks and Gimpel, 2016, https://arxiv.org/abs/1606.08415.

    Example:
        >>> import lapenna as lp
        >>> round(lp.activations.gelu(lp.tensor([1.0])).item(), 4)
        0.8413
    """
    x = as_tensor(x)
    if approximate:
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * (ops.tanh(inner) + 1) * 0.5
    return x * (ops.erf(x * _INV_SQRT_2) + 1) * 0.5


@register("activations")
def tanh(x):
    """The hyperbolic tangent.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.tanh(lp.tensor([0.0])).tolist()
        [0.0]
    """
    return ops.tanh(as_tensor(x))


@register("activations")
def softplus(x):
    """``log(1 + exp(x))``, computed without overflow.

    Example:
        >>> import lapenna as lp
        >>> round(lp.activations.softplus(lp.tensor([0.0])).item(), 4)
        0.6931
    """
    return ops.softplus(as_tensor(x))


@register("activations")
def softsign(x):
    """``x / (|x| + 1)``.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.softsign(lp.tensor([-3.0, 1.0])).tolist()
        [-0.75, 0.5]
    """
    x = as_tensor(x)
    return x / (ops.abs(x) + 1)


@register("activations")
def mish(x):
    """``x * tanh(softplus(x))``.

    Reference: Misra, 2019, https://arxiv.org/abs/1908.08681.

    Example:
        >>> import lapenna as lp
        >>> round(lp.activations.mish(lp.tensor([1.0])).item(), 4)
        0.8651
    """
    x = as_tensor(x)
    return x * ops.tanh(ops.softplus(x))


@register("activations")
def exponential(x):
    """``exp(x)``.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.exponential(lp.tensor([0.0])).tolist()
        [1.0]
    """
    return ops.exp(as_tensor(x))


@register("activations")
def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``: class probabilities from logits.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.softmax(lp.tensor([[0.0, 0.0]])).tolist()
        [[0.5, 0.5]]
    """
    return ops.softmax(as_tensor(x), axis=axis)


@register("activations")
def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis``: log-probabilities from logits, stably.

    Example:
        >>> import lapenna as lp
        >>> round(float(lp.activations.log_softmax(lp.tensor([[0.0, 0.0]])).numpy()[0, 0]), 4)
        -0.6931
    """
    return ops.log_softmax(as_tensor(x), axis=axis)


swish = silu
hard_swish = hard_silu
