"""Model files: the ``.lpn`` archive, weight files and checkpoints.

``io`` never imports ``models``: a model is rebuilt from its config through the layer
registry (``Functional``, ``Sequential`` and every layer are registered there), and its
state is reached through a small protocol every model has: ``weights`` (Variables with a
``path``), ``get_config()``, ``optimizer`` (``get_state``/``set_state``/``build``), and
``compile(...)``. Loading reads and checks everything into temporaries first; a failed
load leaves the model exactly as it was.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

import lapenna
from lapenna import backend as B
from lapenna.io.archive import CONFIG_NAME, WEIGHTS_NAME, read_archive, write_archive
from lapenna.io.atomic import atomic_write
from lapenna.io.config import check_safe, dumps_config, loads_config
from lapenna.io.errors import FormatError
from lapenna.io.keras_h5 import keras3_layer_keys, read_keras_weights
from lapenna.io.keras_json import model_from_keras_json
from lapenna.io.npz import load_npz, save_npz
from lapenna.io.safetensors import load_bytes, load_file, save_bytes, save_file
from lapenna.utils import get_registry

FORMAT_VERSION = 1
MODEL_PREFIX = "model/"
OPTIMIZER_PREFIX = "optimizer/"


# -- weights by name ----------------------------------------------------------------------
def weight_names(model):
    """``{name: Variable}`` keyed by each weight's path, made unique with ``#n``."""
    named = {}
    for w in model.weights:
        name = getattr(w, "path", None) or w.name or "weight"
        key, k = name, 1
        while key in named:
            key, k = f"{name}#{k}", k + 1
        named[key] = w
    return named


def _check_arrays(model, arrays, source, skip_mismatch=False):
    """Match loaded arrays to the model's weights; return (variable, array) pairs.

    Every name, shape and dtype is checked before anything is assigned.
    """
    named = weight_names(model)
    missing = [n for n in named if n not in arrays]
    extra = [n for n in arrays if n not in named]
    if (missing or extra) and not skip_mismatch:
        raise FormatError(
            f"{source}: the weights do not match model {model.name!r}: missing "
            f"{missing[:10]}{'...' if len(missing) > 10 else ''}, unexpected "
            f"{extra[:10]}{'...' if len(extra) > 10 else ''}"
        )
    pairs = []
    for name, var in named.items():
        if name not in arrays:
            continue
        array = arrays[name]
        if tuple(array.shape) != var.shape or array.dtype != var.dtype:
            if skip_mismatch:
                continue
            raise FormatError(
                f"{source}: weight {name!r} is {array.dtype}{tuple(array.shape)} in the file, "
                f"but the model expects {var.dtype}{var.shape}"
            )
        pairs.append((var, array))
    return pairs


def _assign(pairs):
    for var, array in pairs:
        var.assign(array)


def save_weights(model, path):
    """Write the model's weights by path to ``.safetensors``, ``.npz`` or ``.h5``."""
    path = str(path)
    arrays = {name: w.numpy() for name, w in weight_names(model).items()}
    if path.endswith(".safetensors"):
        save_file(arrays, path, metadata={"format": "lapenna-weights"})
    elif path.endswith(".npz"):
        save_npz(arrays, path)
    elif path.endswith(".h5"):
        _save_h5(model, path)
    else:
        raise ValueError(
            f"save_weights: unknown weight file type for {path!r}; use .safetensors, .npz or .h5"
        )


def load_weights(model, path, skip_mismatch=False, by_name=False):
    """Fill the model's weights from a weight file or a ``.lpn`` archive.

    Args:
        skip_mismatch: skip weights whose name is unknown or whose shape differs instead
            of raising.
        by_name: for ``.h5`` files, match layers by name rather than by order (native
            files always match by weight path).

    Raises:
        FormatError: when the file is malformed or does not fit the model; the model is
            then unchanged.
    """
    path = str(path)
    _require_built(model, "load_weights")
    if path.endswith(".safetensors"):
        arrays = load_file(path)
    elif path.endswith(".npz"):
        arrays = load_npz(path)
    elif path.endswith(".lpn"):
        entries = read_archive(path, [CONFIG_NAME, WEIGHTS_NAME])
        flat = load_bytes(entries[WEIGHTS_NAME], name=f"{path}:{WEIGHTS_NAME}")
        arrays = {k[len(MODEL_PREFIX) :]: v for k, v in flat.items() if k.startswith(MODEL_PREFIX)}
    elif path.endswith(".h5"):
        return load_keras_weights(model, path, by_name=by_name, skip_mismatch=skip_mismatch)
    else:
        raise ValueError(f"load_weights: unknown weight file type for {path!r}")
    _assign(_check_arrays(model, arrays, path, skip_mismatch))
    return model


