"""Merging layers: combine a list of tensors into one (residual sums, skip concatenations).

``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum`` and ``Minimum`` work element by
element on inputs of one shape; as in Keras an axis of size 1 broadcasts against the
others, and the batch sizes must agree. ``Concatenate`` joins along an axis, ``Dot`` takes
per-sample dot products. Each layer checks the shapes before any array math and names
itself and every shape when they do not fit.
"""

from lapenna import ops
from lapenna.layers.base import Layer, register_layer


def _is_shape(value):
    return isinstance(value, tuple | list) and all(d is None or isinstance(d, int) for d in value)


class Merge(Layer):
    """The base of the element-wise merging layers: shape checks and output shape.

    Input shape:
        a list of shapes of one rank whose batch sizes agree and whose other axes are equal
        or 1.

    Output shape:
        the broadcast shape.
    """

    _num_inputs = None  # a fixed count (Subtract: 2), or None for one or more

    def _shapes_of(self, inputs):
        if isinstance(inputs, list | tuple):
            return [tuple(t.shape) for t in inputs]
        return tuple(inputs.shape)

    def _check_list(self, shapes):
        who = f"{type(self).__name__} '{self.name}'"
        if _is_shape(shapes) or not isinstance(shapes, list | tuple) or not shapes:
            raise ValueError(f"{who} expects a list of input tensors, got shape {shapes}")
        if not all(_is_shape(s) for s in shapes):
            raise ValueError(f"{who} expects a list of input tensors, got shapes {shapes}")
        if self._num_inputs is not None and len(shapes) != self._num_inputs:
            raise ValueError(
                f"{who} expects exactly {self._num_inputs} inputs, got {len(shapes)} with "
                f"shapes {[tuple(s) for s in shapes]}"
            )
        return [tuple(s) for s in shapes]

    def _output_shape(self, shapes):
        shapes = self._check_list(shapes)
        error = ValueError(
            f"{type(self).__name__} '{self.name}' expects inputs of one shape (an axis of "
            f"size 1 broadcasts; batch sizes must agree), got shapes {shapes}"
        )
        if len({len(s) for s in shapes}) != 1:
            raise error
        out = []
        for axis, sizes in enumerate(zip(*shapes)):
            known = {d for d in sizes if d is not None}
            wide = known - {1}
            if (axis == 0 and len(known) > 1) or len(wide) > 1:
                raise error
            out.append(wide.pop() if wide else (None if None in sizes else 1))
        return tuple(out)

    def build(self, input_shape):
        self._output_shape(input_shape)

    def call(self, inputs):
        self._output_shape(self._shapes_of(inputs))
        return self._merge(list(inputs))

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape)


