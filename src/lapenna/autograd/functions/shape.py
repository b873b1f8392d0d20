"""Shape primitives: reshape, transpose, broadcast, indexing, concatenation, padding."""

from lapenna.autograd.function import Function
from lapenna.backend import xp


class Reshape(Function):
    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                f"into shape {self.shape}"
            ) from None

    def backward(self, grad):
        return grad.reshape(self.in_shape)


class Transpose(Function):
    def forward(self, x):
        if sorted(self.axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {self.axes} do not fit a tensor of rank {x.ndim}")
        return x.transpose(self.axes)

    def backward(self, grad):
        return grad.transpose(tuple(xp.argsort(self.axes).tolist()))


class BroadcastTo(Function):
    """Broadcast to ``shape``; the engine's sum-to-shape is this primitive's backward."""

    def forward(self, x):
        try:
            return xp.broadcast_to(x, self.shape)
        except ValueError:
            raise ValueError(
                f"broadcast_to: cannot broadcast shape {x.shape} to {self.shape}"
            ) from None

    def backward(self, grad):
        return grad


class GetItem(Function):
    """x[index] for ints, slices, None, Ellipsis and integer or boolean arrays."""

    def forward(self, x):
        self.in_shape = x.shape
        try:
            out = x[self.index]
        except IndexError as err:
            raise IndexError(
                f"index {self.index!r} is invalid for shape {x.shape}: {err}"
            ) from None
        return out

    def backward(self, grad):
        return IndexAdd.apply(grad, index=self.index, shape=self.in_shape)


class IndexAdd(Function):
    """zeros(shape) with ``x`` added at ``index`` (repeated indices accumulate)."""

    def forward(self, x):
        out = xp.zeros(self.shape, dtype=x.dtype)
        if _has_array(self.index):
            xp.add.at(out, self.index, x)
        else:
            out[self.index] = x
        return out

    def backward(self, grad):
        return GetItem.apply(grad, index=self.index)


def _has_array(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, xp.ndarray) and i.dtype != bool for i in items)


class Concatenate(Function):
    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return xp.concatenate(arrays, axis=self.axis)

    def backward(self, grad):
        grads, start = [], 0
        prefix = (slice(None),) * self.axis
        for size, needs in zip(self.sizes, self.needs_grad):
            grads.append(grad[prefix + (slice(start, start + size),)] if needs else None)
            start += size
        return tuple(grads)


class Pad(Function):
    """Constant padding; ``pad_width`` is one (before, after) pair per axis."""

    def forward(self, x):
        return xp.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, grad):
        index = tuple(slice(b, grad.shape[i] - a) for i, (b, a) in enumerate(self.pad_width))
        return grad[index]
