"""AlexNet in torchvision's single-tower form.

Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NeurIPS 2012; torchvision's variant (from Krizhevsky's "One weird trick for
parallelizing convolutional neural networks", 2014) has 64, 192, 384, 256 and 256 filters
and no local response normalization.
"""

from lapenna import layers
from lapenna.applications._common import (
    check_input_shape,
    check_positive,
    check_top,
    check_weights,
    conv,
    dense_top,
    finish,
    max_pool,
    pool_features,
)

# (filters, kernel, stride, padding, max pooling after)
_FEATURES = (
    (64, 11, 4, 2, True),
    (192, 5, 1, 2, True),
    (384, 3, 1, 1, False),
    (256, 3, 1, 1, False),
    (256, 3, 1, 1, True),
)


def AlexNet(  # noqa: N802 - Keras's spelling of model builders
    input_shape=None,
    classes=1000,
    include_top=True,
    pooling=None,
    weights=None,
    classifier_activation="softmax",
    base_filters=64,
    fc_units=4096,
    dropout=0.5,
    name="alexnet",
):
    """Build AlexNet as torchvision defines it (Krizhevsky et al., NeurIPS 2012).

    Five convolutions with ReLU (``conv1`` to ``conv5``, 3x3 stride-2 max pooling after
    the first, second and fifth), then the feature maps averaged to 6x6, flattened
    (channels last), and ``fc1``, ``fc2`` (``fc_units`` each, ReLU, dropout before each)
    and ``predictions``.

    Args:
        input_shape: one image's ``(height, width, channels)``, at least 63x63; default
            ``(224, 224, 3)``.
        classes, include_top, pooling, weights, classifier_activation, name: as for
            ``ResNet``.
        base_filters: filters of the first convolution (64); the others scale with it.
        fc_units: width of the two hidden Dense layers (4096).
        dropout: the dropout rate before each hidden Dense layer.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import AlexNet
        >>> AlexNet(include_top=False).output_shape
        (None, 6, 6, 256)
    """
    check_top("AlexNet", include_top, pooling, classes, classifier_activation)
    check_positive("AlexNet", "base_filters", base_filters)
    check_positive("AlexNet", "fc_units", fc_units)
    check_weights("AlexNet", weights)
    shape = check_input_shape("AlexNet", input_shape, (224, 224, 3), min_size=63)

    inputs = layers.Input(shape, name="input")
    x = inputs
    for index, (filters, kernel, strides, padding, pool) in enumerate(_FEATURES, start=1):
        filters = filters * base_filters // 64
        x = conv(x, filters, kernel, f"conv{index}", strides, padding, use_bias=True)
        x = layers.ReLU(name=f"conv{index}_relu")(x)
        if pool:
            x = max_pool(x, 3, 2, f"pool{index}")
    if include_top:
        x = dense_top("AlexNet", x, 6, fc_units, dropout, classes, classifier_activation, True)
    else:
        x = pool_features(x, pooling)
    return finish("AlexNet", inputs, x, name, weights)
