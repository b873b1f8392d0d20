"""ONNX converters for the sequence layers: SimpleRNN, LSTM and GRU become ONNX's ``RNN``,
``LSTM`` and ``GRU`` operators, Bidirectional their ``direction="bidirectional"`` form,
and Embedding a ``Gather``.

Layouts: ONNX runs time-major (``X (time, batch, features)``), wants weights as
``W (directions, gates * units, features)`` and ``R (directions, gates * units, units)``
and one bias ``B (directions, 2 * gates * units)`` holding the input then the recurrent
bias. Keras's LSTM gates are ``i, f, c, o``, ONNX's ``i, o, f, c``; GRU gates are ``z, r,
h`` in both, and Keras's ``reset_after=True`` is ONNX's ``linear_before_reset=1``.
``go_backwards`` reverses the input and keeps the outputs in processing order, as Keras
does; ONNX's own reverse direction aligns outputs with the input instead, so a forward
pass over the reversed input is used. Masks are not exported (they are data, not
weights), so ``Embedding(mask_zero=True)``, ``Masking`` and stateful layers are refused.
"""

from lapenna.backend import host_np as np
from lapenna.io.onnx_graph import Value, converter
from lapenna.io.onnx_layers import activation_name
from lapenna.utils import get_registry

_ONNX_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
_OPS = {"SimpleRNN": ("RNN", 1), "LSTM": ("LSTM", 4), "GRU": ("GRU", 3)}
_INT64_MIN = -(2**63)


def _kind(layer):
    return get_registry("layers").name_of(layer)


def check_recurrent(layer, input_shapes):
    """Why ``layer`` (or a Bidirectional's inner layer) cannot be exported, or None."""
    if len(input_shapes) > 1:
        return "initial states given as inputs are not exported"
    inner = (
        [layer.forward_layer, layer.backward_layer] if _kind(layer) == "Bidirectional" else [layer]
    )
    for sub in inner:
        if _kind(sub) not in _OPS:
            return f"{_kind(sub)} inside a recurrent wrapper has no ONNX converter"
        if sub.return_state or sub.stateful:
            return "return_state and stateful recurrent layers are not exported"
        cell = sub.cell
        names = [activation_name(cell.activation)]
        if _kind(sub) != "SimpleRNN":
            names.append(activation_name(cell.recurrent_activation))
        bad = [n for n in names if n not in _ONNX_ACTIVATIONS]
        if bad:
            return f"activation {bad[0]!r} has no ONNX recurrent counterpart"
    if _kind(layer) == "Bidirectional":
        if layer.merge_mode not in ("concat", "sum", "ave", "mul"):
            return f"Bidirectional merge_mode {layer.merge_mode!r} is not exported"
        if layer.forward_layer.go_backwards or not layer.backward_layer.go_backwards:
            return "Bidirectional is exported with a forward layer and its go_backwards copy"
    return None


def _weights(layer):
    """``(W, R, B)`` of one direction in ONNX's layouts."""
    kind, cell = _kind(layer), layer.cell
    units = cell.units
    kernel, recurrent = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    gates = _OPS[kind][1]
    bias_in = np.zeros(gates * units, kernel.dtype)
    bias_rec = np.zeros(gates * units, kernel.dtype)
    if cell.bias is not None:
        b = cell.bias.numpy()
        if kind == "GRU" and cell.reset_after:
            bias_in, bias_rec = b[0], b[1]
        else:
            bias_in = b
    if kind == "LSTM":  # Keras i, f, c, o -> ONNX i, o, f, c
        order = np.concatenate([np.arange(units) + k * units for k in (0, 3, 1, 2)])
        kernel, recurrent, bias_in = kernel[:, order], recurrent[:, order], bias_in[order]
        bias_rec = bias_rec[order]
    return kernel.T, recurrent.T, np.concatenate([bias_in, bias_rec])


def _attributes(layer):
    kind, cell = _kind(layer), layer.cell
    names = [_ONNX_ACTIVATIONS[activation_name(cell.activation)]]
    if kind == "SimpleRNN":
        return {"activations": names}
    gate = _ONNX_ACTIVATIONS[activation_name(cell.recurrent_activation)]
    if kind == "LSTM":
        return {"activations": [gate, names[0], names[0]]}
    return {"activations": [gate, names[0]], "linear_before_reset": int(cell.reset_after)}


