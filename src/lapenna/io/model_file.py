"""Model files: the ``.lpn`` archive, weight files and checkpoints.

``io`` never imports ``models``: a model is rebuilt from its config through the layer
registry (``Functional``, ``Sequential`` and every layer are registered there), and its
state is reached through a small protocol every model has: ``weight_paths()``,
``get_state()`` and ``check_state()`` (weights keyed by their place in the model's
structure, ``"dense_1/kernel"``, or by layer name), ``get_config()``, ``optimizer``
(``get_state``/``set_state``/``build``), and ``compile(...)``. Optimizer slots are stored
under the structure paths of their variables too (``optimizer/m/dense_1/kernel``).
Loading reads and checks everything into temporaries first; a failed load leaves the
model exactly as it was.
"""

import contextlib
import json
import os
import tempfile
import warnings
import zipfile

from lapenna import backend as B
from lapenna.backend import host_np as np
from lapenna.io.archive import (
    CONFIG_NAME,
    MAX_ENTRY_BYTES,
    WEIGHTS_NAME,
    copy_entry,
    open_entries,
    read_archive,
    read_entry,
    write_archive,
)
from lapenna.io.atomic import atomic_write
from lapenna.io.config import MAX_CONFIG_BYTES, check_safe, encode_config, loads_config
from lapenna.io.errors import FormatError
from lapenna.io.keras_h5 import (
    keras3_layer_keys,
    keras3_weight_groups,
    read_keras_model_config,
    read_keras_weights,
)
from lapenna.io.keras_json import model_from_keras_json
from lapenna.io.keras_write import (
    keras_weight_groups,
    keras_weight_layers,
    save_keras_model,
    save_keras_weights,
)
from lapenna.io.model_config import FORMAT_VERSION, check_model_config
from lapenna.io.npz import load_npz, save_npz
from lapenna.io.safetensors import load_bytes, load_file, save_bytes, save_file
from lapenna.utils import get_registry
from lapenna.utils.version import __version__

MODEL_PREFIX = "model/"
OPTIMIZER_PREFIX = "optimizer/"
# each entry is refused on its declared size, before it is inflated
_ENTRY_BOUNDS = {CONFIG_NAME: MAX_CONFIG_BYTES, WEIGHTS_NAME: MAX_ENTRY_BYTES}
_BUILD_SLACK = 1 << 16  # weights a file may leave out (none today) and rounding
_HEADER_BYTES = 512  # a generous bound on one tensor's entry in a file's header


# -- weights by their place in the model -------------------------------------------------
def _check_arrays(model, arrays, source, skip_mismatch=False, by_name=False):
    """Match loaded arrays to the model's weights; return (variable, array) pairs.

    Weights are matched by their structure path (``model.get_state()``'s keys); a file
    keyed by layer names (``by_name=True``, or a file written before structure paths) is
    matched by name. Every name, shape and dtype is checked before anything is assigned.
    """
    if not by_name and set(arrays) != set(model.weight_paths()):
        by_name = set(arrays) == set(model.weight_paths(by_name=True))
    try:
        return model.check_state(arrays, by_name, skip_mismatch)
    except ValueError as err:
        raise FormatError(f"{source}: {err}") from None


def _assign(pairs, source=None):
    """Assign checked arrays; warn (naming the file and the weights) when some hold NaN
    or infinity, which loads but will not train or predict anything useful."""
    bad = [
        getattr(var, "path", var.name)
        for var, array in pairs
        if array.dtype.kind == "f" and not np.isfinite(array).all()
    ]
    if bad:
        warnings.warn(
            f"{source or 'the file'}: weights {bad[:10]}{'...' if len(bad) > 10 else ''} hold "
            "NaN or infinite values",
            UserWarning,
            stacklevel=3,
        )
    for var, array in pairs:
        var.assign(array)


