"""The functional graph: nodes recorded by symbolic calls, replayed on real Tensors."""

from lapenna.layers import InputLayer
from lapenna.layers.symbolic import SymbolicTensor
from lapenna.utils.tree import flatten, map_structure


class Graph:
    """The nodes between ``inputs`` and ``outputs``, in an order that can be replayed.

    Args:
        inputs: a SymbolicTensor from ``Input``, or a list/dict of them.
        outputs: SymbolicTensor(s) computed from the inputs by layer calls.
    """

    def __init__(self, inputs, outputs):
        self.inputs = inputs
        self.outputs = outputs
        for t in flatten(inputs) + flatten(outputs):
            if not isinstance(t, SymbolicTensor):
                raise TypeError(
                    "Model(inputs, outputs) expects symbolic tensors from lapenna.layers.Input "
                    f"and layer calls, got {type(t).__name__}"
                )
        for t in flatten(inputs):
            if t.node is None or not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come straight from Input(...), got {t!r} (made by "
                    f"layer {t.node.layer.name!r})"
                    if t.node
                    else f"bad model input {t!r}"
                )
        self.nodes = self._order()
        self.layers = []
        seen = set()
        for node in self.nodes:
            if id(node.layer) not in seen and not isinstance(node.layer, InputLayer):
                seen.add(id(node.layer))
                self.layers.append(node.layer)
        self.input_layers = [t.node.layer for t in flatten(inputs)]

    def _order(self):
        """Nodes in topological order, found by an iterative walk back from the outputs."""
        input_ids = {id(t) for t in flatten(self.inputs)}
        order, state = [], {}
        stack = [(t.node, False) for t in reversed(flatten(self.outputs))]
        while stack:
            node, done = stack.pop()
            if done:
                state[id(node)] = 2
                order.append(node)
                continue
            if state.get(id(node)):
                continue
            state[id(node)] = 1
            stack.append((node, True))
            for t in node.parent_tensors:
                if id(t) in input_ids:
                    continue
                if t.node is None or isinstance(t.node.layer, InputLayer):
                    raise ValueError(
                        f"Graph disconnected: the output depends on input {t.name!r}, which "
                        "is not among the model's inputs"
                    )
                if not state.get(id(t.node)):
                    stack.append((t.node, False))
        return [n for n in order if not isinstance(n.layer, InputLayer)]

    def run(self, inputs, training=None):
        """Replay the graph on Tensors shaped like ``self.inputs``."""
        values = {}
        flat_inputs = flatten(self.inputs)
        given = _match_inputs(self.inputs, inputs)
        for symbolic, value in zip(flat_inputs, given):
            values[id(symbolic)] = value
        for node in self.nodes:
            args = map_structure(lambda t: values[id(t)], node.inputs)
            kwargs = dict(node.kwargs)
            # a call recorded with training=False/True keeps that mode (Keras semantics)
            mode = kwargs.pop("training", training)
            out = node.layer(args, *node.args, training=mode, **kwargs)
            for symbolic, value in zip(flatten(node.outputs), flatten(out)):
                values[id(symbolic)] = value
        return map_structure(lambda t: values[id(t)], self.outputs)

    def node_index(self, node):
        return node.layer._inbound_nodes.index(node)


def _match_inputs(structure, given):
    """Line up user inputs with the graph's inputs (single, list or dict by input name)."""
    flat = flatten(structure)
    if isinstance(given, dict):
        names = [t.name for t in flat]
        missing = [n for n in names if n not in given]
        if missing:
            raise ValueError(f"model inputs {missing} are missing; got keys {sorted(given)}")
        return [given[n] for n in names]
    if len(flat) == 1:
        if isinstance(given, list | tuple) and len(given) == 1:
            return [given[0]]
        return [given]
    if not isinstance(given, list | tuple) or len(given) != len(flat):
        count = len(given) if isinstance(given, list | tuple) else 1
        raise ValueError(f"the model expects {len(flat)} inputs, got {count}")
    return list(given)
