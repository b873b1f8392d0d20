"""Write Keras 3 files: the ``.keras`` archive and the ``.weights.h5`` layout.

The reader of these files is ``keras_json`` (architecture) and ``keras_h5`` (weights);
this module is its inverse, so a model built in lapenna loads in Keras 3 with
``keras.saving.load_model`` and predicts the same.

A ``.keras`` file is a zip of three entries, as Keras 3 writes it:

- ``metadata.json``: ``{"keras_version", "date_saved"}`` (Keras reads neither back);
- ``config.json``: the model serialised the Keras 3 way. Every object is
  ``{"module", "class_name", "config", "registered_name"}``; a layer adds
  ``"build_config": {"input_shape": ...}``, and in a functional model its ``"name"`` and
  ``"inbound_nodes"``, each a call ``{"args": [...], "kwargs": {}}`` whose tensors are
  ``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history":
  [layer, node, tensor]}}``. Dtypes are ``DTypePolicy`` objects; initializers,
  regularizers and constraints are objects of ``keras.initializers`` and so on;
  activations are names.
- ``model.weights.h5``: one group per layer, ``layers/<key>/vars`` holding datasets
  ``0``, ``1``... in the layer's weight order (Keras's layouts, which lapenna shares), the
  group's ``name`` attribute the layer's name. The key is the class name in snake case
  with a counter, numbered in Keras's ``model.layers`` order (for a functional model,
  Keras orders layers by their depth from the outputs, then by first visit: see
  :func:`lapenna.io.keras_h5.keras_layer_order`). A recurrent layer keeps its weights in
  its cell: ``layers/lstm/cell/vars``. ``save_weights("x.weights.h5")`` writes the same
  tree as a file of its own.

Only what Keras has is written: a layer class Keras lacks, an argument Keras does not
take, a subclassed or nested model is refused with one error that lists every problem,
before any file is touched. Writes are atomic.
"""

import datetime
import io
import json
import zipfile

from lapenna.backend import host_np as np
from lapenna.io.atomic import atomic_write
from lapenna.io.config import MAX_CONFIG_BYTES
from lapenna.io.keras_h5 import keras3_layer_keys, keras_layer_order
from lapenna.utils import get_registry
from lapenna.utils.version import __version__

KERAS_VERSION = "3.15.1"  # the Keras release whose file format this follows
CONFIG_ENTRY = "config.json"
METADATA_ENTRY = "metadata.json"
WEIGHTS_ENTRY = "model.weights.h5"

_CONV = (
    "filters kernel_size strides padding data_format dilation_rate groups activation "
    "use_bias kernel_initializer bias_initializer kernel_regularizer bias_regularizer "
    "activity_regularizer kernel_constraint bias_constraint"
)
_POOL = "pool_size strides padding data_format"
_GLOBAL_POOL = "data_format keepdims"
_RNN = (
    "units activation use_bias kernel_initializer recurrent_initializer bias_initializer "
    "kernel_regularizer recurrent_regularizer bias_regularizer activity_regularizer "
    "kernel_constraint recurrent_constraint bias_constraint dropout recurrent_dropout seed "
    "return_sequences return_state go_backwards stateful unroll zero_output_for_mask"
)
# Keras 3 layer classes lapenna writes, with the constructor arguments Keras takes
# (besides name, trainable and dtype): the keys of Keras's own get_config()
KERAS_LAYERS = {
    "Dense": "units activation use_bias kernel_initializer bias_initializer "
    "kernel_regularizer bias_regularizer activity_regularizer kernel_constraint "
    "bias_constraint",
    "Conv1D": _CONV,
    "Conv2D": _CONV,
    "Conv2DTranspose": _CONV.replace(" groups", "").replace("strides", "strides output_padding"),
    "DepthwiseConv2D": "kernel_size strides padding depth_multiplier data_format "
    "dilation_rate activation use_bias depthwise_initializer bias_initializer "
    "depthwise_regularizer bias_regularizer activity_regularizer depthwise_constraint "
    "bias_constraint",
    "MaxPooling1D": _POOL,
    "MaxPooling2D": _POOL,
    "AveragePooling1D": _POOL,
    "AveragePooling2D": _POOL,
    "GlobalAveragePooling1D": _GLOBAL_POOL,
    "GlobalAveragePooling2D": _GLOBAL_POOL,
    "GlobalMaxPooling1D": _GLOBAL_POOL,
    "GlobalMaxPooling2D": _GLOBAL_POOL,
    "Flatten": "data_format",
    "Reshape": "target_shape",
    "Dropout": "rate noise_shape seed",
    "BatchNormalization": "axis momentum epsilon center scale beta_initializer "
    "gamma_initializer moving_mean_initializer moving_variance_initializer "
    "beta_regularizer gamma_regularizer beta_constraint gamma_constraint",
    "LayerNormalization": "axis epsilon center scale beta_initializer gamma_initializer "
    "beta_regularizer gamma_regularizer beta_constraint gamma_constraint",
    "Activation": "activation",
    "ReLU": "max_value negative_slope threshold",
    "LeakyReLU": "negative_slope",
    "ELU": "alpha",
    "Softmax": "axis",
    "ZeroPadding2D": "padding data_format",
    "UpSampling2D": "size data_format interpolation",
    "Add": "",
    "Subtract": "",
    "Multiply": "",
    "Average": "",
    "Maximum": "",
    "Minimum": "",
    "Concatenate": "axis",
    "Embedding": "input_dim output_dim embeddings_initializer embeddings_regularizer "
    "activity_regularizer embeddings_constraint mask_zero",
    "SimpleRNN": _RNN,
    "LSTM": _RNN + " recurrent_activation unit_forget_bias",
    "GRU": _RNN + " recurrent_activation reset_after",
}
RECURRENT = {"SimpleRNN", "LSTM", "GRU"}  # their weights live in their cell
_BASE_ARGUMENTS = {"name", "trainable", "dtype"}
# lapenna arguments Keras does not take, at the value that means Keras's behaviour
_NEUTRAL = {"return_indices": False}

