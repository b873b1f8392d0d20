"""What every builder of the zoo shares: argument checks, the classifier top, weight files,
and the convolution + batch normalization bricks that reproduce torchvision's padding.

torchvision pads symmetrically (``padding=1`` puts one row above and one below), while TF's
``"same"`` puts the odd extra row of a strided window at the bottom and right. A strided
convolution written as ``ZeroPadding2D(p)`` then ``"valid"`` reproduces torchvision to the
pixel; a stride-1 convolution with ``p = (k - 1) / 2`` is the same under both rules, so it
keeps ``"same"`` and saves the padding copy.
"""

import os

from lapenna import activations, initializers, layers
from lapenna.models.model import Model

# torchvision's BatchNorm2d defaults (eps 1e-5, momentum 0.1) in Keras's terms: Keras keeps
# ``momentum`` of the old statistic, torch replaces ``momentum`` of it
TORCH_BN_EPSILON = 1e-5
TORCH_BN_MOMENTUM = 0.9


def check_input_shape(builder, input_shape, default, min_size=1, channels=None):
    """Validate one sample's ``(height, width, channels)`` (None for the default).

    Args:
        builder: the builder's name, for messages.
        input_shape: a tuple of three ints, or None for unknown spatial sizes.
        default: the shape used when ``input_shape`` is None.
        min_size: the smallest height and width the network can take.
        channels: the required channel count, if any.

    Returns:
        the shape as a tuple.
    """
    shape = default if input_shape is None else input_shape
    if isinstance(shape, list):
        shape = tuple(shape)
    if (
        not isinstance(shape, tuple)
        or len(shape) != 3
        or any(d is not None and (isinstance(d, bool) or not isinstance(d, int)) for d in shape)
        or shape[2] is None
    ):
        raise ValueError(
            f"{builder} expects input_shape (height, width, channels) with a known channel "
            f"count (height and width may be None), got {input_shape!r}"
        )
    if any(d is not None and d < min_size for d in shape[:2]) or shape[2] < 1:
        raise ValueError(
            f"{builder} needs inputs of at least {min_size}x{min_size} pixels and one "
            f"channel, got input_shape {shape}"
        )
    if channels is not None and shape[2] != channels:
        raise ValueError(f"{builder} expects {channels} input channels, got input_shape {shape}")
    return shape


def check_top(builder, include_top, pooling, classes, classifier_activation):
    """Validate the Keras-style top arguments before any layer exists."""
    if not isinstance(include_top, bool):
        raise ValueError(f"{builder} expects include_top True or False, got {include_top!r}")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{builder} expects pooling None, 'avg' or 'max', got {pooling!r}")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError(f"{builder} expects classes to be a positive int, got {classes!r}")
    if classifier_activation is not None:
        try:
            activations.get(classifier_activation)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{builder} got an unknown classifier_activation {classifier_activation!r}"
            ) from err


def check_positive(builder, argument, value, kind=int):
    """An int (or float, with ``kind=float``) greater than zero."""
    good = isinstance(value, int | float) if kind is float else isinstance(value, int)
    if isinstance(value, bool) or not good or value <= 0:
        raise ValueError(
            f"{builder} expects {argument} to be a positive {kind.__name__}, got {value!r}"
        )
    return value