def save_weights(model, path):
    """Write the model's weights to ``.safetensors``, ``.npz``, ``.weights.h5`` or ``.h5``.

    ``.weights.h5`` is Keras 3's layout (``layers/<key>/vars/0``...), which
    ``keras_model.load_weights`` reads, for a Sequential or functional model whose layers
    hold their weights themselves (or in a recurrent layer's cell); other models (a
    subclassed one, layers that hold layers) get lapenna's layer-name HDF5 layout, which
    ``load_weights`` reads. Any other ``.h5`` name gets the layer-name layout (Keras 2's).
    """
    path = str(path)
    arrays = model.get_state()
    if path.endswith(".safetensors"):
        save_file(arrays, path, metadata={"format": "lapenna-weights"})
    elif path.endswith(".npz"):
        save_npz(arrays, path)
    elif path.endswith(".weights.h5") and _keras3_weight_layers(model) is not None:
        save_keras_weights(model, path, _keras3_weight_layers(model))
    elif path.endswith(".h5"):
        _save_h5(model, path)
    else:
        raise ValueError(
            f"save_weights: unknown weight file type for {path!r}; use .safetensors, .npz or .h5"
        )


def load_weights(model, path, skip_mismatch=False, by_name=False):
    """Fill the model's weights from a weight file or a ``.lpn`` archive.

    Native files match weights by their place in the model's structure
    (``"dense_1/kernel"``), so the same architecture built again in the same process (whose
    layers get new names) loads them.

    Args:
        skip_mismatch: skip weights whose name is unknown or whose shape differs instead
            of raising.
        by_name: match by layer name instead (``"<layer name>/kernel"`` for native files;
            for ``.h5`` files, layers by name rather than by order).

    Raises:
        FormatError: when the file is malformed or does not fit the model; the model is
            then unchanged.
    """
    path = str(path)
    _require_built(model, "load_weights")
    bound = _file_bound(model)
    if path.endswith(".safetensors"):
        arrays = load_file(path, bound)
    elif path.endswith(".npz"):
        arrays = load_npz(path, bound)
    elif path.endswith(".lpn"):
        bounds = {CONFIG_NAME: MAX_CONFIG_BYTES, WEIGHTS_NAME: bound}
        entries = read_archive(path, [CONFIG_NAME, WEIGHTS_NAME], max_entry_bytes=bounds)
        flat = load_bytes(entries[WEIGHTS_NAME], name=f"{path}:{WEIGHTS_NAME}")
        arrays = {k[len(MODEL_PREFIX) :]: v for k, v in flat.items() if k.startswith(MODEL_PREFIX)}
    elif path.endswith(".h5"):
        return load_keras_weights(model, path, by_name=by_name, skip_mismatch=skip_mismatch)
    else:
        raise ValueError(f"load_weights: unknown weight file type for {path!r}")
    _assign(_check_arrays(model, arrays, path, skip_mismatch, by_name), path)
    return model


def _file_bound(model):
    """The most bytes a weight file for ``model`` may hold: its weights four times over
    (float64 files, optimizer slots), a header entry for each (``_HEADER_BYTES`` a tensor,
    four tensors a weight) plus a constant; larger files are refused unread."""
    weights = model.weights
    data = sum(w.numpy().nbytes for w in weights)
    return 4 * (data + _HEADER_BYTES * len(weights)) + (1 << 20)


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
        "lapenna_version": __version__,
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
    arrays = {MODEL_PREFIX + name: array for name, array in model.get_state().items()}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(optimizer, "built", False):
        slots = _slot_paths(model, optimizer)
        for name, value in optimizer.get_state().items():
            arrays[OPTIMIZER_PREFIX + slots.get(name, name)] = np.asarray(value)
    return arrays


def _slot_paths(model, optimizer):
    """``{slot name: "<slot>/<structure path>"}``: optimizer slots are named after the
    layer names of their variables (``adam/m/dense_7/kernel``); files name them after the
    variables' place in the model (``m/dense_1/kernel``), like the weights."""
    by_layer_name = {getattr(w, "path", None): key for key, w in model.weight_paths().items()}
    prefix, out = f"{optimizer.name}/", {}
    for name in optimizer.get_state():
        if name.startswith(prefix):
            slot, _, variable = name[len(prefix) :].partition("/")
            if variable in by_layer_name:
                out[name] = f"{slot}/{by_layer_name[variable]}"
    return out