_ACTIVATION_NAMES = (
    "celu elu exponential gelu glu hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh "
    "leaky_relu linear log_sigmoid log_softmax mish relu relu6 selu sigmoid silu "
    "soft_shrink softmax softplus softsign sparse_plus sparse_sigmoid sparsemax squareplus "
    "swish tanh tanh_shrink threshold"
)
KERAS_ACTIVATIONS = frozenset(_ACTIVATION_NAMES.split(" "))
_FAN = "seed"
# (registry family, Keras module, {class: the arguments Keras takes})
_NESTED = {
    "_initializer": (
        "initializers",
        "keras.initializers",
        {
            "Zeros": "",
            "Ones": "",
            "Constant": "value",
            "RandomNormal": "mean stddev seed",
            "RandomUniform": "minval maxval seed",
            "TruncatedNormal": "mean stddev seed",
            "VarianceScaling": "scale mode distribution seed",
            "GlorotUniform": _FAN,
            "GlorotNormal": _FAN,
            "HeUniform": _FAN,
            "HeNormal": _FAN,
            "LecunUniform": _FAN,
            "LecunNormal": _FAN,
            "Orthogonal": "gain seed",
            "Identity": "gain",
        },
    ),
    "_regularizer": (
        "regularizers",
        "keras.regularizers",
        {"L1": "l1", "L2": "l2", "L1L2": "l1 l2", "OrthogonalRegularizer": "factor mode"},
    ),
    "_constraint": (
        "constraints",
        "keras.constraints",
        {
            "MaxNorm": "max_value axis",
            "NonNeg": "",
            "UnitNorm": "axis",
            "MinMaxNorm": "min_value max_value rate axis",
        },
    ),
}


def _policy(dtype):
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": str(dtype)},
        "registered_name": None,
    }


def _shape(shape):
    return None if shape is None else [None if d is None else int(d) for d in shape]


