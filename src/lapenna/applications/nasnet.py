"""NASNetMobile as ``keras.applications`` defines it, and Keras's ``applications.nasnet``
module (``preprocess_input`` scales to [-1, 1], mode "tf").

Zoph, Vasudevan, Shlens and Le, "Learning Transferable Architectures for Scalable Image
Recognition", CVPR 2018. A strided 3x3 stem, two reduction cells, then three groups of
four normal cells separated by reduction cells (NASNet-A, 1056 penultimate filters). Each
cell combines its input ``h`` and the previous cell's output ``p`` (resized to match by
an "adjust" block: two offset strided 1x1 convolutions, or a 1x1 projection) through
separable convolutions (ReLU, separable convolution, batch normalization, twice), poolings
and additions. Batch normalization uses Keras's momentum 0.9997 and epsilon 1e-3.

The layers with weights carry Keras's names (``stem_conv1``,
``separable_conv_1_normal_left1_0``, ``adjust_conv_projection_5``, ``predictions``);
Keras leaves ReLUs, paddings, croppings and some concatenations unnamed, which get
descriptive names here (``separable_conv_1_relu_<block>``, ``adjust_crop_<block>``).
"""

from lapenna import layers
from lapenna.applications._common import check_top, check_weights, finish, pool_features
from lapenna.applications.efficientnet import correct_pad
from lapenna.applications.imagenet_utils import decode_predictions
from lapenna.applications.imagenet_utils import preprocess_input as _preprocess
from lapenna.applications.keras_resnet import keras_input_shape

__all__ = ["NASNetMobile", "decode_predictions", "preprocess_input"]

_PENULTIMATE, _BLOCKS, _STEM, _MULTIPLIER = 1056, 4, 32, 2


