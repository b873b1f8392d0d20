"""``export_onnx``: write a lapenna model as an ONNX file that onnxruntime can run.

The model is read through ``model.export_graph()`` (plain data: layer calls and numbered
tensors), so this room never imports ``models`` or ``layers``: each layer is dispatched
on its registered class name to a converter in ``onnx_layers`` or ``onnx_conv`` that
reads its public attributes and weights. Nested models are inlined. Inputs and outputs
keep lapenna's channels-last layout; inside, tensors switch to channels first only where
ONNX operators need it (see ``onnx_graph``).
"""

from lapenna.backend import floatx
from lapenna.backend import host_np as np
from lapenna.io import onnx_conv, onnx_layers, onnx_recurrent  # noqa: F401 - they register the converters
from lapenna.io.atomic import atomic_write
from lapenna.io.onnx_graph import CONVERTERS, OnnxGraph, Value
from lapenna.utils import get_registry
from lapenna.utils.version import __version__

MIN_OPSET, MAX_OPSET = 13, 21


def export_onnx(model, path, opset=17, dynamic_batch=True):
    """Write ``model`` to ``path`` in ONNX format, checked by ``onnx.checker``.

    The ONNX model takes and returns channels-last (NHWC) tensors named after the model's
    input and output layers, in the model's float dtype. Dropout and noise layers are
    identities; BatchNormalization uses its moving statistics (inference mode). A float64
    model gives a valid float64 file, but onnxruntime's CPU provider has no float64
    convolution or pooling kernels.

    Args:
        model: a built functional, sequential or subclassed lapenna model (a subclass
            whose ``call`` only chains layers).
        path: the ``.onnx`` file to write (atomically: a failed export leaves nothing).
        opset: the ONNX opset version, 13 to 21.
        dynamic_batch: make the batch axis symbolic (``"batch"``); otherwise it is fixed
            to the model's batch size, or 1 when that is not set.

    Returns:
        The ``onnx.ModelProto`` written.

    Raises:
        ValueError: for an opset out of range, an unbuilt model, or layers that cannot be
            exported; every such layer is listed (name and class) and nothing is written.

    Example:
        >>> import os, tempfile
        >>> import lapenna as lp
        >>> model = lp.Sequential([lp.layers.Input((4,)), lp.layers.Dense(2, "softmax")])
        >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
        >>> proto = export_onnx(model, path)
        >>> [n.op_type for n in proto.graph.node]
        ['Gemm', 'Softmax', 'Identity']
    """
    import onnx

    if not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(
            f"export_onnx: opset must be an int from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}"
        )
    if not hasattr(model, "export_graph"):
        raise TypeError(f"export_onnx expects a lapenna model, got {type(model).__name__}")
    description = model.export_graph()
    problems = unsupported_layers(description)
    if problems:
        listed = "; ".join(f"{name!r} ({cls}: {why})" for name, cls, why in problems)
        raise ValueError(
            f"export_onnx: model {model.name!r} has layers that cannot be exported to ONNX: "
            f"{listed}"
        )
    proto = _build(description, opset, dynamic_batch)
    onnx.checker.check_model(proto, full_check=True)
    with atomic_write(path) as f:
        f.write(proto.SerializeToString())
    return proto


def unsupported_layers(description):
    """``[(layer name, class name, reason)]`` for every layer that has no converter (or
    that its converter refuses), nested models included."""
    registry = get_registry("layers")
    problems = []
    for node in description["nodes"]:
        layer = node["layer"]
        cls = registry.name_of(layer)
        if hasattr(layer, "export_graph"):
            problems.extend(unsupported_layers(layer.export_graph()))
            continue
        extra = {k: v for k, v in node["kwargs"].items() if k != "training"}
        if node["args"] or extra:
            why = f"called with extra arguments {sorted(extra) or node['args']}"
        elif cls not in CONVERTERS:
            why = "no ONNX converter for this layer class"
        else:
            check = CONVERTERS[cls][1]
            why = check(layer, node["input_shapes"]) if check else None
        if why:
            problems.append((layer.name, cls, why))
    return problems


def _build(description, opset, dynamic_batch):
    inputs = description["inputs"]
    floats = [e["dtype"] for e in inputs if np.dtype(e["dtype"]).kind == "f"]
    g = OnnxGraph(opset, floats[0] if floats else floatx())
    batch = "batch" if dynamic_batch else (inputs[0]["shape"][0] or 1)
    values, graph_inputs = {}, []
    for entry in inputs:
        name = g.fresh(entry["name"])
        values[entry["id"]] = Value(entry["shape"], name)
        graph_inputs.append(g.value_info(name, entry["shape"], batch, entry["dtype"]))
    _convert_nodes(g, description, values)
    graph_outputs = []
    for entry in description["outputs"]:
        name = g.fresh(entry["name"])
        g.rename(g.channels_last(values[entry["id"]]), name)
        graph_outputs.append(g.value_info(name, entry["shape"], batch))
    return g.model(description["name"], graph_inputs, graph_outputs, __version__)


def _convert_nodes(g, description, values):
    """Add every node of ``description``; ``values`` maps tensor ids to Values."""
    registry = get_registry("layers")
    for node in description["nodes"]:
        layer = node["layer"]
        ins = [values[i] for i in node["inputs"]]
        if hasattr(layer, "export_graph"):
            outs = _inline(g, layer.export_graph(), ins)
        else:
            convert = CONVERTERS[registry.name_of(layer)][0]
            outs = convert(g, layer, ins, node["output_shapes"])
        for i, value in zip(node["outputs"], outs):
            values[i] = value


def _inline(g, inner, inputs):
    """A nested model's nodes, fed with the outer graph's values."""
    values = {entry["id"]: value for entry, value in zip(inner["inputs"], inputs)}
    _convert_nodes(g, inner, values)
    return [values[entry["id"]] for entry in inner["outputs"]]