# -- config.json ------------------------------------------------------------------------
def keras_model_spec(model):
    """The Keras 3 ``config.json`` object of ``model`` and its layers in Keras's order.

    Returns:
        ``(spec, layers)``: ``spec`` the JSON-safe dict, ``layers`` a list of
        ``(key, class name, layer or None)`` in Keras's ``model.layers`` order, ``key``
        the layer's group in ``model.weights.h5`` (``None`` for an input layer).

    Raises:
        ValueError: listing everything Keras cannot hold (a subclassed or nested model, a
            layer class Keras lacks or a custom one, an argument or nested object Keras
            does not take).
    """
    serialized = get_registry("layers").serialize(model)
    kind = serialized["class_name"]
    if kind not in ("Sequential", "Functional"):
        raise ValueError(
            f"save: model {model.name!r} is a subclassed model ({type(model).__name__}); a "
            "Keras .keras file holds Sequential and functional models only. Save it as "
            ".lpn (lapenna's own file), or build it with Sequential or Model(inputs, outputs)"
        )
    graph = model.export_graph()
    problems = []
    if kind == "Sequential":
        spec, layers = _sequential(model, serialized["config"], graph, problems)
    else:
        spec, layers = _functional(serialized["config"], graph, problems)
    if problems:
        raise ValueError(
            f"save: model {model.name!r} cannot be written as a Keras file, Keras 3 has no "
            "equivalent for: " + "; ".join(problems) + ". Save it as .lpn instead"
        )
    return spec, layers


def _layer_calls(graph):
    """``{layer name: [node, ...]}`` from ``model.export_graph()``, and the shape and
    dtype of every tensor by its Keras history ``(layer, node, tensor)``."""
    calls, tensors, by_id = {}, {}, {}
    for entry in graph["inputs"]:
        tensors[(entry["name"], 0, 0)] = (_shape(entry["shape"]), entry["dtype"])
        by_id[entry["id"]] = entry["dtype"]
    for node in graph["nodes"]:
        layer = node["layer"]
        index = len(calls.setdefault(layer.name, []))
        calls[layer.name].append(node)
        dtype = getattr(layer, "dtype", None) or "float32"
        for t, shape in enumerate(node["output_shapes"]):
            tensors[(layer.name, index, t)] = (_shape(shape), str(dtype))
    return calls, tensors


def _build_config(node):
    shapes = [_shape(s) for s in node["input_shapes"]]
    return {"input_shape": shapes[0] if len(shapes) == 1 else shapes}


def _input_entry(name, shape, dtype):
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": _shape(shape),
            "dtype": str(dtype),
            "sparse": False,
            "ragged": False,
            "name": name,
            "optional": False,
        },
        "registered_name": None,
    }


def _sequential(model, config, graph, problems):
    if len(graph["inputs"]) != 1:
        problems.append(f"Sequential {model.name!r} with {len(graph['inputs'])} inputs")
        return None, []
    first = graph["inputs"][0]
    calls, _ = _layer_calls(graph)
    entries = [_input_entry(first["name"], first["shape"], first["dtype"])]
    layers = []
    for layer, item in zip(model.layers, config["layers"], strict=True):
        entry = _layer_entry(layer, item, problems)
        if entry is None:
            continue
        nodes = calls.get(layer.name)
        if nodes:
            entry["build_config"] = _build_config(nodes[0])
        entries.append(entry)
        layers.append((item["class_name"], layer))
    keys = keras3_layer_keys([cls for cls, _ in layers])
    shape = _shape(first["shape"])
    spec = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": config.get("name", model.name),
            "trainable": bool(config.get("trainable", True)),
            "dtype": _policy(getattr(model, "dtype", None) or "float32"),
            "layers": entries,
            "build_input_shape": shape,
        },
        "registered_name": None,
        "build_config": {"input_shape": shape},
    }
    return spec, [(key, cls, layer) for key, (cls, layer) in zip(keys, layers)]


def _functional(config, graph, problems):
    calls, tensors = _layer_calls(graph)
    objects = {name: nodes[0]["layer"] for name, nodes in calls.items()}
    entries = []
    for item in config["layers"]:
        name = item["name"]
        if item["class_name"] == "InputLayer":
            shape, dtype = tensors.get((name, 0, 0), (item["config"].get("batch_shape"), None))
            entry = _input_entry(name, shape, dtype or item["config"].get("dtype", "float32"))
            entry["name"], entry["inbound_nodes"] = name, []
            entries.append(entry)
            continue
        entry = _layer_entry(objects.get(name), item, problems)
        if entry is None:
            continue
        if calls.get(name):
            entry["build_config"] = _build_config(calls[name][0])
        entry["name"] = name
        entry["inbound_nodes"] = [_node(n, tensors, name, problems) for n in item["inbound_nodes"]]
        entries.append(entry)
    order = keras_layer_order(config)
    classes = {item["name"]: item["class_name"] for item in config["layers"]}
    keys = keras3_layer_keys([classes[name] for name in order])
    spec = {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": config["name"],
            "trainable": bool(config.get("trainable", True)),
            "layers": entries,
            "input_layers": config["input_layers"],
            "output_layers": config["output_layers"],
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }
    layers = [
        (key if classes[name] != "InputLayer" else None, classes[name], objects.get(name))
        for key, name in zip(keys, order)
    ]
    return spec, layers