@register_layer
class Add(Merge):
    """The element-wise sum of the inputs (a ResNet shortcut: ``Add()([x, block(x)])``).

    Example:
        >>> import lapenna as lp
        >>> x, y = lp.tensor([[1.0, 2.0]]), lp.tensor([[10.0, 20.0]])
        >>> lp.layers.Add()([x, y, x]).tolist()
        [[12.0, 24.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


@register_layer
class Subtract(Merge):
    """The first input minus the second (exactly two inputs).

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Subtract()([lp.tensor([[5.0, 5.0]]), lp.tensor([[1.0, 2.0]])]).tolist()
        [[4.0, 3.0]]
    """

    _num_inputs = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


@register_layer
class Multiply(Merge):
    """The element-wise product of the inputs (gates, attention masks).

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Multiply()([lp.tensor([[2.0, 3.0]]), lp.tensor([[4.0, 5.0]])]).tolist()
        [[8.0, 15.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


@register_layer
class Average(Merge):
    """The element-wise mean of the inputs (ensembles of branches).

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Average()([lp.tensor([[1.0, 2.0]]), lp.tensor([[3.0, 6.0]])]).tolist()
        [[2.0, 4.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out * (1.0 / len(inputs))


@register_layer
class Maximum(Merge):
    """The element-wise maximum of the inputs.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Maximum()([lp.tensor([[1.0, 7.0]]), lp.tensor([[3.0, 6.0]])]).tolist()
        [[3.0, 7.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.maximum(out, x)
        return out


@register_layer
class Minimum(Merge):
    """The element-wise minimum of the inputs.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Minimum()([lp.tensor([[1.0, 7.0]]), lp.tensor([[3.0, 6.0]])]).tolist()
        [[1.0, 6.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = ops.minimum(out, x)
        return out


@register_layer
class Concatenate(Merge):
    """Join the inputs along ``axis`` (a U-Net skip connection joins channels).

    Args:
        axis: the axis to join along (default the last); never the batch axis.

    Input shape:
        a list of shapes equal except on ``axis``. Output shape: the sizes on ``axis``
        summed.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.Concatenate()([np.zeros((2, 8, 8, 3)), np.zeros((2, 8, 8, 5))]).shape
        (2, 8, 8, 8)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"Concatenate expects an int axis, got {axis!r}")
        self.axis = axis

    def _output_shape(self, shapes):
        shapes = self._check_list(shapes)
        rank = len(shapes[0])
        axis = self.axis % rank if rank else 0
        fits = rank > 1 and axis != 0 and all(len(s) == rank for s in shapes)
        for i in range(rank if fits else 0):
            known = {s[i] for s in shapes if s[i] is not None}
            fits = fits and (i == axis or len(known) <= 1)
        if not fits:
            raise ValueError(
                f"Concatenate '{self.name}' expects inputs of one rank whose shapes agree "
                f"except on axis {self.axis} (not the batch axis), got shapes {shapes}"
            )
        sizes = [s[axis] for s in shapes]
        joined = None if None in sizes else sum(sizes)
        first = [next((s[i] for s in shapes if s[i] is not None), None) for i in range(rank)]
        return (*first[:axis], joined, *first[axis + 1 :])

    def _merge(self, inputs):
        return ops.concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@register_layer
class Dot(Merge):
    """Per-sample dot products of two inputs along ``axes``.

    For ``x (batch, *a, n)`` and ``y (batch, n, *b)`` contracted over the axes of size
    ``n`` the output is ``(batch, *a, *b)`` (``(batch, 1)`` when nothing is left, as in
    Keras). With ``normalize=True`` both inputs are L2-normalized along their axes first,
    so the result is the cosine similarity.

    Args:
        axes: an int (the same axis of both inputs) or a pair of ints; axes count the
            batch axis as 0 and cannot be it.
        normalize: L2-normalize before the product.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.Dot(axes=1)([lp.tensor([[1.0, 2.0]]), lp.tensor([[3.0, 4.0]])]).tolist()
        [[11.0]]
    """

    _num_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, int) else axes
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in pair)
        ):
            raise ValueError(f"Dot expects axes as an int or a pair of ints, got {axes!r}")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self._pair = tuple(pair)
        self.normalize = bool(normalize)

    def _contracted(self, shapes):
        """Non-negative contracted axes, checked against ``shapes``."""
        shapes = self._check_list(shapes)
        axes = [a % len(s) if len(s) > 1 else 0 for a, s in zip(self._pair, shapes)]
        sizes = {s[a] for a, s in zip(axes, shapes) if s[a] is not None}
        batches = {s[0] for s in shapes if s and s[0] is not None}
        if 0 in axes or len(sizes) > 1 or len(batches) > 1:
            raise ValueError(
                f"Dot '{self.name}' expects two inputs with one batch size and equal sizes "
                f"on axes {self.axes} (not the batch axis), got shapes {shapes}"
            )
        return shapes, axes

    def _output_shape(self, shapes):
        (x, y), (ax, ay) = self._contracted(shapes)
        rest = [*x[1:ax], *x[ax + 1 :], *y[1:ay], *y[ay + 1 :]]
        return (x[0], *(rest or [1]))

    def _merge(self, inputs):
        x, y = inputs
        shapes, (ax, ay) = self._contracted([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x, y = _l2_normalize(x, ax), _l2_normalize(y, ay)
        # (batch, rest_x, n) @ (batch, n, rest_y): one batched matrix product
        x = _move(x, ax, x.ndim - 1)
        y = _move(y, ay, 1)
        n = x.shape[-1]
        x = ops.reshape(x, (x.shape[0], -1, n))
        product = ops.matmul(x, ops.reshape(y, (y.shape[0], n, -1)))
        return ops.reshape(product, self._output_shape(shapes))

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _move(x, source, destination):
    order = [a for a in range(x.ndim) if a != source]
    order.insert(destination, source)
    return ops.transpose(x, order)


def _l2_normalize(x, axis):
    squares = ops.sum(x * x, axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(squares, 1e-12))
