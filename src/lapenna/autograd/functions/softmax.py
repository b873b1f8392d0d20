"""Softmax and log-softmax along one axis, computed stably (max subtracted first)."""

from lapenna.autograd.function import Function
from lapenna.backend import xp


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)); dL/dx = y * (g - sum(g * y))."""

    def forward(self, x):
        self.save_output()
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, grad):
        y = self.output()
        return y * (grad - (grad * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x); dL/dx = g - softmax(x) * sum(g)."""

    def forward(self, x):
        self.save_output()
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad):
        y = self.output()
        return grad - y.exp() * grad.sum(axis=self.axis, keepdims=True)
