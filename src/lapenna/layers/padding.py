"""Zero padding and cropping of the spatial axes: ``ZeroPadding1D/2D/3D``,
``Cropping1D/2D/3D``.

Padding adds rows and columns of zeros around feature maps (to keep a border for a
following convolution, or to match shapes before a merge); cropping removes them (a U-Net
crops the encoder's maps to the decoder's size).
"""

from lapenna import ops
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.conv_utils import normalize_pairs
from lapenna.layers.input_spec import InputSpec


class _SpatialPairs(Layer):
    """Shared by padding and cropping: ``(before, after)`` amounts per spatial axis."""

    _argument = None  # the constructor argument's name

    def __init__(self, rank, amounts, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self._pairs = normalize_pairs(amounts, rank, self._argument, type(self).__name__)

    def build(self, input_shape):
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def get_config(self):
        return {**super().get_config(), self._argument: [list(p) for p in self._pairs]}


class BaseZeroPadding(_SpatialPairs):
    """Add zeros before and after each spatial axis.

    Args:
        rank: the number of spatial axes.
        padding: an int (every side), a tuple of ``rank`` ints (both sides of each axis)
            or a tuple of ``rank`` ``(before, after)`` pairs.

    Input shape:
        ``(batch, *spatial, channels)``. Output shape: each axis grown by its two amounts.
    """

    _argument = "padding"

    def __init__(self, rank, padding=1, **kwargs):
        super().__init__(rank, padding, **kwargs)
        self.padding = self._pairs

    def call(self, inputs):
        return ops.pad(inputs, ((0, 0), *self.padding, (0, 0)))

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=self.rank + 2).check(self, input_shape)
        spatial = (
            None if n is None else n + a + b for n, (a, b) in zip(input_shape[1:-1], self.padding)
        )
        return (input_shape[0], *spatial, input_shape[-1])


@register_layer
class ZeroPadding1D(BaseZeroPadding):
    """Add zero steps at the start and end of sequences.

    Args:
        padding: an int or a pair ``(start, end)``.

    Example:
        >>> import lapenna as lp
        >>> lp.layers.ZeroPadding1D((1, 2))([[[5.0], [6.0]]]).numpy().ravel().tolist()
        [0.0, 5.0, 6.0, 0.0, 0.0]
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(1, padding, **kwargs)


@register_layer
class ZeroPadding2D(BaseZeroPadding):
    """Add rows of zeros above and below, and columns left and right, of images.

    Args:
        padding: an int, ``(rows, columns)`` (symmetric), or ``((top, bottom), (left,
            right))``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.ZeroPadding2D(((1, 0), (2, 3)))(np.ones((1, 4, 4, 3))).shape
        (1, 5, 9, 3)
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(2, padding, **kwargs)


@register_layer
class ZeroPadding3D(BaseZeroPadding):
    """Add zeros around volumes.

    Args:
        padding: an int, a triple of ints, or three ``(before, after)`` pairs.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.ZeroPadding3D(1)(np.ones((1, 2, 3, 4, 5))).shape
        (1, 4, 5, 6, 5)
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(3, padding, **kwargs)


class BaseCropping(_SpatialPairs):
    """Remove positions at the start and end of each spatial axis.

    Args:
        rank: the number of spatial axes.
        cropping: an int, a tuple of ``rank`` ints or ``rank`` ``(before, after)`` pairs;
            on each axis at least one position must remain.

    Input shape:
        ``(batch, *spatial, channels)``. Output shape: each axis shrunk by its amounts.
    """

    _argument = "cropping"

    def __init__(self, rank, cropping, **kwargs):
        super().__init__(rank, cropping, **kwargs)
        self.cropping = self._pairs

    def _cropped(self, shape):
        out = []
        for n, (a, b) in zip(shape[1:-1], self.cropping):
            if n is not None and a + b >= n:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' cannot crop "
                    f"{[list(p) for p in self.cropping]} from shape {tuple(shape)}: no "
                    "position would remain"
                )
            out.append(None if n is None else n - a - b)
        return out

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec.check(self, input_shape)
        self._cropped(input_shape)

    def call(self, inputs):
        sizes = self._cropped(inputs.shape)
        window = tuple(slice(a, a + n) for (a, _), n in zip(self.cropping, sizes))
        return inputs[(slice(None), *window, slice(None))]

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=self.rank + 2).check(self, input_shape)
        return (input_shape[0], *self._cropped(input_shape), input_shape[-1])


@register_layer
class Cropping1D(BaseCropping):
    """Remove steps at the start and end of sequences.

    Args:
        cropping: an int or a pair ``(start, end)``.

    Example:
        >>> import lapenna as lp
        >>> layer = lp.layers.Cropping1D((1, 2))
        >>> layer([[[1.0], [2.0], [3.0], [4.0], [5.0]]]).numpy().ravel().tolist()
        [2.0, 3.0]
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(1, cropping, **kwargs)


@register_layer
class Cropping2D(BaseCropping):
    """Remove rows at the top and bottom, and columns at the left and right, of images.

    Args:
        cropping: an int, ``(rows, columns)`` (symmetric), or ``((top, bottom), (left,
            right))``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.Cropping2D(((2, 2), (4, 4)))(np.ones((2, 28, 28, 3))).shape
        (2, 24, 20, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), **kwargs):
        super().__init__(2, cropping, **kwargs)


@register_layer
class Cropping3D(BaseCropping):
    """Remove positions at both ends of the depth, height and width of volumes.

    Args:
        cropping: an int, a triple of ints, or three ``(before, after)`` pairs.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.Cropping3D(1)(np.ones((1, 4, 5, 6, 2))).shape
        (1, 2, 3, 4, 2)
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), **kwargs):
        super().__init__(3, cropping, **kwargs)
