"""``Model``: a layer that can be trained, as a graph or as a subclass.

``Model(inputs, outputs)`` records the functional graph between symbolic tensors;
``class Net(Model)`` with ``__init__`` and ``call`` is a subclassed model. Both share the
training API of ``Trainer`` (compile, fit, evaluate, predict) and the saving API.
"""

from lapenna import backend as B
from lapenna import io
from lapenna.autograd import Tensor, no_grad
from lapenna.layers import Layer, register_layer
from lapenna.models.explain import explain
from lapenna.models.export import describe_graph
from lapenna.models.graph import Graph
from lapenna.models.summary import summarize
from lapenna.models.trainer import Trainer
from lapenna.utils import get_registry, to_snake_case, unique_name
from lapenna.utils.tree import flatten, map_structure


@register_layer(name="Functional")
class Model(Trainer, Layer):
    """A trainable stack of layers: a functional graph, or a subclass with ``call``.

    Args:
        inputs: symbolic tensor(s) from ``lapenna.layers.Input`` (functional models).
        outputs: symbolic tensor(s) computed from ``inputs`` by layer calls.
        name: the model's name.

    Example:
        >>> import lapenna as lp
        >>> inputs = lp.layers.Input((4,))
        >>> hidden = lp.layers.Dense(8, activation="relu")(inputs)
        >>> model = lp.Model(inputs, lp.layers.Dense(3)(hidden))
        >>> model.predict(lp.backend.xp.ones((2, 4)), verbose=0).shape
        (2, 3)

        A subclassed model holds its layers as attributes and chains them in ``call``:

        >>> class Net(lp.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = lp.layers.Dense(8, activation="relu")
        ...         self.out = lp.layers.Dense(3)
        ...     def call(self, inputs, training=False):
        ...         return self.out(self.hidden(inputs))
        >>> Net()(lp.tensor([[1.0, 2.0]])).shape
        (1, 3)
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        default = "model" if type(self) in (Model,) else to_snake_case(type(self).__name__)
        Layer.__init__(self, name=name or unique_name(default), trainable=trainable, **kwargs)
        Trainer.__init__(self)
        self._graph = None
        if (inputs is None) != (outputs is None):
            raise ValueError("Model(inputs, outputs) needs both inputs and outputs")
        if inputs is not None:
            self._set_graph(Graph(inputs, outputs))

    def _set_graph(self, graph):
        self._graph = graph
        self._graph_layers = list(graph.layers)
        self.inputs, self.outputs = flatten(graph.inputs), flatten(graph.outputs)
        self.built = True
        self._build_shape = map_structure(lambda t: t.shape, graph.inputs)

    # -- structure ----------------------------------------------------------------------
    @property
    def layers(self):
        """The model's layers (graph order for functional models, attribute order else)."""
        if self._graph is not None:
            return list(self._graph.layers)
        return self._sublayers()

    def get_layer(self, name=None, index=None):
        """Find a layer by name or by index in ``layers``."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"layer index {index} is out of range for {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"no layer named {name!r} in model {self.name!r}; "
            f"layers: {[layer.name for layer in layers]}"
        )

    # Keras's input/output accessors: ``inputs``/``outputs`` are lists, ``input``/``output``
    # the structure the model was made with (one tensor for a single input or output)
    @property
    def input(self):
        return self._require_graph("input").inputs

    @property
    def output(self):
        return self._require_graph("output").outputs

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self._require_graph("input_shape").inputs)

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self._require_graph("output_shape").outputs)

    def _require_graph(self, what):
        if self._graph is None:
            raise AttributeError(
                f"model {self.name!r} has no {what} yet: give it Input(shape) first, or "
                "call it on data"
            )
        return self._graph

    def summary(self, print_fn=print, batch_size=None):
        """Print the table of layers with output shapes, parameters, MACs and memory."""
        print_fn(summarize(self).format(batch_size=batch_size))

    def explain(self, inputs=None, batch_size=32, training=True, print_fn=print, **options):
        """Print a training step (or forward pass) as the GEMMs and passes it runs, layer
        by layer, and return the ``Explanation`` (see ``lapenna.models.explain``, which
        takes the same arguments: ``loss``, ``optimizer``, ``measure``...)."""
        report = explain(self, inputs, batch_size, training, **options)
        if print_fn is not None:
            print_fn(report.format())
        return report

    @property
    def output_names(self):
        if self._graph is None:
            return ["output"]
        outputs = self._graph.outputs
        if isinstance(outputs, dict):
            return list(outputs)
        return [t.node.layer.name for t in flatten(outputs)]

    # -- lifecycle ----------------------------------------------------------------------
    def call(self, inputs, training=None):
        if self._graph is None:
            raise TypeError(
                f"Model {self.name!r} has no graph: create it as Model(inputs, outputs), or "
                "subclass Model and define call(inputs, training=False)"
            )
        return self._graph.run(inputs, training=training)

    def _maybe_build(self, shapes):
        # sub-layers of a subclassed model build themselves during the first real call
        if not self.built:
            self._build_shape = shapes
            self.built = True

    def build(self, input_shape):
        """Create every weight of a subclassed model by running it once on zeros."""
        shape = tuple(input_shape) if isinstance(input_shape, list | tuple) else input_shape
        self._build_shape = shape
        with no_grad():
            self(_zeros(shape, self.dtype), training=False)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self._graph is not None:
            return map_structure(lambda t: t.shape, self._graph.outputs)
        return super().compute_output_shape(input_shape)

    def macs(self, input_shape, output_shape):
        return 0  # a nested model's MACs are the sum of its layers' (see summarize)

    # -- saving -------------------------------------------------------------------------
    def save(self, filepath, include_optimizer=True):
        """Save the model to ``filepath``; its suffix chooses the format.

        - ``.lpn``: lapenna's own file: architecture, weights, compile settings and (with
          ``include_optimizer``) the optimizer state, so training resumes exactly. Any
          model lapenna builds can be saved this way.
        - ``.keras``: Keras 3's file, which real Keras loads with
          ``keras.saving.load_model`` (and lapenna with ``load_model``): architecture and
          weights of a Sequential or functional model whose layers Keras has (Dense,
          Conv1D/2D, pooling, Flatten, Dropout, BatchNormalization, Activation, merge
          layers, Embedding, SimpleRNN/LSTM/GRU...). Compile settings and optimizer state
          are not written: compile again after loading. A subclassed model, a nested
          model, or a layer or argument Keras does not have is refused with an error
          naming each of them, before anything is written.

        Both writes are atomic: a crash leaves the previous file intact.

        Example:
            >>> import os, tempfile
            >>> import lapenna as lp
            >>> model = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(2)])
            >>> folder = tempfile.mkdtemp()
            >>> model.save(os.path.join(folder, "model.keras"))    # for Keras 3
            >>> model.save(os.path.join(folder, "model.lpn"))      # lapenna's own
            >>> lp.models.load_model(os.path.join(folder, "model.keras")).count_params()
            10
        """
        io.save_model(self, filepath, include_optimizer=include_optimizer)

    def save_weights(self, filepath):
        """Save the weights to ``.safetensors``, ``.npz``, ``.weights.h5`` or ``.h5``.

        ``.weights.h5`` is Keras 3's layout for Sequential and functional models (real
        Keras reads it with ``keras_model.load_weights``); see ``lapenna.io.save_weights``.
        """
        io.save_weights(self, filepath)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False):
        """Load weights saved by ``save_weights``/``save`` or a Keras ``.h5`` file; a
        failed load changes nothing."""
        return io.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)

    def to_json(self, **kwargs):
        """The architecture as JSON (``lp.models.model_from_json`` inverts it)."""
        return io.to_json(self, **kwargs)

    def export_graph(self):
        """The layer calls as plain data (see ``lapenna.models.export.describe_graph``);
        exporters such as ``lapenna.io.export_onnx`` read this instead of the model's
        internals. A subclassed model is traced once through its ``call``."""
        return describe_graph(self)

    # -- config -------------------------------------------------------------------------
    def get_config(self):
        if self._graph is None:
            return {"name": self.name, "trainable": self.trainable}
        return graph_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            return graph_from_config(cls, config, custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} layers={len(self.layers)}>"


def _zeros(shape, dtype):
    if isinstance(shape, dict):
        return {k: _zeros(v, dtype) for k, v in shape.items()}
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return Tensor(B.xp.zeros(tuple(1 if d is None else d for d in shape), dtype=dtype))
    return [_zeros(tuple(s) if isinstance(s, list) else s, dtype) for s in shape]


# -- functional config: layers with the nodes that feed them -----------------------------
def _tensor_ref(t):
    return [t.node.layer.name, t.node.layer._inbound_nodes.index(t.node), t.index]


def graph_config(model):
    """Keras-style config: each layer with its inbound nodes, then inputs and outputs."""
    graph = model._graph
    registry = get_registry("layers")
    entries, seen = [], set()
    for layer in graph.input_layers + graph.layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        nodes = [n for n in layer._inbound_nodes if n in graph.nodes]
        entries.append(
            {
                "class_name": registry.name_of(layer),
                "name": layer.name,
                "config": layer.get_config(),
                "inbound_nodes": [_node_entry(n) for n in nodes],
            }
        )
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": entries,
        "input_layers": map_structure(_tensor_ref, graph.inputs),
        "output_layers": map_structure(_tensor_ref, graph.outputs),
    }


def _node_entry(node):
    """A node's input references; with call arguments (``training=False``) as a dict."""
    refs = map_structure(_tensor_ref, node.inputs)
    if node.kwargs:
        return {"args": refs, "kwargs": dict(node.kwargs)}
    return refs


