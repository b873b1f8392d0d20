"""ResNet-18, 34, 50, 101 and 152 as torchvision defines them.

He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016. As in
torchvision: bias-free convolutions each followed by batch normalization, a 1x1 convolution
with batch normalization on the shortcut when the shape changes, and bottleneck blocks that
stride on their 3x3 convolution (the "v1.5" placement, 4.1 GMACs for ResNet-50 against the
paper's 3.8). Layer names read ``conv1``, ``layer2_block1_conv1``, ``layer2_block1_add``...
``lapenna.applications.ResNet50/101/152`` are Keras's (``keras_resnet``); these are
``lapenna.applications.resnet.ResNet50`` etc. and ``ResNet(depth)``.
"""

from lapenna import layers
from lapenna.applications._common import (
    batch_norm,
    check_input_shape,
    check_positive,
    check_top,
    check_weights,
    conv,
    finish,
    global_pool_top,
    max_pool,
)

# depth -> (block kind, blocks per stage)
_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def ResNet(  # noqa: N802 - Keras's spelling of model builders
    depth,
    input_shape=None,
    classes=1000,
    include_top=True,
    pooling=None,
    weights=None,
    classifier_activation="softmax",
    stem="imagenet",
    base_filters=64,
    name=None,
):
    """Build a ResNet of ``depth`` 18, 34, 50, 101 or 152 (He et al., CVPR 2016).

    Args:
        depth: 18 or 34 (basic blocks), 50, 101 or 152 (bottleneck blocks).
        input_shape: one image's ``(height, width, channels)``; default ``(224, 224, 3)``.
            Height and width may be None (any size) since the top pools globally.
        classes: outputs of the classifier (with ``include_top``).
        include_top: end with global average pooling and a Dense ``predictions`` layer.
        pooling: without the top, ``None`` (the last feature maps), ``"avg"`` or ``"max"``
            (global pooling to one vector per image).
        weights: None (random initialization) or the path of a local weights file.
        classifier_activation: the activation of ``predictions`` (None gives logits).
        stem: ``"imagenet"`` (7x7 stride-2 convolution and 3x3 stride-2 max pooling) or
            ``"cifar"`` (one 3x3 stride-1 convolution, no pooling: for 32x32 images).
        base_filters: channels of the first stage (64 in the paper); the stages have 1x,
            2x, 4x and 8x as many (times 4 at the output of bottleneck blocks).
        name: the model's name (default ``resnet<depth>``).

    Returns:
        a functional ``Model``.

    Raises:
        ValueError: for an unknown depth or stem, bad top arguments or input shape, or
            ``weights`` that are not a local file.

    Example:
        >>> from lapenna.applications import ResNet
        >>> model = ResNet(18, input_shape=(32, 32, 3), classes=10, stem="cifar",
        ...                base_filters=8)
        >>> model.output_shape
        (None, 10)
    """
    builder = f"ResNet{depth}" if depth in _DEPTHS else "ResNet"
    if depth not in _DEPTHS:
        raise ValueError(f"ResNet expects depth in {sorted(_DEPTHS)}, got {depth!r}")
    if stem not in ("imagenet", "cifar"):
        raise ValueError(f"{builder} expects stem 'imagenet' or 'cifar', got {stem!r}")
    check_top(builder, include_top, pooling, classes, classifier_activation)
    check_positive(builder, "base_filters", base_filters)
    check_weights(builder, weights)
    shape = check_input_shape(builder, input_shape, (224, 224, 3))
    kind, counts = _DEPTHS[depth]
    block = _basic_block if kind == "basic" else _bottleneck_block

    inputs = layers.Input(shape, name="input")
    x = _stem(inputs, stem, base_filters)
    for stage, count in enumerate(counts, start=1):
        filters = base_filters * 2 ** (stage - 1)
        for index in range(1, count + 1):
            strides = 2 if stage > 1 and index == 1 else 1
            x = block(x, filters, strides, f"layer{stage}_block{index}")
    x = global_pool_top(x, include_top, pooling, classes, classifier_activation)
    return finish(builder, inputs, x, name or f"resnet{depth}", weights)


