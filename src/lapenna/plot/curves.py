"""``learning_curves``: training against validation, one panel per metric."""

from collections.abc import Mapping

from lapenna.plot.figure import finish, new_figure


def learning_curves(history, metrics=("loss",), path=None):
    """Plot each metric's training and validation values per epoch.

    Args:
        history: the ``History`` that ``fit`` returns, or a dict like its ``history``
            (``{"loss": [...], "val_loss": [...]}``).
        metrics: the metric names (a name or a sequence of names); the validation curve
            ``val_<name>`` is drawn when present.
        path: write the figure there as a PNG.

    Returns:
        The matplotlib ``Figure``: one panel per metric, epochs from 1 on the x axis.

    Raises:
        TypeError: when ``history`` is neither a History nor a dict.
        ValueError: for a metric the history does not hold.

    Example:
        >>> history = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.8],
        ...            "accuracy": [0.6, 0.8], "val_accuracy": [0.5, 0.7]}
        >>> figure = learning_curves(history, metrics=("loss", "accuracy"))
        >>> [axes.get_ylabel() for axes in figure.axes]
        ['loss', 'accuracy']
    """
    record = getattr(history, "history", history)
    if not isinstance(record, Mapping):
        raise TypeError(
            f"learning_curves expects a History or a dict of lists, got {type(history).__name__}"
        )
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    missing = [m for m in metrics if m not in record]
    if not metrics or missing:
        raise ValueError(
            f"learning_curves cannot plot {missing or 'no metrics'}; the history holds "
            f"{sorted(record)}"
        )
    figure = new_figure(4.8 * len(metrics), 3.8)
    panels = figure.subplots(1, len(metrics), squeeze=False)[0]
    for axes, metric in zip(panels, metrics):
        _draw(axes, record, metric, _epochs(history, len(record[metric])))
    figure.suptitle("Learning curves")
    return finish(figure, path)


def _epochs(history, count):
    epochs = list(getattr(history, "epoch", []) or [])
    if len(epochs) == count:
        return [e + 1 for e in epochs]
    return list(range(1, count + 1))


def _draw(axes, record, metric, epochs):
    from matplotlib.ticker import MaxNLocator

    style = {"marker": "o", "markersize": 3} if len(epochs) <= 30 else {}
    axes.plot(epochs, [float(v) for v in record[metric]], label="training", **style)
    validation = record.get(f"val_{metric}")
    if validation is not None:
        count = min(len(epochs), len(validation))
        values = [float(v) for v in validation[:count]]
        axes.plot(epochs[:count], values, label="validation", **style)
    axes.set_title(f"{metric}: training vs validation" if validation is not None else metric)
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend()
