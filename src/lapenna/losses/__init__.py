"""Loss functions: classes with reductions and sample weights, and their function forms.

``losses.get("sparse_categorical_crossentropy")`` returns a new loss object; classes,
configs and instances resolve through the ``"losses"`` registry, and a plain function
``fn(y_true, y_pred)`` is wrapped in a ``LossFunctionWrapper``.

Example:
    >>> import lapenna as lp
    >>> loss = lp.losses.get("mse")
    >>> loss([[1.0, 2.0]], [[1.0, 4.0]]).item()
    2.0
"""

from lapenna.losses.base import FUNCTIONS, REDUCTIONS, Loss, LossFunctionWrapper, reduce_losses
from lapenna.losses.margin import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from lapenna.losses.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lapenna.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from lapenna.utils.registry import Family

_API = Family("losses", base=Loss, wrap_function=LossFunctionWrapper)

# short names of the function forms, as in Keras
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


def get(identifier):
    """Resolve a loss: a name, a config dict, a Loss, a Loss class or a function.

    Strings and configs give a new Loss instance; a plain function
    ``fn(y_true, y_pred) -> per-sample losses`` is wrapped so the result always reduces
    to a scalar; ``None`` stays ``None``.

    Raises:
        ValueError: for an unknown name or an object that is not a loss.
    """
    return _API.get(identifier)


def serialize(loss):
    """Return ``{"class_name": ..., "config": ...}`` for a Loss (a name for a class)."""
    return _API.serialize(loss)


def deserialize(config, custom_objects=None):
    """Rebuild a Loss from ``serialize``'s output."""
    return _API.deserialize(config, custom_objects)


__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "REDUCTIONS",
    "FUNCTIONS",
    "reduce_losses",
    "get",
    "serialize",
    "deserialize",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Huber",
    "LogCosh",
    "CosineSimilarity",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "logcosh",
    "cosine_similarity",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "kl_divergence",
    "kld",
    "KLD",
    "kullback_leibler_divergence",
    "poisson",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "mse",
    "MSE",
    "mae",
    "MAE",
    "mape",
    "MAPE",
    "msle",
    "MSLE",
]
