"""Translate one Keras layer config into lapenna's: class names, arguments, nested objects.

Keras and lapenna share class names and most argument names. What differs is handled
here: Keras-only arguments whose value changes nothing in lapenna (``data_format=
"channels_last"``, ``groups=1``, ``fused``...) are dropped; a few arguments are renamed
(Keras 2 ``LeakyReLU(alpha)`` is Keras 3's ``negative_slope``); dtype policies become
dtype names; nested initializer, regularizer and constraint configs (Keras 2
``{"class_name", "config"}`` and Keras 3 ``{"module", "class_name", "config",
"registered_name"}``) keep only the class name and config, and the class name must be
registered in lapenna. Anything else is reported as a problem, never guessed.
"""

import inspect

from lapenna.utils import get_registry

# Keras class names that lapenna registers under another name
CLASS_ALIASES = {
    "Model": "Functional",
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Convolution3DTranspose": "Conv3DTranspose",
    "MaxPool1D": "MaxPooling1D",
    "MaxPool2D": "MaxPooling2D",
    "MaxPool3D": "MaxPooling3D",
    "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalMaxPool3D": "GlobalMaxPooling3D",
}
# layers that hold Python code: never built from a file
REFUSED_CLASSES = {"Lambda", "TFOpLambda", "SlicingOpLambda"}
MODEL_CLASSES = {"Sequential", "Functional"}

_ANY = object()
# Keras arguments lapenna does not take, with the values that make them no-ops. Each is
# dropped with the reason beside it; any other value is a problem naming the key.
_NEUTRAL = {
    "data_format": ("channels_last", None),
    "sparse": (False,),
    "ragged": (False,),
    "optional": (False,),
    "groups": (1,),
    "filters": (None,),
    "batch_size": (None,),
    "synchronized": (False,),
    "renorm": (False,),
    "renorm_clipping": _ANY,
    "renorm_momentum": _ANY,
    "virtual_batch_size": (None,),
    "adjustment": (None,),
    "fused": _ANY,
    "lora_rank": (None,),
    "lora_alpha": _ANY,
    "quantization_config": (None,),
    "autocast": _ANY,
    "rms_scaling": (False,),
    # None is every lapenna layer's default; Keras 3 writes it on all layers
    "activity_regularizer": (None,),
    # MultiHeadAttention: no gate, full attention, over the time axis of (batch, T, dim)
    # inputs (the only rank lapenna's layer takes, where Keras's default is [1])
    "use_gate": (False,),
    "sliding_window": (None,),
    "attention_axes": (None, [1], [-2]),
    # recurrent layers: which kernel runs (cuDNN or not) changes no number
    "use_cudnn": _ANY,
}
# arguments holding whole layer configs: Bidirectional / TimeDistributed wrap a layer, RNN
# a cell (or a list of cells), StackedRNNCells a list of cells
NESTED_LAYER_KEYS = ("layer", "backward_layer", "cell", "cells")
_RENAMED = {"LeakyReLU": {"alpha": "negative_slope"}}
_FAMILIES = {
    "_initializer": "initializers",
    "_regularizer": "regularizers",
    "_constraint": "constraints",
}
FLOAT_DTYPES = ("float32", "float64")


def lapenna_class(keras_name):
    """The lapenna layer class name for a Keras class name, or None when there is none."""
    if not isinstance(keras_name, str):
        return None
    name = CLASS_ALIASES.get(keras_name, keras_name)
    if name in REFUSED_CLASSES:
        return None
    try:
        get_registry("layers").lookup(name)
    except ValueError:
        return None
    return name


def dtype_name(value, where, problems, allowed=FLOAT_DTYPES):
    """A dtype string from a Keras dtype or dtype policy (``DTypePolicy``/``Policy``)."""
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    if value is None:
        return None
    if value not in allowed:
        problems.append(f"{where}: dtype {value!r} is not supported (use {' or '.join(allowed)})")
        return None
    return value


def shape_list(value):
    """A Keras batch shape (list, or Keras 2's ``{"class_name": "TensorShape", "items"}``)
    as a list of ints and None, or None when it is not one."""
    if isinstance(value, dict) and value.get("class_name") == "TensorShape":
        value = value.get("items")
    ok = isinstance(value, list) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in value
    )
    return list(value) if ok else None


