"""MobileNet (v1) as ``keras.applications`` defines it.

Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto and Adam, "MobileNets: Efficient
Convolutional Neural Networks for Mobile Vision Applications", 2017. A strided 3x3
convolution, then thirteen depthwise-separable blocks (a 3x3 depthwise convolution and a
1x1 pointwise one, each with batch normalization and ReLU6); ``alpha`` scales every
width, ``depth_multiplier`` the depthwise convolutions' outputs per channel. The top is
Keras's: global average pooling kept 1x1, dropout, a 1x1 convolution ``conv_preds`` as
the classifier, ``reshape_2`` and the ``predictions`` activation. Strided depthwise
convolutions pad one pixel at the bottom and right (``conv_pad_<i>``), as TF's "same"
does. Layer names are Keras's (``conv1``, ``conv_dw_3_bn``, ``conv_pw_13_relu``); its
unnamed pooling layers get their fresh-session names (``global_average_pooling2d``).
"""

from lapenna import layers
from lapenna.applications._common import check_positive, check_top, check_weights, finish
from lapenna.applications.keras_resnet import keras_input_shape

# (pointwise filters, stride) of the thirteen depthwise-separable blocks
_BLOCKS = (
    [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)]
    + [(512, 1)] * 5
    + [(1024, 2), (1024, 1)]
)  # fmt: skip


def MobileNet(  # noqa: N802 - Keras's spelling of model builders
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """Build Keras's MobileNet v1 (4,253,864 parameters at ``alpha=1``).

    Args:
        input_shape: ``(height, width, channels)``, at least 32x32; default
            ``(224, 224, 3)`` with the top, ``(None, None, 3)`` without.
        alpha: the width multiplier: every layer has ``int(filters * alpha)`` filters.
        depth_multiplier: outputs per input channel of each depthwise convolution.
        dropout: the dropout rate before the classifier.
        include_top: end with Keras's convolutional classifier (``conv_preds``).
        weights: None (random initialization) or the path of a local weights file.
        input_tensor: not supported (refused with a hint).
        pooling: without the top, ``None``, ``"avg"`` or ``"max"``.
        classes, classifier_activation: the classifier's outputs and activation.
        name: the model's name; default ``mobilenet_<alpha>_<rows>`` as in Keras.

    Returns:
        a functional ``Model``.

    Example:
        >>> MobileNet(include_top=False, alpha=0.25, input_shape=(32, 32, 3)).output_shape
        (None, 1, 1, 256)
    """
    if input_tensor is not None:
        raise ValueError("MobileNet: input_tensor is not supported; give input_shape instead")
    check_top("MobileNet", include_top, pooling, classes, classifier_activation)
    check_positive("MobileNet", "alpha", alpha, kind=float)
    check_positive("MobileNet", "depth_multiplier", depth_multiplier)
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise ValueError(f"MobileNet expects dropout in [0, 1), got {dropout!r}")
    check_weights("MobileNet", weights)
    shape = keras_input_shape("MobileNet", input_shape, include_top)
    inputs = layers.Input(shape, name="input_layer")
    x = layers.Conv2D(int(32 * alpha), 3, strides=2, padding="same", use_bias=False, name="conv1")(
        inputs
    )
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_block(x, int(filters * alpha), depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling2d")(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, 1, padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="global_max_pooling2d")(x)
    return finish("MobileNet", inputs, x, name or f"mobilenet_{alpha:0.2f}_{shape[0]}", weights)


def _depthwise_block(inputs, filters, depth_multiplier, stride, block_id):
    x = inputs
    if stride == 2:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(
        3, strides=stride, padding="same" if stride == 1 else "valid",
        depth_multiplier=depth_multiplier, use_bias=False, name=f"conv_dw_{block_id}",
    )(x)  # fmt: skip
    x = layers.BatchNormalization(name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)
