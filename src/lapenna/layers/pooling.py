"""Pooling layers: max and average over sliding windows, global pooling, max unpooling.

Pooling has no weights: it shrinks feature maps by summarising each window (its maximum or
its mean), which makes features tolerant to small shifts and cuts the cost of the layers
that follow. Window arithmetic is in ``ops`` (``max_pool2d``...); global pooling is a mean
or a maximum over the spatial axes.
"""

from lapenna import ops
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.conv_utils import (
    check_output_size,
    conv_output_length,
    normalize_padding,
    normalize_tuple,
)
from lapenna.layers.input_spec import InputSpec


class BasePooling(Layer):
    """Shared arguments, checks and output shape of the windowed pooling layers.

    Args:
        rank: the number of spatial axes.
        pool_size: an int or a tuple of ``rank`` ints, the window.
        strides: an int, a tuple of ``rank`` ints, or ``None`` (default: ``pool_size``,
            non-overlapping windows).
        padding: ``"valid"`` (drop incomplete windows) or ``"same"`` (``ceil(size /
            stride)`` windows; max pooling ignores the padding, average pooling divides by
            the number of real values in the window, as TensorFlow does).

    Input shape:
        ``(batch, *spatial, channels)``.

    Output shape:
        ``(batch, *pooled, channels)``: ``floor((size - pool) / stride) + 1`` per axis for
        ``"valid"``, ``ceil(size / stride)`` for ``"same"``.
    """

    def __init__(self, rank, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.rank = rank
        self.pool_size = normalize_tuple(pool_size, rank, "pool_size", owner)
        strides = pool_size if strides is None else strides
        self.strides = normalize_tuple(strides, rank, "strides", owner)
        self.padding = normalize_padding(padding, owner)

    def build(self, input_shape):
        BasePooling.compute_output_shape(self, input_shape)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=self.rank + 2).check(self, input_shape)
        spatial = [
            conv_output_length(n, p, s, self.padding)
            for n, p, s in zip(input_shape[1:-1], self.pool_size, self.strides)
        ]
        check_output_size(self, input_shape, spatial)
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


