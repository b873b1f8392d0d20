"""DenseNet-121, 169 and 201 as torchvision defines them.

Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks",
CVPR 2017. Each layer of a dense block sees the concatenation of every earlier layer's
output in the block and adds ``growth_rate`` channels (batch norm, ReLU, 1x1 convolution
to ``4 * growth_rate``, batch norm, ReLU, 3x3 convolution); transitions halve channels
and resolution.
"""

from lapenna import layers
from lapenna.applications._common import (
    TORCH_BN_EPSILON,
    TORCH_BN_MOMENTUM,
    check_input_shape,
    check_positive,
    check_top,
    check_weights,
    conv,
    finish,
    global_pool_top,
    max_pool,
)

_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}
# (momentum, epsilon) of batch normalization: torchvision's, or keras.applications's
_BATCH_NORM = {"torchvision": (TORCH_BN_MOMENTUM, TORCH_BN_EPSILON), "keras": (0.99, 1.001e-5)}


def DenseNet(  # noqa: N802 - Keras's spelling of model builders
    depth,
    input_shape=None,
    classes=1000,
    include_top=True,
    pooling=None,
    weights=None,
    classifier_activation="softmax",
    growth_rate=32,
    base_filters=64,
    name=None,
    batch_norm="torchvision",
):
    """Build DenseNet-``depth`` (Huang et al., CVPR 2017) as torchvision does.

    ``conv1`` (7x7 stride 2, ``base_filters``), ``pool1`` (3x3 stride 2), dense blocks
    ``block1`` to ``block4`` (layers ``block<b>_layer<l>_...`` ending in
    ``block<b>_layer<l>_concat``) with ``transition1`` to ``transition3`` between them,
    ``final_bn`` and ``final_relu``, then global average pooling and ``predictions``.

    Args:
        depth: 121, 169 or 201.
        input_shape: one image's ``(height, width, channels)``, at least 29x29; default
            ``(224, 224, 3)``. Height and width may be None.
        classes, include_top, pooling, weights, classifier_activation, name: as for
            ``ResNet``.
        growth_rate: channels each dense layer adds (32).
        base_filters: channels of the stem convolution (64).
        batch_norm: ``"torchvision"`` (momentum 0.9, epsilon 1e-5) or ``"keras"``
            (``keras.applications``'s momentum 0.99 and epsilon 1.001e-5: the same moving
            statistics after each training step as Keras's DenseNet).

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import DenseNet
        >>> DenseNet(121, include_top=False, growth_rate=4, base_filters=8).output_shape
        (None, None, None, 128)
    """
    if depth not in _BLOCKS:
        raise ValueError(f"DenseNet expects depth in {sorted(_BLOCKS)}, got {depth!r}")
    builder = f"DenseNet{depth}"
    check_top(builder, include_top, pooling, classes, classifier_activation)
    check_positive(builder, "growth_rate", growth_rate)
    check_positive(builder, "base_filters", base_filters)
    if batch_norm not in _BATCH_NORM:
        raise ValueError(
            f"{builder} expects batch_norm in {sorted(_BATCH_NORM)}, got {batch_norm!r}"
        )
    check_weights(builder, weights)
    bn = _batch_norm_maker(*_BATCH_NORM[batch_norm])
    default = (224, 224, 3) if include_top else (None, None, 3)  # Keras's defaults
    shape = check_input_shape(builder, input_shape, default, min_size=29)

    inputs = layers.Input(shape, name="input")
    x = conv(inputs, base_filters, 7, "conv1", strides=2, padding=3)
    x = bn(x, "conv1_bn")
    x = layers.ReLU(name="conv1_relu")(x)
    x = max_pool(x, 3, 2, "pool1", padding=1)
    counts = _BLOCKS[depth]
    for block, count in enumerate(counts, start=1):
        for index in range(1, count + 1):
            x = _dense_layer(x, growth_rate, f"block{block}_layer{index}", bn)
        if block < len(counts):
            x = _transition(x, x.shape[-1] // 2, f"transition{block}", bn)
    x = bn(x, "final_bn")
    x = layers.ReLU(name="final_relu")(x)
    x = global_pool_top(x, include_top, pooling, classes, classifier_activation)
    return finish(builder, inputs, x, name or f"densenet{depth}", weights)


def _batch_norm_maker(momentum, epsilon):
    def bn(x, name):
        return layers.BatchNormalization(momentum=momentum, epsilon=epsilon, name=name)(x)

    return bn


def _dense_layer(x, growth_rate, name, bn):
    """Pre-activation bottleneck (BN, ReLU, 1x1; BN, ReLU, 3x3) whose ``growth_rate`` new
    channels are appended to its input."""
    y = bn(x, f"{name}_bn1")
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = conv(y, 4 * growth_rate, 1, f"{name}_conv1")
    y = bn(y, f"{name}_bn2")
    y = layers.ReLU(name=f"{name}_relu2")(y)
    y = conv(y, growth_rate, 3, f"{name}_conv2", padding=1)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def _transition(x, filters, name, bn):
    x = bn(x, f"{name}_bn")
    x = layers.ReLU(name=f"{name}_relu")(x)
    x = conv(x, filters, 1, f"{name}_conv")
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _make(depth):
    def builder(
        input_shape=None,
        classes=1000,
        include_top=True,
        pooling=None,
        weights=None,
        classifier_activation="softmax",
        growth_rate=32,
        base_filters=64,
        name=None,
        batch_norm="torchvision",
    ):
        return DenseNet(
            depth,
            input_shape=input_shape,
            classes=classes,
            include_top=include_top,
            pooling=pooling,
            weights=weights,
            classifier_activation=classifier_activation,
            growth_rate=growth_rate,
            base_filters=base_filters,
            name=name,
            batch_norm=batch_norm,
        )

    builder.__name__ = builder.__qualname__ = f"DenseNet{depth}"
    builder.__doc__ = f"""Build DenseNet-{depth}, dense blocks of {_BLOCKS[depth]} layers
    (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017), as torchvision
    defines it.

    Args:
        input_shape, classes, include_top, pooling, weights, classifier_activation,
            growth_rate, base_filters, name, batch_norm: as for ``DenseNet``.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import DenseNet{depth}
        >>> DenseNet{depth}(include_top=False, pooling="avg").output_shape[-1] > 1000
        True
    """
    return builder


DenseNet121 = _make(121)
DenseNet169 = _make(169)
DenseNet201 = _make(201)
