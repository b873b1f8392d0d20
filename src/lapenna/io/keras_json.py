"""``model_from_keras_json``: build a lapenna model from a Keras model's JSON config.

Both formats Keras writes are read: Keras 2 / tf.keras ``model.to_json()`` (layers as
``{"class_name", "config", "name", "inbound_nodes"}``, each inbound node a list of
``[layer, node_index, tensor_index, kwargs]``) and Keras 3 (``to_json()`` and the
``config.json`` of a ``.keras`` file: every object also carries ``"module"`` and
``"registered_name"``, inbound nodes are ``{"args": [...], "kwargs": {...}}`` holding
``{"class_name": "__keras_tensor__", "config": {"keras_history": [layer, node,
tensor]}}``). The text is translated into lapenna's own config (see
``lapenna.models.model.graph_config`` and ``Sequential.get_config``), checked by
``check_safe`` and built through the layer registry.

Nothing the JSON names is imported or called: class names are looked up only in
lapenna's registries, ``"module"`` values are labels that must name Keras, and Lambda
layers or Python functions are refused. Every layer or argument that cannot be
translated is collected, and one error lists them all.
"""

import inspect

from lapenna.io.config import MAX_CONFIG_BYTES, check_safe, strict_json_loads
from lapenna.io.errors import FormatError
from lapenna.io.keras_args import (
    MODEL_CLASSES,
    dtype_name,
    keras_module,
    lapenna_class,
    shape_list,
    translate_layer,
)
from lapenna.utils import get_registry

_INPUT_DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")


def model_from_keras_json(text):
    """Build a lapenna model (fresh weights) from a Keras Sequential or functional JSON.

    Load the trained weights afterwards with ``lapenna.io.load_keras_weights(model,
    "model.h5")``: layer names and weight layouts are Keras's.

    Args:
        text: the JSON text (str or UTF-8 bytes) of ``model.to_json()`` from Keras 2 or 3,
            or a ``.keras`` file's ``config.json``.

    Returns:
        The lapenna ``Sequential`` or functional ``Model``, built when the JSON gives the
        input shape.

    Raises:
        FormatError: for text that is not a Keras model config.
        ValueError: listing every layer class lapenna does not have (or refuses, like
            Lambda) and every argument it cannot translate.

    Example:
        >>> text = '''{"class_name": "Sequential", "config": {"name": "mlp", "layers": [
        ...     {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4]}},
        ...     {"class_name": "Dense", "config": {"name": "hidden", "units": 8,
        ...      "activation": "relu", "data_format": "channels_last"}}]}}'''
        >>> model = model_from_keras_json(text)
        >>> [(layer.name, layer.count_params()) for layer in model.layers]
        [('hidden', 40)]
    """
    spec = _parse(text)
    problems = []
    config = _model(spec, spec.get("name") or "model", problems)
    if problems:
        raise ValueError(
            "model_from_keras_json: the Keras model uses what lapenna cannot build: "
            + "; ".join(problems)
        )
    check_safe(config)
    try:
        return get_registry("layers").deserialize(config)
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(
            f"model_from_keras_json: building the lapenna model failed: {err}"
        ) from err


def _parse(text):
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_CONFIG_BYTES:
        raise FormatError(f"Keras JSON is {size} bytes, more than the bound {MAX_CONFIG_BYTES}")
    try:
        spec = strict_json_loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except (ValueError, RecursionError, UnicodeDecodeError) as err:
        raise FormatError(f"Keras JSON is not valid JSON ({err})") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict | list):
        raise FormatError("Keras JSON: expected an object with 'class_name' and 'config'")
    return spec


def _model(spec, where, problems):
    """lapenna's ``{"class_name", "config"}`` for a Keras Sequential or functional model."""
    cls = lapenna_class(spec.get("class_name"))
    if cls not in MODEL_CLASSES:
        raise FormatError(
            f"Keras JSON: {where!r} is a {spec.get('class_name')!r}, not a Sequential or "
            "functional model"
        )
    config = spec["config"]
    if cls == "Sequential":
        return _sequential(spec, config, problems)
    if not all(k in config for k in ("layers", "input_layers", "output_layers")):
        raise FormatError(f"Keras JSON: functional model {where!r} has no graph")
    return _functional(config, problems)