def translate_arguments(cls_name, config, where, problems):
    """lapenna constructor arguments for a Keras layer's ``config`` dict."""
    cls = get_registry("layers").lookup(cls_name)
    accepted = _accepted(cls)
    renames = _RENAMED.get(cls_name, {})
    out = {}
    for key, value in config.items():
        key = renames.get(key, key)
        if key in ("batch_input_shape", "batch_shape", "input_shape", "build_config"):
            continue  # the model's input shape; the caller reads it
        if key == "dtype":
            dtype = dtype_name(value, where, problems)
            if dtype is not None:
                out["dtype"] = dtype
            continue
        if key in NESTED_LAYER_KEYS and key in accepted and isinstance(value, dict | list):
            out[key] = _nested_layers(value, f"{where}, {key!r}", problems)
            continue
        neutral = _NEUTRAL.get(key)
        if neutral is _ANY or (neutral and value in neutral):
            continue  # a no-op (or lapenna's default): Conv2DTranspose refuses even groups=1
        if key not in accepted:
            problems.append(f"{where}: argument {key!r}={value!r} has no lapenna equivalent")
            continue
        out[key] = _argument(key, value, f"{where}, argument {key!r}", problems)
    if cls_name == "BatchNormalization" and isinstance(out.get("axis"), list):
        axes = out["axis"]
        if len(axes) == 1:
            out["axis"] = axes[0]
        else:
            problems.append(f"{where}: BatchNormalization over several axes {axes}")
    return out


def translate_layer(entry, where, problems):
    """lapenna's ``{"class_name", "config"}`` for a Keras layer entry (``{"class_name",
    "config"}``, Keras 3 adds ``"module"`` and ``"registered_name"``), or None after
    adding a problem. Models are not layers here (the model reader handles them)."""
    if not isinstance(entry, dict):
        problems.append(f"{where}: layer entry {str(entry)[:80]!r} is not an object")
        return None
    keras_name, module = entry.get("class_name"), entry.get("module")
    cls = lapenna_class(keras_name)
    registered = entry.get("registered_name")
    if module is not None and not keras_module(module):
        problems.append(f"{where}: a class from module {module!r}")
        return None
    if cls is None or cls in MODEL_CLASSES or registered not in (None, keras_name, cls):
        problems.append(f"{where}: unknown layer class {keras_name!r}")
        return None
    config = entry.get("config")
    if not isinstance(config, dict):
        problems.append(f"{where}: config is not an object")
        return None
    return {"class_name": cls, "config": translate_arguments(cls, config, where, problems)}


def _nested_layers(value, where, problems):
    """A wrapped layer or cell (a Keras entry), or a list of them (stacked cells)."""
    if isinstance(value, list):
        cells = [translate_layer(v, f"{where}[{i}]", problems) for i, v in enumerate(value)]
        return [c for c in cells if c is not None]
    name = (value.get("config") or {}).get("name") if isinstance(value, dict) else None
    inner = f"{where} ({value.get('class_name')} {name!r})" if name else where
    return translate_layer(value, inner, problems)


def _argument(key, value, where, problems):
    if key == "activation":
        return _registered(value, "activations", where, problems)
    for suffix, family in _FAMILIES.items():
        if key.endswith(suffix):
            return _registered(value, family, where, problems)
    return value


def _registered(value, family, where, problems):
    """A registered name or ``{"class_name", "config"}`` of ``family``, checked."""
    if value is None:
        return None
    if isinstance(value, dict):
        name, config = value.get("class_name"), value.get("config") or {}
        module = value.get("module")
        if module is not None and not keras_module(module):
            problems.append(f"{where}: refers to module {module!r}")
            return None
        if not isinstance(config, dict):
            problems.append(f"{where}: {family} entry {name!r} is a Python function")
            return None
    else:
        name, config = value, None
    if not isinstance(name, str):
        problems.append(f"{where}: unreadable {family} entry {value!r}")
        return None
    try:
        cls = get_registry(family).lookup(name)
    except ValueError:
        problems.append(f"{where}: unknown {family[:-1]} {name!r}")
        return None
    if config is None:
        return name
    return {"class_name": name, "config": _known_keys(cls, name, config, where, problems)}


def _known_keys(cls, name, config, where, problems):
    """A nested config without the keys lapenna's class does not take: ``None`` values
    (newer Keras fields at their default, such as ``input_axes``) change nothing and are
    dropped; any other value is reported, naming the key."""
    if not isinstance(cls, type):
        return dict(config)
    accepted = _accepted(cls)
    out = {}
    for key, value in config.items():
        if key in accepted:
            out[key] = value
        elif value is not None:
            problems.append(f"{where}: {name} argument {key!r}={value!r} has no lapenna equivalent")
    return out


def keras_module(module):
    """Whether a Keras 3 ``"module"`` value names Keras itself (it is only a label then)."""
    return isinstance(module, str) and module.split(".")[0] in ("keras", "tf_keras")


def _accepted(cls):
    """Every keyword the class's constructor chain takes (up to ``Layer``)."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    names.discard("self")
    return names
