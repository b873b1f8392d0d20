"""Weight constraints: projections applied to a weight after each optimizer step.

An optimizer with a constrained variable does ``var.assign(var.constraint(var))`` after
the update, which makes training projected gradient descent: step along the gradient,
then move back to the nearest point of the allowed set. Constraints are computed under
``no_grad`` and are not part of any graph.
"""

import math
import numbers

from lapenna import ops
from lapenna.autograd import as_tensor, no_grad
from lapenna.utils import register
from lapenna.utils.config import Configurable

# keeps a zero vector at zero instead of dividing 0 by 0 (Keras's backend epsilon)
_EPSILON = 1e-7


def _number(value, name, argument, low=0.0, high=math.inf):
    """Return ``value`` as a float in [low, high], or raise a ValueError quoting it."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        bounds = f"in [{low}, {high}]" if math.isfinite(high) else f">= {low}"
        raise ValueError(f"{name} expects {argument} to be a finite number {bounds}, got {value!r}")
    return float(value)


def _axis(axis, name):
    """Return ``axis`` as an int or a list of ints (JSON-safe), or raise a ValueError."""

    def is_int(a):
        return isinstance(a, numbers.Integral) and not isinstance(a, bool)

    if is_int(axis):
        return int(axis)
    if isinstance(axis, tuple | list) and axis and all(is_int(a) for a in axis):
        return [int(a) for a in axis]
    raise ValueError(f"{name} expects axis to be an int or a list of ints, got {axis!r}")


class Constraint(Configurable):
    """Base class of constraints: ``projected = constraint(weight)``.

    Subclasses write ``project(w)`` with ops on a detached Tensor, and ``get_config``.

    Example:
        >>> import lapenna as lp
        >>> lp.constraints.NonNeg()(lp.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __call__(self, w):
        """Return the projection of ``w`` (a Tensor, Variable or array) as a new Tensor."""
        w = as_tensor(w)
        with no_grad():
            return self.project(w.detach())

    def project(self, w):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define project")


class _NormConstraint(Constraint):
    """A constraint on the L2 norms of slices of a weight taken along ``axis``."""

    def _norms(self, w):
        axes = tuple(self.axis) if isinstance(self.axis, list) else (self.axis,)
        for a in axes:
            if not -w.ndim <= a < w.ndim:
                raise ValueError(
                    f"{type(self).__name__} with axis={self.axis!r} cannot constrain a weight "
                    f"of shape {w.shape}"
                )
        return ops.sqrt(ops.sum(ops.square(w), axis=axes, keepdims=True))


@register("constraints", aliases=("max_norm",))
class MaxNorm(_NormConstraint):
    """Rescale each slice whose L2 norm exceeds ``max_value`` down to that norm.

    ``w * clip(norm, 0, max_value) / (epsilon + norm)``. With Keras layouts the default
    ``axis=0`` constrains each unit's incoming weights: the columns of a Dense kernel
    ``(in, out)``; for a Conv2D kernel ``(kh, kw, in, out)`` use ``axis=[0, 1, 2]``.
    The course's max-norm constraint with c = 3 or 4 is ``MaxNorm(3)``.

    Reference: Srivastava et al., 2014, "Dropout: A Simple Way to Prevent Neural Networks
    from Overfitting", JMLR 15, section 5.1.

    Args:
        max_value: the largest allowed norm (non-negative).
        axis: the axis (or list of axes) the norms are taken over.

    Example:
        >>> import lapenna as lp
        >>> w = lp.tensor([[3.0, 0.1], [4.0, 0.0]])
        >>> [round(v, 4) for v in lp.constraints.MaxNorm(1.0)(w).numpy()[:, 0].tolist()]
        [0.6, 0.8]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number(max_value, "MaxNorm", "max_value")
        self.axis = _axis(axis, "MaxNorm")

    def project(self, w):
        norms = self._norms(w)
        desired = ops.clip(norms, 0, self.max_value)
        return w * (desired / (norms + _EPSILON))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@register("constraints", aliases=("non_neg",))
class NonNeg(Constraint):
    """Set negative weights to zero.

    Example:
        >>> import lapenna as lp
        >>> lp.constraints.NonNeg()(lp.tensor([[-0.5, 0.5]])).tolist()
        [[0.0, 0.5]]
    """

    def project(self, w):
        return ops.where(w >= 0, w, 0)


@register("constraints", aliases=("unit_norm",))
class UnitNorm(_NormConstraint):
    """Rescale each slice along ``axis`` to unit L2 norm: ``w / (epsilon + norm)``.

    Args:
        axis: the axis (or list of axes) the norms are taken over.

    Example:
        >>> import lapenna as lp
        >>> w = lp.constraints.UnitNorm()(lp.tensor([[3.0], [4.0]]))
        >>> [round(v, 4) for v in w.numpy()[:, 0].tolist()]
        [0.6, 0.8]
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis, "UnitNorm")

    def project(self, w):
        return w / (self._norms(w) + _EPSILON)

    def get_config(self):
        return {"axis": self.axis}


@register("constraints", aliases=("min_max_norm",))
class MinMaxNorm(_NormConstraint):
    """Move each slice's L2 norm into [min_value, max_value], at a given rate.

    The new norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``:
    ``rate=1`` enforces the bounds exactly, a smaller rate moves part of the way each step.

    Args:
        min_value: the smallest allowed norm (non-negative).
        max_value: the largest allowed norm (not below ``min_value``).
        rate: the fraction of the way to move, in [0, 1].
        axis: the axis (or list of axes) the norms are taken over.

    Example:
        >>> import lapenna as lp
        >>> w = lp.constraints.MinMaxNorm(1.0, 2.0)(lp.tensor([[0.3], [0.4]]))
        >>> [round(v, 4) for v in w.numpy()[:, 0].tolist()]
        [0.6, 0.8]
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _number(min_value, "MinMaxNorm", "min_value")
        self.max_value = _number(max_value, "MinMaxNorm", "max_value", low=self.min_value)
        self.rate = _number(rate, "MinMaxNorm", "rate", high=1.0)
        self.axis = _axis(axis, "MinMaxNorm")

    def project(self, w):
        norms = self._norms(w)
        clipped = ops.clip(norms, self.min_value, self.max_value)
        desired = clipped * self.rate + norms * (1 - self.rate)
        return w * (desired / (norms + _EPSILON))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }
