"""What every plot shares: an Agg figure, the PNG output, and turning inputs into arrays."""

import os

from lapenna.backend import xp


def new_figure(width, height):
    """A matplotlib ``Figure`` on an Agg canvas, outside pyplot (nothing is shown or kept).

    Raises:
        ImportError: when matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("lapenna.plot needs matplotlib: pip install 'lapenna[plot]'") from err
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def finish(figure, path, dpi=100):
    """Write ``figure`` as a PNG at ``path`` (folders created) when a path is given."""
    if path is not None:
        path = os.fspath(path)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        figure.savefig(path, format="png", dpi=dpi)
    return figure


def to_array(who, name, value):
    """An array from a Tensor (anything with ``.numpy()``), an array or a nested list."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        return xp.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{who} expects {name} as an array, got {type(value).__name__}") from err


def class_indices(who, name, value):
    """Class indices from labels: integers, one-hot rows or probability rows.

    A ``(N, C)`` array with ``C > 1`` becomes its row-wise argmax; ``(N,)`` or ``(N, 1)``
    integers are taken as they are, and ``(N,)`` or ``(N, 1)`` probabilities of a binary
    classifier are thresholded at 0.5.

    Raises:
        ValueError: for another shape, or negative classes.
    """
    y = to_array(who, name, value)
    if y.ndim == 2 and y.shape[1] > 1:
        return xp.argmax(y, axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.dtype.kind not in "biuf":
        raise ValueError(
            f"{who} expects {name} as class indices (N,) or scores (N, classes), "
            f"got shape {y.shape} and dtype {y.dtype}"
        )
    if y.dtype.kind == "f" and not bool(xp.all(y == xp.round(y))):
        y = y > 0.5
    y = y.astype(xp.int64)
    if y.size and int(y.min()) < 0:
        raise ValueError(f"{who} expects {name} >= 0, got {int(y.min())}")
    return y


def class_name(class_names, index):
    """The display name of class ``index``."""
    if class_names is not None and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)
