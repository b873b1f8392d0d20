"""VGG-11, 13, 16 and 19, with or without batch normalization, as torchvision defines them.

Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015; the batch-normalized variants follow torchvision (a
BatchNormalization between each convolution, which keeps its bias, and its ReLU). Layer
names follow Keras: ``block1_conv1``, ``block1_pool``, ``fc1``, ``fc2``, ``predictions``.
"""

from lapenna import layers
from lapenna.applications._common import (
    batch_norm as _batch_norm,
)
from lapenna.applications._common import (
    check_input_shape,
    check_positive,
    check_top,
    check_weights,
    conv,
    dense_top,
    finish,
    pool_features,
)

# depth -> convolutions in each of the five blocks
_DEPTHS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}
_WIDTHS = (64, 128, 256, 512, 512)


def VGG(  # noqa: N802 - Keras's spelling of model builders
    depth,
    input_shape=None,
    classes=1000,
    include_top=True,
    pooling=None,
    weights=None,
    classifier_activation="softmax",
    batch_norm=False,
    base_filters=64,
    fc_units=4096,
    dropout=0.5,
    name=None,
):
    """Build a VGG network of ``depth`` 11, 13, 16 or 19 (Simonyan and Zisserman, 2015).

    Five blocks of 3x3 convolutions (stride 1, padding 1) each ending in 2x2 max pooling,
    then torchvision's top: the feature maps averaged to 7x7, flattened, two Dense layers
    of ``fc_units`` with ReLU and dropout, and the ``predictions`` layer. The flatten runs
    over (height, width, channels), channels last, where torch flattens channels first.

    Args:
        depth: 11, 13, 16 or 19 weight layers.
        input_shape: one image's ``(height, width, channels)``, at least 32x32; default
            ``(224, 224, 3)``. The top needs the last feature maps to average to 7x7
            exactly (sizes 7 * k or 7 / k); without the top, height and width may be None.
        classes, include_top, pooling, weights, classifier_activation, name: as for
            ``ResNet``.
        batch_norm: put BatchNormalization after every convolution (torchvision's
            ``vgg16_bn``).
        base_filters: channels of the first block (64); the blocks have 1x, 2x, 4x, 8x
            and 8x as many.
        fc_units: width of the two hidden Dense layers (4096).
        dropout: the dropout rate after each hidden Dense layer.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import VGG
        >>> VGG(11, input_shape=(32, 32, 3), classes=10, base_filters=8, fc_units=32,
        ...     include_top=False, pooling="avg").output_shape
        (None, 64)
    """
    if depth not in _DEPTHS:
        raise ValueError(f"VGG expects depth in {sorted(_DEPTHS)}, got {depth!r}")
    builder = f"VGG{depth}"
    check_top(builder, include_top, pooling, classes, classifier_activation)
    check_positive(builder, "base_filters", base_filters)
    check_positive(builder, "fc_units", fc_units)
    check_weights(builder, weights)
    shape = check_input_shape(builder, input_shape, (224, 224, 3), min_size=32)

    inputs = layers.Input(shape, name="input")
    x = inputs
    for block, count in enumerate(_DEPTHS[depth], start=1):
        filters = _WIDTHS[block - 1] * base_filters // 64
        for index in range(1, count + 1):
            prefix = f"block{block}"
            x = conv(x, filters, 3, f"{prefix}_conv{index}", padding=1, use_bias=True)
            if batch_norm:
                x = _batch_norm(x, f"{prefix}_bn{index}")
            x = layers.ReLU(name=f"{prefix}_relu{index}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    if include_top:
        x = dense_top(builder, x, 7, fc_units, dropout, classes, classifier_activation)
    else:
        x = pool_features(x, pooling)
    default = f"vgg{depth}_bn" if batch_norm else f"vgg{depth}"
    return finish(builder, inputs, x, name or default, weights)


def _make(depth):
    def builder(
        input_shape=None,
        classes=1000,
        include_top=True,
        pooling=None,
        weights=None,
        classifier_activation="softmax",
        batch_norm=False,
        base_filters=64,
        fc_units=4096,
        dropout=0.5,
        name=None,
    ):
        return VGG(
            depth,
            input_shape=input_shape,
            classes=classes,
            include_top=include_top,
            pooling=pooling,
            weights=weights,
            classifier_activation=classifier_activation,
            batch_norm=batch_norm,
            base_filters=base_filters,
            fc_units=fc_units,
            dropout=dropout,
            name=name,
        )

    builder.__name__ = builder.__qualname__ = f"VGG{depth}"
    builder.__doc__ = f"""Build VGG-{depth}, convolutions per block {_DEPTHS[depth]}
    (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition", ICLR 2015), as torchvision defines it.

    Args:
        input_shape, classes, include_top, pooling, weights, classifier_activation,
            batch_norm, base_filters, fc_units, dropout, name: as for ``VGG``.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import VGG{depth}
        >>> model = VGG{depth}(batch_norm=True, include_top=False, input_shape=(64, 64, 3),
        ...               base_filters=8)
        >>> model.output_shape
        (None, 2, 2, 64)
    """
    return builder


VGG11 = _make(11)
VGG13 = _make(13)
VGG16 = _make(16)
VGG19 = _make(19)
