"""Reductions: sum and max/min over axes (softmax-style reductions are in ``softmax``)."""

from lapenna.autograd import capture
from lapenna.autograd.function import Function
from lapenna.autograd.tensor import Tensor
from lapenna.backend import xp


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


class Sum(Function):
    """Sum over ``axis`` (a tuple of non-negative axes); backward broadcasts back."""

    def forward(self, x):
        self.in_shape = x.shape
        return xp.sum(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad):
        if not self.keepdims:
            grad = grad.reshape(_keep_shape(self.in_shape, self.axis))
        return grad.broadcast_to(self.in_shape)


class Max(Function):
    """Max (``sign=1``) or min (``sign=-1``) over axes; ties share the gradient equally."""

    def _share(self, winners, dtype):
        winners = winners.astype(dtype)
        return winners / winners.sum(axis=self.axis, keepdims=True)

    def forward(self, x):
        fn = xp.max if self.sign > 0 else xp.min
        if x.size == 0:
            raise ValueError(f"{'max' if self.sign > 0 else 'min'} of an empty tensor")
        out = fn(x, axis=self.axis, keepdims=True)
        self.save_for_backward(x == out)
        return (
            out
            if self.keepdims
            else out.reshape(tuple(d for i, d in enumerate(x.shape) if i not in self.axis))
        )

    def backward(self, grad):
        (winners,) = self.saved_tensors
        dtype = grad.dtype
        share = capture.host("MaxShare", lambda w: self._share(w, dtype), [winners])
        if not self.keepdims:
            grad = grad.reshape(_keep_shape(winners.shape, self.axis))
        return grad * Tensor(share)
