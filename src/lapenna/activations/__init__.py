"""Activation functions by name or as functions (``Dense(64, activation="relu")``).

Every activation takes and returns Tensors and is registered in the "activations"
family under its Keras 3 name: ``linear relu relu6 leaky_relu elu selu sigmoid
hard_sigmoid silu (alias swish) hard_silu (alias hard_swish) gelu tanh softplus softsign
mish exponential softmax log_softmax``.

Example:
    >>> import lapenna as lp
    >>> act = lp.activations.get("relu")
    >>> act(lp.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    >>> lp.activations.serialize(act)
    'relu'
    >>> lp.activations.get(None) is lp.activations.linear
    True
"""

from lapenna.activations.activations import (
    elu,
    exponential,
    gelu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    leaky_relu,
    linear,
    log_softmax,
    mish,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    softsign,
    swish,
    tanh,
)
from lapenna.utils.registry import Family

_API = Family("activations", strict=True, default=linear)


def get(identifier):
    """Return the activation function for a name, a callable, a config dict or None.

    Args:
        identifier: ``"relu"``, a callable (returned as is), ``{"class_name": "relu"}``,
            or None (meaning ``linear``).

    Returns:
        A callable taking and returning Tensors.

    Raises:
        ValueError: for an unknown name or anything that is not callable.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.get("swish") is lp.activations.silu
        True
    """
    return _API.get(identifier)


def serialize(activation):
    """Return the registered name of an activation function (``None`` gives ``"linear"``).

    Raises:
        ValueError: for a callable that is not registered, since a saved model could not
            find it again by name.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.serialize(lp.activations.swish)
        'silu'
    """
    return _API.serialize(activation)


def deserialize(config, custom_objects=None):
    """Return the activation function for a name or a ``{"class_name": name}`` dict.

    Example:
        >>> import lapenna as lp
        >>> lp.activations.deserialize("gelu") is lp.activations.gelu
        True
    """
    return _API.deserialize(config, custom_objects)


__all__ = [
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "sigmoid",
    "hard_sigmoid",
    "silu",
    "swish",
    "hard_silu",
    "hard_swish",
    "gelu",
    "tanh",
    "softplus",
    "softsign",
    "mish",
    "exponential",
    "softmax",
    "log_softmax",
    "get",
    "serialize",
    "deserialize",
]