def _run(g, layers_, x_time_major, base):
    """One ONNX recurrent node over ``layers_`` (one, or forward and backward); returns the
    names of ``Y (time, directions, batch, units)`` and ``Y_h (directions, batch, units)``."""
    layer = layers_[0]
    op = _OPS[_kind(layer)][0]
    parts = [_weights(sub) for sub in layers_]
    w = g.constant(np.stack([p[0] for p in parts]), f"{base}/W")
    r = g.constant(np.stack([p[1] for p in parts]), f"{base}/R")
    b = g.constant(np.stack([p[2] for p in parts]), f"{base}/B")
    y, y_h = g.fresh(f"{base}/Y"), g.fresh(f"{base}/Y_h")
    outputs = [y, y_h] + ([g.fresh(f"{base}/Y_c")] if op == "LSTM" else [])
    direction = "bidirectional" if len(layers_) == 2 else "forward"
    attributes = _attributes(layer)
    attributes["activations"] = attributes["activations"] * len(layers_)  # per direction
    node = g._onnx.helper.make_node(
        op,
        [x_time_major, w, r, b],
        outputs,
        name=g.fresh(f"{base}/{op}_node"),
        hidden_size=layer.cell.units,
        direction=direction,
        **attributes,
    )
    g.nodes.append(node)
    return y, y_h


def _reverse_time(g, x, base):
    starts, ends = g.int64s([-1], f"{base}/start"), g.int64s([_INT64_MIN], f"{base}/end")
    axes, steps = g.int64s([0], f"{base}/axis"), g.int64s([-1], f"{base}/step")
    return g.add("Slice", [x, starts, ends, axes, steps], base)


@converter("SimpleRNN", "LSTM", "GRU", check=check_recurrent)
def recurrent(g, layer, inputs, output_shapes):
    base = layer.name
    x = g.add("Transpose", [g.channels_last(inputs[0])], base, perm=[1, 0, 2])
    if layer.go_backwards:
        x = _reverse_time(g, x, base)
    y, y_h = _run(g, [layer], x, base)
    if layer.return_sequences:  # (time, 1, batch, units) -> (batch, time, units)
        squeezed = g.add("Squeeze", [y, g.int64s([1], f"{base}/dir_axis")], base)
        out = g.add("Transpose", [squeezed], base, perm=[1, 0, 2])
    else:
        out = g.add("Squeeze", [y_h, g.int64s([0], f"{base}/dir_axis")], base)
    return [Value(output_shapes[0], out)]


@converter("Bidirectional", check=check_recurrent)
def bidirectional(g, layer, inputs, output_shapes):
    base = layer.name
    x = g.add("Transpose", [g.channels_last(inputs[0])], base, perm=[1, 0, 2])
    y, y_h = _run(g, [layer.forward_layer, layer.backward_layer], x, base)
    if layer.return_sequences:  # (time, 2, batch, units) -> (batch, time, 2, units)
        both = g.add("Transpose", [y], base, perm=[2, 0, 1, 3])
        split_axis = 2
    else:  # (2, batch, units) -> (batch, 2, units)
        both = g.add("Transpose", [y_h], base, perm=[1, 0, 2])
        split_axis = 1
    if layer.merge_mode == "concat":
        shape = [0, 0, -1] if layer.return_sequences else [0, -1]
        out = g.add("Reshape", [both, g.int64s(shape, f"{base}/shape")], base)
        return [Value(output_shapes[0], out)]
    if layer.merge_mode == "mul":
        out = g.reduce("ReduceProd", both, [split_axis], 0, base)
    else:  # ReduceSum takes its axes as an input from opset 13 on
        axes = g.int64s([split_axis], f"{base}/axes")
        out = g.add("ReduceSum", [both, axes], base, keepdims=0)
    if layer.merge_mode == "ave":
        out = g.add("Mul", [out, g.scalar(0.5, f"{base}/half")], base)
    return [Value(output_shapes[0], out)]


def _check_embedding(layer, input_shapes):
    if layer.mask_zero:
        return "Embedding(mask_zero=True): masks are not exported"
    return None


@converter("Embedding", check=_check_embedding)
def embedding(g, layer, inputs, output_shapes):
    table = g.constant(layer.embeddings.numpy(), f"{layer.name}/embeddings")
    ids = g.add("Cast", [g.channels_last(inputs[0])], layer.name, to=7)  # int64
    return [Value(output_shapes[0], g.add("Gather", [table, ids], layer.name, axis=0))]
