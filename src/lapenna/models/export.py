"""A model's layer graph as plain data, for exporters that must not import ``models``.

``describe_graph(model)`` lists every layer call of a functional, sequential or subclassed
model with numbered tensors. A subclassed model has no recorded graph, so its ``call`` is
replayed once on symbolic inputs: that records a graph exactly when ``call`` only chains
layers (operators or ops applied to the symbolic tensors cannot be recorded and are
refused with a clear error).
"""

import inspect

from lapenna.layers import Input
from lapenna.layers.symbolic import SymbolicTensor
from lapenna.models.graph import Graph
from lapenna.utils.tree import flatten


def describe_graph(model):
    """The model's layer calls as plain data, in an order that can be replayed.

    Args:
        model: a built ``Model`` or ``Sequential``.

    Returns:
        A dict with ``"name"``; ``"inputs"`` and ``"outputs"``, lists of ``{"id", "name",
        "shape", "dtype"}`` (shapes with the batch axis ``None``); and ``"nodes"``, a list of
        ``{"layer", "inputs", "outputs", "input_shapes", "output_shapes", "args",
        "kwargs"}`` where ``inputs``/``outputs`` are flat lists of tensor ids and ``args``/
        ``kwargs`` are the extra call arguments (usually empty).

    Raises:
        ValueError: for a model that is not built, or a subclassed model whose ``call``
            does more than chain layers.

    Example:
        >>> import lapenna as lp
        >>> model = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(2)])
        >>> info = describe_graph(model)
        >>> [(n["layer"].name, n["inputs"], n["outputs"]) for n in info["nodes"]]
        [('dense', [0], [1])]
    """
    graph = model._graph if getattr(model, "_graph", None) is not None else _trace(model)
    ids = {}

    def tensor_id(t):
        return ids.setdefault(id(t), len(ids))

    def entry(t, name):
        return {"id": tensor_id(t), "name": name, "shape": t.shape, "dtype": t.dtype}

    inputs = [entry(t, t.name) for t in flatten(graph.inputs)]
    nodes = []
    for node in graph.nodes:
        ins, outs = flatten(node.inputs), flatten(node.outputs)
        nodes.append(
            {
                "layer": node.layer,
                "inputs": [tensor_id(t) for t in ins],
                "outputs": [tensor_id(t) for t in outs],
                "input_shapes": [t.shape for t in ins],
                "output_shapes": [t.shape for t in outs],
                "args": tuple(node.args),
                "kwargs": dict(node.kwargs),
            }
        )
    outputs = [entry(t, t.node.layer.name) for t in flatten(graph.outputs)]
    return {"name": model.name, "inputs": inputs, "outputs": outputs, "nodes": nodes}


def _trace(model):
    """Record a subclassed model's graph by calling ``call`` on symbolic inputs."""
    shape = getattr(model, "_build_shape", None)
    if not model.built or shape is None:
        raise ValueError(
            f"model {model.name!r} is not built: call it on data or use model.build("
            "input_shape) before exporting it"
        )
    inputs = _symbolic_inputs(shape, model.dtype, "input")
    layers = model._walk()
    counts = [len(layer._inbound_nodes) for layer in layers]
    kwargs = {"training": False} if _takes_training(model) else {}
    try:
        outputs = model.call(inputs, **kwargs)
        if not all(isinstance(t, SymbolicTensor) for t in flatten(outputs)):
            raise TypeError(f"call returned {type(outputs).__name__}")
        graph = Graph(inputs, outputs)
    except (TypeError, AttributeError, ValueError) as err:
        raise ValueError(
            f"model {model.name!r} cannot be described as a graph of layers: its call() "
            f"does more than chain layer calls ({err}); write it as a functional model"
        ) from err
    finally:
        # the replay recorded nodes on every layer it called: forget them again
        for layer, count in zip(layers, counts):
            del layer._inbound_nodes[count:]
    known = {id(layer) for layer in layers}
    fresh = [layer.name for layer in graph.layers if id(layer) not in known and layer.weights]
    if fresh:
        # their weights were just initialised: they are not the model's trained ones
        raise ValueError(
            f"model {model.name!r} creates layers with weights inside call() ({fresh}); "
            "create them in __init__ so that they keep their trained weights"
        )
    return graph


def _symbolic_inputs(shape, dtype, name):
    if isinstance(shape, dict):
        return {k: _symbolic_inputs(v, dtype, k) for k, v in shape.items()}
    if isinstance(shape, tuple | list) and all(d is None or isinstance(d, int) for d in shape):
        return Input(batch_shape=(None, *tuple(shape)[1:]), dtype=dtype, name=name)
    return [_symbolic_inputs(s, dtype, f"{name}_{i}") for i, s in enumerate(shape)]


def _takes_training(model):
    params = inspect.signature(model.call).parameters
    return "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
