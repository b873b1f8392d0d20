"""Super-resolution networks: SRCNN and FSRCNN.

SRCNN: Dong, Loy, He and Tang, "Image Super-Resolution Using Deep Convolutional Networks",
IEEE TPAMI 38(2), 2016 (ECCV 2014). FSRCNN: Dong, Loy and Tang, "Accelerating the
Super-Resolution Convolutional Neural Network", ECCV 2016.
"""

from lapenna import initializers, layers
from lapenna.applications._common import check_input_shape, check_positive, check_weights, finish


def SRCNN(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(None, None, 1),
    filters=(64, 32),
    kernel_sizes=(9, 1, 5),
    padding="same",
    weights=None,
    name="srcnn",
):
    """Build SRCNN (Dong et al., 2014/2016): the 9-1-5 network with 64 and 32 filters.

    It maps a low-resolution image already upscaled to the target size (bicubic) to the
    high-resolution one: ``conv1`` patch extraction (9x9, ReLU), ``conv2`` non-linear
    mapping (1x1, ReLU), ``conv3`` reconstruction (5x5, linear) to the input's channels.

    Args:
        input_shape: one image's ``(height, width, channels)``; the paper works on the
            luminance channel only (1).
        filters: the two hidden layers' filters.
        kernel_sizes: the three kernel sizes (9-1-5; 9-5-5 is the paper's better variant).
        padding: ``"same"`` keeps the image size; ``"valid"`` is the paper's (the output
            loses ``sum(kernel_sizes) - 3`` pixels per side pair).
        weights: None or the path of a local weights file.
        name: the model's name.

    Returns:
        a functional ``Model`` (8,129 parameters for one channel and the defaults).

    Example:
        >>> from lapenna.applications import SRCNN
        >>> SRCNN().count_params()
        8129
    """
    if len(filters) != 2 or len(kernel_sizes) != 3:
        raise ValueError(
            f"SRCNN expects two filter counts and three kernel sizes, got filters={filters!r} "
            f"and kernel_sizes={kernel_sizes!r}"
        )
    for value in (*filters, *kernel_sizes):
        check_positive("SRCNN", "filters and kernel_sizes", value)
    check_weights("SRCNN", weights)
    shape = check_input_shape("SRCNN", input_shape, (None, None, 1))
    inputs = layers.Input(shape, name="input")
    x = inputs
    for index, units in enumerate(filters, start=1):
        x = layers.Conv2D(
            units,
            kernel_sizes[index - 1],
            padding=padding,
            activation="relu",
            name=f"conv{index}",
        )(x)
    x = layers.Conv2D(shape[-1], kernel_sizes[2], padding=padding, name="conv3")(x)
    return finish("SRCNN", inputs, x, name, weights)


def FSRCNN(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(None, None, 1), d=56, s=12, m=4, scale=2, weights=None, name="fsrcnn"
):
    """Build FSRCNN(d, s, m) (Dong et al., ECCV 2016), which upscales by ``scale`` itself.

    ``feature_extraction`` (5x5, ``d`` filters), ``shrinking`` (1x1, ``s``), ``m`` mapping
    layers ``mapping1``... (3x3, ``s``), ``expanding`` (1x1, ``d``), each with a PReLU of
    one slope per channel, then ``deconvolution``: a 9x9 transposed convolution of stride
    ``scale`` back to the input's channels, so ``(H, W)`` becomes ``(scale*H, scale*W)``.

    Args:
        input_shape: the low-resolution image's ``(height, width, channels)``.
        d, s, m: the paper's LR feature dimension, shrinking filters and mapping depth.
        scale: the upscaling factor.
        weights: None or the path of a local weights file.
        name: the model's name.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import FSRCNN
        >>> FSRCNN((16, 16, 1), scale=3).output_shape
        (None, 48, 48, 1)
    """
    for argument, value in (("d", d), ("s", s), ("scale", scale)):
        check_positive("FSRCNN", argument, value)
    if isinstance(m, bool) or not isinstance(m, int) or m < 0:
        raise ValueError(f"FSRCNN expects m to be a non-negative int, got {m!r}")
    check_weights("FSRCNN", weights)
    shape = check_input_shape("FSRCNN", input_shape, (None, None, 1))
    inputs = layers.Input(shape, name="input")
    x = _conv_prelu(inputs, d, 5, "feature_extraction")
    x = _conv_prelu(x, s, 1, "shrinking")
    for index in range(1, m + 1):
        x = _conv_prelu(x, s, 3, f"mapping{index}")
    x = _conv_prelu(x, d, 1, "expanding")
    # the paper initializes the deconvolution from N(0, 0.001^2)
    x = layers.Conv2DTranspose(
        shape[-1],
        9,
        strides=scale,
        padding="same",
        name="deconvolution",
        kernel_initializer=initializers.RandomNormal(stddev=0.001),
    )(x)
    return finish("FSRCNN", inputs, x, name, weights)


def _conv_prelu(x, filters, kernel_size, name):
    x = layers.Conv2D(
        filters, kernel_size, padding="same", kernel_initializer="he_normal", name=name
    )(x)
    return layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(x)
