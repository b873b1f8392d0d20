"""Batch and layer normalization, and dropout."""

import numbers

from lapenna import backend as B
from lapenna.autograd import Tensor, as_tensor, capture
from lapenna.autograd import functions as F
from lapenna.ops._nn_args import check_param, normalize_axes


def _float_input(x, op):
    x = as_tensor(x)
    if not B.is_float_dtype(x.dtype):
        raise TypeError(f"{op} expects a floating-point input, got dtype {x.dtype}")
    return x


def _check_epsilon(epsilon, op):
    if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or epsilon <= 0:
        raise ValueError(f"{op}: epsilon must be a positive number, got {epsilon!r}")


def _normalize(x, axes, gamma, beta, shape, epsilon, op):
    """The fused primitive with statistics over ``axes``; gamma/beta reshaped to ``shape``."""
    if any(x.shape[a] == 0 for a in axes):
        raise ValueError(
            f"{op}: statistics over axes {axes} of an input of shape {x.shape} are undefined "
            "(an axis is empty)"
        )
    affine = [p.reshape(shape) for p in (gamma, beta) if p is not None]
    statistics = {}
    y = F.Normalize.apply(
        x,
        *affine,
        axes=axes,
        epsilon=epsilon,
        statistics=statistics,
        has_gamma=gamma is not None,
        has_beta=beta is not None,
    )
    return y, statistics["mean"], statistics["var"]


def batch_norm(
    x, gamma=None, beta=None, mean=None, variance=None, epsilon=1e-3, axis=-1, training=False
):
    """Normalize each channel, then scale by ``gamma`` and shift by ``beta``.

    Args:
        x: input with channels on ``axis`` (last by default).
        gamma, beta: optional ``(channels,)`` scale and shift.
        mean, variance: ``(channels,)`` moving statistics, used when not training.
        epsilon: added to the variance.
        axis: the channel axis.
        training: use the statistics of this batch (over every axis but ``axis``, biased
            variance) instead of ``mean`` and ``variance``.

    Returns:
        When training, ``(y, batch_mean, batch_variance)``, the statistics ``(channels,)``
        Tensors without gradient (for the moving averages); otherwise ``y``.

    Reference: Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training
    by Reducing Internal Covariate Shift", ICML 2015.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([[1.0, 10.0], [3.0, 30.0]])
        >>> y, m, v = batch_norm(x, training=True, epsilon=1e-6)
        >>> [round(a, 3) for a in y.numpy()[:, 0].tolist()], m.tolist()
        ([-1.0, 1.0], [2.0, 20.0])
    """
    op = "batch_norm"
    x = _float_input(x, op)
    _check_epsilon(epsilon, op)
    axes = normalize_axes(axis, x.ndim, op)
    if len(axes) != 1:
        raise ValueError(f"{op}: axis must be a single channel axis, got {axis!r}")
    axis = axes[0]
    channels = x.shape[axis]
    gamma, beta, mean, variance = (
        check_param(p, x, (channels,), name, op)
        for p, name in zip((gamma, beta, mean, variance), ("gamma", "beta", "mean", "variance"))
    )
    shape = tuple(channels if i == axis else 1 for i in range(x.ndim))
    if training:
        axes = tuple(i for i in range(x.ndim) if i != axis)
        y, batch_mean, batch_var = _normalize(x, axes, gamma, beta, shape, epsilon, op)
        return y, Tensor(batch_mean).reshape(channels), Tensor(batch_var).reshape(channels)
    if mean is None or variance is None:
        raise ValueError(
            f"{op}: inference (training=False) needs the moving mean and variance, got "
            f"mean={'None' if mean is None else 'given'}, "
            f"variance={'None' if variance is None else 'given'}"
        )
    scale = 1 / (variance + epsilon).sqrt()
    if gamma is not None:
        scale = scale * gamma
    shift = -mean * scale if beta is None else beta - mean * scale
    return x * scale.reshape(shape) + shift.reshape(shape)


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Normalize each sample over ``axis`` (an int or a tuple), then scale and shift.

    Args:
        x: the input.
        gamma, beta: optional, of shape ``x.shape[a] for a in axis``.
        axis: the normalized axes.
        epsilon: added to the variance.

    Returns:
        A Tensor of ``x``'s shape.

    Reference: Ba, Kiros and Hinton, "Layer Normalization", arXiv:1607.06450, 2016.

    Example:
        >>> import lapenna as lp
        >>> y = layer_norm(lp.tensor([[1.0, 3.0], [0.0, 10.0]]), epsilon=1e-6)
        >>> [[round(v, 3) for v in row] for row in y.tolist()]
        [[-1.0, 1.0], [-1.0, 1.0]]
    """
    op = "layer_norm"
    x = _float_input(x, op)
    _check_epsilon(epsilon, op)
    axes = normalize_axes(axis, x.ndim, op)
    param_shape = tuple(x.shape[a] for a in axes)
    gamma = check_param(gamma, x, param_shape, "gamma", op)
    beta = check_param(beta, x, param_shape, "beta", op)
    shape = tuple(n if i in axes else 1 for i, n in enumerate(x.shape))
    return _normalize(x, axes, gamma, beta, shape, epsilon, op)[0]


def dropout(x, rate, training=True, noise_shape=None, generator=None):
    """Inverted dropout: zero each entry with probability ``rate``, scale the rest by
    ``1 / (1 - rate)`` so the expected value is unchanged.

    Args:
        x: the input.
        rate: drop probability in [0, 1).
        training: when false (or ``rate == 0``), ``x`` is returned unchanged.
        noise_shape: the mask's shape, broadcast against ``x``; ``None`` entries take
            ``x``'s size (e.g. ``(None, 1, 1, None)`` drops whole feature maps).
        generator: a seed or ``numpy.random.Generator``; the global seeded generator
            (``lapenna.set_seed``) by default.

    Reference: Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from
    Overfitting", JMLR 2014.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor(lp.backend.xp.ones((2, 3)))
        >>> dropout(x, 0.5, training=False) is x
        True
    """
    op = "dropout"
    x = _float_input(x, op)
    if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0 <= rate < 1:
        raise ValueError(f"{op}: rate must be a number in [0, 1), got {rate!r}")
    if not training or rate == 0:
        return x
    shape = x.shape if noise_shape is None else _noise_shape(noise_shape, x.shape, op)
    mask = capture.host("dropout_mask", lambda: B.dropout_mask(shape, rate, x.dtype, generator))
    return x * Tensor(mask)


def _noise_shape(noise_shape, shape, op):
    noise_shape = tuple(noise_shape)
    if len(noise_shape) != len(shape):
        raise ValueError(f"{op}: noise_shape {noise_shape} must have one entry per axis of {shape}")
    out = tuple(n if m is None else m for m, n in zip(noise_shape, shape))
    if any(m not in (1, n) for m, n in zip(out, shape)):
        raise ValueError(f"{op}: noise_shape {noise_shape} does not broadcast to {shape}")
    return out
