"""Elementwise primitives. Each backward returns the gradient at full (broadcast) shape;
the engine sums it back to the input's shape."""

from lapenna import backend as B
from lapenna.autograd import capture
from lapenna.autograd.function import Function
from lapenna.autograd.tensor import Tensor
from lapenna.backend import xp


class Add(Function):
    """x + y: the add gate passes the gradient to both inputs unchanged."""

    def forward(self, x, y):
        return x + y

    def backward(self, grad):
        return grad, grad


class Subtract(Function):
    def forward(self, x, y):
        return x - y

    def backward(self, grad):
        return grad, -grad


class Multiply(Function):
    """x * y: the multiply gate sends each input the gradient times the other input."""

    def forward(self, x, y):
        self.save_for_backward(*self.parents)
        return x * y

    def backward(self, grad):
        x, y = self.saved_tensors
        return (grad * y if self.needs_grad[0] else None, grad * x if self.needs_grad[1] else None)


class Divide(Function):
    def forward(self, x, y):
        self.save_for_backward(*self.parents)
        return x / y

    def backward(self, grad):
        x, y = self.saved_tensors
        gx = grad / y
        gy = -gx * x / y if self.needs_grad[1] else None
        return gx if self.needs_grad[0] else None, gy


class Negative(Function):
    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Power(Function):
    """x ** y; the gradient for y is x**y * log(x), defined where x > 0."""

    def forward(self, x, y):
        self.save_for_backward(*self.parents)
        self.save_output()
        return x**y

    def backward(self, grad):
        x, y = self.saved_tensors
        gx = grad * y * x ** (y - 1) if self.needs_grad[0] else None
        gy = None
        if self.needs_grad[1]:
            safe = Where.apply(x > 0, x, 1)
            gy = grad * self.output() * Log.apply(safe)
        return gx, gy


class Exp(Function):
    def forward(self, x):
        self.save_output()
        return xp.exp(x)

    def backward(self, grad):
        return grad * self.output()


class Log(Function):
    def forward(self, x):
        self.save_for_backward(self.parents[0])
        return xp.log(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / x


class Sqrt(Function):
    def forward(self, x):
        self.save_output()
        return xp.sqrt(x)

    def backward(self, grad):
        return grad / (self.output() * 2)


class Abs(Function):
    def forward(self, x):
        self.save_for_backward(self.parents[0])
        return xp.abs(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * Tensor(capture.host("sign", xp.sign, [x.data]))


class Sign(Function):
    """sign(x): piecewise constant, so its gradient is zero."""

    def forward(self, x):
        return xp.sign(x)

    def backward(self, grad):
        return grad * 0


class Maximum(Function):
    """max(x, y): the max gate routes the gradient to the input that won (x on ties)."""

    sign = 1

    def forward(self, x, y):
        self.save_for_backward(*self.parents)
        return xp.maximum(x, y) if self.sign > 0 else xp.minimum(x, y)

    def backward(self, grad):
        x, y = self.saved_tensors
        dtype = grad.dtype
        masks = capture.host("MaxMasks", lambda a, b: self._masks(a, b, dtype), [x.data, y.data])
        return grad * Tensor(masks[0]), grad * Tensor(masks[1])

    def _masks(self, x, y, dtype):
        """Where the gradient goes: to x where it won (ties included), else to y."""
        first = (x >= y) if self.sign > 0 else (x <= y)
        return first.astype(dtype), (~first).astype(dtype)


class Minimum(Maximum):
    sign = -1


class Where(Function):
    """where(condition, x, y); the condition gets no gradient."""

    def forward(self, condition, x, y):
        condition = condition.astype(bool, copy=False)
        self.save_for_backward(condition)
        return xp.where(condition, x, y)

    def backward(self, grad):
        zero = Tensor(xp.zeros((), dtype=grad.dtype))
        mask = Tensor(self.saved_tensors[0])
        return None, Where.apply(mask, grad, zero), Where.apply(mask, zero, grad)


class Clip(Function):
    """clip(x, low, high); the gradient flows where low <= x <= high."""

    def forward(self, x):
        low = -xp.inf if self.low is None else self.low
        high = xp.inf if self.high is None else self.high
        self.save_for_backward((x >= low) & (x <= high))
        return xp.clip(x, low, high).astype(x.dtype, copy=False)

    def backward(self, grad):
        (mask,) = self.saved_tensors
        dtype = grad.dtype
        return grad * Tensor(capture.host("ClipMask", lambda m: m.astype(dtype), [mask]))


class Tanh(Function):
    def forward(self, x):
        self.save_output()
        return xp.tanh(x)

    def backward(self, grad):
        y = self.output()
        return grad * (1 - y * y)


class Arctan(Function):
    def forward(self, x):
        self.save_for_backward(self.parents[0])
        return xp.arctan(x)

    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (1 + x * x)


class Sigmoid(Function):
    def forward(self, x):
        self.save_output()
        # exp of a non-positive number only, so it never overflows
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def backward(self, grad):
        y = self.output()
        return grad * y * (1 - y)


class Relu(Function):
    """max(x, 0); backward keeps only the output (its sign is the mask)."""

    def forward(self, x):
        y = B.relu(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        return ReluGrad.apply(grad, positive=y)


class ReluGrad(Function):
    """``g`` where the array ``positive`` is above 0, else 0: the ReLU's backward. It is
    linear in ``g``, so its own gradient is the same mask."""

    def forward(self, g):
        return B.relu_grad(g, self.positive)

    def backward(self, grad):
        return ReluGrad.apply(grad, positive=self.positive)


class Cast(Function):
    def forward(self, x):
        self.source = x.dtype
        return x.astype(self.dtype)

    def backward(self, grad):
        return Cast.apply(grad, dtype=self.source)