def _optimizer_state(model, optimizer, saved, source):
    """The file's optimizer state renamed to this optimizer's slot names (files written
    before structure paths use the slot names themselves)."""
    optimizer.build(model.trainable_weights)
    expected = optimizer.get_state()
    if set(saved) == set(expected):
        return saved
    slots = _slot_paths(model, optimizer)
    renamed = {name: saved.get(slots.get(name, name)) for name in expected}
    missing = [slots.get(n, n) for n, v in renamed.items() if v is None]
    extra = sorted(set(saved) - {slots.get(n, n) for n in expected})
    if missing or extra:
        raise FormatError(
            f"{source}: optimizer state does not fit: missing {missing[:10]}, unexpected "
            f"{extra[:10]}"
        )
    return renamed


def save_model(model, path, include_optimizer=True, extra=None):
    """Write ``model`` to a ``.lpn`` file (``config.json`` and ``model.safetensors``), or
    to a Keras 3 ``.keras`` file.

    A ``.keras`` file is Keras 3's format (see ``lapenna.io.keras_write``): real Keras
    loads it with ``keras.saving.load_model`` and lapenna with ``load_model``. It holds
    the architecture and weights of a Sequential or functional model built from layers
    Keras has; anything else is refused before the file is written. The compile settings
    and optimizer state are not in it (``include_optimizer`` and ``extra`` are for
    ``.lpn``).

    Args:
        include_optimizer: also store the compile settings' optimizer state (slots and
            step count), so training resumes exactly.
        extra: a JSON-safe dict stored in the config (checkpoints keep RNG state, epoch
            and step there).
    """
    path = str(path)
    if path.endswith(".keras"):
        if extra is not None:
            raise ValueError(f"checkpoints are .lpn files (they hold training state), got {path!r}")
        _require_built(model, "save")
        save_keras_model(model, path)
        return
    if not path.endswith(".lpn"):
        raise ValueError(
            f"save: model files end in .lpn (lapenna's own) or .keras (Keras 3's), got {path!r}"
        )
    _require_built(model, "save")
    config = model_config(model)
    config["compile"] = _compile_config(model)
    config["include_optimizer"] = bool(include_optimizer)
    if extra is not None:
        config["extra"] = extra
    encoded = encode_config(config)  # refused here, before anything is written
    weights = save_bytes(
        state_arrays(model, include_optimizer), metadata={"format": "lapenna-model"}
    )
    write_archive(path, {CONFIG_NAME: encoded, WEIGHTS_NAME: weights})


def read_model_file(path, safe_mode=True, max_weight_bytes=None):
    """Read and check a ``.lpn`` file; return ``(config, arrays)`` without building.

    Args:
        max_weight_bytes: a bound on the weights entry (default ``MAX_ENTRY_BYTES``), for
            a reader that knows the model it fills.
    """
    path = str(path)
    bounds = dict(_ENTRY_BOUNDS)
    if max_weight_bytes is not None:
        bounds[WEIGHTS_NAME] = max_weight_bytes
    with open_entries(path, [CONFIG_NAME, WEIGHTS_NAME], max_entry_bytes=bounds) as found:
        zf, infos, source = found
        config = _config_entry(zf, infos[CONFIG_NAME], path, safe_mode)
        arrays = _weights_entry(zf, infos[WEIGHTS_NAME], bounds[WEIGHTS_NAME], path)
    return config, arrays


def _config_entry(zf, info, path, safe_mode):
    raw = read_entry(zf, info, _ENTRY_BOUNDS[CONFIG_NAME], path)
    try:
        config = loads_config(raw.decode("utf-8"), safe_mode=safe_mode)
    except UnicodeDecodeError as err:
        raise FormatError(f"{path}: {CONFIG_NAME} is not UTF-8 text") from err
    except FormatError as err:
        raise FormatError(f"{path}: {CONFIG_NAME}: {err}") from None
    check_model_config(config, path)
    return config


