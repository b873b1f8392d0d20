"""``keras.utils.plot_model``: a PNG with one box per layer, drawn with matplotlib.

Keras draws the graph with pydot and Graphviz; lapenna draws the rows of
``model.summary()`` (the model's own layers, output shapes from one forward pass of zeros)
top to bottom, in order, with an arrow from each box to the next (for a
branching functional model the arrows show the order of ``model.layers``, not every edge).
"""

from lapenna.models import summarize
from lapenna.plot.figure import finish, new_figure


def plot_model(
    model,
    to_file="model.png",
    show_shapes=False,
    show_dtype=False,
    show_layer_names=True,
    rankdir="TB",
    expand_nested=False,
    dpi=200,
    show_layer_activations=False,
    show_trainable=False,
    **kwargs,
):
    """Draw ``model``'s layers as boxes and write the PNG ``to_file`` (``None``: no file).

    Args:
        model: a built model (anything with ``layers``).
        show_shapes: add each layer's output shape.
        show_dtype: add each layer's dtype.
        show_layer_names: start each box with the layer's name.
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
        show_layer_activations: add the ``activation`` of layers that have one.
        show_trainable: add ``trainable``/``frozen``.
        dpi: resolution of the PNG.

    Returns:
        The matplotlib ``Figure`` (Keras returns an IPython image).

    Example:
        >>> plot_model(model, "model.png", show_shapes=True)  # doctest: +SKIP
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model rankdir must be 'TB' or 'LR', got {rankdir!r}")
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"plot_model expects a model with .layers, got {type(model).__name__}")
    shapes = {row.name: row.output_shape for row in summarize(model).rows}
    labels = []
    for layer in layers:
        parts = [
            f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
        ]
        if show_shapes:
            parts.append(f"output: {shapes.get(layer.name, '?')}")
        if show_dtype:
            parts.append(f"dtype: {getattr(layer, 'dtype', '?')}")
        activation = getattr(layer, "activation", None)
        if show_layer_activations and activation is not None:
            parts.append(f"activation: {getattr(activation, '__name__', activation)}")
        if show_trainable:
            parts.append("trainable" if getattr(layer, "trainable", True) else "frozen")
        labels.append("\n".join(parts))
    count = max(len(labels), 1)
    vertical = rankdir == "TB"
    figure = new_figure(4.0 if vertical else 2.6 * count, 1.0 * count if vertical else 1.6)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.set_xlim(-0.5, 0.5 if vertical else count - 0.5)
    axes.set_ylim(-count + 0.5 if vertical else -0.5, 0.5)
    box = {"boxstyle": "round", "facecolor": "#e8eef8", "edgecolor": "#345"}
    for index, label in enumerate(labels):
        x, y = (0, -index) if vertical else (index, 0)
        axes.text(x, y, label, ha="center", va="center", fontsize=8, bbox=box)
        if index:
            start = (0, -index + 0.7) if vertical else (index - 0.7, 0)
            end = (0, -index + 0.3) if vertical else (index - 0.3, 0)
            axes.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->"})
    return finish(figure, to_file, dpi=dpi)
