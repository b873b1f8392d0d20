"""EfficientNetB0 to B3 as ``keras.applications`` defines them, and Keras's
``applications.efficientnet`` module.

Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
ICML 2019. Seven stages of MBConv blocks (a 1x1 expansion, a depthwise convolution,
squeeze-and-excitation, a linear 1x1 projection, an identity shortcut with stochastic
depth where the shape is kept), all with swish; B1 to B3 scale B0's widths and depths by
the paper's coefficients (``round_filters``, ``round_repeats``).

The model normalizes its own inputs: it starts with ``Rescaling(1/255)`` and a
``Normalization`` layer (named ``rescaling`` and ``normalization``, their automatic names
in a fresh Keras session), so it takes 0..255 pixels and ``preprocess_input`` is the
identity, as in Keras. With ``weights=None`` the normalization has no statistics yet (mean
0, variance 1): it passes pixels through, as Keras's does, until a weights file brings
ImageNet's statistics or you call ``model.get_layer("normalization").adapt(images)``.
Batch normalization keeps Keras's defaults (epsilon 1e-3, momentum 0.99); the
convolutions use Keras's initializers (variance scaling 2.0, fan out, truncated normal).
Layer names are Keras's (``stem_conv``, ``block2a_expand_conv``, ``block6d_se_excite``,
``top_activation``, ``predictions``).
"""

import math

from lapenna import initializers, layers
from lapenna.applications._common import check_top, check_weights, finish
from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.keras_resnet import keras_input_shape

__all__ = [
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "decode_predictions",
    "preprocess_input",
]

# (kernel size, repeats, filters in, filters out, expansion, stride) of B0's seven stages;
# every block has squeeze-and-excitation with ratio 0.25 and an identity skip
_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
_SE_RATIO = 0.25
# (width coefficient, depth coefficient, default size, dropout) of each variant
_VARIANTS = {
    0: (1.0, 1.0, 224, 0.2),
    1: (1.0, 1.1, 240, 0.2),
    2: (1.1, 1.2, 260, 0.3),
    3: (1.2, 1.4, 300, 0.3),
}
_DROP_CONNECT_RATE = 0.2


def _conv_init():
    return initializers.VarianceScaling(2.0, "fan_out", "truncated_normal")