def _require_built(model, what):
    if not model.weights and not getattr(model, "built", False):
        raise ValueError(
            f"{what}: model {model.name!r} has no weights yet; build it first (call it on "
            "data or use model.build(input_shape))"
        )


# -- the .lpn archive ---------------------------------------------------------------------
def _compile_config(model):
    compiled = getattr(model, "_compile_config", None)
    if not compiled or getattr(model, "optimizer", None) is None:
        return None
    losses, metrics = get_registry("losses"), get_registry("metrics")

    def ser(value, registry):
        if value is None or isinstance(value, str | int | float):
            return value
        if isinstance(value, list | tuple):
            return [ser(v, registry) for v in value]
        if isinstance(value, dict):
            return {k: ser(v, registry) for k, v in value.items()}
        return registry.serialize(value)

    return {
        "optimizer": get_registry("optimizers").serialize(model.optimizer),
        "loss": ser(compiled["loss"], losses),
        "metrics": ser(compiled["metrics"], metrics),
        "loss_weights": compiled["loss_weights"],
    }


def model_config(model):
    """The JSON-safe description of a model: class, config and build shape."""
    registry = get_registry("layers")
    config = {
        "format": "lapenna-model",
        "format_version": FORMAT_VERSION,
        "lapenna_version": lapenna.__version__,
        "model": registry.serialize(model),
        "build_input_shape": _shape_json(getattr(model, "_build_shape", None)),
    }
    return config


def _shape_json(shape):
    if shape is None:
        return None
    if isinstance(shape, dict):
        return {k: _shape_json(v) for k, v in shape.items()}
    return [_shape_json(s) if isinstance(s, list | tuple) else s for s in shape]


def _shape_from_json(shape):
    if shape is None or isinstance(shape, dict):
        return shape
    if all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    return [_shape_from_json(s) for s in shape]


def state_arrays(model, include_optimizer=True):
    """Weights under ``model/`` and, when built, optimizer state under ``optimizer/``."""
    arrays = {MODEL_PREFIX + name: w.numpy() for name, w in weight_names(model).items()}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(optimizer, "built", False):
        for name, value in optimizer.get_state().items():
            arrays[OPTIMIZER_PREFIX + name] = np.asarray(value)
    return arrays


def save_model(model, path, include_optimizer=True, extra=None):
    """Write ``model`` to a ``.lpn`` file: ``config.json`` and ``model.safetensors``.

    Args:
        include_optimizer: also store the compile settings' optimizer state (slots and
            step count), so training resumes exactly.
        extra: a JSON-safe dict stored in the config (checkpoints keep RNG state, epoch
            and step there).
    """
    path = str(path)
    if not path.endswith(".lpn"):
        raise ValueError(f"save: model files end in .lpn, got {path!r}")
    _require_built(model, "save")
    config = model_config(model)
    config["compile"] = _compile_config(model)
    config["include_optimizer"] = bool(include_optimizer)
    if extra is not None:
        config["extra"] = extra
    weights = save_bytes(
        state_arrays(model, include_optimizer), metadata={"format": "lapenna-model"}
    )
    write_archive(
        path, {CONFIG_NAME: dumps_config(config, indent=1).encode(), WEIGHTS_NAME: weights}
    )


def read_model_file(path, safe_mode=True):
    """Read and check a ``.lpn`` file; return ``(config, arrays)`` without building."""
    path = str(path)
    entries = read_archive(path, [CONFIG_NAME, WEIGHTS_NAME])
    try:
        config = loads_config(entries[CONFIG_NAME].decode("utf-8"), safe_mode=safe_mode)
    except UnicodeDecodeError as err:
        raise FormatError(f"{path}: {CONFIG_NAME} is not UTF-8 text") from err
    if not isinstance(config, dict) or config.get("format") != "lapenna-model":
        raise FormatError(f"{path}: {CONFIG_NAME} is not a lapenna model config")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise FormatError(
            f"{path}: format version {config.get('format_version')} is newer than this "
            f"lapenna reads ({FORMAT_VERSION}); upgrade lapenna"
        )
    arrays = load_bytes(entries[WEIGHTS_NAME], name=f"{path}:{WEIGHTS_NAME}")
    return config, arrays


def build_model(config, custom_objects=None, safe_mode=True):
    """Create the model a config describes (through the layer registry) and build it."""
    check_safe(config["model"], safe_mode=safe_mode)
    model = get_registry("layers").deserialize(config["model"], custom_objects)
    shape = _shape_from_json(config.get("build_input_shape"))
    if not model.weights and shape is not None:
        model.build(shape)
    return model


