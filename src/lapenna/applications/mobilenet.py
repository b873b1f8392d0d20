"""MobileNetV2 as torchvision defines it, with a width multiplier.

Sandler, Howard, Zhu, Zhmoginov and Chen, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018. Each block expands its channels with a 1x1 convolution (ReLU6),
filters each channel with a 3x3 depthwise convolution (ReLU6), and projects back with a
linear 1x1 convolution; blocks that keep their shape add their input.

This module is also Keras's ``applications.mobilenet``: ``MobileNet`` (v1, Keras's
definition, from ``keras_mobilenet_v1``), ``decode_predictions`` and the
``preprocess_input`` Keras's MobileNet weights were trained with (mode "tf", to [-1, 1]).
Keras's module has no ``MobileNetV2`` (that is ``applications.mobilenet_v2``, or
``applications.MobileNetV2``, Keras's definition), so the torchvision ``MobileNetV2`` kept
here under its old address clashes with no Keras spelling; its torchvision weights want
``applications.preprocess_input(x, mode="torch")``.
"""

from lapenna import layers
from lapenna.applications._common import (
    batch_norm,
    check_input_shape,
    check_positive,
    check_top,
    check_weights,
    conv,
    depthwise_conv,
    finish,
    global_pool_top,
)
from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.imagenet_utils import preprocess_input as _preprocess
from lapenna.applications.keras_mobilenet_v1 import MobileNet

__all__ = ["MobileNet", "MobileNetV2", "decode_predictions", "make_divisible", "preprocess_input"]

# (expansion t, output channels c, repeats n, first stride s), the paper's Table 2
_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def make_divisible(value, divisor=8):
    """Round a channel count to the nearest multiple of ``divisor``, never more than 10%
    below ``value`` (the rule of the reference implementation)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def MobileNetV2(  # noqa: N802 - Keras's spelling of model builders
    input_shape=None,
    alpha=1.0,
    classes=1000,
    include_top=True,
    pooling=None,
    weights=None,
    classifier_activation="softmax",
    dropout=0.2,
    name=None,
):
    """Build MobileNetV2 (Sandler et al., CVPR 2018) as torchvision does: 3.5M parameters
    and 0.30 GMACs at 224x224 for ``alpha=1``.

    ``conv1`` (3x3 stride 2, 32 channels), seventeen inverted-residual blocks ``block1`` to
    ``block17`` (``block<i>_expand``, ``block<i>_depthwise``, ``block<i>_project``, and
    ``block<i>_add`` where the shape is kept), ``conv_last`` (1x1, 1280 channels), then
    global average pooling, dropout and ``predictions``. Batch normalization uses torch's
    epsilon 1e-5 and ReLU6 follows every convolution but the projections.

    Args:
        input_shape: one image's ``(height, width, channels)``; default ``(224, 224, 3)``.
            Height and width may be None.
        alpha: the width multiplier: every layer's channels are scaled by it and rounded to
            a multiple of 8 (``conv_last`` keeps 1280 for ``alpha <= 1``).
        classes, include_top, pooling, weights, classifier_activation: as for ``ResNet``.
        dropout: the dropout rate before ``predictions``.
        name: default ``mobilenetv2_<alpha>``.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications.mobilenet import MobileNetV2
        >>> MobileNetV2(alpha=0.5, include_top=False, pooling="avg").output_shape
        (None, 1280)
    """
    check_top("MobileNetV2", include_top, pooling, classes, classifier_activation)
    check_positive("MobileNetV2", "alpha", alpha, kind=float)
    check_weights("MobileNetV2", weights)
    default = (224, 224, 3) if include_top else (None, None, 3)  # Keras's defaults
    shape = check_input_shape("MobileNetV2", input_shape, default)

    inputs = layers.Input(shape, name="input")
    x = _conv_bn_relu6(inputs, make_divisible(32 * alpha), 3, "conv1", strides=2, padding=1)
    index = 0
    for expansion, channels, repeats, first_stride in _SETTINGS:
        for repeat in range(repeats):
            index += 1
            strides = first_stride if repeat == 0 else 1
            out = make_divisible(channels * alpha)
            x = _inverted_residual(x, out, strides, expansion, f"block{index}")
    last = make_divisible(1280 * max(1.0, alpha))
    x = _conv_bn_relu6(x, last, 1, "conv_last")
    x = global_pool_top(x, include_top, pooling, classes, classifier_activation, dropout)
    return finish("MobileNetV2", inputs, x, name or f"mobilenetv2_{alpha:g}", weights)


def _conv_bn_relu6(x, filters, kernel_size, name, strides=1, padding=0):
    x = conv(x, filters, kernel_size, name, strides=strides, padding=padding)
    x = batch_norm(x, f"{name}_bn")
    return layers.ReLU(max_value=6.0, name=f"{name}_relu")(x)


def _inverted_residual(x, filters, strides, expansion, name):
    """Expand (1x1, skipped when ``expansion`` is 1), depthwise 3x3, linear 1x1 projection;
    the input is added when stride and channels are unchanged."""
    channels = x.shape[-1]
    y = x
    if expansion != 1:
        y = _conv_bn_relu6(y, int(round(channels * expansion)), 1, f"{name}_expand")
    y = depthwise_conv(y, 3, f"{name}_depthwise", strides=strides, padding=1)
    y = batch_norm(y, f"{name}_depthwise_bn")
    y = layers.ReLU(max_value=6.0, name=f"{name}_depthwise_relu")(y)
    y = conv(y, filters, 1, f"{name}_project")
    y = batch_norm(y, f"{name}_project_bn")
    if strides == 1 and channels == filters:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def preprocess_input(x, data_format=None):
    """Prepare 0..255 RGB images (channels last) for Keras's MobileNet: mode "tf" (to
    [-1, 1])."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"preprocess_input works on channels-last images, got data_format={data_format!r}"
        )
    return _preprocess(x, mode="tf")
