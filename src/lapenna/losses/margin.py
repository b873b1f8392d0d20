"""Hinge losses (maximum-margin classification), as used by support vector machines.

Cortes and Vapnik, "Support-Vector Networks", Machine Learning, 1995; the categorical
form follows Crammer and Singer, "On the Algorithmic Implementation of Multiclass
Kernel-based Vector Machines", JMLR 2001.
"""

from lapenna import ops
from lapenna.backend import xp
from lapenna.losses.base import LossFunctionWrapper, loss_function, prepare
from lapenna.utils import register


def _signed_labels(y_true):
    """Labels in {0, 1} become {-1, 1}; labels already in {-1, 1} stay."""
    values = y_true.data
    if xp.all((values == 0) | (values == 1)):
        return y_true * 2.0 - 1.0
    return y_true


@loss_function()
def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis; labels -1/1 (or 0/1)."""
    y_true, y_pred = prepare(y_true, y_pred, "hinge")
    return ops.relu(1.0 - _signed_labels(y_true) * y_pred).mean(axis=-1)


@loss_function()
def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0) ** 2) over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred, "squared_hinge")
    return ops.square(ops.relu(1.0 - _signed_labels(y_true) * y_pred)).mean(axis=-1)


@loss_function()
def categorical_hinge(y_true, y_pred):
    """max(0, 1 + max_{wrong} y_pred - y_pred[true]) for one-hot ``y_true``."""
    y_true, y_pred = prepare(y_true, y_pred, "categorical_hinge")
    positive = (y_true * y_pred).sum(axis=-1)
    negative = ((1.0 - y_true) * y_pred).max(axis=-1)
    return ops.relu(negative - positive + 1.0)


@register("losses", aliases=("hinge",))
class Hinge(LossFunctionWrapper):
    """Hinge loss ``max(1 - y_true * y_pred, 0)`` for labels -1/1 (0/1 are converted).

    Example:
        >>> import lapenna as lp
        >>> lp.losses.Hinge()([[1.0, 0.0]], [[0.5, -2.0]]).item()
        0.25
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge"):
        super().__init__(hinge, reduction=reduction, name=name)


@register("losses", aliases=("squared_hinge",))
class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss ``max(1 - y_true * y_pred, 0) ** 2``."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge"):
        super().__init__(squared_hinge, reduction=reduction, name=name)


@register("losses", aliases=("categorical_hinge",))
class CategoricalHinge(LossFunctionWrapper):
    """Multiclass hinge: the best wrong score must trail the true one by a margin of 1.

    Example:
        >>> import lapenna as lp
        >>> lp.losses.CategoricalHinge()([[0.0, 1.0, 0.0]], [[0.5, 1.0, 0.2]]).item()
        0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge"):
        super().__init__(categorical_hinge, reduction=reduction, name=name)
