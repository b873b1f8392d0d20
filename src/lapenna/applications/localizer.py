"""Classification plus localisation: the course's first detector, for one object per image.

A small convolutional trunk feeds two heads: ``class`` (softmax over the classes) and
``box`` (four sigmoids: the object's ``x1, y1, x2, y2`` as fractions of the image width
and height; read them through ``vision.order_corners``, as ``vision.GIoULoss`` does, since
nothing keeps a head's ``x1`` below its ``x2``). It trains with one loss per head, e.g.
``compile(loss={"class": "sparse_categorical_crossentropy", "box": vision.GIoULoss()},
loss_weights={"class": 1.0, "box": 1.0})``: the multi-task loss of the lecture.
"""

from lapenna import layers
from lapenna.applications._common import check_input_shape, check_positive, finish


def ClassifierLocalizer(  # noqa: N802 - Keras's spelling of model builders
    input_shape=(64, 64, 3), classes=3, widths=(16, 32, 64), units=128, name="localizer"
):
    """Build a classifier with a box head.

    Args:
        input_shape: one image's ``(height, width, channels)``, values in ``[0, 1]``.
        classes: object classes.
        widths: filters of the conv blocks (3x3 conv, ReLU, 2x2 max pool each).
        units: the shared Dense layer before the heads.
        name: the model's name.

    Returns:
        a functional ``Model`` with outputs ``[class (batch, classes), box (batch, 4)]``.

    Example:
        >>> model = ClassifierLocalizer((32, 32, 3), classes=3)
        >>> model.output_shape
        [(None, 3), (None, 4)]
    """
    shape = check_input_shape("ClassifierLocalizer", input_shape, (64, 64, 3), min_size=8)
    check_positive("ClassifierLocalizer", "classes", classes)
    inputs = layers.Input(shape, name="input")
    x = inputs
    for i, filters in enumerate(widths):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(units, activation="relu", name="shared")(x)
    labels = layers.Dense(classes, activation="softmax", name="class")(x)
    box = layers.Dense(4, activation="sigmoid", name="box")(x)
    return finish("ClassifierLocalizer", inputs, [labels, box], name, None)