def load_model(path, compile=True, custom_objects=None, safe_mode=True):  # noqa: A002
    """Rebuild a model from a ``.lpn`` file: architecture, weights, compile settings and
    (when saved) optimizer state.

    Loading is closed: class names resolve only through lapenna's registries (plus
    ``custom_objects``); a Lambda or any callable is refused unless ``safe_mode=False``.
    A Keras 3 ``.keras`` archive or a Keras ``.h5`` model file is read by
    ``load_keras_model`` (architecture and weights; not the compile settings).
    """
    if is_keras_model_file(path):
        return load_keras_model(path)
    config, arrays = read_model_file(path, safe_mode=safe_mode)
    model = build_model(config, custom_objects, safe_mode)
    weights = {k[len(MODEL_PREFIX) :]: v for k, v in arrays.items() if k.startswith(MODEL_PREFIX)}
    pairs = _check_arrays(model, weights, str(path))
    _assign(pairs)
    compiled = config.get("compile")
    if compile and compiled:
        _compile_from_config(model, compiled, custom_objects)
        opt_state = {
            k[len(OPTIMIZER_PREFIX) :]: v
            for k, v in arrays.items()
            if k.startswith(OPTIMIZER_PREFIX)
        }
        if opt_state:
            model.optimizer.build(model.trainable_weights)
            try:
                model.optimizer.set_state(opt_state)
            except ValueError as err:
                raise FormatError(f"{path}: optimizer state does not fit: {err}") from err
    return model


def _compile_from_config(model, compiled, custom_objects):
    optimizer = get_registry("optimizers").deserialize(compiled["optimizer"], custom_objects)

    def de(value, registry):
        if value is None or isinstance(value, str | int | float):
            return value
        if isinstance(value, dict) and "class_name" in value:
            return registry.deserialize(value, custom_objects)
        if isinstance(value, dict):
            return {k: de(v, registry) for k, v in value.items()}
        return [de(v, registry) for v in value]

    model.compile(
        optimizer=optimizer,
        loss=de(compiled["loss"], get_registry("losses")),
        metrics=de(compiled["metrics"], get_registry("metrics")),
        loss_weights=compiled.get("loss_weights"),
    )


# -- checkpoints: the model file plus RNG state and the training position ----------------
def save_checkpoint(model, path, epoch=0, step=0, extra=None):
    """A ``.lpn`` file with the optimizer state, the global RNG state, epoch and step.

    The write is atomic: a crash mid-save leaves the previous checkpoint intact.
    """
    state = {"rng_state": B.get_rng_state(), "epoch": int(epoch), "step": int(step)}
    state.update(extra or {})
    save_model(model, path, include_optimizer=True, extra=state)


def load_checkpoint(model, path):
    """Restore weights, optimizer state and the RNG state from ``save_checkpoint``'s file
    into an existing compiled ``model``; return the stored ``extra`` dict (epoch, step...).

    Everything is read and checked before anything is assigned.
    """
    config, arrays = read_model_file(path)
    extra = config.get("extra") or {}
    weights = {k[len(MODEL_PREFIX) :]: v for k, v in arrays.items() if k.startswith(MODEL_PREFIX)}
    pairs = _check_arrays(model, weights, str(path))
    opt_state = {
        k[len(OPTIMIZER_PREFIX) :]: v for k, v in arrays.items() if k.startswith(OPTIMIZER_PREFIX)
    }
    optimizer = getattr(model, "optimizer", None)
    if opt_state and optimizer is not None:
        optimizer.build(model.trainable_weights)
        backup = optimizer.get_state()
        try:
            optimizer.set_state(opt_state)
        except ValueError as err:
            raise FormatError(f"{path}: optimizer state does not fit: {err}") from err
        try:
            B.set_rng_state(extra["rng_state"]) if "rng_state" in extra else None
        except (ValueError, KeyError, TypeError) as err:
            optimizer.set_state(backup)
            raise FormatError(f"{path}: bad RNG state: {err}") from err
    _assign(pairs)
    return extra


# -- JSON ---------------------------------------------------------------------------------
def to_json(model, **kwargs):
    """The architecture as JSON text (no weights)."""
    return json.dumps(model_config(model), **kwargs)


def model_from_json(text, custom_objects=None, safe_mode=True):
    """Build a model (fresh weights) from ``to_json``'s text."""
    config = loads_config(text, safe_mode=safe_mode)
    if not isinstance(config, dict) or config.get("format") != "lapenna-model":
        raise FormatError("model_from_json: the text is not a lapenna model config")
    return build_model(config, custom_objects, safe_mode)


# -- HDF5 ---------------------------------------------------------------------------------
def _save_h5(model, path):
    import h5py

    with atomic_write(path) as f, h5py.File(f, "w") as h5:
        layers = _layers_with_weights(model)
        h5.attrs["layer_names"] = [layer.name.encode() for layer in layers]
        for layer in layers:
            group = h5.create_group(layer.name)
            names = [w.path.encode() for w in layer._own_weights()]
            group.attrs["weight_names"] = names
            for w in layer._own_weights():
                group.create_dataset(w.path, data=w.numpy())


