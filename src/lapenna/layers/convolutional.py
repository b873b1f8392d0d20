"""Convolution layers: ``BaseConv`` (rank-generic) and ``Conv1D``, ``Conv2D``, ``Conv3D``.

A convolution layer slides a kernel of shape ``(*kernel_size, in_channels // groups,
filters)`` over channels-last inputs and adds one bias per filter. The arithmetic lives in
``ops.conv`` (a window view reshaped into one GEMM); the layers own the weights, the
argument checks, the output-shape rule and the cost count. The transposed, depthwise and
separable variants in ``conv_transpose.py`` and ``depthwise_conv.py`` reuse this base and
override its four hooks: ``_kernel_shape``, ``_output_channels``, ``_output_length`` and
``_convolve``.
"""

import math

from lapenna import activations, ops
from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import regularizers as regularizers_module
from lapenna.layers.base import Layer, register_layer
from lapenna.layers.conv_utils import (
    check_output_size,
    conv_output_length,
    normalize_padding,
    normalize_tuple,
    positive_int,
    spatial_size,
)
from lapenna.layers.input_spec import InputSpec


class BaseConv(Layer):
    """The rank-generic convolution: ``activation(conv(inputs, kernel) + bias)``.

    Args:
        rank: the number of spatial axes (1, 2 or 3).
        filters: the number of output channels (kernels); ``None`` only for depthwise
            layers, whose output channels follow from the input.
        kernel_size: an int or a tuple of ``rank`` ints, the window's extent.
        strides: an int or a tuple of ``rank`` ints, the step between windows.
        padding: ``"valid"`` (no padding) or ``"same"`` (zeros so that the output has
            ``ceil(size / stride)`` positions; TF's rule, the odd extra row and column go at
            the bottom and right); ``Conv1D`` also takes ``"causal"``.
        dilation_rate: an int or a tuple of ``rank`` ints, the gap between kernel taps.
        groups: split the input channels into this many groups, each convolved with its own
            ``filters // groups`` kernels (both counts must be divisible).
        activation: a name or a function (default none: linear).
        use_bias: add one bias per output channel.
        kernel_initializer, bias_initializer: names or initializer objects (default Glorot
            uniform with fan_in = kernel volume * in_channels // groups, and zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties added to
            ``layer.losses``.
        kernel_constraint, bias_constraint: projections applied after each optimizer step.

    Input shape:
        ``(batch, *spatial, channels)`` with ``rank`` spatial axes.

    Output shape:
        ``(batch, *new_spatial, filters)``; along each axis ``floor((size - span) / stride)
        + 1`` for ``"valid"`` and ``ceil(size / stride)`` for ``"same"``, where ``span =
        (kernel - 1) * dilation + 1``.
    """

    #: whether ``_convolve`` takes ``relu=True`` (subclasses with their own op do not)
    _fuses_relu = True

    _padding_modes = ("valid", "same")

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.rank = rank
        self.filters = None if filters is None else positive_int(filters, "filters", owner)
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = normalize_tuple(strides, rank, "strides", owner)
        self.padding = normalize_padding(padding, owner, self._padding_modes)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", owner)
        self.groups = positive_int(groups, "groups", owner)
        if self.filters is not None and self.filters % self.groups:
            raise ValueError(
                f"{owner} expects filters divisible by groups, got filters={filters!r} "
                f"and groups={groups!r}"
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers_module.get(kernel_initializer)
        self.bias_initializer = initializers_module.get(bias_initializer)
        self.kernel_regularizer = regularizers_module.get(kernel_regularizer)
        self.bias_regularizer = regularizers_module.get(bias_regularizer)
        self.activity_regularizer = regularizers_module.get(activity_regularizer)
        self.kernel_constraint = constraints_module.get(kernel_constraint)
        self.bias_constraint = constraints_module.get(bias_constraint)

    # -- hooks the variants override ----------------------------------------------------
    def _kernel_shape(self, channels):
        return (*self.kernel_size, channels // self.groups, self.filters)

    def _output_channels(self, channels):
        return self.filters

    def _output_length(self, length, axis):
        return conv_output_length(
            length,
            self.kernel_size[axis],
            self.strides[axis],
            self.padding,
            self.dilation_rate[axis],
        )

    def _convolve(self, inputs, relu=False):
        padding = self.padding
        if padding == "causal":
            # output step t sees inputs up to t only: all the padding goes in front
            padding = (((self.kernel_size[0] - 1) * self.dilation_rate[0], 0),)
        return ops.conv(
            inputs,
            self.kernel,
            self.bias,
            strides=self.strides,
            padding=padding,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            activation="relu" if relu else None,
        )

    # -- lifecycle -----------------------------------------------------------------------
    def _input_channels(self, input_shape):
        """Check the rank, a known channel axis and the window's fit before any weight
        exists."""
        InputSpec(ndim=self.rank + 2).check(self, input_shape)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known channel (last) axis, "
                f"got shape {tuple(input_shape)}"
            )
        if channels % self.groups:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects a channel count divisible by "
                f"groups={self.groups}, got shape {tuple(input_shape)}"
            )
        self.compute_output_shape(input_shape)
        return channels

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            self._kernel_shape(channels),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self._output_channels(channels),),
                self.bias_initializer,
                self.bias_regularizer,
                self.bias_constraint,
            )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})

    def call(self, inputs):
        if self.activation is activations.relu and self._fuses_relu:
            # the ReLU runs inside the convolution, on each chunk while it is in cache
            outputs = self._convolve(inputs, relu=True)
        else:
            outputs = self.activation(self._convolve(inputs))
        if self.activity_regularizer is not None:
            self._add_activity_loss(self.activity_regularizer, outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        InputSpec(ndim=self.rank + 2).check(self, input_shape)
        spatial = [self._output_length(n, i) for i, n in enumerate(input_shape[1:-1])]
        check_output_size(self, input_shape, spatial)
        return (input_shape[0], *spatial, self._output_channels(input_shape[-1]))

    def macs(self, input_shape, output_shape):
        """Output positions * kernel volume * in_channels / groups * filters."""
        per_position = math.prod(self.kernel_size) * input_shape[-1] // self.groups
        return spatial_size(output_shape) * per_position * output_shape[-1]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers_module.serialize(self.kernel_initializer),
            "bias_initializer": initializers_module.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers_module.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers_module.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers_module.serialize(self.activity_regularizer),
            "kernel_constraint": constraints_module.serialize(self.kernel_constraint),
            "bias_constraint": constraints_module.serialize(self.bias_constraint),
        }


