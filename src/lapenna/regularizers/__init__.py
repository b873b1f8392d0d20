"""Weight regularizers: penalties added to the loss (``kernel_regularizer=...``).

Names resolve through the "regularizers" registry: ``"l1"``, ``"l2"``, ``"l1_l2"``,
``"orthogonal_regularizer"`` and the class names. A string gives the class with its
default factors (``"l2"`` is ``L2(0.01)``; ``"l1_l2"`` is ``L1L2()``, both factors 0, as in
Keras), so pass an instance to choose the factor.

Example:
    >>> import lapenna as lp
    >>> reg = lp.regularizers.get("l2")
    >>> w = lp.tensor([[1.0, 2.0]], requires_grad=True)
    >>> penalty = reg(w)
    >>> round(penalty.item(), 6)
    0.05
    >>> lp.regularizers.serialize(reg)
    {'class_name': 'L2', 'config': {'l2': 0.01}}
"""

from lapenna.regularizers.regularizers import (
    L1,
    L1L2,
    L2,
    OrthogonalRegularizer,
    Regularizer,
    l1,
    l1_l2,
    l2,
)
from lapenna.utils.registry import Family

_API = Family("regularizers", strict=True)


def get(identifier):
    """Return a regularizer for a name, a config dict, a class, an instance or a callable.

    Args:
        identifier: ``"l2"``, ``{"class_name": "L1", "config": {"l1": 0.1}}``, ``L2``,
            ``L2(1e-4)``, a function ``weight -> scalar Tensor``, or None.

    Returns:
        A regularizer, or None for None.

    Raises:
        ValueError: for an unknown name or anything else.

    Example:
        >>> import lapenna as lp
        >>> lp.regularizers.get({"class_name": "L1", "config": {"l1": 0.1}})
        L1(l1=0.1)
    """
    return _API.get(identifier)


def serialize(regularizer):
    """Return ``{"class_name": ..., "config": ...}`` for a registered regularizer.

    Raises:
        ValueError: for a regularizer that is not registered (a plain function or an
            unregistered subclass), which could not be rebuilt from the config.
    """
    return _API.serialize(regularizer)


def deserialize(config, custom_objects=None):
    """Rebuild a regularizer from ``serialize``'s output (or a name)."""
    return _API.deserialize(config, custom_objects)


__all__ = [
    "Regularizer",
    "L1",
    "L2",
    "L1L2",
    "OrthogonalRegularizer",
    "l1",
    "l2",
    "l1_l2",
    "get",
    "serialize",
    "deserialize",
]