def _layers_with_weights(model):
    return [layer for layer in model._walk() if layer._own_weights()]


def _keras3_keys_match(model, entries):
    """Whether every layer the file names is a Keras 3 key of one of the model's layers."""
    if not entries or any("/" in name for name, _ in entries):
        return False
    keys = set(keras3_layer_keys([type(x).__name__ for x in getattr(model, "layers", [])]))
    return all(name in keys for name, _ in entries)


def load_keras_weights(model, path, by_name=False, skip_mismatch=False):
    """Fill a lapenna model from a Keras ``.h5`` / ``.weights.h5`` file (or one written by
    ``save_weights(... .h5)``), matching layers with weights by order or by name.

    Keras and lapenna share weight layouts (Dense ``(in, out)``, Conv2D
    ``(kh, kw, in, out)``, BatchNormalization ``[gamma, beta, mean, variance]``...), so
    arrays go in as they are, after every shape is checked.
    """
    entries = [(name, arrays) for name, arrays in read_keras_weights(str(path)) if arrays]
    layers = _layers_with_weights(model)
    if by_name:
        found = dict(entries)
        matched = [(layer, found.get(layer.name)) for layer in layers]
    elif _keras3_keys_match(model, entries):
        # Keras 3 files key layers by class (``conv2d``, ``dense_1``), listed by name
        found = dict(entries)
        keyed = zip(keras3_layer_keys([type(x).__name__ for x in model.layers]), model.layers)
        matched = [(layer, found.get(key)) for key, layer in keyed if layer._own_weights()]
    else:
        if len(entries) != len(layers) and not skip_mismatch:
            raise FormatError(
                f"{path}: the file has {len(entries)} layers with weights, model "
                f"{model.name!r} has {len(layers)}"
            )
        matched = list(zip(layers, [arrays for _, arrays in entries]))
    pairs = []
    for layer, arrays in matched:
        if arrays is None:
            if skip_mismatch:
                continue
            raise FormatError(f"{path}: no weights for layer {layer.name!r}")
        own = layer._own_weights()
        shapes_ok = len(arrays) == len(own) and all(
            tuple(a.shape) == w.shape for a, w in zip(arrays, own)
        )
        if not shapes_ok:
            if skip_mismatch:
                continue
            raise FormatError(
                f"{path}: layer {layer.name!r} expects weights "
                f"{[w.shape for w in own]}, the file has {[tuple(a.shape) for a in arrays]}"
            )
        pairs.extend((w, np.asarray(a).astype(w.dtype)) for w, a in zip(own, arrays))
    _assign(pairs)
    return model


# -- whole Keras model files ----------------------------------------------------------------
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_KERAS_WEIGHTS_ENTRY = "model.weights.h5"
MAX_KERAS_ARCHIVE_ENTRY = 2**33


def is_keras_model_file(path):
    """A Keras 3 ``.keras`` zip (``config.json`` and ``model.weights.h5``) or an HDF5 file."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    if head == _HDF5_SIGNATURE:
        return True
    if head[:4] != b"PK\x03\x04":
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    return {"config.json", _KERAS_WEIGHTS_ENTRY} <= names


def load_keras_model(path):
    """Build a lapenna model from a Keras 3 ``.keras`` archive or a Keras ``.h5`` model
    file: the architecture through ``model_from_keras_json`` (registered classes only,
    nothing imported or called), then the weights through ``load_keras_weights``.

    Raises:
        FormatError: not a Keras model file, an entry too large, or what the architecture
            or weight readers refuse.
    """
    path = str(path)
    with open(path, "rb") as f:
        is_hdf5 = f.read(8) == _HDF5_SIGNATURE
    if is_hdf5:
        import h5py

        with h5py.File(path, "r") as f:
            config = f.attrs.get("model_config")
        if config is None:
            raise FormatError(
                f"{path}: an HDF5 file without 'model_config' (a weights file: build the "
                "model, then model.load_weights(path))"
            )
        model = model_from_keras_json(config.decode() if isinstance(config, bytes) else config)
        return load_keras_weights(model, path)
    with zipfile.ZipFile(path) as archive:
        for name in ("config.json", _KERAS_WEIGHTS_ENTRY):
            if archive.getinfo(name).file_size > MAX_KERAS_ARCHIVE_ENTRY:
                raise FormatError(f"{path}: entry {name!r} is too large")
        model = model_from_keras_json(archive.read("config.json").decode())
        with tempfile.TemporaryDirectory() as folder:
            weights = os.path.join(folder, _KERAS_WEIGHTS_ENTRY)
            with open(weights, "wb") as out:
                out.write(archive.read(_KERAS_WEIGHTS_ENTRY))
            return load_keras_weights(model, weights)
