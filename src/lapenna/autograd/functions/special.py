"""Special-function primitives: the error function."""

import math

from lapenna.autograd.function import Function
from lapenna.backend.special import erf

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


class Erf(Function):
    """erf(x); d erf(x)/dx = 2 / sqrt(pi) * exp(-x^2), itself differentiable."""

    def forward(self, x):
        self.save_for_backward(self.parents[0])
        return erf(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * (-(x * x)).exp() * _TWO_OVER_SQRT_PI
