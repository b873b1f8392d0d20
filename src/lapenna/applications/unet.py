"""U-Net for image segmentation.

Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015. A contracting path of double 3x3 convolutions and 2x2 max
pooling, an expanding path of 2x2 transposed convolutions, each followed by the
concatenation of the matching encoder maps (the skip connection) and a double
convolution, and a 1x1 convolution to ``classes`` channels.
"""

from lapenna import layers
from lapenna.applications._common import (
    TORCH_BN_EPSILON,
    TORCH_BN_MOMENTUM,
    check_input_shape,
    check_positive,
    check_top,
    check_weights,
    conv_initializer,
    finish,
)


def UNet(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(None, None, 3),
    classes=2,
    depth=4,
    base_filters=64,
    batch_norm=True,
    weights=None,
    classifier_activation=None,
    name="unet",
):
    """Build a U-Net (Ronneberger et al., MICCAI 2015) whose output has the input's size.

    The convolutions pad ("same") so that skip connections need no cropping, unlike the
    paper's unpadded ones. Level ``i`` (0 to ``depth - 1``) of the encoder has
    ``base_filters * 2**i`` channels (``encoder<i>_conv1``, ``encoder<i>_conv2``,
    ``encoder<i>_pool``); the ``bottleneck`` has ``base_filters * 2**depth``; decoder level
    ``i`` (``decoder<i>_upconv``, ``decoder<i>_concat``, ``decoder<i>_conv1/2``) mirrors it;
    ``predictions`` is the 1x1 convolution to ``classes`` channels.

    Args:
        input_shape: one image's ``(height, width, channels)``; height and width must be
            multiples of ``2**depth`` or None.
        classes: output channels (one score map per class).
        depth: the number of poolings (4 in the paper).
        base_filters: channels of the first level (64 in the paper).
        batch_norm: put BatchNormalization between each convolution and its ReLU (not in
            the paper; it makes training from scratch much easier).
        weights: None or the path of a local weights file.
        classifier_activation: of ``predictions``; default None gives per-pixel logits
            (pair with a ``from_logits=True`` loss), or ``"softmax"`` / ``"sigmoid"``.
        name: the model's name.

    Returns:
        a functional ``Model`` from ``(batch, H, W, C)`` to ``(batch, H, W, classes)``.

    Example:
        >>> from lapenna.applications import UNet
        >>> UNet((64, 64, 1), classes=3, depth=3, base_filters=8).output_shape
        (None, 64, 64, 3)
    """
    check_top("UNet", True, None, classes, classifier_activation)
    check_positive("UNet", "depth", depth)
    check_positive("UNet", "base_filters", base_filters)
    check_weights("UNet", weights)
    shape = check_input_shape("UNet", input_shape, (None, None, 3))
    multiple = 2**depth
    if any(d is not None and d % multiple for d in shape[:2]):
        raise ValueError(
            f"UNet with depth={depth} needs height and width divisible by {multiple}, got "
            f"input_shape {shape}"
        )

    inputs = layers.Input(shape, name="input")
    x, skips = inputs, []
    for level in range(depth):
        x = _double_conv(x, base_filters * 2**level, f"encoder{level}", batch_norm)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"encoder{level}_pool")(x)
    x = _double_conv(x, base_filters * 2**depth, "bottleneck", batch_norm)
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        x = layers.Conv2DTranspose(filters, 2, strides=2, name=f"decoder{level}_upconv")(x)
        x = layers.Concatenate(name=f"decoder{level}_concat")([skips[level], x])
        x = _double_conv(x, filters, f"decoder{level}", batch_norm)
    outputs = layers.Conv2D(classes, 1, activation=classifier_activation, name="predictions")(x)
    return finish("UNet", inputs, outputs, name, weights)


def _double_conv(x, filters, name, batch_norm):
    for index in (1, 2):
        x = layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=not batch_norm,
            kernel_initializer=conv_initializer(),
            name=f"{name}_conv{index}",
        )(x)
        if batch_norm:
            x = layers.BatchNormalization(
                momentum=TORCH_BN_MOMENTUM, epsilon=TORCH_BN_EPSILON, name=f"{name}_bn{index}"
            )(x)
        x = layers.ReLU(name=f"{name}_relu{index}")(x)
    return x