def _weights_entry(zf, info, bound, path):
    raw = read_entry(zf, info, bound, path)
    return load_bytes(raw, name=f"{path}:{WEIGHTS_NAME}")


def build_model(config, custom_objects=None, safe_mode=True, source="config", max_bytes=None):
    """Create the model a config describes (through the layer registry) and build it.

    Args:
        source: the file's name for error messages.
        max_bytes: the most bytes of weights building may allocate (a loader passes the
            bytes the file holds, so a config cannot make it allocate more than that).

    Raises:
        FormatError: naming ``source`` when the config cannot be built or declares more
            weights than ``max_bytes``; nothing larger is allocated first.
    """
    check_safe(config["model"], safe_mode=safe_mode)
    budget = B.weight_budget(max_bytes) if max_bytes is not None else contextlib.nullcontext()
    try:
        with budget:
            model = get_registry("layers").deserialize(config["model"], custom_objects)
            shape = _shape_from_json(config.get("build_input_shape"))
            if not model.weights and shape is not None:
                model.build(shape)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as err:
        if isinstance(err, FormatError):
            raise
        raise FormatError(f"{source}: config.json: 'model' cannot be built: {err}") from None
    return model


def load_model(path, compile=True, custom_objects=None, safe_mode=True):  # noqa: A002
    """Rebuild a model from a ``.lpn`` file: architecture, weights, compile settings and
    (when saved) optimizer state.

    Loading is closed: class names resolve only through lapenna's registries (plus
    ``custom_objects``); a Lambda or any callable is refused unless ``safe_mode=False``.
    A Keras 3 ``.keras`` archive or a Keras ``.h5`` model file is read by
    ``load_keras_model`` (architecture and weights; not the compile settings): CNNs, and
    sequence models with Embedding (``mask_zero``), Masking, SimpleRNN, LSTM, GRU (both
    ``reset_after``), Bidirectional (every merge mode), TimeDistributed, RNN over a list
    of cells, Conv1D, MultiHeadAttention, Attention and LayerNormalization, predicting
    what Keras predicts. Keras arguments that change nothing are dropped; one that would
    change the computation, an explicit mask input, or a mask lapenna's layers would drop
    or ignore is refused with an error naming the layer and the argument.
    """
    if is_keras_model_file(path):
        return load_keras_model(path)
    # the config first; then the weights entry, inflated only up to what the model built
    # from the config needs (a bomb declaring gigabytes for a small model is refused unread)
    with open_entries(path, [CONFIG_NAME, WEIGHTS_NAME], max_entry_bytes=_ENTRY_BOUNDS) as found:
        zf, infos, _ = found
        config = _config_entry(zf, infos[CONFIG_NAME], str(path), safe_mode)
        declared = infos[WEIGHTS_NAME].file_size  # building allocates no more than this
        model = build_model(config, custom_objects, safe_mode, str(path), declared + _BUILD_SLACK)
        bound = min(_file_bound(model), _ENTRY_BOUNDS[WEIGHTS_NAME])
        arrays = _weights_entry(zf, infos[WEIGHTS_NAME], bound, str(path))
    weights = {k[len(MODEL_PREFIX) :]: v for k, v in arrays.items() if k.startswith(MODEL_PREFIX)}
    pairs = _check_arrays(model, weights, str(path))
    _assign(pairs, str(path))
    compiled = config.get("compile")
    if compile and compiled:
        try:
            _compile_from_config(model, compiled, custom_objects)
        except (ValueError, TypeError, KeyError) as err:
            raise FormatError(f"{path}: config.json: 'compile' cannot be used: {err}") from None
        opt_state = {
            k[len(OPTIMIZER_PREFIX) :]: v
            for k, v in arrays.items()
            if k.startswith(OPTIMIZER_PREFIX)
        }
        if opt_state:
            opt_state = _optimizer_state(model, model.optimizer, opt_state, path)
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
    config, arrays = read_model_file(path, max_weight_bytes=_file_bound(model))
    extra = config.get("extra") or {}
    weights = {k[len(MODEL_PREFIX) :]: v for k, v in arrays.items() if k.startswith(MODEL_PREFIX)}
    pairs = _check_arrays(model, weights, str(path))
    opt_state = {
        k[len(OPTIMIZER_PREFIX) :]: v for k, v in arrays.items() if k.startswith(OPTIMIZER_PREFIX)
    }
    optimizer = getattr(model, "optimizer", None)
    if opt_state and optimizer is not None:
        opt_state = _optimizer_state(model, optimizer, opt_state, path)
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
    _assign(pairs, str(path))
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
        h5.attrs["layer_names"] = [name.encode() for name in layers]
        for name, own in layers.items():
            group = h5.create_group(name)
            group.attrs["weight_names"] = [w.path.encode() for w in own]
            for w in own:
                group.create_dataset(w.path, data=w.numpy())


