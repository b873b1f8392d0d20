"""Depthwise and depthwise-separable 2-D convolutions (MobileNet, Xception).

A depthwise convolution filters each input channel on its own with ``depth_multiplier``
kernels, so it costs ``in_channels`` times less than a full convolution and mixes no
channels. A separable convolution follows it with a 1x1 ("pointwise") convolution that
mixes them: Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions",
CVPR 2017; Howard et al., "MobileNets", 2017.
"""

import math

from lapenna import constraints as constraints_module
from lapenna import initializers as initializers_module
from lapenna import ops
from lapenna import regularizers as regularizers_module
from lapenna.layers.base import register_layer
from lapenna.layers.conv_utils import positive_int, spatial_size
from lapenna.layers.convolutional import BaseConv
from lapenna.layers.input_spec import InputSpec


def _without_kernel_arguments(config):
    """A ``BaseConv`` config minus the arguments the depthwise layers name differently."""
    for key in ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
        config.pop(key)
    return config


@register_layer
class DepthwiseConv2D(BaseConv):
    """Convolve each input channel with its own ``depth_multiplier`` kernels.

    The kernel is ``(kh, kw, in_channels, depth_multiplier)`` (Keras layout); output
    channel ``c * depth_multiplier + m`` is input channel ``c`` filtered by kernel ``m``.
    It equals a ``Conv2D`` with ``groups=in_channels``.

    Args:
        kernel_size, strides, padding, dilation_rate, activation, use_bias,
            bias_initializer, bias_regularizer, activity_regularizer, bias_constraint: as
            in ``BaseConv``.
        depth_multiplier: kernels per input channel.
        depthwise_initializer, depthwise_regularizer, depthwise_constraint: for the kernel.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, new_height, new_width, channels * depth_multiplier)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> layer(np.zeros((1, 8, 8, 4))).shape
        (1, 8, 8, 8)
        >>> layer.count_params()  # 3 * 3 * 4 * 2 + 8
        80
    """

    _fuses_relu = False

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            2,
            None,
            kernel_size,
            strides,
            padding,
            dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        self.depth_multiplier = positive_int(
            depth_multiplier, "depth_multiplier", type(self).__name__
        )

    def _kernel_shape(self, channels):
        return (*self.kernel_size, channels, self.depth_multiplier)

    def _output_channels(self, channels):
        return None if channels is None else channels * self.depth_multiplier

    def _convolve(self, inputs):
        return ops.depthwise_conv2d(
            inputs,
            self.kernel,
            self.bias,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )

    def macs(self, input_shape, output_shape):
        """Output positions * kernel area * output channels (one input channel each)."""
        return spatial_size(output_shape) * math.prod(self.kernel_size) * output_shape[-1]

    def get_config(self):
        config = _without_kernel_arguments(super().get_config())
        del config["filters"]
        return {
            **config,
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers_module.serialize(self.kernel_initializer),
            "depthwise_regularizer": regularizers_module.serialize(self.kernel_regularizer),
            "depthwise_constraint": constraints_module.serialize(self.kernel_constraint),
        }


@register_layer
class SeparableConv2D(BaseConv):
    """A depthwise convolution followed by a 1x1 pointwise convolution to ``filters``.

    Weights, in Keras's names and order: ``depthwise_kernel (kh, kw, in, depth_multiplier)``,
    ``pointwise_kernel (1, 1, in * depth_multiplier, filters)``, ``bias (filters,)``. The
    bias and the activation come after the pointwise step.

    Args:
        filters: the number of output channels.
        kernel_size, strides, padding, dilation_rate: of the depthwise step.
        depth_multiplier: depthwise kernels per input channel.
        activation, use_bias, bias_initializer, bias_regularizer, activity_regularizer,
            bias_constraint: as in ``BaseConv``.
        depthwise_initializer, depthwise_regularizer, depthwise_constraint,
        pointwise_initializer, pointwise_regularizer, pointwise_constraint: for the two
            kernels.

    Input shape:
        ``(batch, height, width, channels)``.

    Output shape:
        ``(batch, new_height, new_width, filters)``.

    Example:
        >>> import numpy as np
        >>> import lapenna as lp
        >>> layer = lp.layers.SeparableConv2D(16, 3)
        >>> layer(np.zeros((1, 10, 10, 8))).shape
        (1, 8, 8, 16)
        >>> layer.count_params()  # 3 * 3 * 8 + 8 * 16 + 16
        216
    """

    _fuses_relu = False

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        depth_multiplier=1,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            2,
            filters,
            kernel_size,
            strides,
            padding,
            dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        self.depth_multiplier = positive_int(
            depth_multiplier, "depth_multiplier", type(self).__name__
        )
        self.pointwise_initializer = initializers_module.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers_module.get(pointwise_regularizer)
        self.pointwise_constraint = constraints_module.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel",
            (*self.kernel_size, channels, self.depth_multiplier),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            (1, 1, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            self.pointwise_regularizer,
            self.pointwise_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self.filters,),
                self.bias_initializer,
                self.bias_regularizer,
                self.bias_constraint,
            )
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def _convolve(self, inputs):
        depthwise = ops.depthwise_conv2d(
            inputs,
            self.depthwise_kernel,
            strides=self.strides,
            padding=self.padding,
            dilation_rate=self.dilation_rate,
        )
        # a 1x1 convolution is one matrix product over the channel axis
        mixing = ops.reshape(self.pointwise_kernel, self.pointwise_kernel.shape[2:])
        outputs = ops.matmul(depthwise, mixing)
        return outputs if self.bias is None else outputs + self.bias

    def macs(self, input_shape, output_shape):
        """The depthwise products plus the pointwise ones, per output position."""
        middle = input_shape[-1] * self.depth_multiplier
        per_position = math.prod(self.kernel_size) * middle + middle * self.filters
        return spatial_size(output_shape) * per_position

    def get_config(self):
        return {
            **_without_kernel_arguments(super().get_config()),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_initializer": initializers_module.serialize(self.kernel_initializer),
            "pointwise_initializer": initializers_module.serialize(self.pointwise_initializer),
            "depthwise_regularizer": regularizers_module.serialize(self.kernel_regularizer),
            "pointwise_regularizer": regularizers_module.serialize(self.pointwise_regularizer),
            "depthwise_constraint": constraints_module.serialize(self.kernel_constraint),
            "pointwise_constraint": constraints_module.serialize(self.pointwise_constraint),
        }
