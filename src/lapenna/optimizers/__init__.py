"""Optimizers: update Variables in place from their gradients, outside the graph.

``optimizers.get("adam")`` returns a new Adam with Keras's defaults; configs and
instances resolve through the ``"optimizers"`` registry. Learning-rate schedules live in
``lapenna.optimizers.schedules``.

Example (a custom training step):
    >>> import lapenna as lp
    >>> w = lp.Variable([[0.5], [-0.5]], name="w")
    >>> opt = lp.optimizers.get("sgd")
    >>> x, y = lp.tensor([[1.0, 2.0]]), lp.tensor([[1.0]])
    >>> with lp.GradientTape() as tape:
    ...     loss = lp.losses.mean_squared_error(y, x @ w).mean()
    >>> grads = tape.gradient(loss, [w])
    >>> opt.apply_gradients(zip(grads, [w]))
    1
"""

from lapenna.optimizers import schedules
from lapenna.optimizers.adagrad import Adadelta, Adagrad
from lapenna.optimizers.adam import Adam, AdamW, Nadam
from lapenna.optimizers.base import Optimizer
from lapenna.optimizers.rmsprop import RMSprop
from lapenna.optimizers.sgd import SGD
from lapenna.utils.registry import Family

_API = Family("optimizers", base=Optimizer)


def get(identifier):
    """Resolve an optimizer: a name (``"adam"``), a config dict, an Optimizer class or an
    instance (returned as is).

    Raises:
        ValueError: for an unknown name or something that is not an optimizer.
    """
    return _API.get(identifier)


def serialize(optimizer):
    """Return ``{"class_name": ..., "config": ...}`` (a schedule is serialized inside)."""
    return _API.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from ``serialize``'s output."""
    return _API.deserialize(config, custom_objects)


__all__ = [
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adam",
    "AdamW",
    "Nadam",
    "Adagrad",
    "Adadelta",
    "schedules",
    "get",
    "serialize",
    "deserialize",
]
