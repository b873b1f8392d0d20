"""MobileNetV2 as ``keras.applications`` defines it.

Sandler, Howard, Zhu, Zhmoginov and Chen, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018. Keras's version differs from torchvision's
(``lapenna.applications.mobilenet``) in its numbers, not its parameters: batch
normalization with epsilon 1e-3 and momentum 0.999, TF "same" padding for the first
convolution and an explicit bottom-right padding before each strided depthwise
convolution. Layer names are Keras's (``Conv1``, ``block_3_depthwise``, ``out_relu``).
"""

from lapenna import layers
from lapenna.applications._common import check_positive, check_top, check_weights, finish
from lapenna.applications.keras_resnet import keras_input_shape, keras_top
from lapenna.applications.mobilenet import make_divisible

# (filters, stride, expansion) of the 17 inverted residual blocks
_BLOCKS = (
    [(16, 1, 1)]
    + [(24, 2, 6), (24, 1, 6)]
    + [(32, 2, 6)] + [(32, 1, 6)] * 2
    + [(64, 2, 6)] + [(64, 1, 6)] * 3
    + [(96, 1, 6)] * 3
    + [(160, 2, 6)] + [(160, 1, 6)] * 2
    + [(320, 1, 6)]
)  # fmt: skip


def MobileNetV2(  # noqa: N802 - Keras's spelling of model builders
    input_shape=None,
    alpha=1.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """Build Keras's MobileNetV2 (3,538,984 parameters at ``alpha=1``).

    Args:
        input_shape: ``(height, width, channels)``, at least 32x32; default
            ``(224, 224, 3)`` with the top, ``(None, None, 3)`` without.
        alpha: the width multiplier of every layer but the last convolution (which only
            grows, for ``alpha > 1``).
        include_top, weights, pooling, classes, classifier_activation, name: as Keras.
        input_tensor: not supported (refused with a hint).

    Returns:
        a functional ``Model``.

    Example:
        >>> MobileNetV2(include_top=False, alpha=0.35, input_shape=(32, 32, 3)).output_shape
        (None, 1, 1, 1280)
    """
    if input_tensor is not None:
        raise ValueError("MobileNetV2: input_tensor is not supported; give input_shape instead")
    check_top("MobileNetV2", include_top, pooling, classes, classifier_activation)
    check_positive("MobileNetV2", "alpha", alpha, kind=float)
    check_weights("MobileNetV2", weights)
    shape = keras_input_shape("MobileNetV2", input_shape, include_top)
    inputs = layers.Input(shape, name="input_layer")
    x = layers.Conv2D(
        make_divisible(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="Conv1"
    )(inputs)
    x = _batch_norm(x, "bn_Conv1")
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_residual(x, filters, alpha, stride, expansion, block_id)
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = _batch_norm(x, "Conv_1_bn")
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = keras_top(x, include_top, pooling, classes, classifier_activation)
    return finish("MobileNetV2", inputs, x, name or f"mobilenetv2_{alpha:0.2f}", weights)


def _batch_norm(x, name):
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=name)(x)


def _inverted_residual(inputs, filters, alpha, stride, expansion, block_id):
    channels = inputs.shape[-1]
    out = make_divisible(int(filters * alpha))
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    x = inputs
    if block_id:
        x = layers.Conv2D(expansion * channels, 1, use_bias=False, name=f"{prefix}expand")(x)
        x = _batch_norm(x, f"{prefix}expand_BN")
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(_correct_pad(x.shape), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(
        3, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False,
        name=f"{prefix}depthwise",
    )(x)  # fmt: skip
    x = _batch_norm(x, f"{prefix}depthwise_BN")
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out, 1, use_bias=False, name=f"{prefix}project")(x)
    x = _batch_norm(x, f"{prefix}project_BN")
    if channels == out and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _correct_pad(shape):
    """Keras's padding before a strided 3x3 window: one pixel at the bottom and right of
    an even (or unknown) size, one on each side of an odd size."""
    return tuple((1 - (1 if d is None or d % 2 == 0 else 0), 1) for d in shape[1:3])
