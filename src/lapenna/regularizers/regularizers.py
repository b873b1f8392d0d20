"""Weight penalties: L1, L2, both, and a soft orthogonality penalty.

A regularizer maps a weight Tensor to a scalar Tensor written with ops, so its gradient
flows into the weight like any loss term. Layers collect the penalties in ``losses`` and
``fit`` adds them to the loss.
"""

import math
import numbers

from lapenna import ops
from lapenna.autograd import as_tensor
from lapenna.backend import xp
from lapenna.utils import register
from lapenna.utils.config import Configurable

# keeps the normalization of an all-zero row finite (Keras's backend epsilon)
_EPSILON = 1e-7


def _factor(value, name, argument):
    """Return ``value`` as a float, or raise a ValueError quoting it."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} expects {argument} to be a non-negative number, got {value!r}")
    return float(value)


class Regularizer(Configurable):
    """Base class of regularizers: ``penalty = regularizer(weight)``, a scalar Tensor.

    Subclasses write ``__call__`` with ops (so the penalty is differentiable) and
    ``get_config``.

    Example:
        >>> import lapenna as lp
        >>> reg = lp.regularizers.L2(0.1)
        >>> reg(lp.tensor([1.0, 2.0])).item()
        0.5
    """

    def __call__(self, x):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define __call__")


@register("regularizers", aliases=("l1_l2",))
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)``.

    Args:
        l1: the L1 factor (non-negative; None means 0).
        l2: the L2 factor (non-negative; None means 0).

    Example:
        >>> import lapenna as lp
        >>> lp.regularizers.L1L2(l1=0.5, l2=0.25)(lp.tensor([1.0, -2.0])).item()
        2.75
    """

    def __init__(self, l1=0.0, l2=0.0):
        name = type(self).__name__
        self.l1 = _factor(0.0 if l1 is None else l1, name, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, name, "l2")

    def __call__(self, x):
        x = as_tensor(x)
        penalty = ops.sum(x * 0)
        if self.l1:
            penalty = penalty + ops.sum(ops.abs(x)) * self.l1
        if self.l2:
            penalty = penalty + ops.sum(ops.square(x)) * self.l2
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@register("regularizers", aliases=("l1",))
class L1(Regularizer):
    """``l1 * sum(|x|)``: pushes weights to exactly zero (sparse weights).

    Args:
        l1: the factor (non-negative; None means 0.01).

    Example:
        >>> import lapenna as lp
        >>> lp.regularizers.L1(0.5)(lp.tensor([1.0, -3.0])).item()
        2.0
    """

    def __init__(self, l1=0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "L1", "l1")

    def __call__(self, x):
        return ops.sum(ops.abs(as_tensor(x))) * self.l1

    def get_config(self):
        return {"l1": self.l1}


@register("regularizers", aliases=("l2",))
class L2(Regularizer):
    """``l2 * sum(x^2)`` (weight decay; Keras's form, without a factor 1/2).

    Args:
        l2: the factor (non-negative; None means 0.01).

    Example:
        >>> import lapenna as lp
        >>> lp.regularizers.L2(0.5)(lp.tensor([1.0, -3.0])).item()
        5.0
    """

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "L2", "l2")

    def __call__(self, x):
        return ops.sum(ops.square(as_tensor(x))) * self.l2

    def get_config(self):
        return {"l2": self.l2}


@register("regularizers", aliases=("orthogonal_regularizer",))
class OrthogonalRegularizer(Regularizer):
    """Penalize the cosine similarity between the rows (or columns) of a 2-D weight.

    The rows (``mode="rows"``) or columns are normalized to unit length, their Gram
    matrix P is formed, and the penalty is ``factor * 0.5 * sum(|P - diag(P)|) / pairs``
    with ``pairs = n (n - 1) / 2``: the mean absolute cosine over distinct pairs, times
    ``factor``. It is 0 when the vectors are orthogonal.

    Args:
        factor: the penalty factor (non-negative).
        mode: ``"rows"`` or ``"columns"``.

    Raises:
        ValueError: for a bad argument, or when called on a weight that is not 2-D.

    Example:
        >>> import lapenna as lp
        >>> reg = lp.regularizers.OrthogonalRegularizer(factor=1.0)
        >>> reg(lp.tensor([[1.0, 0.0], [0.0, 2.0]])).item()
        0.0
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "OrthogonalRegularizer", "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(
                f"OrthogonalRegularizer expects mode 'rows' or 'columns', got {mode!r}"
            )
        self.mode = mode

    def __call__(self, x):
        x = as_tensor(x)
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer expects a 2-D weight, got shape {x.shape}")
        vectors = x if self.mode == "rows" else ops.transpose(x)
        squared = ops.sum(ops.square(vectors), axis=1, keepdims=True)
        unit = vectors / ops.sqrt(ops.maximum(squared, _EPSILON * _EPSILON))
        gram = ops.matmul(unit, ops.transpose(unit))
        n = gram.shape[0]
        off_diagonal = gram * (1 - xp.eye(n, dtype=gram.dtype))
        pairs = max(n * (n - 1) / 2, 1.0)
        return ops.sum(ops.abs(off_diagonal)) * (self.factor * 0.5 / pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def l1(l1=0.01):
    """Return ``L1(l1)`` (Keras's shortcut)."""
    return L1(l1)


def l2(l2=0.01):
    """Return ``L2(l2)`` (Keras's shortcut)."""
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    """Return ``L1L2(l1, l2)``; unlike the class, both factors default to 0.01."""
    return L1L2(l1=l1, l2=l2)