def _is_ref(item):
    return (
        isinstance(item, list)
        and len(item) == 3
        and isinstance(item[0], str)
        and all(isinstance(i, int) for i in item[1:])
    )


def _map_refs(fn, structure):
    if _is_ref(structure):
        return fn(structure)
    if isinstance(structure, list):
        return [_map_refs(fn, s) for s in structure]
    if isinstance(structure, dict):
        return {k: _map_refs(fn, v) for k, v in structure.items()}
    raise ValueError(f"bad tensor reference in model config: {structure!r}")


def graph_from_config(cls, config, custom_objects=None):
    """Rebuild a functional model: create each layer, then replay its calls in order."""
    registry = get_registry("layers")
    created, outputs_of = {}, {}
    pending = []
    for entry in config["layers"]:
        layer = registry.deserialize(
            {"class_name": entry["class_name"], "config": entry["config"]}, custom_objects
        )
        if entry["name"] in created:
            raise ValueError(f"model config names layer {entry['name']!r} twice")
        created[entry["name"]] = layer
        if entry["class_name"] == "InputLayer":
            outputs_of[(entry["name"], 0)] = layer.output
        else:
            pending.extend(
                (entry["name"], i, refs) for i, refs in enumerate(entry["inbound_nodes"])
            )

    def lookup(ref):
        name, node_index, tensor_index = ref
        out = outputs_of.get((name, node_index))
        if out is None:
            raise KeyError(ref)
        flat = flatten(out)
        if tensor_index >= len(flat):
            raise ValueError(f"model config refers to output {tensor_index} of {name!r}")
        return flat[tensor_index]

    # replay node calls until all are placed; a graph needs at most len(pending) sweeps
    for _ in range(len(pending) + 1):
        if not pending:
            break
        waiting = []
        for name, node_index, refs in pending:
            call_kwargs, inputs_refs = {}, refs
            if isinstance(refs, dict) and "args" in refs and set(refs) <= {"args", "kwargs"}:
                call_kwargs, inputs_refs = dict(refs.get("kwargs") or {}), refs["args"]
                if set(call_kwargs) - {"training"}:
                    raise ValueError(f"model config calls {name!r} with unknown arguments")
            try:
                args = _map_refs(lookup, inputs_refs)
            except KeyError:
                waiting.append((name, node_index, refs))
                continue
            outputs_of[(name, node_index)] = created[name](args, **call_kwargs)
        if len(waiting) == len(pending):
            raise ValueError(f"model config has nodes that can never be computed: {waiting}")
        pending = waiting
    inputs = _map_refs(lookup, config["input_layers"])
    outputs = _map_refs(lookup, config["output_layers"])
    kwargs = {"name": config.get("name")}
    model = (
        Model(inputs, outputs, **kwargs)
        if cls is Model or not issubclass(cls, Model)
        else cls(inputs, outputs, **kwargs)
    )
    model.trainable = config.get("trainable", True)
    return model