@register_layer
class Conv1D(BaseConv):
    """A 1-D convolution over sequences (temporal convolution).

    Args:
        filters, kernel_size, strides, dilation_rate, groups, activation, use_bias, and the
            initializer, regularizer and constraint arguments: as in ``BaseConv``.
        padding: ``"valid"``, ``"same"`` or ``"causal"`` (zeros in front only, so output
            step ``t`` sees inputs up to ``t``: WaveNet, van den Oord et al. 2016).

    Input shape:
        ``(batch, steps, channels)``.

    Output shape:
        ``(batch, new_steps, filters)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.Conv1D(4, 3, padding="causal")
        >>> layer(np.zeros((2, 10, 6))).shape
        (2, 10, 4)
        >>> layer.count_params()  # 3 * 6 * 4 + 4
        76
    """

    _padding_modes = ("valid", "same", "causal")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, **kwargs)


@register_layer
class Conv2D(BaseConv):
    """A 2-D convolution over images, channels last (NHWC); the kernel is ``(kh, kw, in //
    groups, filters)`` as in Keras.

    Args:
        filters, kernel_size, strides, padding, dilation_rate, groups, activation, use_bias,
            and the initializer, regularizer and constraint arguments: as in ``BaseConv``.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, new_height, new_width, filters)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.Conv2D(32, 3, activation="relu")
        >>> layer(np.zeros((1, 28, 28, 3))).shape
        (1, 26, 26, 32)
        >>> layer.count_params()  # (3 * 3 * 3 + 1) * 32
        896
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, **kwargs)


@register_layer
class Conv3D(BaseConv):
    """A 3-D convolution over volumes (or video), channels last.

    Args:
        filters, kernel_size, strides, padding, dilation_rate, groups, activation, use_bias,
            and the initializer, regularizer and constraint arguments: as in ``BaseConv``.

    Input shape:
        ``(batch, depth, height, width, channels)``.

    Output shape:
        ``(batch, new_depth, new_height, new_width, filters)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.Conv3D(4, 3, padding="same")
        >>> layer(np.zeros((1, 5, 6, 7, 2))).shape
        (1, 5, 6, 7, 4)
        >>> layer.count_params()  # 3 * 3 * 3 * 2 * 4 + 4
        220
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", **kwargs):
        super().__init__(3, filters, kernel_size, strides, padding, **kwargs)