def _sequential(spec, config, problems):
    """Keras's input (an InputLayer, or Keras 2's ``batch_input_shape`` on the first
    layer, named ``<layer>_input`` as Keras names it) becomes lapenna's first layer."""
    entries = config if isinstance(config, list) else config.get("layers", [])
    config = config if isinstance(config, dict) else {}
    layers, first = [], None
    for entry in entries:
        name = _entry_name(entry)
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            first = _input_layer(entry, name, problems)
            continue
        inner = entry.get("config") if isinstance(entry, dict) else None
        inner = inner if isinstance(inner, dict) else {}
        given = shape_list(inner.get("batch_input_shape", inner.get("batch_shape")))
        if given is not None and not layers and first is None:
            implied = {"config": {"batch_shape": given, "dtype": inner.get("dtype")}}
            first = _input_layer(implied, f"{name or 'sequential'}_input", problems)
        layer = _layer(entry, name, problems)
        if layer is not None:
            layers.append(layer)
    out = {"name": config.get("name", "sequential"), "layers": layers}
    out["trainable"] = bool(config.get("trainable", True))
    shape = shape_list(config.get("build_input_shape"))
    shape = shape or shape_list((spec.get("build_config") or {}).get("input_shape"))
    if first is not None:
        layers.insert(0, first)
    elif shape is not None:
        out["build_input_shape"] = shape
    return {"class_name": "Sequential", "config": out}


def _functional(config, problems):
    entries = config["layers"] if isinstance(config["layers"], list) else []
    graph = _Graph(entries, problems)
    layers = []
    for entry in entries:
        name = _entry_name(entry)
        if name is None:
            problems.append(f"layer entry {str(entry)[:80]!r} has no name to connect it by")
            continue
        if name in graph.operations:
            continue  # a mask computation; the nodes that read it are checked
        if entry.get("class_name") == "InputLayer":
            layer = _input_layer(entry, name, problems)
        else:
            layer = _layer(entry, name, problems)
        if layer is None:
            continue
        nodes = entry.get("inbound_nodes") or []
        layer["name"] = name
        layer["inbound_nodes"] = [graph.node(n, name) for n in nodes]
        layers.append(layer)
    out = {"name": config.get("name", "model"), "trainable": bool(config.get("trainable", True))}
    out["layers"] = layers
    for key in ("input_layers", "output_layers"):
        refs = graph.refs(config[key], key)
        # Keras 2 writes a single input or output as a list of one; it means the tensor
        single = isinstance(refs, list) and len(refs) == 1 and isinstance(refs[0], list)
        out[key] = refs[0] if single else refs
    return {"class_name": "Functional", "config": out}


# Keras 3 writes the mask a layer receives from upstream as a call argument, computed by
# operations recorded in the graph: Embedding(mask_zero=True) on x is not_equal(x, 0),
# Masking(v) on x is any(not_equal(x, v), axis=-1). lapenna's layers carry the same
# masks on their outputs, so these arguments and operations are dropped once checked to
# be exactly the mask of such a layer upstream of the call; any other is refused.
_MASK_ARGUMENTS = ("mask", "query_mask", "value_mask", "key_mask")
# call arguments whose value here is what lapenna's layers do anyway
_DEFAULT_CALL_ARGUMENTS = {"use_causal_mask": False, "return_attention_scores": False}


# the operations that compute masks; legacy ``.h5`` configs name them without a module
_MASK_OPERATIONS = ("NotEqual", "Any", "LogicalOr", "LogicalAnd", "ConvertToTensor")


def _is_operation(entry):
    """A Keras 3 operation recorded as a graph node (``keras.src.ops.numpy.NotEqual``)."""
    if not isinstance(entry, dict):
        return False
    module = entry.get("module")
    if module is None:
        return entry.get("class_name") in _MASK_OPERATIONS
    return isinstance(module, str) and module.startswith(("keras.src.ops.", "keras.ops"))


