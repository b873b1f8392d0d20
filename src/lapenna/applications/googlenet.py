"""GoogLeNet (Inception v1) as torchvision defines it, without the auxiliary heads.

Szegedy et al., "Going Deeper with Convolutions", CVPR 2015. As in torchvision: every
convolution is bias-free with batch normalization (epsilon 1e-3) and ReLU, the max
poolings round their output size up (``ceil_mode``), and the third branch of each
Inception module uses a 3x3 convolution where the paper has a 5x5 (torchvision's
published weights were trained that way).
"""

from lapenna import layers
from lapenna.applications._common import (
    batch_norm,
    check_input_shape,
    check_top,
    check_weights,
    conv,
    finish,
    global_pool_top,
)

# Inception modules: name -> (1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection);
# poolings between the groups: name -> (pool size, stride)
_BODY = (
    ("inception3a", (64, 96, 128, 16, 32, 32)),
    ("inception3b", (128, 128, 192, 32, 96, 64)),
    ("pool3", (3, 2)),
    ("inception4a", (192, 96, 208, 16, 48, 64)),
    ("inception4b", (160, 112, 224, 24, 64, 64)),
    ("inception4c", (128, 128, 256, 24, 64, 64)),
    ("inception4d", (112, 144, 288, 32, 64, 64)),
    ("inception4e", (256, 160, 320, 32, 128, 128)),
    ("pool4", (2, 2)),
    ("inception5a", (256, 160, 320, 32, 128, 128)),
    ("inception5b", (384, 192, 384, 48, 128, 128)),
)


def GoogLeNet(  # noqa: N802 - Keras's spelling of model builders
    input_shape=None,
    classes=1000,
    include_top=True,
    pooling=None,
    weights=None,
    classifier_activation="softmax",
    dropout=0.2,
    name="googlenet",
):
    """Build GoogLeNet (Szegedy et al., CVPR 2015) as torchvision does, 6.6M parameters.

    Stem ``conv1`` (7x7 stride 2), ``pool1``, ``conv2`` (1x1), ``conv3`` (3x3), ``pool2``;
    nine Inception modules (``inception3a`` ... ``inception5b``, each the concatenation of
    ``<module>_branch1`` to ``<module>_branch4``) with ``pool3`` and ``pool4`` between the
    groups; global average pooling, dropout and ``predictions``.

    Args:
        input_shape: one image's ``(height, width, channels)``, at least 15x15; default
            ``(224, 224, 3)``. With unknown (None) sizes the rounded-up poolings fall back
            to ``"same"`` padding, which differs from torch's rounding at odd sizes.
        classes, include_top, pooling, weights, classifier_activation, name: as for
            ``ResNet``.
        dropout: the dropout rate before ``predictions``.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import GoogLeNet
        >>> GoogLeNet(include_top=False).output_shape
        (None, 7, 7, 1024)
    """
    check_top("GoogLeNet", include_top, pooling, classes, classifier_activation)
    check_weights("GoogLeNet", weights)
    shape = check_input_shape("GoogLeNet", input_shape, (224, 224, 3), min_size=15)

    inputs = layers.Input(shape, name="input")
    x = _conv_bn(inputs, 64, 7, "conv1", strides=2, padding=3)
    x = _ceil_max_pool(x, 3, 2, "pool1")
    x = _conv_bn(x, 64, 1, "conv2")
    x = _conv_bn(x, 192, 3, "conv3", padding=1)
    x = _ceil_max_pool(x, 3, 2, "pool2")
    for block, spec in _BODY:
        if block.startswith("pool"):
            x = _ceil_max_pool(x, *spec, block)
        else:
            x = _inception(x, block, *spec)
    x = global_pool_top(x, include_top, pooling, classes, classifier_activation, dropout)
    return finish("GoogLeNet", inputs, x, name, weights)


def _conv_bn(x, filters, kernel_size, name, strides=1, padding=0):
    """torchvision's ``BasicConv2d``: bias-free convolution, batch norm (eps 1e-3), ReLU."""
    x = conv(x, filters, kernel_size, name, strides=strides, padding=padding)
    x = batch_norm(x, f"{name}_bn", epsilon=1e-3)
    return layers.ReLU(name=f"{name}_relu")(x)


def _inception(x, name, c1, c3_reduce, c3, c5_reduce, c5, pool_projection):
    """Four parallel branches concatenated on channels: 1x1; 1x1 then 3x3; 1x1 then 3x3
    (the paper's 5x5); 3x3 max pooling then 1x1."""
    branch1 = _conv_bn(x, c1, 1, f"{name}_branch1")
    branch2 = _conv_bn(x, c3_reduce, 1, f"{name}_branch2_reduce")
    branch2 = _conv_bn(branch2, c3, 3, f"{name}_branch2", padding=1)
    branch3 = _conv_bn(x, c5_reduce, 1, f"{name}_branch3_reduce")
    branch3 = _conv_bn(branch3, c5, 3, f"{name}_branch3", padding=1)
    # stride 1 with padding 1 is "same" under both rules; the pool ignores the padding
    branch4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    branch4 = _conv_bn(branch4, pool_projection, 1, f"{name}_branch4")
    branches = [branch1, branch2, branch3, branch4]
    return layers.Concatenate(name=f"{name}_concat")(branches)


def _ceil_max_pool(x, pool_size, strides, name):
    """torch's ``MaxPool2d(ceil_mode=True)``: windows may hang over the bottom and right
    edges. The inputs come out of a ReLU, so zeros there change no maximum."""
    height, width = x.shape[1:3]
    if height is None or width is None:
        return layers.MaxPooling2D(pool_size, strides=strides, padding="same", name=name)(x)
    extra = [_ceil_overhang(n, pool_size, strides) for n in (height, width)]
    if any(extra):
        x = layers.ZeroPadding2D(((0, extra[0]), (0, extra[1])), name=f"{name}_pad")(x)
    return layers.MaxPooling2D(pool_size, strides=strides, name=name)(x)


def _ceil_overhang(length, pool_size, strides):
    """Rows past the edge that torch's rounded-up output reads (its last window must start
    inside the input)."""
    count = -(-(length - pool_size) // strides) + 1
    if (count - 1) * strides >= length:
        count -= 1
    return max((count - 1) * strides + pool_size - length, 0)
