"""Reshaping layers: ``Permute``, ``RepeatVector``, ``UpSampling1D/2D/3D``.

They move or copy values without weights (``Flatten`` and ``Reshape`` are in ``core``;
``ZeroPadding`` and ``Cropping`` in ``padding``).
"""

from lapenna import ops
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.conv_utils import normalize_tuple, positive_int
from lapenna.layers.input_spec import InputSpec


@register_layer
class Permute(Layer):
    """Reorder the axes of each sample.

    Args:
        dims: a permutation of ``1 .. rank`` (the batch axis 0 stays first); ``(2, 1)``
            swaps the two axes of ``(batch, a, b)`` inputs.

    Input shape:
        ``(batch, *axes)`` with ``len(dims)`` axes.

    Output shape:
        ``(batch, *(axes[d - 1] for d in dims))``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.Permute((2, 1))(np.zeros((4, 10, 64))).shape
        (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        ok = isinstance(dims, list | tuple) and all(
            isinstance(d, int) and not isinstance(d, bool) for d in dims
        )
        if not ok or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f"Permute expects dims to be a permutation of 1..n (the batch axis 0 stays "
                f"first), got {dims!r}"
            )
        self.dims = tuple(dims)

    def build(self, input_shape):
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return ops.transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=len(self.dims) + 1).check(self, input_shape)
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


@register_layer
class RepeatVector(Layer):
    """Repeat each input vector ``n`` times: ``(batch, features)`` -> ``(batch, n,
    features)`` (an encoder state fed to every step of a decoder).

    Args:
        n: the number of copies.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.RepeatVector(3)([[1.0, 2.0]]).tolist()
        [[[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]]
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int(n, "n", "RepeatVector")

    def build(self, input_shape):
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        batch, features = inputs.shape
        return ops.broadcast_to(ops.expand_dims(inputs, 1), (batch, self.n, features))

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=2).check(self, input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class BaseUpSampling(Layer):
    """Enlarge the spatial axes by integer factors.

    Args:
        rank: the number of spatial axes.
        size: an int or a tuple of ``rank`` ints, the factor per axis.

    Input shape:
        ``(batch, *spatial, channels)``.

    Output shape:
        ``(batch, *(n * s for n, s in zip(spatial, size)), channels)``.
    """

    def __init__(self, rank, size=2, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.size = normalize_tuple(size, rank, "size", type(self).__name__)

    def build(self, input_shape):
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        upsample = (ops.upsample1d, ops.upsample2d, ops.upsample3d)[self.rank - 1]
        return upsample(inputs, self.size if self.rank > 1 else self.size[0])

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=self.rank + 2).check(self, input_shape)
        spatial = (None if n is None else n * s for n, s in zip(input_shape[1:-1], self.size))
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": list(self.size)}


@register_layer
class UpSampling1D(BaseUpSampling):
    """Repeat each step ``size`` times: ``(batch, steps, channels)`` -> ``(batch, steps *
    size, channels)``.

    Args:
        size: the repetition factor.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.UpSampling1D(2)([[[1.0], [2.0]]]).numpy().ravel().tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(1, size, **kwargs)


@register_layer
class UpSampling2D(BaseUpSampling):
    """Enlarge images by ``size``: each pixel repeated (``"nearest"``) or values
    interpolated between pixel centres (``"bilinear"``, half-pixel centres as in Keras and
    PyTorch's ``align_corners=False``).

    Args:
        size: an int or a pair, the factors for height and width.
        interpolation: ``"nearest"`` or ``"bilinear"``.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, height * size[0], width * size[1], channels)``.

    Example:
        >>> import lapenna as lp
        >>> x = lp.tensor([[[[1.0], [2.0]]]])
        >>> lp.layers.UpSampling2D(2)(x).numpy()[0, :, :, 0].tolist()
        [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]
    """

    def __init__(self, size=2, interpolation="nearest", **kwargs):
        super().__init__(2, size, **kwargs)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(
                f"UpSampling2D expects interpolation 'nearest' or 'bilinear', got {interpolation!r}"
            )
        self.interpolation = interpolation

    def call(self, inputs):
        return ops.upsample2d(inputs, self.size, interpolation=self.interpolation)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


@register_layer
class UpSampling3D(BaseUpSampling):
    """Repeat each voxel ``size`` times along depth, height and width.

    Args:
        size: an int or a triple of factors.

    Input shape:
        ``(batch, depth, height, width, channels)``. Output shape: each axis times its
        factor.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.UpSampling3D((1, 2, 3))(np.zeros((1, 2, 2, 2, 4))).shape
        (1, 2, 4, 6, 4)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(3, size, **kwargs)