def _history(value):
    """``[layer, node, tensor]`` of a Keras 3 tensor reference, or None."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        return history if isinstance(history, list) and len(history) == 3 else None
    return None


class _Graph:
    """One functional model's Keras layers by name, to translate its calls."""

    def __init__(self, entries, problems):
        self.entries = {_entry_name(e): e for e in entries if _entry_name(e) is not None}
        self.operations = {n for n, e in self.entries.items() if _is_operation(e)}
        self.offsets = _node_offsets(entries)
        self.problems = problems

    def node(self, node, name):
        """One call of a layer as lapenna's structure of ``[layer, node, tensor]`` refs."""
        where = f"layer {name!r}"
        if isinstance(node, dict):
            return self._keras3_node(node, name, where)
        if not isinstance(node, list) or not node:  # Keras 2: [[layer, node, tensor, kwargs]...]
            self.problems.append(f"{where}: unreadable inbound node {node!r}")
            return []
        if isinstance(node[0], str):  # a single call written without the outer list
            node = [node]
        if any(isinstance(item, list) and len(item) > 3 and item[3] for item in node):
            self.problems.append(
                f"{where}: called with keyword arguments lapenna layers do not take"
            )
            return []
        refs = [self.refs(item[:3] if isinstance(item, list) else item, where) for item in node]
        return refs[0] if len(refs) == 1 else refs

    def _keras3_node(self, node, name, where):
        """Keras 3: ``{"args": [...], "kwargs": {...}}``. Several positional tensors (a
        MultiHeadAttention's query and value, plus ``key=``) become one list of inputs."""
        args, kwargs = node.get("args") or [], node.get("kwargs") or {}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            self.problems.append(f"{where}: unreadable inbound node {str(node)[:80]!r}")
            return []
        extra = {k: v for k, v in kwargs.items() if v is not None}
        # a call fixed to one mode (``training=False``) is kept, as lapenna's graph does
        training = extra.pop("training", None)
        for key in _MASK_ARGUMENTS:
            if key in extra:
                consumer = lapenna_class(self.entries.get(name, {}).get("class_name"))
                self._check_mask(extra.pop(key), args, consumer, f"{where}, argument {key!r}")
        for key, default in _DEFAULT_CALL_ARGUMENTS.items():
            if key in extra and extra[key] is default:
                del extra[key]
        if "key" in extra and len(args) == 2:  # MultiHeadAttention(query, value, key=...)
            args = [*args, extra.pop("key")]
        if extra or not isinstance(training, bool | None) or not args:
            arguments = ", ".join(f"{k}={str(v)[:40]}" for k, v in extra.items()) or "none"
            self.problems.append(
                f"{where}: called with arguments lapenna layers do not take ({arguments})"
            )
            return []
        refs = self.refs(args[0] if len(args) == 1 else args, where)
        return refs if training is None else {"args": refs, "kwargs": {"training": training}}

    def refs(self, value, where):
        """Keras tensor references (any nesting) as lapenna ``[layer, node, tensor]`` refs.

        A functional model nested in another keeps one extra node at index 0 in Keras's
        count (its own call from inputs to outputs); lapenna has no such node.
        """
        history = _history(value)
        value = history if history is not None else value
        if (
            isinstance(value, list)
            and len(value) >= 3
            and isinstance(value[0], str)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in value[1:3])
        ):
            if value[0] in self.operations:
                entry = self.entries[value[0]]
                self.problems.append(
                    f"{where}: takes the result of the Keras operation {value[0]!r} "
                    f"({entry.get('class_name')}), which lapenna's graph does not record"
                )
            return [value[0], value[1] - self.offsets.get(value[0], 0), value[2]]
        if isinstance(value, list) and value:
            return [self.refs(v, where) for v in value]
        if isinstance(value, dict) and value:
            return {k: self.refs(v, where) for k, v in value.items()}
        self.problems.append(f"{where}: unreadable tensor reference {str(value)[:80]!r}")
        return []

    # -- masks ----------------------------------------------------------------------------
    def _check_mask(self, value, args, consumer, where):
        """A mask argument must be the mask of an Embedding or Masking layer upstream,
        carried to this call by lapenna's layers, and the layer must use it."""
        maker = self._mask_maker(self._mask_source(_history(value)))
        if maker is None:
            self.problems.append(
                f"{where}: an explicit mask; lapenna takes masks only from the layers "
                "that make them (Embedding(mask_zero=True), Masking)"
            )
        elif not self._carried(args, maker):
            self.problems.append(
                f"{where}: the mask of {maker!r}, which lapenna's layers between them "
                "do not pass on"
            )
        elif consumer is not None and not _takes_mask(consumer):
            self.problems.append(
                f"{where}: the mask of {maker!r}, which lapenna's {consumer} does not use"
            )

    def _mask_source(self, history):
        """Past the operations Keras adds that leave a mask as it is: a conversion, or the
        or / and of a mask with itself (a merge of two tensors with the same mask)."""
        while history is not None and history[0] in self.operations:
            call = self._operation(history, "ConvertToTensor")
            if call is not None and len(call) == 1:
                history = _history(call[0])
                continue
            call = self._operation(history, "LogicalOr") or self._operation(history, "LogicalAnd")
            sources = {repr(self._mask_source(_history(a))) for a in call or []}
            if call is None or len(call) != 2 or len(sources) != 1:
                return history
            history = self._mask_source(_history(call[0]))
        return history

    def _carried(self, args, maker):
        """Whether the mask made by ``maker`` reaches ``args`` through lapenna layers that
        pass masks on (Keras passes them through more layers than lapenna does)."""
        seen, stack = set(), [h[0] for h in _histories(args)]
        while stack:
            name = stack.pop()
            if name == maker:
                return True
            if name in seen or name not in self.entries:
                continue
            seen.add(name)
            cls = lapenna_class(self.entries[name].get("class_name"))
            if cls is None or not _passes_mask(cls):
                continue
            for node in self.entries[name].get("inbound_nodes") or []:
                stack.extend(
                    h[0] for h in _histories(node.get("args") if isinstance(node, dict) else node)
                )
        return False

    def _mask_maker(self, history):
        """The name of the Embedding(mask_zero) or Masking layer whose mask the operation
        output ``history`` computes, or None."""
        call = self._operation(history, "NotEqual")
        kind, value = "Embedding", 0
        if call is None:
            any_call = self._operation(history, "Any")
            config = (self.entries[history[0]].get("config") or {}) if any_call else {}
            if any_call is None or config.get("axis") != -1 or config.get("keepdims"):
                return None
            call = self._operation(_history(any_call[0]), "NotEqual")
            kind = "Masking"
        if call is None or len(call) != 2 or not _number(call[1]):
            return None
        source, value = _history(call[0]), call[1]
        for name, entry in self.entries.items():
            config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
            if entry.get("class_name") != kind or not _called_on(entry, source):
                continue
            if kind == "Embedding" and config.get("mask_zero") is True and value == 0:
                return name
            if kind == "Masking" and config.get("mask_value", 0.0) == value:
                return name
        return None

    def _operation(self, history, class_name):
        """The positional arguments of the call of operation ``class_name`` that made
        ``history``, or None."""
        if history is None or history[0] not in self.operations or history[1:] != [0, 0]:
            return None
        entry = self.entries[history[0]]
        nodes = entry.get("inbound_nodes") or []
        if entry.get("class_name") != class_name or len(nodes) != 1:
            return None
        node = nodes[0] if isinstance(nodes[0], dict) else {}
        args = node.get("args")
        return args if isinstance(args, list) and not node.get("kwargs") else None