def _layers_with_weights(model):
    """``{layer name: [its weights]}`` in model order, from the layer-name paths."""
    layers = {}
    for w in model.weight_paths(by_name=True).values():
        layers.setdefault(w.path.partition("/")[0], []).append(w)
    return layers


def _keras3_weight_layers(model):
    """``[(key, class name, layer)]`` in Keras's ``model.layers`` order when every layer
    holds its weights where Keras 3's weight file puts them (the writer's condition),
    else None."""
    if not hasattr(model, "layers") or not hasattr(model, "export_graph"):
        return None
    layers = keras_weight_layers(model)
    if layers is None:
        return None
    try:
        keras_weight_groups(layers)
    except ValueError:
        return None
    return layers


def _keras3_groups(model, entries):
    """``{file path: (label, [variables])}`` when every layer the file names is a Keras 3
    key of one of the model's layers (``conv2d``, ``lstm/cell``,
    ``bidirectional/forward_layer/cell``), else None. Layers are keyed in Keras's
    ``model.layers`` order (``keras_weight_layers``: a functional model's order is Keras's
    by depth, not the order of creation), sub-layers by attribute (``keras3_weight_groups``)."""
    layers = None
    if hasattr(model, "layers") and hasattr(model, "export_graph"):
        layers = keras_weight_layers(model)
    if layers is None:  # a model Keras lays out differently: number its layers in order
        own = getattr(model, "layers", [])
        classes = [type(x).__name__ for x in own]
        layers = list(zip(keras3_layer_keys(classes), classes, own))
    groups = {}
    for key, _, layer in layers:
        if key is None or layer is None:
            continue
        for path, weights in keras3_weight_groups(layer):
            if weights:
                label = f"{layer.name} ({path})" if path else layer.name
                groups["/".join(p for p in (key, path) if p)] = (label, weights)
    if not entries or any(name not in groups for name, _ in entries):
        return None
    return groups


def load_keras_weights(model, path, by_name=False, skip_mismatch=False):
    """Fill a lapenna model from a Keras ``.h5`` / ``.weights.h5`` file (or one written by
    ``save_weights(... .h5)``), matching layers with weights by order or by name.

    Keras and lapenna share weight layouts (Dense ``(in, out)``, Conv2D
    ``(kh, kw, in, out)``, BatchNormalization ``[gamma, beta, mean, variance]``, a
    recurrent cell's ``kernel, recurrent_kernel, bias``...), so arrays go in as they are,
    after every shape is checked. A Keras 3 file keys layers by class (``lstm_1``) and
    sub-layers by attribute (``bidirectional/forward_layer/cell``, ``rnn/cell/cells/
    gru_cell``, ``multi_head_attention/query_dense``): see ``keras3_weight_groups``.
    """
    found = read_keras_weights(str(path), max_bytes=_file_bound(model))
    entries = [(name, arrays) for name, arrays in found if arrays]
    layers = list(_layers_with_weights(model).items())
    if by_name:
        found = dict(entries)
        matched = [(layer, found.get(layer[0])) for layer in layers]
    elif (groups := _keras3_groups(model, entries)) is not None:
        # Keras 3 files key layers by class (``conv2d``, ``dense_1``), sub-layers by
        # attribute (``lstm/cell``), listed by name
        found = dict(entries)
        matched = [(group, found.get(path)) for path, group in groups.items()]
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
            raise FormatError(f"{path}: no weights for layer {layer[0]!r}")
        own = layer[1]
        shapes_ok = len(arrays) == len(own) and all(
            tuple(a.shape) == w.shape for a, w in zip(arrays, own)
        )
        if not shapes_ok:
            if skip_mismatch:
                continue
            raise FormatError(
                f"{path}: layer {layer[0]!r} expects weights "
                f"{[w.shape for w in own]}, the file has {[tuple(a.shape) for a in arrays]}"
            )
        pairs.extend((w, np.asarray(a).astype(w.dtype)) for w, a in zip(own, arrays))
    _assign(pairs, str(path))
    return model