def pool_features(x, pooling):
    """The ``include_top=False`` ending: feature maps, or their global average or max."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def global_pool_top(x, include_top, pooling, classes, classifier_activation, dropout=0.0):
    """torchvision's top for global-pooling networks: average, optional dropout, one Dense
    called ``predictions``; without the top, ``pool_features``."""
    if not include_top:
        return pool_features(x, pooling)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def finish(builder, inputs, outputs, name, weights):
    """Wrap the graph in a ``Model`` and load ``weights`` (None or a local file)."""
    model = Model(inputs, outputs, name=name)
    load_weights(builder, model, weights)
    return model


def check_weights(builder, weights):
    """Refuse anything but None or an existing local file, before building anything."""
    if weights is None:
        return
    if not isinstance(weights, str | os.PathLike):
        raise TypeError(
            f"{builder} expects weights None or the path of a local weights file, got "
            f"{type(weights).__name__}"
        )
    if os.path.isfile(weights):
        return
    if os.path.splitext(os.fspath(weights))[1] == "":
        raise ValueError(
            f"{builder}: weights={os.fspath(weights)!r} is not a file. lapenna never downloads "
            "pretrained weights; pass the path of a local file: .safetensors, .npz or .h5 "
            "written by model.save_weights(...), a .lpn written by model.save(...), or a Keras "
            f".h5 weights file of the same architecture, e.g. "
            f"{builder}(weights='{builder.lower()}.weights.h5')"
        )
    raise FileNotFoundError(f"{builder}: no weights file at {os.fspath(weights)!r}")


def load_weights(builder, model, weights):
    check_weights(builder, weights)
    if weights is not None:
        model.load_weights(os.fspath(weights))


def conv_initializer():
    """He-normal with fan_out, as torchvision initializes the convolutions of its models."""
    return initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")


def conv(x, filters, kernel_size, name, strides=1, padding=0, use_bias=False, **kwargs):
    """A convolution with torchvision's symmetric ``padding`` (pixels on every side).

    ``ZeroPadding2D`` (named ``<name>_pad``) plus ``"valid"`` whenever the two padding rules
    could disagree; ``"same"`` for a stride-1 odd kernel with ``padding = (k - 1) / 2``.
    """
    x, mode = _pad(x, kernel_size, strides, padding, name)
    kwargs.setdefault("kernel_initializer", conv_initializer())
    layer = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=mode, use_bias=use_bias, name=name, **kwargs
    )
    return layer(x)


def depthwise_conv(x, kernel_size, name, strides=1, padding=0):
    """A bias-free depthwise convolution with torchvision's symmetric padding."""
    x, mode = _pad(x, kernel_size, strides, padding, name)
    layer = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding=mode,
        use_bias=False,
        depthwise_initializer=conv_initializer(),
        name=name,
    )
    return layer(x)


def _pad(x, kernel_size, strides, padding, name):
    if padding == 0:
        return x, "valid"
    if strides == 1 and 2 * padding == kernel_size - 1:
        return x, "same"
    return layers.ZeroPadding2D(padding, name=f"{name}_pad")(x), "valid"


def batch_norm(x, name, epsilon=TORCH_BN_EPSILON):
    """BatchNormalization with torchvision's epsilon and momentum."""
    return layers.BatchNormalization(momentum=TORCH_BN_MOMENTUM, epsilon=epsilon, name=name)(x)


def max_pool(x, pool_size, strides, name, padding=0):
    """Max pooling after a ReLU with torchvision's symmetric ``padding``: the inputs are
    non-negative, so zeros pad exactly like torch's minus infinity."""
    if padding:
        x = layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
    return layers.MaxPooling2D(pool_size, strides=strides, name=name)(x)


def dense_top(builder, x, size, units, dropout, classes, classifier_activation, before=False):
    """torchvision's top for AlexNet and VGG: average to ``size`` x ``size``, flatten, two
    ReLU Dense layers ``fc1`` and ``fc2`` of ``units`` with dropout (after each, or before
    each with ``before``), and ``predictions``."""
    x = adaptive_average(builder, x, size)
    x = layers.Flatten(name="flatten")(x)
    for index in (1, 2):
        if before and dropout:
            x = layers.Dropout(dropout, name=f"dropout{index}")(x)
        x = layers.Dense(units, activation="relu", name=f"fc{index}")(x)
        if not before and dropout:
            x = layers.Dropout(dropout, name=f"dropout{index}")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def adaptive_average(builder, x, size):
    """torch's ``AdaptiveAvgPool2d(size)`` where it is a plain layer: average pooling when
    the maps are ``size * k`` wide, nearest upsampling (each bin one pixel) when they are
    ``size / k`` wide, nothing when they already are ``size``."""
    height, width = x.shape[1:3]
    if height is None or width is None:
        raise ValueError(
            f"{builder} with include_top needs a fixed input height and width (the top "
            "flattens the feature maps); use include_top=False for any size"
        )
    pool, upsample = [], []
    for length in (height, width):
        if length % size == 0:
            pool.append(length // size)
            upsample.append(1)
        elif size % length == 0:
            pool.append(1)
            upsample.append(size // length)
        else:
            raise ValueError(
                f"{builder}: the last feature maps are {height}x{width}, which the top cannot "
                f"average to {size}x{size} exactly; choose an input size whose feature maps "
                f"divide or are divided by {size}, or use include_top=False"
            )
    if pool != [1, 1]:
        x = layers.AveragePooling2D(tuple(pool), name="adaptive_pool")(x)
    if upsample != [1, 1]:
        x = layers.UpSampling2D(tuple(upsample), name="adaptive_upsample")(x)
    return x