def _node(node, tensors, name, problems):
    """One call of a layer: lapenna's ``[layer, node, tensor]`` refs as Keras tensors."""
    kwargs = {}
    if isinstance(node, dict):
        node, kwargs = node.get("args"), dict(node.get("kwargs") or {})
        if set(kwargs) - {"training"}:
            problems.append(f"layer {name!r}: called with arguments {sorted(kwargs)}")

    def tensor(ref):
        if isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str):
            shape, dtype = tensors[tuple(ref)]
            return {
                "class_name": "__keras_tensor__",
                "config": {"shape": shape, "dtype": dtype, "keras_history": list(ref)},
            }
        if isinstance(ref, dict):
            return {k: tensor(v) for k, v in ref.items()}
        return [tensor(r) for r in ref]

    return {"args": [tensor(node)], "kwargs": kwargs}


def _layer_entry(layer, item, problems):
    """``{"module", "class_name", "config", "registered_name"}`` of one layer, or None."""
    cls, config = item["class_name"], item["config"]
    name = config.get("name") if isinstance(config, dict) else None
    where = f"layer {name!r} ({cls})"
    if cls in ("Sequential", "Functional"):
        problems.append(f"{where}: a model nested in a model (not written yet)")
        return None
    if not _is_lapenna_class(layer, cls):
        problems.append(f"{where}: a custom layer class, whose code Keras would need")
        return None
    if cls not in KERAS_LAYERS:
        problems.append(f"{where}: a layer class lapenna writes no Keras 3 config for")
        return None
    accepted = set(KERAS_LAYERS[cls].split()) | _BASE_ARGUMENTS
    out = {}
    for key, value in config.items():
        if key == "dtype":
            out["dtype"] = _policy(value)
        elif key in accepted:
            out[key] = _argument(key, value, f"{where}, argument {key!r}", problems)
        elif key in _NEUTRAL and value == _NEUTRAL[key]:
            continue
        else:
            problems.append(f"{where}: argument {key}={value!r}")
    if "data_format" in accepted:
        out["data_format"] = "channels_last"  # whatever the reader's image_data_format
    return {"module": "keras.layers", "class_name": cls, "config": out, "registered_name": None}


def _is_lapenna_class(layer, cls):
    """Whether ``layer`` is lapenna's own class of that name (not a custom layer that
    was registered under a built-in's name)."""
    if layer is None:
        return True
    try:
        registered = get_registry("layers").lookup(cls)
    except ValueError:
        return False
    return registered is type(layer) and type(layer).__module__.startswith("lapenna.")


def _argument(key, value, where, problems):
    if key == "activation" or key == "recurrent_activation":
        if isinstance(value, str) and value in KERAS_ACTIVATIONS:
            return value
        problems.append(f"{where}: activation {value!r}")
        return None
    for suffix, (family, module, classes) in _NESTED.items():
        if key.endswith(suffix):
            return _nested(value, family, module, classes, where, problems)
    return list(value) if isinstance(value, tuple) else value


def _nested(value, family, module, classes, where, problems):
    """A lapenna initializer/regularizer/constraint config as a Keras 3 object."""
    if value is None:
        return None
    if isinstance(value, str):  # a registered name: its class and default config
        registry = get_registry(family)
        try:
            value = registry.serialize(registry.get(value))
        except ValueError:
            problems.append(f"{where}: {value!r}")
            return None
    name = value.get("class_name") if isinstance(value, dict) else None
    config = value.get("config") if isinstance(value, dict) else None
    if name not in classes or not isinstance(config, dict):
        problems.append(f"{where}: {family[:-1]} {name or value!r}")
        return None
    accepted = set(classes[name].split())
    unknown = {k: v for k, v in config.items() if k not in accepted}
    if unknown:
        problems.append(f"{where}: {name} arguments {unknown}")
        return None
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}
    return {"module": module, "class_name": name, "config": config, "registered_name": None}