@register_layer
class MaxPooling1D(BasePooling):
    """The maximum over windows of ``pool_size`` steps.

    Args:
        pool_size, strides, padding: as in ``BasePooling``.

    Input shape:
        ``(batch, steps, channels)``. Output shape: ``(batch, pooled_steps, channels)``.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.MaxPooling1D(2)([[[1.0], [3.0], [2.0], [0.0]]]).numpy().ravel().tolist()
        [3.0, 2.0]
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(1, pool_size, strides, padding, **kwargs)

    def call(self, inputs):
        return ops.max_pool1d(inputs, self.pool_size, self.strides, self.padding)


@register_layer
class MaxPooling2D(BasePooling):
    """The maximum over ``pool_size`` windows of each channel of an image.

    With ``return_indices=True`` the layer returns ``[values, indices]``: ``indices`` is an
    integer Tensor of the values' shape holding where each maximum came from, for a paired
    ``MaxUnpooling2D`` (SegNet-style decoders).

    Args:
        pool_size, strides, padding: as in ``BasePooling``.
        return_indices: also return the argmax indices.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, pooled_height, pooled_width, channels)`` (twice, with the indices).

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
        >>> y = lp.layers.MaxPooling2D(2)(x.reshape(1, 4, 4, 1).astype("float32"))
        >>> y.reshape(2, 2).tolist()
        [[5.0, 6.0], [7.0, 8.0]]
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", return_indices=False, **kwargs):
        super().__init__(2, pool_size, strides, padding, **kwargs)
        self.return_indices = bool(return_indices)

    def call(self, inputs):
        if self.return_indices:
            values, indices = ops.max_pool2d_with_argmax(
                inputs, self.pool_size, self.strides, self.padding
            )
            return [values, indices]
        return ops.max_pool2d(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        shape = super().compute_output_shape(input_shape)
        return [shape, shape] if self.return_indices else shape

    def get_config(self):
        return {**super().get_config(), "return_indices": self.return_indices}


@register_layer
class MaxPooling3D(BasePooling):
    """The maximum over ``pool_size`` windows of a volume.

    Args:
        pool_size, strides, padding: as in ``BasePooling``.

    Input shape:
        ``(batch, depth, height, width, channels)``. Output shape: the pooled volume.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.MaxPooling3D(2)(np.zeros((1, 4, 6, 8, 3))).shape
        (1, 2, 3, 4, 3)
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(3, pool_size, strides, padding, **kwargs)

    def call(self, inputs):
        return ops.max_pool3d(inputs, self.pool_size, self.strides, self.padding)


@register_layer
class AveragePooling1D(BasePooling):
    """The mean over windows of ``pool_size`` steps.

    Args:
        pool_size, strides, padding: as in ``BasePooling``.

    Input shape:
        ``(batch, steps, channels)``. Output shape: ``(batch, pooled_steps, channels)``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.AveragePooling1D(2)
        >>> layer([[[1.0], [3.0], [2.0], [0.0]]]).numpy().ravel().tolist()
        [2.0, 1.0]
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(1, pool_size, strides, padding, **kwargs)

    def call(self, inputs):
        return ops.avg_pool1d(inputs, self.pool_size, self.strides, self.padding)


@register_layer
class AveragePooling2D(BasePooling):
    """The mean over ``pool_size`` windows of each channel of an image.

    Args:
        pool_size, strides, padding: as in ``BasePooling``.

    Input shape:
        ``(batch, height, width, channels)``. Output shape: the pooled maps.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.AveragePooling2D(2, padding="same")(np.ones((1, 5, 5, 3))).shape
        (1, 3, 3, 3)
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(2, pool_size, strides, padding, **kwargs)

    def call(self, inputs):
        return ops.avg_pool2d(inputs, self.pool_size, self.strides, self.padding)


@register_layer
class AveragePooling3D(BasePooling):
    """The mean over ``pool_size`` windows of a volume.

    Args:
        pool_size, strides, padding: as in ``BasePooling``.

    Input shape:
        ``(batch, depth, height, width, channels)``. Output shape: the pooled volume.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.AveragePooling3D((1, 2, 2))(np.zeros((1, 3, 4, 4, 2))).shape
        (1, 3, 2, 2, 2)
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(3, pool_size, strides, padding, **kwargs)

    def call(self, inputs):
        return ops.avg_pool3d(inputs, self.pool_size, self.strides, self.padding)


@register_layer
class MaxUnpooling2D(Layer):
    """Place each value at the position its paired ``MaxPooling2D`` took the maximum from;
    zeros everywhere else (Zeiler and Fergus 2014; SegNet, Badrinarayanan et al. 2017).

    Call it on ``[values, indices]``, where ``indices`` come from ``MaxPooling2D(...,
    return_indices=True)`` (or ``ops.max_pool2d_with_argmax``). It works in a functional
    graph: the pooling layer's second output feeds the unpooling layer.

    Args:
        pool_size, strides, padding: those of the paired pooling (``strides`` defaults to
            ``pool_size``); they give the output size ``(size - 1) * stride + pool`` for
            ``"valid"`` and ``size * stride`` for ``"same"``.
        output_size: ``(height, width)`` of the unpooled maps, instead of the rule above
            (needed when the pooled input had rows or columns the windows skipped).

    Input shape:
        ``[(batch, h, w, channels), (batch, h, w, channels)]``: values and integer indices.

    Output shape:
        ``(batch, height, width, channels)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> x = lp.layers.Input((4, 4, 1))
        >>> values, indices = lp.layers.MaxPooling2D(2, return_indices=True)(x)
        >>> from lapenna.models import Model
        >>> model = Model(x, lp.layers.MaxUnpooling2D(2)([values, indices]))
        >>> image = np.array([[1, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])
        >>> model(image.reshape(1, 4, 4, 1).astype("float32")).numpy()[0, :, :, 0].tolist()
        [[0.0, 0.0, 6.0, 0.0], [0.0, 5.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [7.0, 0.0, 0.0, 8.0]]
    """

    def __init__(self, pool_size=2, strides=None, padding="valid", output_size=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", owner)
        strides = pool_size if strides is None else strides
        self.strides = normalize_tuple(strides, 2, "strides", owner)
        self.padding = normalize_padding(padding, owner)
        self.output_size = None
        if output_size is not None:
            self.output_size = normalize_tuple(output_size, 2, "output_size", owner)

    def _check(self, shapes):
        ok = (
            isinstance(shapes, list | tuple)
            and len(shapes) == 2
            and all(isinstance(s, tuple | list) and len(s) == 4 for s in shapes)
            and tuple(shapes[0]) == tuple(shapes[1])
        )
        if not ok:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects [values, indices] of the same "
                f"rank-4 shape (batch, height, width, channels), got shapes {shapes}"
            )

    def _unpooled_size(self, shape):
        if self.output_size is not None:
            return self.output_size
        if self.padding == "same":
            return tuple(n * s for n, s in zip(shape[1:3], self.strides))
        return tuple((n - 1) * s + p for n, p, s in zip(shape[1:3], self.pool_size, self.strides))

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs):
        if isinstance(inputs, list | tuple):
            shapes = [tuple(t.shape) for t in inputs]
        else:
            shapes = tuple(inputs.shape)
        self._check(shapes)
        values, indices = inputs
        return ops.max_unpool2d(values, indices, self._unpooled_size(values.shape))

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        shape = input_shape[0]
        if self.output_size is None and None in shape[1:3]:
            return (shape[0], None, None, shape[3])
        return (shape[0], *self._unpooled_size(shape), shape[3])

    def get_config(self):
        output_size = None if self.output_size is None else list(self.output_size)
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "output_size": output_size,
        }
