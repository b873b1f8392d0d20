"""Transposed convolutions (``Conv1DTranspose``, ``Conv2DTranspose``, ``Conv3DTranspose``):
the gradient of a convolution with respect to its input, used as a learned upsampling.

Each input position scatters ``kernel[..., :, c] * x[c]`` into a window of the output; with
``strides=2`` the output is about twice as large. The kernel is ``(*kernel_size, filters,
in_channels)`` (Keras's layout: output channels before input channels).
"""

import math

from lapenna import ops
from lapenna.layers.base import register_layer
from lapenna.layers.conv_utils import conv_transpose_output_length, normalize_tuple
from lapenna.layers.convolutional import BaseConv


class BaseConvTranspose(BaseConv):
    """The rank-generic transposed convolution (no groups).

    Args:
        rank: the number of spatial axes.
        filters: the number of output channels.
        kernel_size, strides, dilation_rate: ints or tuples of ``rank`` ints.
        padding: ``"valid"`` or ``"same"``.
        output_padding: ``None`` or an int or tuple of ``rank`` ints smaller than the
            strides: extra rows and columns at the end, to pick among the output sizes that
            a strided convolution maps to the same input size.
        activation, use_bias, and the initializer, regularizer and constraint arguments:
            as in ``BaseConv``.

    Input shape:
        ``(batch, *spatial, channels)``.

    Output shape:
        ``(batch, *new_spatial, filters)`` with, along each axis and ``span = (kernel - 1)
        * dilation + 1``: ``(size - 1) * stride + max(span, stride)`` for ``"valid"`` and
        ``size * stride`` for ``"same"``; with ``output_padding``: ``(size - 1) * stride +
        span + output_padding`` (``"valid"``) or ``(size - 1) * stride + span % 2 +
        output_padding`` (``"same"``), as Keras computes them.
    """

    _fuses_relu = False

    def __init__(
        self, rank, filters, kernel_size, strides=1, padding="valid", output_padding=None, **kwargs
    ):
        owner = type(self).__name__
        if "groups" in kwargs:
            raise TypeError(f"{owner} got unexpected arguments ['groups']")
        super().__init__(rank, filters, kernel_size, strides, padding, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = normalize_tuple(
                output_padding, rank, "output_padding", owner, allow_zero=True
            )
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"{owner} expects output_padding smaller than strides, got "
                    f"output_padding={output_padding!r} and strides={strides!r}"
                )

    def _kernel_shape(self, channels):
        return (*self.kernel_size, self.filters, channels)

    def _output_length(self, length, axis):
        return conv_transpose_output_length(
            length,
            self.kernel_size[axis],
            self.strides[axis],
            self.padding,
            None if self.output_padding is None else self.output_padding[axis],
            self.dilation_rate[axis],
        )

    def _convolve(self, inputs):
        transpose = (ops.conv1d_transpose, ops.conv2d_transpose, ops.conv3d_transpose)
        return transpose[self.rank - 1](
            inputs,
            self.kernel,
            self.bias,
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
        )

    def macs(self, input_shape, output_shape):
        """Input positions * kernel volume * in_channels * filters: every input value is
        multiplied by every tap of every kernel once."""
        positions = math.prod(d for d in input_shape[1:-1] if d)
        return positions * math.prod(self.kernel_size) * input_shape[-1] * self.filters

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        output_padding = self.output_padding
        config["output_padding"] = None if output_padding is None else list(output_padding)
        return config


@register_layer
class Conv1DTranspose(BaseConvTranspose):
    """A 1-D transposed convolution, kernel ``(k, filters, in)``.

    Args:
        filters, kernel_size, strides, padding, output_padding, dilation_rate, activation,
            use_bias, and the initializer, regularizer and constraint arguments: as in
            ``BaseConvTranspose``.

    Input shape:
        ``(batch, steps, channels)``.

    Output shape:
        ``(batch, new_steps, filters)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> lp.layers.Conv1DTranspose(2, 4, strides=2)(np.zeros((1, 5, 3))).shape
        (1, 12, 2)
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, **kwargs)


@register_layer
class Conv2DTranspose(BaseConvTranspose):
    """A 2-D transposed convolution ("deconvolution"), kernel ``(kh, kw, filters, in)``.

    Args:
        filters, kernel_size, strides, padding, output_padding, dilation_rate, activation,
            use_bias, and the initializer, regularizer and constraint arguments: as in
            ``BaseConvTranspose``.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, new_height, new_width, filters)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.Conv2DTranspose(8, 3, strides=2, padding="same")
        >>> layer(np.zeros((1, 7, 7, 16))).shape
        (1, 14, 14, 8)
        >>> layer.count_params()  # 3 * 3 * 8 * 16 + 8
        1160
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, **kwargs)


@register_layer
class Conv3DTranspose(BaseConvTranspose):
    """A 3-D transposed convolution, kernel ``(kd, kh, kw, filters, in)``.

    Args:
        filters, kernel_size, strides, padding, output_padding, dilation_rate, activation,
            use_bias, and the initializer, regularizer and constraint arguments: as in
            ``BaseConvTranspose``.

    Input shape:
        ``(batch, depth, height, width, channels)``.

    Output shape:
        ``(batch, new_depth, new_height, new_width, filters)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.Conv3DTranspose(2, 2, strides=2)
        >>> layer(np.zeros((1, 2, 3, 4, 5))).shape
        (1, 4, 6, 8, 2)
        >>> layer.count_params()  # 2 * 2 * 2 * 2 * 5 + 2
        82
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(3, filters, kernel_size, strides, padding, **kwargs)
