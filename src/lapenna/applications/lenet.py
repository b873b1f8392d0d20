"""LeNet-5, the convolutional network that read handwritten digits.

LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document
Recognition", Proceedings of the IEEE 86(11), 1998.
"""

from lapenna import layers
from lapenna.applications._common import (
    check_input_shape,
    check_top,
    check_weights,
    finish,
    pool_features,
)


def LeNet5(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(28, 28, 1),
    classes=10,
    include_top=True,
    pooling=None,
    weights=None,
    classifier_activation="softmax",
    activation="tanh",
    subsampling="avg",
    name="lenet5",
):
    """Build LeNet-5 for 28x28 digits (LeCun et al., 1998): 61,706 parameters.

    ``conv1``: 6 filters 5x5 with padding 2 (so 28x28 MNIST digits give the paper's 28x28
    maps of its 32x32 inputs), ``pool1`` 2x2, ``conv2``: 16 filters 5x5, ``pool2`` 2x2,
    then ``fc1`` (120), ``fc2`` (84) and ``predictions``. The paper's subsampling layers
    had a trainable scale per map and its output used Gaussian connections; this is the
    layout courses teach, with plain pooling and a Dense output.

    Args:
        input_shape: one image's ``(height, width, channels)``, at least 12x12.
        classes, include_top, pooling, weights, classifier_activation, name: as for
            ``ResNet``; without the top the output is ``pool2``'s 5x5x16 maps.
        activation: of the convolutions and hidden Dense layers (the paper's ``"tanh"``;
            ``"relu"`` trains faster).
        subsampling: ``"avg"`` (the paper's) or ``"max"`` pooling.

    Returns:
        a functional ``Model``.

    Example:
        >>> from lapenna.applications import LeNet5
        >>> model = LeNet5()
        >>> model.count_params()
        61706
    """
    check_top("LeNet5", include_top, pooling, classes, classifier_activation)
    if subsampling not in ("avg", "max"):
        raise ValueError(f"LeNet5 expects subsampling 'avg' or 'max', got {subsampling!r}")
    check_weights("LeNet5", weights)
    shape = check_input_shape("LeNet5", input_shape, (28, 28, 1), min_size=12)
    pool = layers.AveragePooling2D if subsampling == "avg" else layers.MaxPooling2D

    inputs = layers.Input(shape, name="input")
    x = layers.Conv2D(6, 5, padding="same", activation=activation, name="conv1")(inputs)
    x = pool(2, name="pool1")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="conv2")(x)
    x = pool(2, name="pool2")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(120, activation=activation, name="fc1")(x)
        x = layers.Dense(84, activation=activation, name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = pool_features(x, pooling)
    return finish("LeNet5", inputs, x, name, weights)
