"""``Variable``: a named Tensor owned by a layer or an optimizer, updated in place."""

from lapenna import backend as B
from lapenna.autograd import capture
from lapenna.autograd.tensor import Tensor


class Variable(Tensor):
    """A leaf Tensor holding state: a weight, a moving statistic or an optimizer slot.

    A trainable Variable requires grad, so every operation on it is recorded and tapes
    watch it automatically. ``assign``/``assign_add``/``assign_sub`` write into the same
    array in place (optimizers and batch-norm statistics use them outside the graph).

    Args:
        value: the initial value (array, list or number); floats become floatx.
        trainable: whether optimizers update it (and gradients flow to it).
        name: a readable name, e.g. ``"kernel"``.
        dtype: force a dtype.

    Example:
        >>> import lapenna as lp
        >>> v = lp.Variable([1.0, 2.0], name="w")
        >>> v.assign_add([1.0, 1.0]).numpy().tolist()
        [2.0, 3.0]
    """

    def __init__(self, value, trainable=True, name=None, dtype=None, constraint=None):
        data = value.data if isinstance(value, Tensor) else value
        data = B.xp.array(B.as_array(data, dtype), copy=True)
        super().__init__(data, requires_grad=False, name=name)
        self.trainable = trainable
        self.constraint = constraint

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        self._trainable = bool(flag)
        self.requires_grad = bool(flag) and B.is_float_dtype(self.data.dtype)

    def _value(self, value, op):
        value = value.data if isinstance(value, Tensor) else B.cast_like(value, self.dtype)
        if value.shape != self.shape and value.ndim != 0:
            raise ValueError(
                f"Variable '{self.name}': {op} expects a value of shape {self.shape}, "
                f"got shape {value.shape}"
            )
        return value

    def assign(self, value):
        """Overwrite the value in place; the shape must match."""
        capture.host("assign", self._write, [self._value(value, "assign")])
        return self

    def assign_add(self, value):
        capture.host("assign_add", self._add, [self._value(value, "assign_add")])
        return self

    def assign_sub(self, value):
        capture.host("assign_sub", self._subtract, [self._value(value, "assign_sub")])
        return self

    # in-place writes, each one step of a captured plan (see ``autograd.capture``)
    def _write(self, value):
        self.data[...] = value

    def _add(self, value):
        self.data += value

    def _subtract(self, value):
        self.data -= value

    def __repr__(self):
        return f"<Variable '{self.name}' shape={self.shape} dtype={self.dtype}>"
