"""Accuracy metrics: exact match, thresholded binary, categorical (one-hot or sparse
labels) and top-k, plus the ``"accuracy"`` metric that picks its kind from the shapes.
"""

from lapenna.backend import xp
from lapenna.metrics.base import (
    MeanMetricWrapper,
    MeanOfLabelKind,
    match_ranks,
    metric_function,
    to_array,
)
from lapenna.utils import register


@metric_function()
def accuracy(y_true, y_pred):
    """1 where ``y_pred`` equals ``y_true`` exactly, else 0 (elementwise)."""
    y_true, y_pred = match_ranks(to_array(y_true), to_array(y_pred))
    return (y_true == y_pred).astype(_dtype(y_pred))


@metric_function()
def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where ``(y_pred > threshold)`` equals the 0/1 label, else 0 (elementwise)."""
    y_true, y_pred = match_ranks(to_array(y_true), to_array(y_pred))
    return (y_true == (y_pred > threshold).astype(y_true.dtype)).astype(_dtype(y_pred))


@metric_function()
def categorical_accuracy(y_true, y_pred):
    """1 where the argmax of ``y_pred`` is the argmax of the one-hot ``y_true``."""
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    return (xp.argmax(y_true, axis=-1) == xp.argmax(y_pred, axis=-1)).astype(_dtype(y_pred))


@metric_function()
def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the argmax of ``y_pred`` equals the integer label ``y_true``."""
    y_true, y_pred = _sparse(y_true, y_pred)
    return (y_true == xp.argmax(y_pred, axis=-1)).astype(_dtype(y_pred))


@metric_function()
def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the one-hot target's class is among the ``k`` highest scores."""
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    return _in_top_k(xp.argmax(y_true, axis=-1), y_pred, k)


@metric_function()
def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer label is among the ``k`` highest scores."""
    y_true, y_pred = _sparse(y_true, y_pred)
    return _in_top_k(y_true.astype(xp.intp), y_pred, k)


def _dtype(y_pred):
    return y_pred.dtype if y_pred.dtype.kind == "f" else xp.dtype("float32")


def _sparse(y_true, y_pred):
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.reshape(y_true.shape[:-1])
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"sparse accuracy expects labels of shape {y_pred.shape[:-1]} for predictions of "
            f"shape {y_pred.shape}, got {y_true.shape}"
        )
    return y_true, y_pred


def _in_top_k(ids, scores, k):
    """Whether the target's score has fewer than ``k`` scores strictly above it (ties
    count in the target's favour, as in TensorFlow's ``in_top_k``)."""
    target = xp.take_along_axis(scores, ids[..., None], axis=-1)
    above = (scores > target).sum(axis=-1)
    return (above < k).astype(_dtype(scores))


@register("metrics")
class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly (for class ids or rounded outputs).

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.Accuracy()([1, 2, 3, 4], [0, 2, 3, 4])
        0.75
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


@register("metrics", aliases=("binary_accuracy",))
class BinaryAccuracy(MeanMetricWrapper):
    """How often thresholded predictions match 0/1 labels.

    Args:
        threshold: predictions above it count as 1.
        name: defaults to ``"binary_accuracy"``.
        dtype: the state dtype.

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        0.75
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"BinaryAccuracy: threshold must be in [0, 1], got {threshold!r}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=float(threshold))


@register("metrics", aliases=("categorical_accuracy",))
class CategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the one-hot label's class.

    Example:
        >>> import lapenna as lp
        >>> y_true, y_pred = [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
        >>> lp.metrics.CategoricalAccuracy()(y_true, y_pred)
        0.5
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@register("metrics", aliases=("sparse_categorical_accuracy",))
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the integer label's class.

    Example:
        >>> import lapenna as lp
        >>> lp.metrics.SparseCategoricalAccuracy()([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
        0.5
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@register("metrics", aliases=("top_k_categorical_accuracy",))
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores.

    Args:
        k: how many top scores count.
        name: defaults to ``"top_k_categorical_accuracy"``.
        dtype: the state dtype.
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))


@register("metrics", aliases=("sparse_top_k_categorical_accuracy",))
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores.

    Example:
        >>> import lapenna as lp
        >>> y_pred = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
        >>> lp.metrics.SparseTopKCategoricalAccuracy(k=1)([2, 1], y_pred)
        0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"top-k accuracy: k must be a positive integer, got {k!r}")
    return k


@register("metrics", aliases=("accuracy", "acc"))
class AutoAccuracy(MeanOfLabelKind):
    """The metric behind the string ``"accuracy"``: binary, categorical or sparse
    categorical accuracy, chosen from the shapes of the first batch it sees.

    ``metrics.resolve("accuracy", loss)`` picks the kind from the loss when it can and
    falls back to this class when the loss says nothing.

    Example:
        >>> import lapenna as lp
        >>> m = lp.metrics.AutoAccuracy()
        >>> m.update_state([2, 0], [[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
        >>> m.kind, m.result()
        ('sparse', 0.5)
    """

    _FUNCTIONS = {
        "binary": binary_accuracy,
        "categorical": categorical_accuracy,
        "sparse": sparse_categorical_accuracy,
    }

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