def NASNetMobile(  # noqa: N802 - Keras's spelling of model builders
    input_shape=None,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="nasnet_mobile",
):
    """Build Keras's NASNetMobile (5,326,716 parameters with the top).

    Args:
        input_shape: ``(height, width, channels)``, at least 32x32; default
            ``(224, 224, 3)``, with the top or without (as in Keras).
        include_top: end with global average pooling and a Dense ``predictions`` layer.
        weights: None (random initialization) or the path of a local weights file.
        input_tensor: not supported (refused with a hint).
        pooling: without the top, ``None``, ``"avg"`` or ``"max"``.
        classes, classifier_activation: the classifier's outputs and activation.
        name: the model's name.

    Returns:
        a functional ``Model``.

    Example:
        >>> NASNetMobile(include_top=False, input_shape=(32, 32, 3)).output_shape
        (None, 1, 1, 1056)
    """
    if input_tensor is not None:
        raise ValueError("NASNetMobile: input_tensor is not supported; give input_shape instead")
    check_top("NASNetMobile", include_top, pooling, classes, classifier_activation)
    check_weights("NASNetMobile", weights)
    # Keras's NASNetMobile defaults to 224x224 even without the top
    shape = keras_input_shape("NASNetMobile", input_shape or (224, 224, 3), include_top)
    inputs = layers.Input(shape, name="input_layer")
    filters = _PENULTIMATE // 24
    x = layers.Conv2D(
        _STEM, 3, strides=2, padding="valid", use_bias=False, kernel_initializer="he_normal",
        name="stem_conv1",
    )(inputs)  # fmt: skip
    x = _bn(x, "stem_bn1")
    x, p = _reduction_cell(x, None, filters // _MULTIPLIER**2, "stem_1")
    x, p = _reduction_cell(x, p, filters // _MULTIPLIER, "stem_2")
    for group in range(3):
        width = filters * _MULTIPLIER**group
        if group:
            x, p = _reduction_cell(x, p, width, f"reduce_{group * _BLOCKS}")
        for i in range(_BLOCKS):
            x, p = _normal_cell(x, p, width, f"{group * _BLOCKS + i + 1 if group else i}")
    x = layers.Activation("relu", name="final_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = pool_features(x, pooling)
    return finish("NASNetMobile", inputs, x, name, weights)


def preprocess_input(x, data_format=None):
    """Prepare 0..255 RGB images (channels last) for NASNet: scaled to [-1, 1]."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"preprocess_input works on channels-last images, got data_format={data_format!r}"
        )
    return _preprocess(x, mode="tf")


def _bn(x, name):
    return layers.BatchNormalization(momentum=0.9997, epsilon=1e-3, name=name)(x)


def _conv1x1(x, filters, name):
    return layers.Conv2D(
        filters, 1, padding="same", use_bias=False, kernel_initializer="he_normal", name=name
    )(x)


def _separable_block(x, filters, kernel, block_id, stride=1):
    x = layers.Activation("relu", name=f"separable_conv_1_relu_{block_id}")(x)
    padding = "same"
    if stride == 2:
        x = layers.ZeroPadding2D(
            correct_pad(x.shape, kernel), name=f"separable_conv_1_pad_{block_id}"
        )(x)
        padding = "valid"
    x = layers.SeparableConv2D(
        filters, kernel, strides=stride, padding=padding, use_bias=False,
        name=f"separable_conv_1_{block_id}",
    )(x)  # fmt: skip
    x = _bn(x, f"separable_conv_1_bn_{block_id}")
    x = layers.Activation("relu", name=f"separable_conv_2_relu_{block_id}")(x)
    x = layers.SeparableConv2D(
        filters, kernel, padding="same", use_bias=False, name=f"separable_conv_2_{block_id}"
    )(x)
    return _bn(x, f"separable_conv_2_bn_{block_id}")


def _adjust(p, ip, filters, block_id):
    """Bring the previous cell's output ``p`` to ``ip``'s size and ``filters`` channels."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D(1, strides=2, name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(p1, filters // 2, f"adjust_conv_1_{block_id}")
        p2 = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"adjust_pad_{block_id}")(p)
        p2 = layers.Cropping2D(((1, 0), (1, 0)), name=f"adjust_crop_{block_id}")(p2)
        p2 = layers.AveragePooling2D(1, strides=2, name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(p2, filters // 2, f"adjust_conv_2_{block_id}")
        p = layers.Concatenate(name=f"adjust_concat_{block_id}")([p1, p2])
        return _bn(p, f"adjust_bn_{block_id}")
    if p.shape[-1] != filters:
        p = layers.Activation("relu", name=f"adjust_relu_projection_{block_id}")(p)
        p = _conv1x1(p, filters, f"adjust_conv_projection_{block_id}")
        return _bn(p, f"adjust_bn_{block_id}")
    return p


def _squeeze(ip, filters, kind, block_id):
    h = layers.Activation("relu", name=f"{kind}_relu_1_{block_id}")(ip)
    return _bn(_conv1x1(h, filters, f"{kind}_conv_1_{block_id}"), f"{kind}_bn_1_{block_id}")


def _average(x, name, stride=1):
    padding = "same" if stride == 1 else "valid"
    return layers.AveragePooling2D(3, strides=stride, padding=padding, name=name)(x)


def _normal_cell(ip, p, filters, block_id):
    p = _adjust(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "normal", block_id)
    x1 = layers.Add(name=f"normal_add_1_{block_id}")(
        [
            _separable_block(h, filters, 5, f"normal_left1_{block_id}"),
            _separable_block(p, filters, 3, f"normal_right1_{block_id}"),
        ]
    )
    x2 = layers.Add(name=f"normal_add_2_{block_id}")(
        [
            _separable_block(p, filters, 5, f"normal_left2_{block_id}"),
            _separable_block(p, filters, 3, f"normal_right2_{block_id}"),
        ]
    )
    x3 = layers.Add(name=f"normal_add_3_{block_id}")([_average(h, f"normal_left3_{block_id}"), p])
    x4 = layers.Add(name=f"normal_add_4_{block_id}")(
        [_average(p, f"normal_left4_{block_id}"), _average(p, f"normal_right4_{block_id}")]
    )
    x5 = layers.Add(name=f"normal_add_5_{block_id}")(
        [_separable_block(h, filters, 3, f"normal_left5_{block_id}"), h]
    )
    x = layers.Concatenate(name=f"normal_concat_{block_id}")([p, x1, x2, x3, x4, x5])
    return x, ip


def _reduction_cell(ip, p, filters, block_id):
    p = _adjust(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(correct_pad(h.shape, 3), name=f"reduction_pad_1_{block_id}")(h)
    x1 = layers.Add(name=f"reduction_add_1_{block_id}")(
        [
            _separable_block(h, filters, 5, f"reduction_left1_{block_id}", stride=2),
            _separable_block(p, filters, 7, f"reduction_right1_{block_id}", stride=2),
        ]
    )
    x2 = layers.Add(name=f"reduction_add_2_{block_id}")(
        [
            layers.MaxPooling2D(3, strides=2, name=f"reduction_left2_{block_id}")(h3),
            _separable_block(p, filters, 7, f"reduction_right2_{block_id}", stride=2),
        ]
    )
    x3 = layers.Add(name=f"reduction_add3_{block_id}")(
        [
            _average(h3, f"reduction_left3_{block_id}", stride=2),
            _separable_block(p, filters, 5, f"reduction_right3_{block_id}", stride=2),
        ]
    )
    x4 = layers.Add(name=f"reduction_add_pool_{block_id}")(
        [x2, _average(x1, f"reduction_left4_{block_id}")]
    )
    x5 = layers.Add(name=f"reduction_add4_{block_id}")(
        [
            _separable_block(x1, filters, 3, f"reduction_left4_{block_id}"),
            layers.MaxPooling2D(3, strides=2, name=f"reduction_right5_{block_id}")(h3),
        ]
    )
    x = layers.Concatenate(name=f"reduction_concat_{block_id}")([x2, x3, x4, x5])
    return x, ip
