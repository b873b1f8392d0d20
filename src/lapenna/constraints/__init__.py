"""Weight constraints: projections applied after each optimizer step.

``Dense(units, kernel_constraint="max_norm")`` gives the kernel variable a constraint;
the optimizer then runs ``var.assign(var.constraint(var))`` after updating it
(projected gradient descent). Names resolve through the "constraints" registry:
``"max_norm"``, ``"non_neg"``, ``"unit_norm"``, ``"min_max_norm"`` and the class names.

Example:
    >>> import lapenna as lp
    >>> w = lp.Variable([[3.0], [4.0]], constraint=lp.constraints.get("unit_norm"))
    >>> [round(v, 4) for v in w.assign(w.constraint(w)).numpy()[:, 0].tolist()]
    [0.6, 0.8]
    >>> lp.constraints.serialize(w.constraint)
    {'class_name': 'UnitNorm', 'config': {'axis': 0}}
"""

from lapenna.constraints.constraints import Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm
from lapenna.utils.registry import Family

_API = Family("constraints", strict=True)


def get(identifier):
    """Return a constraint for a name, a config dict, a class, an instance or a callable.

    Args:
        identifier: ``"max_norm"``, ``{"class_name": "MaxNorm", "config": {...}}``,
            ``MaxNorm``, ``MaxNorm(3)``, a function ``weight -> Tensor``, or None.

    Returns:
        A constraint, or None for None.

    Raises:
        ValueError: for an unknown name or anything else.

    Example:
        >>> import lapenna as lp
        >>> lp.constraints.get("max_norm")
        MaxNorm(max_value=2.0, axis=0)
    """
    return _API.get(identifier)


def serialize(constraint):
    """Return ``{"class_name": ..., "config": ...}`` for a registered constraint.

    Raises:
        ValueError: for a constraint that is not registered (a plain function or an
            unregistered subclass), which could not be rebuilt from the config.
    """
    return _API.serialize(constraint)


def deserialize(config, custom_objects=None):
    """Rebuild a constraint from ``serialize``'s output (or a name)."""
    return _API.deserialize(config, custom_objects)


__all__ = [
    "Constraint",
    "MaxNorm",
    "NonNeg",
    "UnitNorm",
    "MinMaxNorm",
    "get",
    "serialize",
    "deserialize",
]
