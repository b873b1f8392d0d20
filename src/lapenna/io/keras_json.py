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

from lapenna.io.config import MAX_CONFIG_BYTES, check_safe, strict_json_loads
from lapenna.io.errors import FormatError
from lapenna.io.keras_args import (
    MODEL_CLASSES,
    dtype_name,
    keras_module,
    lapenna_class,
    shape_list,
    translate_arguments,
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
    offsets = _node_offsets(entries)
    layers = []
    for entry in entries:
        name = _entry_name(entry)
        if name is None:
            problems.append(f"layer entry {str(entry)[:80]!r} has no name to connect it by")
            continue
        if entry.get("class_name") == "InputLayer":
            layer = _input_layer(entry, name, problems)
        else:
            layer = _layer(entry, name, problems)
        if layer is None:
            continue
        nodes = entry.get("inbound_nodes") or []
        layer["name"] = name
        layer["inbound_nodes"] = [_node(n, offsets, name, problems) for n in nodes]
        layers.append(layer)
    out = {"name": config.get("name", "model"), "trainable": bool(config.get("trainable", True))}
    out["layers"] = layers
    for key in ("input_layers", "output_layers"):
        refs = _refs(config[key], offsets, key, problems)
        # Keras 2 writes a single input or output as a list of one; it means the tensor
        single = isinstance(refs, list) and len(refs) == 1 and isinstance(refs[0], list)
        out[key] = refs[0] if single else refs
    return {"class_name": "Functional", "config": out}


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
    if not isinstance(entry, dict):
        problems.append(f"layer entry {entry!r} is not an object")
        return None
    keras_name, module = entry.get("class_name"), entry.get("module")
    where = f"layer {name or '?'!r} ({keras_name})"
    cls = lapenna_class(keras_name)
    registered = entry.get("registered_name")
    if module is not None and not keras_module(module):
        problems.append(f"{where}: a class from module {module!r}")
        return None
    if cls is None or registered not in (None, keras_name, cls):
        problems.append(f"{where}: unknown layer class")
        return None
    config = entry.get("config")
    if not isinstance(config, dict | list):
        problems.append(f"{where}: config is not an object")
        return None
    if cls in MODEL_CLASSES:
        return _model(entry, name or "model", problems)
    arguments = translate_arguments(cls, config, where, problems)
    if name is not None:
        arguments["name"] = name
    return {"class_name": cls, "config": arguments}


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


def _node(node, offsets, name, problems):
    """One call of a layer as lapenna's structure of ``[layer, node, tensor]`` refs."""
    where = f"layer {name!r}"
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args, kwargs = node.get("args") or [], node.get("kwargs") or {}
        extra = (
            {k: v for k, v in kwargs.items() if v is not None}
            if isinstance(kwargs, dict)
            else kwargs
        )
        # a call fixed to one mode (``training=False``) is kept, as lapenna's graph does
        training = extra.pop("training", None) if isinstance(extra, dict) else None
        if len(args) != 1 or extra or not isinstance(training, bool | None):
            problems.append(f"{where}: called with arguments lapenna layers do not take")
            return []
        refs = _refs(args[0], offsets, where, problems)
        return refs if training is None else {"args": refs, "kwargs": {"training": training}}
    if not isinstance(node, list) or not node:  # Keras 2: [[layer, node, tensor, kwargs]...]
        problems.append(f"{where}: unreadable inbound node {node!r}")
        return []
    if isinstance(node[0], str):  # a single call written without the outer list
        node = [node]
    if any(isinstance(item, list) and len(item) > 3 and item[3] for item in node):
        problems.append(f"{where}: called with keyword arguments lapenna layers do not take")
        return []
    refs = [
        _refs(item[:3] if isinstance(item, list) else item, offsets, where, problems)
        for item in node
    ]
    return refs[0] if len(refs) == 1 else refs


def _refs(value, offsets, where, problems):
    """Keras tensor references (any nesting) as lapenna ``[layer, node, tensor]`` refs.

    A functional model nested in another keeps one extra node at index 0 in Keras's
    count (its own call from inputs to outputs); lapenna has no such node.
    """
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        value = (value.get("config") or {}).get("keras_history")
    if (
        isinstance(value, list)
        and len(value) >= 3
        and isinstance(value[0], str)
        and all(isinstance(i, int) and not isinstance(i, bool) for i in value[1:3])
    ):
        return [value[0], value[1] - offsets.get(value[0], 0), value[2]]
    if isinstance(value, list) and value:
        return [_refs(v, offsets, where, problems) for v in value]
    if isinstance(value, dict) and value:
        return {k: _refs(v, offsets, where, problems) for k, v in value.items()}
    problems.append(f"{where}: unreadable tensor reference {value!r}")
    return []