def _stem(x, stem, filters):
    if stem == "imagenet":
        x = conv(x, filters, 7, "conv1", strides=2, padding=3)
    else:
        x = conv(x, filters, 3, "conv1", padding=1)
    x = batch_norm(x, "conv1_bn")
    x = layers.ReLU(name="conv1_relu")(x)
    if stem == "imagenet":
        x = max_pool(x, 3, 2, "pool1", padding=1)
    return x


def _shortcut(x, channels, strides, prefix):
    """The identity, or a strided 1x1 convolution with batch normalization when the shape
    changes (torchvision's ``downsample``)."""
    if strides == 1 and x.shape[-1] == channels:
        return x
    x = conv(x, channels, 1, f"{prefix}_downsample_conv", strides=strides)
    return batch_norm(x, f"{prefix}_downsample_bn")


def _basic_block(x, filters, strides, prefix):
    """Two 3x3 convolutions and the shortcut, added before the last ReLU."""
    shortcut = _shortcut(x, filters, strides, prefix)
    x = conv(x, filters, 3, f"{prefix}_conv1", strides=strides, padding=1)
    x = batch_norm(x, f"{prefix}_bn1")
    x = layers.ReLU(name=f"{prefix}_relu1")(x)
    x = conv(x, filters, 3, f"{prefix}_conv2", padding=1)
    x = batch_norm(x, f"{prefix}_bn2")
    x = layers.Add(name=f"{prefix}_add")([x, shortcut])
    return layers.ReLU(name=f"{prefix}_out")(x)


def _bottleneck_block(x, filters, strides, prefix):
    """1x1 reduce, 3x3 (strided), 1x1 expand to ``4 * filters``, plus the shortcut."""
    shortcut = _shortcut(x, 4 * filters, strides, prefix)
    x = conv(x, filters, 1, f"{prefix}_conv1")
    x = batch_norm(x, f"{prefix}_bn1")
    x = layers.ReLU(name=f"{prefix}_relu1")(x)
    x = conv(x, filters, 3, f"{prefix}_conv2", strides=strides, padding=1)
    x = batch_norm(x, f"{prefix}_bn2")
    x = layers.ReLU(name=f"{prefix}_relu2")(x)
    x = conv(x, 4 * filters, 1, f"{prefix}_conv3")
    x = batch_norm(x, f"{prefix}_bn3")
    x = layers.Add(name=f"{prefix}_add")([x, shortcut])
    return layers.ReLU(name=f"{prefix}_out")(x)


def _make(depth):
    def builder(
        input_shape=None,
        classes=1000,
        include_top=True,
        pooling=None,
        weights=None,
        classifier_activation="softmax",
        stem="imagenet",
        base_filters=64,
        name=None,
    ):
        return ResNet(
            depth,
            input_shape=input_shape,
            classes=classes,
            include_top=include_top,
            pooling=pooling,
            weights=weights,
            classifier_activation=classifier_activation,
            stem=stem,
            base_filters=base_filters,
            name=name,
        )

    kind = "basic" if _DEPTHS[depth][0] == "basic" else "bottleneck"
    builder.__name__ = builder.__qualname__ = f"ResNet{depth}"
    builder.__doc__ = f"""Build ResNet-{depth}, {kind} blocks {_DEPTHS[depth][1]} (He et al.,
    "Deep Residual Learning for Image Recognition", CVPR 2016), as torchvision defines it.

    Args:
        input_shape, classes, include_top, pooling, weights, classifier_activation, stem,
            base_filters, name: as for ``ResNet``.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications.resnet import ResNet{depth}
        >>> base = ResNet{depth}(include_top=False, pooling="avg", input_shape=(64, 64, 3),
        ...                  base_filters=8)
        >>> base.trainable = False
    """
    return builder


ResNet18 = _make(18)
ResNet34 = _make(34)
ResNet50 = _make(50)
ResNet101 = _make(101)
ResNet152 = _make(152)
