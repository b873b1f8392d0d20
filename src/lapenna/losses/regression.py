"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh, cosine.

Each function form returns one loss per sample (the mean over the last axis, as in
Keras); each class wraps its function with a reduction and sample weights.
"""

from lapenna import ops
from lapenna.losses.base import LossFunctionWrapper, loss_function, prepare
from lapenna.utils import register

EPSILON = 1e-7


@loss_function("mse", "MSE")
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred) ** 2) over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred, "mean_squared_error")
    return ops.square(y_true - y_pred).mean(axis=-1)


@loss_function("mae", "MAE")
def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred, "mean_absolute_error")
    return ops.abs(y_true - y_pred).mean(axis=-1)


@loss_function("mape", "MAPE")
def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|(y_true - y_pred) / y_true|), with |y_true| kept above 1e-7."""
    y_true, y_pred = prepare(y_true, y_pred, "mean_absolute_percentage_error")
    ratio = (y_true - y_pred) / ops.maximum(ops.abs(y_true), EPSILON)
    return ops.abs(ratio).mean(axis=-1) * 100.0


@loss_function("msle", "MSLE")
def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + y_pred) - log(1 + y_true)) ** 2), negative values raised to 1e-7."""
    y_true, y_pred = prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    first = ops.log(ops.maximum(y_pred, EPSILON) + 1.0)
    second = ops.log(ops.maximum(y_true, EPSILON) + 1.0)
    return ops.square(first - second).mean(axis=-1)


@loss_function()
def huber(y_true, y_pred, delta=1.0):
    """Quadratic for errors up to ``delta``, linear beyond: mean over the last axis of
    ``0.5 * e**2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta**2``."""
    y_true, y_pred = prepare(y_true, y_pred, "huber")
    error = ops.abs(y_pred - y_true)
    # split |e| into a quadratic part (capped at delta) and the linear remainder
    quadratic = ops.minimum(error, delta)
    linear = error - quadratic
    return (quadratic * quadratic * 0.5 + linear * delta).mean(axis=-1)


@loss_function("logcosh")
def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))), computed as x + softplus(-2x) - log(2)."""
    y_true, y_pred = prepare(y_true, y_pred, "log_cosh")
    x = y_pred - y_true
    return (x + ops.softplus(x * -2.0) - 0.6931471805599453).mean(axis=-1)


@loss_function()
def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) along ``axis``: -1 for parallel
    vectors, 0 for orthogonal ones (and for a zero vector)."""
    y_true, y_pred = prepare(y_true, y_pred, "cosine_similarity")
    return -(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis)).sum(axis=axis)


def _l2_normalize(x, axis):
    squares = (x * x).sum(axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(squares, 1e-12))


@register("losses", aliases=("mean_squared_error", "mse", "MSE"))
class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors: ``mean((y_true - y_pred) ** 2)`` per sample, then reduced.

    Args:
        reduction: see ``Loss``.
        name: defaults to ``"mean_squared_error"``.

    Example:
        >>> import lapenna as lp
        >>> lp.losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]).item()
        0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(mean_squared_error, reduction=reduction, name=name)


@register("losses", aliases=("mean_absolute_error", "mae", "MAE"))
class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors: ``mean(|y_true - y_pred|)`` per sample, then reduced.

    Example:
        >>> import lapenna as lp
        >>> lp.losses.MeanAbsoluteError()([[0.0, 1.0]], [[2.0, 1.0]]).item()
        1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(mean_absolute_error, reduction=reduction, name=name)


@register("losses", aliases=("mean_absolute_percentage_error", "mape", "MAPE"))
class MeanAbsolutePercentageError(LossFunctionWrapper):
    """``100 * mean(|(y_true - y_pred) / y_true|)`` per sample, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error"):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name)


@register("losses", aliases=("mean_squared_logarithmic_error", "msle", "MSLE"))
class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """``mean((log(1 + y_pred) - log(1 + y_true)) ** 2)`` per sample, then reduced."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error"):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name)


@register("losses", aliases=("huber", "huber_loss"))
class Huber(LossFunctionWrapper):
    """Huber loss: squared error for small errors, absolute error for large ones.

    Huber, "Robust Estimation of a Location Parameter", Annals of Mathematical
    Statistics, 1964.

    Args:
        delta: where the loss turns from quadratic to linear (``>= 0``).
        reduction: see ``Loss``.
        name: defaults to ``"huber_loss"``.

    Example:
        >>> import lapenna as lp
        >>> lp.losses.Huber(delta=1.0)([[0.0, 0.0]], [[0.5, 3.0]]).item()
        1.3125
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        if not delta >= 0:
            raise ValueError(f"Huber: delta must be >= 0, got {delta!r}")
        super().__init__(huber, reduction=reduction, name=name, delta=float(delta))


@register("losses", aliases=("log_cosh", "logcosh"))
class LogCosh(LossFunctionWrapper):
    """``mean(log(cosh(y_pred - y_true)))``: about ``x**2 / 2`` near 0, ``|x| - log 2``
    far away."""

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh"):
        super().__init__(log_cosh, reduction=reduction, name=name)


@register("losses", aliases=("cosine_similarity",))
class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along ``axis``: minimizing it aligns the vectors.

    Args:
        axis: the feature axis.
        reduction: see ``Loss``.
        name: defaults to ``"cosine_similarity"``.

    Example:
        >>> import lapenna as lp
        >>> lp.losses.CosineSimilarity()([[1.0, 0.0]], [[2.0, 0.0]]).item()
        -1.0
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity"):
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=axis)
