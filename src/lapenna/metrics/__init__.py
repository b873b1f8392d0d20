"""Metrics: accumulate over batches with ``update_state``, read with ``result()``.

Metrics never build a graph: they work on plain arrays and return Python floats.
``metrics.get("auc")`` builds a metric from a name (the name becomes the metric's name,
so training logs show what was asked for); ``metrics.resolve("accuracy", loss)`` applies
Keras's rule that "accuracy" means binary, categorical or sparse categorical accuracy
depending on the loss, or on the shapes of the first batch when the loss does not say.

Example:
    >>> import lapenna as lp
    >>> m = lp.metrics.resolve("accuracy", loss="sparse_categorical_crossentropy")
    >>> type(m).__name__, m.name
    ('SparseCategoricalAccuracy', 'accuracy')
"""

from lapenna.metrics.accuracy import (
    Accuracy,
    AutoAccuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lapenna.metrics.base import FUNCTIONS, Mean, MeanMetricWrapper, Metric, Sum, label_kind
from lapenna.metrics.confusion import AUC, Precision, Recall
from lapenna.metrics.iou import MeanIoU
from lapenna.metrics.regression import (
    AutoCrossentropy,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_crossentropy,
)
from lapenna.utils import to_snake_case
from lapenna.utils.registry import Family

mse = mean_squared_error
mae = mean_absolute_error

_LOSS_KINDS = {
    "binary_crossentropy": "binary",
    "bce": "binary",
    "categorical_crossentropy": "categorical",
    "cce": "categorical",
    "sparse_categorical_crossentropy": "sparse",
    "scce": "sparse",
}
_BY_KIND = {
    "accuracy": {
        "binary": BinaryAccuracy,
        "categorical": CategoricalAccuracy,
        "sparse": SparseCategoricalAccuracy,
    },
    "crossentropy": {
        "binary": BinaryCrossentropy,
        "categorical": CategoricalCrossentropy,
        "sparse": SparseCategoricalCrossentropy,
    },
}
_AUTO = {"accuracy": AutoAccuracy, "crossentropy": AutoCrossentropy}
_FAMILY = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "crossentropy": "crossentropy",
    "ce": "crossentropy",
}


def _metric_from_name(cls, identifier):
    try:
        return cls() if identifier == cls.__name__ else cls(name=identifier)
    except TypeError as error:
        raise ValueError(
            f"metric {identifier!r} needs arguments: create it as "
            f"lapenna.metrics.{cls.__name__}(...) ({error})"
        ) from None


_API = Family("metrics", base=Metric, wrap_function=MeanMetricWrapper, from_name=_metric_from_name)


def get(identifier):
    """Build a metric from a name, a config dict, a Metric class or instance, or a function.

    A function ``fn(y_true, y_pred) -> per-sample values`` is averaged by a
    ``MeanMetricWrapper``; ``None`` stays ``None``.

    Raises:
        ValueError: for unknown names, or a name whose class needs arguments (``MeanIoU``).
    """
    return _API.get(identifier)


def resolve(identifier, loss=None):
    """``get``, plus Keras's rule for ``"accuracy"``/``"acc"`` and ``"crossentropy"``/``"ce"``.

    With a binary, categorical or sparse categorical cross-entropy loss (a name, a Loss
    instance or class, or a loss function), those strings become the matching metric,
    named as written; the cross-entropy metric also takes the loss's ``from_logits``.
    Otherwise they become a metric that decides from the shapes of its first batch.
    """
    family = _FAMILY.get(identifier.lower()) if isinstance(identifier, str) else None
    if family is None:
        return get(identifier)
    kind = loss_kind(loss)
    if kind is None:
        return _AUTO[family](name=identifier)
    cls = _BY_KIND[family][kind]
    if family == "crossentropy":
        from_logits = bool(getattr(loss, "fn_kwargs", {}).get("from_logits", False))
        return cls(name=identifier, from_logits=from_logits)
    return cls(name=identifier)


def loss_kind(loss):
    """``"binary"``, ``"categorical"``, ``"sparse"`` for the cross-entropy losses, else None."""
    for name in _loss_names(loss):
        if name in _LOSS_KINDS:
            return _LOSS_KINDS[name]
    return None


def _loss_names(loss):
    if loss is None:
        return []
    if isinstance(loss, str):
        return [loss, to_snake_case(loss)]
    cls = loss if isinstance(loss, type) else type(loss)
    fn = getattr(loss, "fn", None)
    names = [to_snake_case(cls.__name__), getattr(fn, "__name__", None)]
    return [*names, getattr(loss, "__name__", None), getattr(loss, "name", None)]


def serialize(metric):
    """Return ``{"class_name": ..., "config": ...}`` for a Metric."""
    return _API.serialize(metric)


def deserialize(config, custom_objects=None):
    """Rebuild a Metric from ``serialize``'s output."""
    return _API.deserialize(config, custom_objects)


__all__ = [
    "Metric",
    "Mean",
    "Sum",
    "MeanMetricWrapper",
    "Accuracy",
    "AutoAccuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "Precision",
    "Recall",
    "AUC",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "AutoCrossentropy",
    "MeanIoU",
    "FUNCTIONS",
    "get",
    "resolve",
    "loss_kind",
    "label_kind",
    "serialize",
    "deserialize",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mean_squared_error",
    "mean_absolute_error",
    "mse",
    "mae",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
]
