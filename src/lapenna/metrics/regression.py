"""Error metrics (mean squared and absolute error, root mean squared error) and the
cross-entropies as metrics, averaged over samples and batches.

The cross-entropies reuse the fused ops under ``no_grad``, so a metric agrees with the
loss of the same name to the last bit.
"""

from lapenna import ops
from lapenna.autograd import no_grad
from lapenna.backend import xp
from lapenna.metrics.base import (
    Mean,
    MeanMetricWrapper,
    MeanOfLabelKind,
    match_ranks,
    metric_function,
    to_array,
)
from lapenna.utils import register


def _pair(y_true, y_pred):
    y_pred = to_array(y_pred)
    y_pred = y_pred if y_pred.dtype.kind == "f" else y_pred.astype("float32")
    y_true, y_pred = match_ranks(to_array(y_true, y_pred.dtype), y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"expected y_true and y_pred of the same shape, got {y_true.shape} and {y_pred.shape}"
        )
    return y_true, y_pred


@metric_function("mse")
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred) ** 2) over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return xp.square(y_true - y_pred).mean(axis=-1)


@metric_function("mae")
def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return xp.abs(y_true - y_pred).mean(axis=-1)


@metric_function()
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Binary cross-entropy averaged over the last axis (see ``ops.binary_cross_entropy``)."""
    y_true, y_pred = _pair(y_true, y_pred)
    with no_grad():
        loss = ops.binary_cross_entropy(y_true, y_pred, from_logits, label_smoothing)
    return loss.data.mean(axis=-1)


@metric_function()
def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Cross-entropy with one-hot labels (see ``ops.softmax_cross_entropy``)."""
    y_pred = to_array(y_pred)
    with no_grad():
        loss = ops.softmax_cross_entropy(
            to_array(y_true, y_pred.dtype), y_pred, axis, False, from_logits, label_smoothing
        )
    return loss.data


@metric_function()
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """Cross-entropy with integer labels (see ``ops.softmax_cross_entropy``)."""
    with no_grad():
        loss = ops.softmax_cross_entropy(
            to_array(y_true), to_array(y_pred), axis, True, from_logits
        )
    return loss.data


@register("metrics", aliases=("mean_squared_error", "mse"))
class MeanSquaredError(MeanMetricWrapper):
    """Mean squared error over all samples seen.

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
        0.25
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


@register("metrics", aliases=("mean_absolute_error", "mae"))
class MeanAbsoluteError(MeanMetricWrapper):
    """Mean absolute error over all samples seen.

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.MeanAbsoluteError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 2.0]])
        0.75
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


@register("metrics", aliases=("root_mean_squared_error", "rmse"))
class RootMeanSquaredError(Mean):
    """The square root of the mean squared error over all samples seen (the root is taken
    once, at the end, not per batch).

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.RootMeanSquaredError()([[0.0], [0.0]], [[1.0], [7.0]])
        5.0
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _pair(y_true, y_pred)
        super().update_state(xp.square(y_true - y_pred), sample_weight)

    def result(self):
        return float(xp.sqrt(self.total / self.count)) if self.count else 0.0


@register("metrics", aliases=("binary_crossentropy",))
class BinaryCrossentropy(MeanMetricWrapper):
    """Binary cross-entropy as a metric (``from_logits``, ``label_smoothing`` as the loss)."""

    def __init__(
        self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0.0
    ):
        super().__init__(
            binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
        )


@register("metrics", aliases=("categorical_crossentropy",))
class CategoricalCrossentropy(MeanMetricWrapper):
    """Categorical cross-entropy as a metric (one-hot labels)."""

    def __init__(
        self,
        name="categorical_crossentropy",
        dtype=None,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
            axis=axis,
        )


@register("metrics", aliases=("sparse_categorical_crossentropy",))
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Sparse categorical cross-entropy as a metric (integer labels)."""

    def __init__(
        self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, axis=-1
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=bool(from_logits),
            axis=axis,
        )


@register("metrics", aliases=("crossentropy", "ce"))
class AutoCrossentropy(MeanOfLabelKind):
    """The metric behind the string ``"crossentropy"``: binary, categorical or sparse
    categorical cross-entropy (from probabilities), chosen from the first batch's shapes.
    """

    _FUNCTIONS = {
        "binary": binary_crossentropy,
        "categorical": categorical_crossentropy,
        "sparse": sparse_categorical_crossentropy,
    }

    def __init__(self, name="crossentropy", dtype=None):
        super().__init__(name=name, dtype=dtype)
