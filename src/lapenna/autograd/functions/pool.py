"""Pooling primitives. Average pooling is linear and pairs with its adjoint; max pooling
is a gather at the window winners, whose adjoint is a scatter to them, and the two call
each other in backward, so second derivatives work.

Geometry parameters: ``pool``, ``strides`` and ``pads`` (explicit ``(before, after)``).
"""

from lapenna import backend as B
from lapenna.autograd import grad_mode
from lapenna.autograd.function import Function


def _geometry(node):
    return {"pool": node.pool, "strides": node.strides, "pads": node.pads}


class MaxPool(Function):
    """Window maxima; the gradient goes to the first maximum of each window."""

    def forward(self, x):
        self.in_shape = x.shape
        if not (grad_mode.is_enabled() and self.parents[0].requires_grad):
            # no backward will come: skip recording the winners
            return B.max_pool_values(x, self.pool, self.strides, self.pads)
        values, argmax = B.max_pool(x, self.pool, self.strides, self.pads)
        self.save_for_backward(argmax)
        return values

    def backward(self, grad):
        (argmax,) = self.saved_tensors
        return MaxPoolScatter.apply(grad, argmax=argmax, in_shape=self.in_shape, **_geometry(self))


class MaxPoolScatter(Function):
    """Each pooled entry sent to its window's winner (the input gradient of max pooling)."""

    def forward(self, g):
        return B.max_pool_scatter(g, self.argmax, self.in_shape, self.pool, self.strides, self.pads)

    def backward(self, grad):
        return MaxPoolGather.apply(
            grad, argmax=self.argmax, in_shape=self.in_shape, **_geometry(self)
        )


class MaxPoolGather(Function):
    """An input-shaped array read at each window's winner (the adjoint of the scatter)."""

    def forward(self, z):
        return B.max_pool_gather(z, self.argmax, self.pool, self.strides, self.pads)

    def backward(self, grad):
        return MaxPoolScatter.apply(
            grad, argmax=self.argmax, in_shape=self.in_shape, **_geometry(self)
        )


class AvgPool(Function):
    """Window means over the real (unpadded) cells."""

    def forward(self, x):
        self.in_shape = x.shape
        return B.avg_pool(x, self.pool, self.strides, self.pads)

    def backward(self, grad):
        return AvgPoolAdjoint.apply(grad, in_shape=self.in_shape, **_geometry(self))


class AvgPoolAdjoint(Function):
    """Each pooled gradient spread evenly over its window's real cells."""

    def forward(self, g):
        return B.avg_pool_adjoint(g, self.in_shape, self.pool, self.strides, self.pads)

    def backward(self, grad):
        return AvgPool.apply(grad, **_geometry(self))
