"""InceptionV3 as ``keras.applications`` defines it, and Keras's ``applications.inception_v3``
module (``preprocess_input`` scales to [-1, 1], mode "tf").

Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception Architecture for
Computer Vision", CVPR 2016. A stem of five convolutions and two max poolings, then eleven
Inception modules ``mixed0`` to ``mixed10``: 35x35 ones (1x1, 5x5, double 3x3 and pooled
branches), a strided reduction ``mixed3``, 17x17 ones that factor 7x7 into 1x7 and 7x1,
a reduction ``mixed8`` and two 8x8 ones whose 3x3 branches split into 1x3 and 3x1.

Every convolution is bias-free and followed by batch normalization without a scale
(``scale=False``, Keras's epsilon 1e-3 and momentum 0.99) and a ReLU. Keras leaves these
layers and the poolings unnamed, so they get its automatic names, numbered per session;
here they carry the names they get in a fresh Keras session (``conv2d``, ``conv2d_1``..
``conv2d_93``, ``batch_normalization_N``, ``activation_N``, ``max_pooling2d_N``,
``average_pooling2d_N``, ``concatenate_N``), so ``get_layer`` finds what a notebook
names. The named layers (``mixed0``..``mixed10``, ``mixed9_0``, ``mixed9_1``,
``avg_pool``, ``predictions``) are Keras's.
"""

from lapenna import layers
from lapenna.applications._common import check_top, check_weights, finish
from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.imagenet_utils import preprocess_input as _preprocess
from lapenna.applications.keras_resnet import keras_input_shape, keras_top

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]


def InceptionV3(  # noqa: N802 - Keras's spelling of model builders
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="inception_v3",
):
    """Build Keras's InceptionV3 (23,851,784 parameters with the top, 21,802,784 without).

    Args:
        include_top: end with ``avg_pool`` and a Dense ``predictions`` layer.
        weights: None (random initialization) or the path of a local weights file.
        input_tensor: not supported (refused with a hint).
        input_shape: ``(height, width, channels)``, at least 75x75; default
            ``(299, 299, 3)`` with the top, ``(None, None, 3)`` without.
        pooling: without the top, ``None``, ``"avg"`` or ``"max"``.
        classes, classifier_activation: the classifier's outputs and activation.
        name: the model's name.

    Returns:
        a functional ``Model``.

    Example:
        >>> InceptionV3(include_top=False, input_shape=(75, 75, 3)).output_shape
        (None, 1, 1, 2048)
    """
    if input_tensor is not None:
        raise ValueError("InceptionV3: input_tensor is not supported; give input_shape instead")
    check_top("InceptionV3", include_top, pooling, classes, classifier_activation)
    check_weights("InceptionV3", weights)
    shape = keras_input_shape("InceptionV3", input_shape, include_top, min_size=75, size=299)
    inputs = layers.Input(shape, name="input_layer")
    names = _KerasNames()
    cb = _ConvBN(names)
    x = cb(inputs, 32, 3, 3, strides=2, padding="valid")
    x = cb(x, 32, 3, 3, padding="valid")
    x = cb(x, 64, 3, 3)
    x = _max(x, names)
    x = cb(x, 80, 1, 1, padding="valid")
    x = cb(x, 192, 3, 3, padding="valid")
    x = _max(x, names)

    for index, pool_filters in enumerate((32, 64, 64)):  # 35x35
        branch1x1 = cb(x, 64, 1, 1)
        branch5x5 = cb(cb(x, 48, 1, 1), 64, 5, 5)
        branch3x3dbl = cb(cb(cb(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        branch_pool = cb(_average(x, names), pool_filters, 1, 1)
        x = _concat([branch1x1, branch5x5, branch3x3dbl, branch_pool], f"mixed{index}")

    branch3x3 = cb(x, 384, 3, 3, strides=2, padding="valid")  # reduction to 17x17
    branch3x3dbl = cb(cb(cb(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides=2, padding="valid")
    branch_pool = _max(x, names)
    x = _concat([branch3x3, branch3x3dbl, branch_pool], "mixed3")

    for index, width in ((4, 128), (5, 160), (6, 160), (7, 192)):  # 17x17
        branch1x1 = cb(x, 192, 1, 1)
        branch7x7 = cb(cb(cb(x, width, 1, 1), width, 1, 7), 192, 7, 1)
        branch7x7dbl = cb(x, width, 1, 1)
        for filters, rows, cols in ((width, 7, 1), (width, 1, 7), (width, 7, 1), (192, 1, 7)):
            branch7x7dbl = cb(branch7x7dbl, filters, rows, cols)
        branch_pool = cb(_average(x, names), 192, 1, 1)
        x = _concat([branch1x1, branch7x7, branch7x7dbl, branch_pool], f"mixed{index}")

    branch3x3 = cb(cb(x, 192, 1, 1), 320, 3, 3, strides=2, padding="valid")  # to 8x8
    branch7x7x3 = cb(cb(cb(x, 192, 1, 1), 192, 1, 7), 192, 7, 1)
    branch7x7x3 = cb(branch7x7x3, 192, 3, 3, strides=2, padding="valid")
    branch_pool = _max(x, names)
    x = _concat([branch3x3, branch7x7x3, branch_pool], "mixed8")

    for index in range(2):  # 8x8
        branch1x1 = cb(x, 320, 1, 1)
        branch3x3 = cb(x, 384, 1, 1)
        branch3x3 = _concat([cb(branch3x3, 384, 1, 3), cb(branch3x3, 384, 3, 1)], f"mixed9_{index}")
        branch3x3dbl = cb(cb(x, 448, 1, 1), 384, 3, 3)
        branch3x3dbl = _concat(
            [cb(branch3x3dbl, 384, 1, 3), cb(branch3x3dbl, 384, 3, 1)], names("concatenate")
        )
        branch_pool = cb(_average(x, names), 192, 1, 1)
        x = _concat([branch1x1, branch3x3, branch3x3dbl, branch_pool], f"mixed{9 + index}")
    x = keras_top(x, include_top, pooling, classes, classifier_activation)
    return finish("InceptionV3", inputs, x, name, weights)


def preprocess_input(x, data_format=None):
    """Prepare 0..255 RGB images (channels last) for InceptionV3: scaled to [-1, 1]."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"preprocess_input works on channels-last images, got data_format={data_format!r}"
        )
    return _preprocess(x, mode="tf")


class _KerasNames:
    """Keras's automatic layer names in a fresh session: ``conv2d``, ``conv2d_1``, ..."""

    def __init__(self):
        self.counts = {}

    def __call__(self, base):
        count = self.counts.get(base, 0)
        self.counts[base] = count + 1
        return f"{base}_{count}" if count else base


class _ConvBN:
    """Keras's ``conv2d_bn``: a bias-free convolution, batch normalization without a
    scale, and a ReLU."""

    def __init__(self, names):
        self.names = names

    def __call__(self, x, filters, rows, cols, strides=1, padding="same"):
        x = layers.Conv2D(
            filters, (rows, cols), strides=strides, padding=padding, use_bias=False,
            name=self.names("conv2d"),
        )(x)  # fmt: skip
        x = layers.BatchNormalization(scale=False, name=self.names("batch_normalization"))(x)
        return layers.Activation("relu", name=self.names("activation"))(x)


def _max(x, names):
    return layers.MaxPooling2D(3, strides=2, name=names("max_pooling2d"))(x)


def _average(x, names):
    return layers.AveragePooling2D(3, strides=1, padding="same", name=names("average_pooling2d"))(x)


def _concat(tensors, name):
    return layers.Concatenate(name=name)(tensors)
