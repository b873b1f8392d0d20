"""Weight initializers: ``shape, dtype, generator -> array``.

Every initializer is a small object with Keras's name, arguments and defaults, registered
under its class name and Keras's snake_case aliases (``"glorot_uniform"``,
``"he_normal"``...; also ``"xavier_uniform"``, ``"kaiming_normal"``...). Layers resolve
their ``kernel_initializer`` and ``bias_initializer`` arguments with ``get``.

Example:
    >>> import lapenna as lp
    >>> init = lp.initializers.get("he_normal")
    >>> w = init((784, 256))
    >>> w.shape, w.dtype
    ((784, 256), dtype('float32'))
    >>> lp.initializers.serialize(init)
    {'class_name': 'HeNormal', 'config': {'seed': None}}
"""

from lapenna.initializers.base import Initializer, compute_fans
from lapenna.initializers.constant import Constant, Identity, Ones, Zeros
from lapenna.initializers.random import (
    Orthogonal,
    RandomInitializer,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
)
from lapenna.initializers.variance_scaling import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    VarianceScaling,
)
from lapenna.utils.registry import Family

# the spelling of the issue and of the LeCun papers, for the same classes
LeCunNormal = LecunNormal
LeCunUniform = LecunUniform

_API = Family("initializers", strict=True)


def get(identifier):
    """Return an initializer for a name, a config dict, a class, an instance or a callable.

    Args:
        identifier: ``"glorot_uniform"``, ``{"class_name": "HeNormal", "config": {...}}``,
            ``HeNormal``, ``HeNormal(seed=1)``, a function ``(shape, dtype) -> array``, or
            None.

    Returns:
        An initializer (a new instance for names, configs and classes), or None for None.

    Raises:
        ValueError: for an unknown name or anything else.

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.get("zeros")
        Zeros()
    """
    return _API.get(identifier)


def serialize(initializer):
    """Return ``{"class_name": ..., "config": ...}`` for a registered initializer.

    Raises:
        ValueError: for an initializer that is not registered (a plain function or an
            unregistered subclass), which could not be rebuilt from the config.

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.serialize(lp.initializers.Constant(3))
        {'class_name': 'Constant', 'config': {'value': 3}}
    """
    return _API.serialize(initializer)


def deserialize(config, custom_objects=None):
    """Rebuild an initializer from ``serialize``'s output (or a name).

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.deserialize({"class_name": "Orthogonal", "config": {"gain": 2.0}})
        Orthogonal(gain=2.0, seed=None)
    """
    return _API.deserialize(config, custom_objects)


__all__ = [
    "Initializer",
    "RandomInitializer",
    "Zeros",
    "Ones",
    "Constant",
    "Identity",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "Orthogonal",
    "VarianceScaling",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "LeCunNormal",
    "LeCunUniform",
    "compute_fans",
    "get",
    "serialize",
    "deserialize",
]
