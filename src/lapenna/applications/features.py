"""Intermediate activations of a functional model, as a model of their own."""

from lapenna.layers import InputLayer
from lapenna.models.model import Model
from lapenna.utils.tree import flatten


def feature_extractor(model, layer_names, name=None):
    """A model with ``model``'s inputs whose outputs are the named layers' activations.

    The new model shares the layers, and so the weights, of ``model``: freezing or training
    one freezes or trains the other. Use it for feature extraction, perceptual losses, or
    the encoder of a U-Net built on a classifier.

    Args:
        model: a functional ``Model`` (every zoo builder makes one).
        layer_names: one layer name (the model then has one output) or a list of names
            (a list of outputs, in that order).
        name: the new model's name (default ``<model name>_features``).

    Returns:
        a functional ``Model``.

    Raises:
        ValueError: for a model without a graph, an unknown name, or a layer the graph
            calls more than once (its output would be ambiguous).

    Example:
        >>> from lapenna.applications import ResNet18, feature_extractor
        >>> base = ResNet18(include_top=False, input_shape=(64, 64, 3), base_filters=8)
        >>> stages = feature_extractor(base, ["layer1_block2_out", "layer3_block2_out"])
        >>> [t.shape for t in stages.outputs]
        [(None, 16, 16, 8), (None, 4, 4, 32)]
    """
    if getattr(model, "outputs", None) is None or getattr(model, "inputs", None) is None:
        raise ValueError(
            f"feature_extractor needs a functional model (Model(inputs, outputs)), got "
            f"{type(model).__name__} {getattr(model, 'name', '')!r}"
        )
    single = isinstance(layer_names, str)
    names = [layer_names] if single else list(layer_names)
    if not names or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"feature_extractor expects a layer name or a non-empty list of names, got "
            f"{layer_names!r}"
        )
    produced = _outputs_by_layer(model)
    outputs = []
    for layer_name in names:
        found = produced.get(layer_name)
        if found is None:
            raise ValueError(
                f"feature_extractor: model {model.name!r} has no layer named {layer_name!r}; "
                f"its layers include {list(produced)[:8]}..."
            )
        if len(found) > 1:
            raise ValueError(
                f"feature_extractor: layer {layer_name!r} is called {len(found)} times in "
                f"model {model.name!r}, so its output is ambiguous"
            )
        outputs.append(found[0])
    return Model(
        model.input, outputs[0] if single else outputs, name=name or f"{model.name}_features"
    )


def _outputs_by_layer(model):
    """Layer name -> the symbolic outputs of each of its calls inside ``model``'s graph,
    found by walking back from the model's outputs."""
    produced, seen = {}, set()
    stack = list(flatten(model.outputs))
    while stack:
        tensor = stack.pop()
        node = tensor.node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        output = node.outputs if len(flatten(node.outputs)) > 1 else flatten(node.outputs)[0]
        produced.setdefault(node.layer.name, []).append(output)
        if not isinstance(node.layer, InputLayer):
            stack.extend(node.parent_tensors)
    return produced
