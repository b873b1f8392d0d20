"""Global pooling: one value per channel, the mean or the maximum over all positions.

``GlobalAveragePooling2D`` replaces the large fully connected layers at the top of a
classifier (Lin et al., "Network In Network", 2014) and is the usual head of a transferred
base network.
"""

from lapenna import ops
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.input_spec import InputSpec


class BaseGlobalPooling(Layer):
    """Reduce the ``rank`` spatial axes of channels-last inputs.

    Args:
        rank: the number of spatial axes.
        keepdims: keep the spatial axes with size 1 (``(batch, 1, 1, channels)`` in 2-D)
            instead of dropping them (``(batch, channels)``).

    Input shape:
        ``(batch, *spatial, channels)``.

    Output shape:
        ``(batch, channels)``, or ``(batch, 1, ..., 1, channels)`` with ``keepdims``.
    """

    def __init__(self, rank, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.keepdims = bool(keepdims)
        self._axes = tuple(range(1, rank + 1))

    def build(self, input_shape):
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=self.rank + 2).check(self, input_shape)
        if self.keepdims:
            return (input_shape[0], *(1,) * self.rank, input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class _GlobalAverage(BaseGlobalPooling):
    def call(self, inputs):
        return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)


class _GlobalMax(BaseGlobalPooling):
    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)


@register_layer
class GlobalAveragePooling1D(_GlobalAverage):
    """The mean over all steps: ``(batch, steps, channels)`` -> ``(batch, channels)``.

    Args:
        keepdims: as in ``BaseGlobalPooling``.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.GlobalAveragePooling1D()([[[1.0, 2.0], [3.0, 6.0]]]).tolist()
        [[2.0, 4.0]]
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(1, keepdims, **kwargs)


@register_layer
class GlobalAveragePooling2D(_GlobalAverage):
    """The mean over height and width: ``(batch, h, w, channels)`` -> ``(batch, channels)``.

    Args:
        keepdims: as in ``BaseGlobalPooling``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.GlobalAveragePooling2D()(np.ones((2, 7, 7, 512))).shape
        (2, 512)
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(2, keepdims, **kwargs)


@register_layer
class GlobalAveragePooling3D(_GlobalAverage):
    """The mean over depth, height and width: ``(batch, d, h, w, channels)`` -> ``(batch,
    channels)``.

    Args:
        keepdims: as in ``BaseGlobalPooling``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.GlobalAveragePooling3D(keepdims=True)(np.ones((2, 3, 4, 5, 6))).shape
        (2, 1, 1, 1, 6)
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(3, keepdims, **kwargs)


@register_layer
class GlobalMaxPooling1D(_GlobalMax):
    """The maximum over all steps: ``(batch, steps, channels)`` -> ``(batch, channels)``.

    Args:
        keepdims: as in ``BaseGlobalPooling``.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.GlobalMaxPooling1D()([[[1.0, 2.0], [3.0, 0.0]]]).tolist()
        [[3.0, 2.0]]
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(1, keepdims, **kwargs)


@register_layer
class GlobalMaxPooling2D(_GlobalMax):
    """The maximum over height and width: ``(batch, h, w, channels)`` -> ``(batch,
    channels)``.

    Args:
        keepdims: as in ``BaseGlobalPooling``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.GlobalMaxPooling2D()(np.ones((2, 7, 7, 8))).shape
        (2, 8)
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(2, keepdims, **kwargs)


@register_layer
class GlobalMaxPooling3D(_GlobalMax):
    """The maximum over depth, height and width: ``(batch, d, h, w, channels)`` ->
    ``(batch, channels)``.

    Args:
        keepdims: as in ``BaseGlobalPooling``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.GlobalMaxPooling3D()(np.ones((2, 3, 4, 5, 6))).shape
        (2, 6)
    """

    def __init__(self, keepdims=False, **kwargs):
        super().__init__(3, keepdims, **kwargs)
