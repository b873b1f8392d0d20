"""Deterministic initializers: zeros, ones, a constant and the identity matrix."""

import numbers

from lapenna.backend import xp
from lapenna.initializers.base import Initializer, check_number
from lapenna.utils import register


@register("initializers", aliases=("zeros", "zero"))
class Zeros(Initializer):
    """Fill with 0 (the default bias initializer).

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.Zeros()((2,)).tolist()
        [0.0, 0.0]
    """

    def _generate(self, shape, dtype, generator):
        return xp.zeros(shape, dtype=dtype)


@register("initializers", aliases=("ones", "one"))
class Ones(Initializer):
    """Fill with 1 (the default BatchNormalization gamma initializer).

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.Ones()((2,)).tolist()
        [1.0, 1.0]
    """

    def _generate(self, shape, dtype, generator):
        return xp.ones(shape, dtype=dtype)


@register("initializers", aliases=("constant",))
class Constant(Initializer):
    """Fill with ``value``: a number, or a nested list that broadcasts to the shape.

    Args:
        value: the fill value.

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.Constant(0.5)((2,)).tolist()
        [0.5, 0.5]
    """

    def __init__(self, value=0):
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            self.value = value
        else:
            try:
                self.value = xp.asarray(value, dtype=xp.float64).tolist()
            except (TypeError, ValueError) as err:
                raise ValueError(
                    f"Constant expects a number or a nested list of numbers, got {value!r}"
                ) from err

    def _generate(self, shape, dtype, generator):
        value = xp.asarray(self.value, dtype=dtype)
        try:
            return xp.array(xp.broadcast_to(value, shape))
        except ValueError as err:
            raise ValueError(
                f"Constant cannot fill shape {shape} with a value of shape {value.shape}"
            ) from err

    def get_config(self):
        return {"value": self.value}


@register("initializers", aliases=("identity",))
class Identity(Initializer):
    """``gain`` times the identity matrix (rectangular shapes get ones on the diagonal).

    Only for 2-D weights, e.g. the recurrent kernel of an RNN started as the identity
    (Le et al., 2015, "A Simple Way to Initialize Recurrent Networks of Rectified Linear
    Units", https://arxiv.org/abs/1504.00941).

    Args:
        gain: the diagonal value.

    Raises:
        ValueError: when the shape is not 2-D.

    Example:
        >>> import lapenna as lp
        >>> lp.initializers.Identity(gain=2.0)((2, 2)).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = check_number(gain, "Identity", "gain")

    def _generate(self, shape, dtype, generator):
        if len(shape) != 2:
            raise ValueError(f"Identity expects a 2-D shape, got shape {shape}")
        return xp.eye(*shape, dtype=dtype) * dtype.type(self.gain)

    def get_config(self):
        return {"gain": self.gain}
