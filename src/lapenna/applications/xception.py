"""Xception as ``keras.applications`` defines it (22,910,480 parameters).

Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017. An
entry flow of two convolutions and three blocks that halve the resolution, a middle flow
of eight residual blocks of three 728-channel separable convolutions, and an exit flow.
Layer names are Keras's (``block1_conv1``, ``block5_sepconv2_bn``, ``predictions``); the
strided 1x1 shortcuts, unnamed in Keras, are ``block<N>_residual`` here. Keras's
``preprocess_input`` for it scales pixels to [-1, 1].
"""

from lapenna import layers
from lapenna.applications._common import check_top, check_weights, finish
from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.imagenet_utils import preprocess_input as _preprocess
from lapenna.applications.keras_resnet import keras_input_shape, keras_top

__all__ = ["Xception", "decode_predictions", "preprocess_input"]


def Xception(  # noqa: N802 - Keras's spelling of model builders
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="xception",
):
    """Build Keras's Xception.

    Args:
        include_top: end with ``avg_pool`` and a Dense ``predictions`` layer.
        weights: None (random initialization) or the path of a local weights file.
        input_tensor: not supported (refused with a hint).
        input_shape: ``(height, width, channels)``, at least 71x71; default
            ``(299, 299, 3)`` with the top, ``(None, None, 3)`` without.
        pooling: without the top, ``None``, ``"avg"`` or ``"max"``.
        classes, classifier_activation: the classifier's outputs and activation.
        name: the model's name.

    Returns:
        a functional ``Model``.

    Example:
        >>> Xception(include_top=False, input_shape=(71, 71, 3)).output_shape
        (None, 3, 3, 2048)
    """
    if input_tensor is not None:
        raise ValueError("Xception: input_tensor is not supported; give input_shape instead")
    check_top("Xception", include_top, pooling, classes, classifier_activation)
    check_weights("Xception", weights)
    shape = keras_input_shape("Xception", input_shape, include_top, min_size=71, size=299)
    inputs = layers.Input(shape, name="input_layer")
    x = _conv_bn_relu(inputs, 32, "block1_conv1", strides=2)
    x = _conv_bn_relu(x, 64, "block1_conv2")
    for block, filters in ((2, 128), (3, 256), (4, 728)):
        x = _downsampling_block(x, (filters, filters), block, first_relu=block > 2)
    for block in range(5, 13):
        residual = x
        for index in (1, 2, 3):
            x = _relu_sepconv_bn(x, 728, f"block{block}_sepconv{index}")
        x = layers.Add(name=f"block{block}_add")([x, residual])
    x = _downsampling_block(x, (728, 1024), 13, first_relu=True)
    for index, filters in ((1, 1536), (2, 2048)):
        prefix = f"block14_sepconv{index}"
        x = _separable(x, filters, prefix)
        x = layers.BatchNormalization(name=f"{prefix}_bn")(x)
        x = layers.Activation("relu", name=f"{prefix}_act")(x)
    x = keras_top(x, include_top, pooling, classes, classifier_activation)
    return finish("Xception", inputs, x, name, weights)


def preprocess_input(x, data_format=None):
    """Prepare 0..255 RGB images (channels last) for Xception: scaled to [-1, 1]."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"preprocess_input works on channels-last images, got {data_format!r}")
    return _preprocess(x, mode="tf")


def _conv_bn_relu(x, filters, name, strides=1):
    x = layers.Conv2D(filters, 3, strides=strides, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_act")(x)


def _separable(x, filters, name):
    return layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)


def _relu_sepconv_bn(x, filters, name):
    x = layers.Activation("relu", name=f"{name}_act")(x)
    x = _separable(x, filters, name)
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def _downsampling_block(x, filters, block, first_relu):
    """Two separable convolutions, strided max pooling, plus a strided 1x1 shortcut."""
    residual = layers.Conv2D(
        filters[1], 1, strides=2, padding="same", use_bias=False, name=f"block{block}_residual"
    )(x)
    residual = layers.BatchNormalization(name=f"block{block}_residual_bn")(residual)
    prefix = f"block{block}_sepconv1"
    if first_relu:
        x = _relu_sepconv_bn(x, filters[0], prefix)
    else:
        x = layers.BatchNormalization(name=f"{prefix}_bn")(_separable(x, filters[0], prefix))
    x = _relu_sepconv_bn(x, filters[1], f"block{block}_sepconv2")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"block{block}_pool")(x)
    return layers.Add(name=f"block{block}_add")([x, residual])