def _histories(value):
    """Every Keras tensor reference inside ``value``."""
    history = _history(value)
    if history is not None:
        yield history
    elif isinstance(value, list):
        if len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
            yield value  # Keras 2's [layer, node, tensor, kwargs]
            return
        for item in value:
            yield from _histories(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _histories(item)


def _called_on(entry, history):
    """Whether the layer ``entry`` is called on exactly the tensor ``history``."""
    return history is not None and any(
        isinstance(node, dict) and [_history(a) for a in node.get("args") or []] == [history]
        for node in entry.get("inbound_nodes") or []
    )


def _takes_mask(cls_name):
    """Whether lapenna's layer class reads the mask of its inputs."""
    call = getattr(get_registry("layers").lookup(cls_name), "call", None)
    return call is not None and "mask" in inspect.signature(call).parameters


def _passes_mask(cls_name):
    """Whether lapenna's layer class gives its output a mask made from its input's."""
    cls = get_registry("layers").lookup(cls_name)
    own = any("compute_mask" in k.__dict__ for k in cls.__mro__ if k.__name__ != "Layer")
    return bool(getattr(cls, "supports_masking", False)) or own


def _number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _node_offsets(entries):
    """Layers whose Keras node count starts at 1: a functional model nested in another
    has one node of its own (its inputs to its outputs) that lapenna does not record.
    In Keras 2 a Sequential is a functional model too; in Keras 3 (dict nodes) it is not.
    """
    keras3 = any(
        isinstance(node, dict)
        for e in entries
        if isinstance(e, dict)
        for node in (e.get("inbound_nodes") or [])
    )
    nested = {"Functional"} if keras3 else {"Functional", "Sequential"}
    return {
        _entry_name(e): 1
        for e in entries
        if isinstance(e, dict) and lapenna_class(e.get("class_name")) in nested
    }


def _entry_name(entry):
    """The layer's name (Keras writes it beside the config and in it), or None."""
    if not isinstance(entry, dict):
        return None
    inner = entry.get("config")
    name = entry.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    return name if isinstance(name, str) else None


def _layer(entry, name, problems):
    """``{"class_name", "config"}`` for one non-input Keras layer, or None (a problem)."""
    keras_name = entry.get("class_name") if isinstance(entry, dict) else None
    where = f"layer {name or '?'!r} ({keras_name})"
    if lapenna_class(keras_name) in MODEL_CLASSES and keras_module(entry.get("module", "keras")):
        if not isinstance(entry.get("config"), dict | list):
            problems.append(f"{where}: config is not an object")
            return None
        return _model(entry, name or "model", problems)
    layer = translate_layer(entry, where, problems)
    if layer is not None and name is not None:
        layer["config"]["name"] = name
    return layer


def _input_layer(entry, name, problems):
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    shape = shape_list(config.get("batch_shape", config.get("batch_input_shape")))
    if shape is None and shape_list(config.get("shape")) is not None:
        shape = [config.get("batch_size"), *config["shape"]]
    if shape is None:
        problems.append(f"input {name!r}: no batch_shape / batch_input_shape")
        return None
    where = f"input {name!r}"
    dtype = dtype_name(config.get("dtype"), where, problems, _INPUT_DTYPES) or "float32"
    return {
        "class_name": "InputLayer",
        "config": {"batch_shape": shape, "dtype": dtype, "name": name},
    }
