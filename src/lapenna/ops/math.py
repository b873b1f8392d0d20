"""Elementwise operations with numpy names, and activations composed from them."""

from lapenna.autograd import Tensor, as_tensor
from lapenna.autograd import functions as F


def _pair(x, y):
    """Convert two operands, letting plain numbers adopt the dtype of the Tensor one."""
    x = as_tensor(x, y if isinstance(y, Tensor) else None)
    return x, as_tensor(y, x)


def add(x, y):
    """x + y, broadcasting."""
    return F.Add.apply(*_pair(x, y))


def subtract(x, y):
    """x - y, broadcasting."""
    return F.Subtract.apply(*_pair(x, y))


def multiply(x, y):
    """x * y, broadcasting."""
    return F.Multiply.apply(*_pair(x, y))


def divide(x, y):
    """x / y, broadcasting."""
    return F.Divide.apply(*_pair(x, y))


def power(x, y):
    """x ** y, broadcasting; differentiable in both arguments (in y where x > 0)."""
    return F.Power.apply(*_pair(x, y))


def negative(x):
    return F.Negative.apply(as_tensor(x))


def exp(x):
    return F.Exp.apply(as_tensor(x))


def log(x):
    return F.Log.apply(as_tensor(x))


def arctan(x):
    """The inverse tangent, elementwise, in (-pi/2, pi/2)."""
    return F.Arctan.apply(as_tensor(x))


def sqrt(x):
    return F.Sqrt.apply(as_tensor(x))


def square(x):
    x = as_tensor(x)
    return x * x


def abs(x):  # noqa: A001 - numpy's name
    return F.Abs.apply(as_tensor(x))


def sign(x):
    return F.Sign.apply(as_tensor(x))


def maximum(x, y):
    """Elementwise max; the gradient goes to the larger input (to ``x`` on ties)."""
    return F.Maximum.apply(*_pair(x, y))


def minimum(x, y):
    """Elementwise min; the gradient goes to the smaller input (to ``x`` on ties)."""
    return F.Minimum.apply(*_pair(x, y))


def where(condition, x, y):
    """Pick ``x`` where ``condition`` holds, else ``y``; the condition gets no gradient."""
    x, y = _pair(x, y)
    return F.Where.apply(as_tensor(condition), x, y)


def clip(x, low, high):
    """Limit values to [low, high] (either may be None); no gradient outside."""
    return F.Clip.apply(as_tensor(x), low=low, high=high)


def tanh(x):
    return F.Tanh.apply(as_tensor(x))


def sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow."""
    return F.Sigmoid.apply(as_tensor(x))


def relu(x):
    """max(x, 0)."""
    return F.Relu.apply(as_tensor(x))


def leaky_relu(x, negative_slope=0.2):
    """x where x > 0, else negative_slope * x."""
    x = as_tensor(x)
    return where(x > 0, x, x * negative_slope)


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1)."""
    x = as_tensor(x)
    return where(x > 0, x, (exp(minimum(x, 0)) - 1) * alpha)


def softplus(x):
    """log(1 + exp(x)) computed as relu(x) + log(1 + exp(-|x|)), which never overflows."""
    x = as_tensor(x)
    return relu(x) + log(exp(-abs(x)) + 1)