# -- whole Keras model files ----------------------------------------------------------------
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_KERAS_WEIGHTS_ENTRY = "model.weights.h5"
MAX_KERAS_ARCHIVE_ENTRY = 2**33


def is_keras_model_file(path):
    """A Keras 3 ``.keras`` zip (``config.json`` and ``model.weights.h5``) or an HDF5 file.
    Only a regular file is opened (a FIFO would block): anything else is left to lapenna's
    own reader, which refuses it by name."""
    if not os.path.isfile(path):
        return False
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
    except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError):
        # not a readable zip: lapenna's own reader names what is wrong with the file
        return False
    return {"config.json", _KERAS_WEIGHTS_ENTRY} <= names


def load_keras_model(path):
    """Build a lapenna model from a Keras 3 ``.keras`` archive or a Keras ``.h5`` model
    file: the architecture through ``model_from_keras_json`` (registered classes only,
    nothing imported or called), then the weights through ``load_keras_weights``. What
    loads is listed in ``load_model``'s docstring.

    Raises:
        FormatError: not a Keras model file, an entry too large, or what the architecture
            or weight readers refuse.
    """
    path = str(path)
    with open(path, "rb") as f:
        is_hdf5 = f.read(8) == _HDF5_SIGNATURE
    if is_hdf5:
        config = read_keras_model_config(path)
        if config is None:
            raise FormatError(
                f"{path}: an HDF5 file without 'model_config' (a weights file: build the "
                "model, then model.load_weights(path))"
            )
        return load_keras_weights(_keras_model(config, path), path)
    # the config first, then the weights entry, copied to a file in chunks and only up to
    # what the model built from the config can need
    bounds = {"config.json": MAX_CONFIG_BYTES, _KERAS_WEIGHTS_ENTRY: MAX_KERAS_ARCHIVE_ENTRY}
    with open_entries(path, list(bounds), max_entry_bytes=bounds) as (zf, infos, _):
        config = read_entry(zf, infos["config.json"], MAX_CONFIG_BYTES, path)
        model = _keras_model(config, path)
        bound = min(_keras_file_bound(model), MAX_KERAS_ARCHIVE_ENTRY)
        with tempfile.TemporaryDirectory() as folder:
            weights = os.path.join(folder, _KERAS_WEIGHTS_ENTRY)
            with open(weights, "wb") as out:
                copy_entry(zf, infos[_KERAS_WEIGHTS_ENTRY], bound, path, out)
            return load_keras_weights(model, weights)


def _keras_model(config, path):
    """``model_from_keras_json`` on a file's config, every refusal a FormatError naming
    the file (a config that does not describe a model lapenna can build included)."""
    try:
        return model_from_keras_json(config)
    except FormatError as err:
        raise FormatError(f"{path}: {err}") from None
    except (ValueError, TypeError, KeyError, IndexError, RecursionError, UnicodeError) as err:
        raise FormatError(f"{path}: the model config cannot be built ({err})") from None


def _keras_file_bound(model):
    """``_file_bound`` plus HDF5's own bytes: Keras writes a few groups for every layer,
    weights or not (about 2.4 KB a layer measured; 16 KiB allowed)."""
    return _file_bound(model) + (1 << 14) * (len(_all_layers(model)) + 1)


def _all_layers(model):
    found, stack = [], list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        found.append(layer)
        stack.extend(getattr(layer, "layers", []) or [])
    return found