# -- model.weights.h5 -------------------------------------------------------------------
def keras_weight_groups(layers):
    """``[(group path, layer name, [arrays])]`` for the weights file, from
    ``keras_model_spec``'s layers; raises ValueError for a layer whose weights Keras keeps
    in another structure (sub-layers other than a recurrent layer's cell)."""
    groups = []
    for key, cls, layer in layers:
        if key is None or layer is None:
            continue
        paths = layer.weight_paths()
        prefixes = {path.rpartition("/")[0] for path in paths}
        arrays = [np.asarray(v.numpy()) for v in paths.values()]
        if not paths:
            groups.append((f"layers/{key}", layer.name, []))
        elif prefixes == {""}:
            groups.append((f"layers/{key}", layer.name, arrays))
        elif cls in RECURRENT and len(prefixes) == 1:
            cell = getattr(getattr(layer, "cell", None), "name", None) or f"{key}_cell"
            groups.append((f"layers/{key}", layer.name, []))
            groups.append((f"layers/{key}/cell", cell, arrays))
        else:
            raise ValueError(
                f"layer {layer.name!r} ({cls}) holds its weights in sub-layers "
                f"{sorted(prefixes)}, which Keras 3's weight file lays out by attribute"
            )
    return groups


def write_keras_weights_h5(h5file, model_name, groups):
    """Write the groups into an open, empty ``h5py.File``: the model's own ``vars``
    group, then ``<path>/vars`` with datasets ``0``, ``1``... named by an attribute."""
    h5file.create_group("vars").attrs["name"] = model_name
    for path, name, arrays in groups:
        group = h5file.require_group(path).create_group("vars")
        group.attrs["name"] = name
        for i, array in enumerate(arrays):
            group.create_dataset(str(i), data=array)


def save_keras_model(model, path):
    """Write ``model`` as a Keras 3 ``.keras`` file that ``keras.saving.load_model`` reads.

    The file holds the architecture and the weights; compile settings and the optimizer
    state are not written (compile again in Keras). Everything is checked before the
    file is written, and the write is atomic.

    Raises:
        ValueError: naming every layer, argument or object Keras has no equivalent for.
    """
    import h5py

    spec, layers = keras_model_spec(model)
    config_text = json.dumps(spec)
    if len(config_text) > MAX_CONFIG_BYTES:  # what lapenna's loader would refuse
        raise ValueError(
            f"the Keras model config is {len(config_text)} bytes of JSON, more than the "
            f"{MAX_CONFIG_BYTES} that loading reads; nothing was written"
        )
    groups = keras_weight_groups(layers)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        write_keras_weights_h5(h5, spec["config"]["name"], groups)
    metadata = {
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "lapenna_version": __version__,
    }
    with atomic_write(path) as f, zipfile.ZipFile(f, "w") as archive:
        archive.writestr(METADATA_ENTRY, json.dumps(metadata))
        archive.writestr(CONFIG_ENTRY, config_text)
        archive.writestr(WEIGHTS_ENTRY, buffer.getvalue())


def keras_weight_layers(model):
    """``keras_model_spec``'s layer list for weights only: any Sequential or functional
    model whose layers hold their weights directly (or in a recurrent layer's cell),
    also with layer classes Keras lacks; ``None`` for other models."""
    serialized = get_registry("layers").serialize(model)
    kind, config = serialized["class_name"], serialized["config"]
    if kind == "Sequential":
        classes = [item["class_name"] for item in config["layers"]]
        items = list(zip(keras3_layer_keys(classes), classes, model.layers, strict=True))
    elif kind == "Functional":
        order = keras_layer_order(config)
        classes = {item["name"]: item["class_name"] for item in config["layers"]}
        objects = {layer.name: layer for layer in model.layers}
        keys = keras3_layer_keys([classes[name] for name in order])
        items = [(k, classes[n], objects.get(n)) for k, n in zip(keys, order)]
    else:
        return None
    if any(cls in ("Sequential", "Functional") for _, cls, _ in items):
        return None
    return items


def save_keras_weights(model, path, layers):
    """Write a Keras 3 ``.weights.h5`` file (``keras_model.load_weights`` reads it)."""
    import h5py

    groups = keras_weight_groups(layers)
    with atomic_write(path) as f, h5py.File(f, "w") as h5:
        write_keras_weights_h5(h5, model.name, groups)
