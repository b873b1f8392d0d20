"""ResNet50/101/152 and ResNet50V2/101V2/152V2 as ``keras.applications`` defines them.

He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016 (v1), and
"Identity Mappings in Deep Residual Networks", ECCV 2016 (v2, pre-activation). Keras's v1
differs from torchvision's (``lapenna.applications.resnet``): its convolutions have biases
(25,636,712 parameters for ResNet50 against 25,557,032), its bottleneck blocks stride on
the first 1x1 convolution, and batch normalization uses epsilon 1.001e-5. The layer names
are Keras's (``conv1_conv``, ``conv2_block1_0_conv``, ``conv5_block3_out``, ``avg_pool``,
``predictions``), so Keras weight files load by name and ``get_layer`` finds the same
layers a Keras notebook names.
"""

from lapenna import layers
from lapenna.applications._common import (
    check_input_shape,
    check_top,
    check_weights,
    finish,
    pool_features,
)

_EPSILON = 1.001e-5
# blocks per stage of each depth
_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def keras_input_shape(builder, input_shape, include_top, min_size=32, size=224):
    """Keras's default input: ``size`` x ``size`` x 3 with the top, any height and width
    without it."""
    default = (size, size, 3) if include_top else (None, None, 3)
    return check_input_shape(builder, input_shape, default, min_size=min_size)


def keras_top(x, include_top, pooling, classes, classifier_activation):
    """``avg_pool`` and ``predictions`` with the top, else ``pool_features``."""
    if not include_top:
        return pool_features(x, pooling)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def _build(depth, preact, input_shape, classes, include_top, pooling, weights, activation, name):
    builder = f"ResNet{depth}{'V2' if preact else ''}"
    check_top(builder, include_top, pooling, classes, activation)
    check_weights(builder, weights)
    shape = keras_input_shape(builder, input_shape, include_top)
    inputs = layers.Input(shape, name="input_layer")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(epsilon=_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, blocks in enumerate(_BLOCKS[depth]):
        filters, prefix = 64 * 2**stage, f"conv{stage + 2}"
        if preact:
            x = _stack_v2(x, filters, blocks, 1 if stage == 3 else 2, prefix)
        else:
            x = _stack_v1(x, filters, blocks, 1 if stage == 0 else 2, prefix)
    if preact:
        x = layers.BatchNormalization(epsilon=_EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = keras_top(x, include_top, pooling, classes, activation)
    default = f"resnet{depth}{'v2' if preact else ''}"
    return finish(builder, inputs, x, name or default, weights)


def _stack_v1(x, filters, blocks, stride, prefix):
    x = _block_v1(x, filters, stride, True, f"{prefix}_block1")
    for index in range(2, blocks + 1):
        x = _block_v1(x, filters, 1, False, f"{prefix}_block{index}")
    return x


def _block_v1(x, filters, stride, conv_shortcut, name):
    """1x1 (strided), 3x3, 1x1 to ``4 * filters``; a strided 1x1 projection shortcut in
    each stage's first block."""
    shortcut = x
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_0_bn")(shortcut)
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stack_v2(x, filters, blocks, stride, prefix):
    """v2 stages stride in their last block."""
    x = _block_v2(x, filters, 1, True, f"{prefix}_block1")
    for index in range(2, blocks):
        x = _block_v2(x, filters, 1, False, f"{prefix}_block{index}")
    return _block_v2(x, filters, stride, False, f"{prefix}_block{blocks}")


def _block_v2(x, filters, stride, conv_shortcut, name):
    """Batch normalization and ReLU before the convolutions (pre-activation)."""
    preact = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride, name=f"{name}_0_pool")(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(1, name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def _make(depth, preact):
    def builder(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        name=None,
    ):
        if input_tensor is not None:
            raise ValueError(
                f"{builder.__name__}: input_tensor is not supported; give input_shape and "
                "call the model on your tensor"
            )
        return _build(
            depth, preact, input_shape, classes, include_top, pooling, weights,
            classifier_activation, name,
        )  # fmt: skip

    version = "V2" if preact else ""
    builder.__name__ = builder.__qualname__ = f"ResNet{depth}{version}"
    builder.__doc__ = f"""Build Keras's ResNet{depth}{version} (blocks {_BLOCKS[depth]}).

    Args:
        include_top: end with ``avg_pool`` and a Dense ``predictions`` layer.
        weights: None (random initialization) or the path of a local weights file (a
            Keras ``.h5``/``.weights.h5`` of this model loads by layer name).
        input_tensor: not supported (refused with a hint).
        input_shape: ``(height, width, channels)``, at least 32x32; default
            ``(224, 224, 3)`` with the top, ``(None, None, 3)`` without.
        pooling: without the top, ``None``, ``"avg"`` or ``"max"``.
        classes, classifier_activation: the classifier's outputs and activation.
        name: the model's name.

    Returns:
        a functional ``Model`` with Keras's layers, names and parameter count.

    Example:
        >>> from lapenna.applications import ResNet{depth}{version}
        >>> ResNet{depth}{version}(include_top=False, input_shape=(32, 32, 3)).output_shape
        (None, 1, 1, 2048)
    """
    return builder


ResNet50 = _make(50, False)
ResNet101 = _make(101, False)
ResNet152 = _make(152, False)
ResNet50V2 = _make(50, True)
ResNet101V2 = _make(101, True)
ResNet152V2 = _make(152, True)
