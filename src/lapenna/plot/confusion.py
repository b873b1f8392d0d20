"""``confusion_matrix``: counts of true against predicted classes, as an annotated heat map."""

from lapenna.backend import xp
from lapenna.plot.figure import class_indices, class_name, finish, new_figure

_NORMALIZE = {False: None, None: None, True: "true", "true": "true", "pred": "pred", "all": "all"}
_TITLES = {
    None: "",
    "true": " (each row sums to 1)",
    "pred": " (each column sums to 1)",
    "all": " (all cells sum to 1)",
}
_ANNOTATE_UP_TO = 30  # classes; beyond that the numbers no longer fit in the cells


def confusion_matrix(y_true, y_pred, class_names=None, normalize=False, path=None):
    """Draw the confusion matrix: row = true class, column = predicted class.

    Args:
        y_true: true classes: indices ``(N,)`` or one-hot ``(N, classes)``.
        y_pred: predicted classes: indices or scores ``(N, classes)`` (argmax taken).
        class_names: names for the axes (their number fixes the number of classes).
        normalize: ``False`` shows counts; ``True`` or ``"true"`` divides each row by
            its total (recall per class on the diagonal), ``"pred"`` each column,
            ``"all"`` the whole matrix.
        path: write the figure there as a PNG.

    Returns:
        The matplotlib ``Figure``; every cell is annotated (up to 30 classes).

    Raises:
        ValueError: for inputs of different lengths, an unknown ``normalize``, or a
            class index beyond ``class_names``.

    Example:
        >>> figure = confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
        >>> figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel()
        ('predicted', 'true')
    """
    if normalize not in _NORMALIZE:
        raise ValueError(
            f"confusion_matrix expects normalize False, True, 'true', 'pred' or 'all', "
            f"got {normalize!r}"
        )
    counts = confusion_counts(y_true, y_pred, None if class_names is None else len(class_names))
    matrix = _normalized(counts, _NORMALIZE[normalize])
    size = max(4.0, 0.55 * len(counts) + 2.5)
    figure = new_figure(size + 1.0, size)
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axes, shrink=0.8)
    _label_axes(axes, len(counts), class_names)
    if len(counts) <= _ANNOTATE_UP_TO:
        _annotate(axes, matrix, counts, _NORMALIZE[normalize] is not None)
    axes.set_title("Confusion matrix" + _TITLES[_NORMALIZE[normalize]])
    return finish(figure, path)


def confusion_counts(y_true, y_pred, num_classes=None):
    """The ``(classes, classes)`` integer matrix of counts, row = true, column = predicted."""
    truth = class_indices("confusion_matrix", "y_true", y_true)
    guess = class_indices("confusion_matrix", "y_pred", y_pred)
    if len(truth) != len(guess):
        raise ValueError(
            f"confusion_matrix got {len(truth)} true labels but {len(guess)} predictions"
        )
    seen = int(max(truth.max(initial=0), guess.max(initial=0))) + 1
    if num_classes is not None and seen > num_classes:
        raise ValueError(
            f"confusion_matrix got class {seen - 1} but only {num_classes} class names"
        )
    k = num_classes or seen
    return xp.bincount(truth * k + guess, minlength=k * k).reshape(k, k)


def _normalized(counts, over):
    if over is None:
        return counts
    counts = counts.astype(xp.float32)
    if over == "true":
        totals = counts.sum(axis=1, keepdims=True)
    elif over == "pred":
        totals = counts.sum(axis=0, keepdims=True)
    else:
        totals = counts.sum()
    # a class that never occurs gets a row (or column) of zeros, not NaN
    return xp.divide(counts, totals, out=xp.zeros_like(counts), where=totals > 0)


def _label_axes(axes, k, class_names):
    names = [class_name(class_names, i) for i in range(k)]
    slanted = max(len(name) for name in names) > 3
    axes.set_xticks(
        range(k), names, rotation=45 if slanted else 0, ha="right" if slanted else "center"
    )
    axes.set_yticks(range(k), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")


def _annotate(axes, matrix, counts, normalized):
    threshold = float(matrix.max()) / 2.0
    for row in range(len(counts)):
        for col in range(len(counts)):
            value = matrix[row, col]
            text = f"{float(value):.2f}" if normalized else str(int(counts[row, col]))
            color = "white" if float(value) > threshold else "black"
            axes.text(col, row, text, ha="center", va="center", color=color, fontsize=9)
