"""Saving and loading: safetensors, the ``.lpn`` zip container, npz, Keras HDF5, configs.

Every reader here treats its input as hostile: sizes are bounded before anything is
allocated, names are checked before anything is opened, nothing is unpickled, imported
or called, and every refusal is a :class:`FormatError` naming the file and the problem.
Every writer is atomic (temporary file in the same folder, fsync, rename).

The model-level API (``Model.save``, ``load_model``, checkpoints) is built on:
``save_file``/``load_file``/``read_header`` (weights), ``write_archive``/``read_archive``
(the ``.lpn`` zip of ``config.json`` + ``model.safetensors``), ``dumps_config``/``encode_config``/
``loads_config``/``check_safe`` (configs), ``flatten_state``/``save_state`` (checkpoint
state), ``save_npz``/``load_npz`` and ``read_keras_weights`` (other weight files).

Interchange: ``export_onnx`` writes a model as ONNX for onnxruntime and other runtimes
(it reads the model through ``model.export_graph()``), ``model_from_keras_json``
builds a lapenna model from a Keras Sequential or functional JSON config, and
``save_keras_model`` writes a Keras 3 ``.keras`` file (``save_model`` does for a
``.keras`` name) that real Keras loads.
"""

from lapenna.io.archive import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    archive_bytes,
    read_archive,
    unsafe_name_reason,
    write_archive,
)
from lapenna.io.atomic import atomic_write
from lapenna.io.config import check_safe, dumps_config, encode_config, loads_config
from lapenna.io.errors import FormatError
from lapenna.io.keras_h5 import (
    keras3_layer_keys,
    keras3_weight_groups,
    keras_layer_order,
    read_keras_weights,
)
from lapenna.io.keras_json import model_from_keras_json
from lapenna.io.keras_write import save_keras_model
from lapenna.io.model_file import (
    load_checkpoint,
    load_keras_weights,
    load_model,
    load_weights,
    model_from_json,
    save_checkpoint,
    save_model,
    save_weights,
    to_json,
)
from lapenna.io.npz import load_npz, save_npz
from lapenna.io.onnx_export import export_onnx
from lapenna.io.safetensors import (
    Header,
    TensorInfo,
    load_bytes,
    load_file,
    read_header,
    save_bytes,
    save_file,
)
from lapenna.io.state import flatten_state, load_state, save_state, unflatten_state

__all__ = [
    "save_model",
    "load_model",
    "save_weights",
    "load_weights",
    "save_checkpoint",
    "load_checkpoint",
    "to_json",
    "model_from_json",
    "load_keras_weights",
    "export_onnx",
    "model_from_keras_json",
    "save_keras_model",
    "keras_layer_order",
    "FormatError",
    "atomic_write",
    "save_file",
    "save_bytes",
    "load_file",
    "load_bytes",
    "read_header",
    "Header",
    "TensorInfo",
    "write_archive",
    "archive_bytes",
    "read_archive",
    "unsafe_name_reason",
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "save_npz",
    "load_npz",
    "read_keras_weights",
    "keras3_layer_keys",
    "keras3_weight_groups",
    "dumps_config",
    "encode_config",
    "loads_config",
    "check_safe",
    "flatten_state",
    "unflatten_state",
    "save_state",
    "load_state",
]
