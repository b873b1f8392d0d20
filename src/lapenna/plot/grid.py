"""``images``: a grid of images with their labels, wrong predictions marked."""

import math

from lapenna.backend import xp
from lapenna.plot.figure import class_indices, class_name, finish, new_figure, to_array

_RIGHT, _WRONG = "tab:green", "tab:red"


def images(x, labels=None, predictions=None, class_names=None, path=None, ncols=8):
    """Show images in a grid, titled with their labels and predictions.

    With both ``labels`` and ``predictions``, each title is the prediction: green when
    right; red, followed by the true class and with a red frame, when wrong.

    Args:
        x: images ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)`` (channels last);
            floats in [0, 1] or 0-255 integers (other float ranges are rescaled per image).
        labels: true classes: indices ``(N,)`` or one-hot ``(N, classes)``.
        predictions: predicted classes: indices or scores ``(N, classes)`` (argmax taken).
        class_names: names shown instead of class indices.
        path: write the figure there as a PNG.
        ncols: images per row.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: for an image shape not listed above, or labels/predictions of
            another length than ``x``.

    Example:
        >>> import numpy as np
        >>> figure = images(np.zeros((4, 8, 8)), labels=[0, 1, 1, 0],
        ...                 predictions=[0, 1, 0, 0], class_names=["cat", "dog"])
        >>> [axes.get_title() for axes in figure.axes]
        ['cat', 'dog', 'cat (true dog)', 'cat']
    """
    x = _image_batch(x)
    count = len(x)
    labels = _per_image("labels", labels, count)
    predictions = _per_image("predictions", predictions, count)
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"images expects ncols >= 1, got {ncols!r}")
    ncols = min(ncols, count)
    nrows = math.ceil(count / ncols)
    figure = new_figure(1.6 * ncols, 1.8 * nrows + 0.4)
    panels = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for index, axes in enumerate(panels):
        if index < count:
            _show(axes, x[index])
            _title(axes, index, labels, predictions, class_names)
        else:
            axes.remove()
    if labels is not None and predictions is not None:
        wrong = int(xp.sum(labels != predictions))
        figure.suptitle(f"{count - wrong} of {count} right, {wrong} wrong (in red)")
    return finish(figure, path)


def _image_batch(x):
    x = to_array("images", "x", x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] in (3, 4))) or len(x) == 0:
        raise ValueError(
            "images expects a non-empty batch of shape (N, H, W), (N, H, W, 1) or "
            f"(N, H, W, 3), got shape {x.shape}"
        )
    return x


def _per_image(name, value, count):
    if value is None:
        return None
    value = class_indices("images", name, value)
    if len(value) != count:
        raise ValueError(f"images got {count} images but {len(value)} {name}")
    return value


def _show(axes, image):
    if image.dtype.kind == "f":
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 1.0:
            image = (image - low) / (high - low) if high > low else xp.zeros_like(image)
        limits = (0.0, 1.0)
    else:
        limits = (0, 255)
    gray = image.ndim == 2
    axes.imshow(image, cmap="gray" if gray else None, vmin=limits[0], vmax=limits[1])
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_visible(False)


def _title(axes, index, labels, predictions, class_names):
    if predictions is None:
        if labels is not None:
            axes.set_title(class_name(class_names, int(labels[index])), fontsize=9)
        return
    predicted = class_name(class_names, int(predictions[index]))
    if labels is None:
        axes.set_title(predicted, fontsize=9)
        return
    if labels[index] == predictions[index]:
        axes.set_title(predicted, fontsize=9, color=_RIGHT)
        return
    truth = class_name(class_names, int(labels[index]))
    axes.set_title(f"{predicted} (true {truth})", fontsize=9, color=_WRONG)
    for spine in axes.spines.values():
        spine.set_visible(True)
        spine.set_color(_WRONG)
        spine.set_linewidth(3)