def _build(
    variant, include_top, weights, input_shape, pooling, classes, classifier_activation, name
):
    builder = f"EfficientNetB{variant}"
    width, depth, size, dropout = _VARIANTS[variant]
    check_top(builder, include_top, pooling, classes, classifier_activation)
    check_weights(builder, weights)
    shape = keras_input_shape(builder, input_shape, include_top, size=size)

    def round_filters(filters, divisor=8):
        filters *= width
        rounded = max(divisor, int(filters + divisor / 2) // divisor * divisor)
        if rounded < 0.9 * filters:
            rounded += divisor
        return int(rounded)

    def round_repeats(repeats):
        return int(math.ceil(depth * repeats))

    inputs = layers.Input(shape, name="input_layer")
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    normalization = layers.Normalization(axis=-1, name="normalization")
    normalization._warn_unadapted = False  # un-adapted is the documented identity here
    x = normalization(x)
    x = layers.ZeroPadding2D(correct_pad(x.shape, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(
        round_filters(32), 3, strides=2, padding="valid", use_bias=False,
        kernel_initializer=_conv_init(), name="stem_conv",
    )(x)  # fmt: skip
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("swish", name="stem_activation")(x)

    total = float(sum(round_repeats(stage[1]) for stage in _STAGES))
    index = 0
    for stage, (kernel, repeats, filters_in, filters_out, expansion, stride) in enumerate(
        _STAGES, start=1
    ):
        filters_in, filters_out = round_filters(filters_in), round_filters(filters_out)
        for j in range(round_repeats(repeats)):
            if j > 0:
                stride, filters_in = 1, filters_out
            x = _block(
                x, f"block{stage}{chr(j + 97)}_", filters_in, filters_out, kernel, stride,
                expansion, _DROP_CONNECT_RATE * index / total,
            )  # fmt: skip
            index += 1

    x = layers.Conv2D(
        round_filters(1280), 1, padding="same", use_bias=False,
        kernel_initializer=_conv_init(), name="top_conv",
    )(x)  # fmt: skip
    x = layers.BatchNormalization(name="top_bn")(x)
    x = layers.Activation("swish", name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name="top_dropout")(x)
        x = layers.Dense(
            classes, activation=classifier_activation, name="predictions",
            kernel_initializer=initializers.VarianceScaling(1.0 / 3.0, "fan_out", "uniform"),
        )(x)  # fmt: skip
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    return finish(builder, inputs, x, name, weights)


def _block(inputs, name, filters_in, filters_out, kernel, stride, expansion, drop_rate):
    """Keras's MBConv block: expansion, depthwise convolution, squeeze-and-excitation,
    projection, and the shortcut (with stochastic depth) where the shape is kept."""
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        x = layers.Conv2D(
            filters, 1, padding="same", use_bias=False, kernel_initializer=_conv_init(),
            name=f"{name}expand_conv",
        )(x)  # fmt: skip
        x = layers.BatchNormalization(name=f"{name}expand_bn")(x)
        x = layers.Activation("swish", name=f"{name}expand_activation")(x)
    padding = "same"
    if stride == 2:
        x = layers.ZeroPadding2D(correct_pad(x.shape, kernel), name=f"{name}dwconv_pad")(x)
        padding = "valid"
    x = layers.DepthwiseConv2D(
        kernel, strides=stride, padding=padding, use_bias=False,
        depthwise_initializer=_conv_init(), name=f"{name}dwconv",
    )(x)  # fmt: skip
    x = layers.BatchNormalization(name=f"{name}bn")(x)
    x = layers.Activation("swish", name=f"{name}activation")(x)

    squeezed = max(1, int(filters_in * _SE_RATIO))
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(
        squeezed, 1, padding="same", activation="swish", kernel_initializer=_conv_init(),
        name=f"{name}se_reduce",
    )(se)  # fmt: skip
    se = layers.Conv2D(
        filters, 1, padding="same", activation="sigmoid", kernel_initializer=_conv_init(),
        name=f"{name}se_expand",
    )(se)  # fmt: skip
    x = layers.Multiply(name=f"{name}se_excite")([x, se])

    x = layers.Conv2D(
        filters_out, 1, padding="same", use_bias=False, kernel_initializer=_conv_init(),
        name=f"{name}project_conv",
    )(x)  # fmt: skip
    x = layers.BatchNormalization(name=f"{name}project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.Add(name=f"{name}add")([x, inputs])
    return x


def correct_pad(shape, kernel):
    """Keras's ``correct_pad``: TF "same" padding of a strided window, one pixel less at
    the top and left of an even (or unknown) size."""
    half = kernel // 2
    return tuple((half - (1 if d is None or d % 2 == 0 else 0), half) for d in shape[1:3])


def preprocess_input(x, data_format=None):
    """The identity, as in Keras: EfficientNet rescales and normalizes its inputs itself,
    so it takes 0..255 RGB pixels (channels last) as they are."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"preprocess_input works on channels-last images, got data_format={data_format!r}"
        )
    return x


def _make(variant):
    def builder(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=1000,
        classifier_activation="softmax",
        name=f"efficientnetb{variant}",
    ):
        if input_tensor is not None:
            raise ValueError(
                f"EfficientNetB{variant}: input_tensor is not supported; give input_shape instead"
            )
        return _build(
            variant, include_top, weights, input_shape, pooling, classes,
            classifier_activation, name,
        )  # fmt: skip

    width, depth, size, dropout = _VARIANTS[variant]
    builder.__name__ = builder.__qualname__ = f"EfficientNetB{variant}"
    builder.__doc__ = f"""Build Keras's EfficientNetB{variant} (width x{width}, depth x{depth},
    {size}x{size} images by default, dropout {dropout} before the classifier).

    Args:
        include_top: end with ``avg_pool``, ``top_dropout`` and a Dense ``predictions``.
        weights: None (random initialization) or the path of a local weights file (a
            Keras ``.h5``/``.weights.h5`` of this model brings ImageNet's input statistics
            with it).
        input_tensor: not supported (refused with a hint).
        input_shape: ``(height, width, channels)``, at least 32x32; default
            ``({size}, {size}, 3)`` with the top, ``(None, None, 3)`` without. Pixels are
            0..255: the model rescales them itself.
        pooling: without the top, ``None``, ``"avg"`` or ``"max"``.
        classes, classifier_activation: the classifier's outputs and activation.
        name: the model's name.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import EfficientNetB{variant}
        >>> EfficientNetB{variant}(include_top=False, input_shape=(32, 32, 3)).output_shape[1:3]
        (1, 1)
    """
    return builder


EfficientNetB0 = _make(0)
EfficientNetB1 = _make(1)
EfficientNetB2 = _make(2)
EfficientNetB3 = _make(3)
