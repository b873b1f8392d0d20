"""ONNX converters for the core layers: Dense, activations, reshaping, merging, scaling.

Each converter reads the layer's public attributes and weights (``layer.kernel.numpy()``,
``layer.units``...) and adds ONNX nodes through :class:`OnnxGraph`; see ``onnx_graph`` for
how channels-last tensors are kept. Activation functions map to single ONNX operators
where one exists with the same definition, and to short compositions otherwise (gelu,
swish, mish), so every opset from 13 on carries them.
"""

import math

from lapenna.backend import host_np as np
from lapenna.io.onnx_graph import Value, converter, identity
from lapenna.utils import get_registry

# SELU's constants (Klambauer et al., 2017), as lapenna's selu uses them
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

_SIMPLE = {
    "relu": ("Relu", {}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "softplus": ("Softplus", {}),
    "softsign": ("Softsign", {}),
    "exponential": ("Exp", {}),
    "elu": ("Elu", {"alpha": 1.0}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.2}),
    "selu": ("Selu", {"alpha": _SELU_ALPHA, "gamma": _SELU_SCALE}),
    "hard_sigmoid": ("HardSigmoid", {"alpha": 1.0 / 6.0, "beta": 0.5}),
}
ACTIVATIONS = {*_SIMPLE, "linear", "relu6", "silu", "hard_silu", "gelu", "mish"}
ACTIVATIONS |= {"softmax", "log_softmax"}


def activation_name(fn):
    """The registered name of an activation function (``"function"`` when unregistered)."""
    return get_registry("activations").name_of(fn)


def check_activation(layer, input_shapes):
    name = activation_name(getattr(layer, "activation", None))
    if name not in ACTIVATIONS:
        return f"activation {name!r} has no ONNX converter"
    return None


def apply_activation(g, value, fn, base):
    """``fn(value)`` for a registered activation function, in the value's current form."""
    name = activation_name(fn)
    perm, x = value.first_form()
    if name == "linear":
        return value
    if name in _SIMPLE:
        op, attributes = _SIMPLE[name]
        return g.unary(value, op, base, **attributes)
    if name in ("softmax", "log_softmax"):
        op = "Softmax" if name == "softmax" else "LogSoftmax"
        return g.unary(value, op, base, axis=perm.index(value.rank - 1))
    if name == "relu6":
        out = g.add("Clip", [x, g.scalar(0, f"{base}/zero"), g.scalar(6, f"{base}/six")], base)
    elif name in ("silu", "hard_silu"):
        gate_op, attributes = ("Sigmoid", {}) if name == "silu" else _SIMPLE["hard_sigmoid"]
        out = g.add("Mul", [x, g.add(gate_op, [x], base, **attributes)], base)
    elif name == "mish":
        out = g.add("Mul", [x, g.add("Tanh", [g.add("Softplus", [x], base)], base)], base)
    else:  # gelu, the exact form: x * (erf(x / sqrt(2)) + 1) / 2
        scaled = g.add("Mul", [x, g.scalar(1 / math.sqrt(2), f"{base}/inv_sqrt2")], base)
        plus = g.add("Add", [g.add("Erf", [scaled], base), g.scalar(1, f"{base}/one")], base)
        out = g.add("Mul", [g.add("Mul", [x, plus], base), g.scalar(0.5, f"{base}/half")], base)
    return Value(value.shape, out, perm)


def in_form(array, rank, perm):
    """A constant that broadcasts against the trailing axes of a logical tensor of
    ``rank``, laid out to broadcast against its stored form ``perm`` instead."""
    full = array.reshape((1,) * (rank - array.ndim) + array.shape)
    return np.transpose(full, perm)


# -- core -----------------------------------------------------------------------------------
@converter("Dense", check=check_activation)
def dense(g, layer, inputs, output_shapes):
    (x,) = inputs
    name = g.channels_last(x)
    kernel = g.constant(layer.kernel.numpy(), f"{layer.name}/kernel")
    bias = None if layer.bias is None else g.constant(layer.bias.numpy(), f"{layer.name}/bias")
    if x.rank == 2:
        out = g.add("Gemm", [name, kernel] + ([bias] if bias else []), layer.name)
    else:
        out = g.add("MatMul", [name, kernel], layer.name)
        out = g.add("Add", [out, bias], layer.name) if bias else out
    return [apply_activation(g, Value(output_shapes[0], out), layer.activation, layer.name)]


@converter("Activation", check=check_activation)
def activation(g, layer, inputs, output_shapes):
    return [apply_activation(g, inputs[0], layer.activation, layer.name)]


@converter(
    "Identity",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
)
def passthrough(g, layer, inputs, output_shapes):
    """Layers that change nothing at inference time."""
    return [inputs[0]]


@converter("Flatten")
def flatten(g, layer, inputs, output_shapes):
    out = g.add("Flatten", [g.channels_last(inputs[0])], layer.name, axis=1)
    return [Value(output_shapes[0], out)]


@converter("Reshape")
def reshape(g, layer, inputs, output_shapes):
    target = output_shapes[0][1:]
    if any(d is None for d in target):
        target = layer.target_shape
    # 0 copies the batch size from the input, so the batch axis stays dynamic
    shape = g.int64s([0, *target], f"{layer.name}/shape")
    out = g.add("Reshape", [g.channels_last(inputs[0]), shape], layer.name)
    return [Value(output_shapes[0], out)]


@converter("Permute")
def permute(g, layer, inputs, output_shapes):
    """A relabelling: the output is the input's data seen in another axis order.

    If ``stored = x.transpose(q)`` and ``y = x.transpose(p)``, then ``stored =
    y.transpose(r)`` with ``p[r[i]] = q[i]``: no node is needed.
    """
    p = (0, *layer.dims)
    inverse = [p.index(axis) for axis in range(len(p))]
    q, name = inputs[0].first_form()
    return [Value(output_shapes[0], name, [inverse[axis] for axis in q])]


# -- merging -------------------------------------------------------------------------------
_MERGE_OPS = {"Add": "Add", "Multiply": "Mul", "Maximum": "Max", "Minimum": "Min"}


@converter("Add", "Multiply", "Maximum", "Minimum", "Subtract", "Average")
def merge(g, layer, inputs, output_shapes):
    perm, names = g.common_form(inputs)
    kind = get_registry("layers").name_of(layer)
    if kind == "Subtract":
        out = g.add("Sub", names, layer.name)
    elif kind == "Average":
        out = g.add("Mean", names, layer.name)
    else:
        out = names[0]
        for other in names[1:]:
            out = g.add(_MERGE_OPS[kind], [out, other], layer.name)
    return [Value(output_shapes[0], out, perm)]


@converter("Concatenate")
def concatenate(g, layer, inputs, output_shapes):
    perm, names = g.common_form(inputs)
    perm = perm or identity(inputs[0].rank)
    axis = perm.index(layer.axis % inputs[0].rank)
    return [Value(output_shapes[0], g.add("Concat", names, layer.name, axis=axis), perm)]


# -- activation layers ---------------------------------------------------------------------
@converter("ReLU")
def relu_layer(g, layer, inputs, output_shapes):
    """Keras's ReLU: ``max_value`` above, ``x`` over ``threshold``, a slope below."""
    (x,) = inputs
    slope, threshold, cap = layer.negative_slope, layer.threshold, layer.max_value
    if threshold == 0 and cap is None:
        if slope == 0:
            return [g.unary(x, "Relu", layer.name)]
        return [g.unary(x, "LeakyRelu", layer.name, alpha=float(slope))]
    perm, name = x.first_form()
    base = layer.name
    zero = g.scalar(0, f"{base}/zero")
    if threshold == 0:
        out = g.add("Relu", [name], base)
    else:
        above = g.add("Greater", [name, g.scalar(threshold, f"{base}/threshold")], base)
        out = g.add("Where", [above, name, zero], base)
    if cap is not None:
        out = g.add("Clip", [out, zero, g.scalar(cap, f"{base}/max_value")], base)
    if slope != 0:
        below = g.add("Sub", [g.scalar(threshold, f"{base}/threshold"), name], base)
        leak = g.add("Mul", [g.add("Relu", [below], base), g.scalar(slope, f"{base}/slope")], base)
        out = g.add("Sub", [out, leak], base)
    return [Value(x.shape, out, perm)]


@converter("LeakyReLU")
def leaky_relu_layer(g, layer, inputs, output_shapes):
    return [g.unary(inputs[0], "LeakyRelu", layer.name, alpha=float(layer.negative_slope))]


@converter("ELU")
def elu_layer(g, layer, inputs, output_shapes):
    return [g.unary(inputs[0], "Elu", layer.name, alpha=float(layer.alpha))]


@converter("PReLU")
def prelu_layer(g, layer, inputs, output_shapes):
    (x,) = inputs
    perm, name = x.first_form()
    # alpha has the shape of one sample (1 on shared axes)
    alpha = g.constant(in_form(layer.alpha.numpy(), x.rank, perm), f"{layer.name}/alpha")
    return [Value(output_shapes[0], g.add("PRelu", [name, alpha], layer.name), perm)]


@converter("Softmax")
def softmax_layer(g, layer, inputs, output_shapes):
    (x,) = inputs
    perm, name = x.first_form()
    axes = layer.axis if isinstance(layer.axis, tuple) else (layer.axis,)
    stored = [perm.index(a % x.rank) for a in axes]
    if len(stored) == 1:
        return [g.unary(x, "Softmax", layer.name, axis=stored[0])]
    # several axes at once: exp(x - logsumexp(x)) over all of them
    lse = g.reduce("ReduceLogSumExp", name, stored, 1, layer.name)
    out = g.add("Exp", [g.add("Sub", [name, lse], layer.name)], layer.name)
    return [Value(x.shape, out, perm)]


# -- preprocessing -------------------------------------------------------------------------
@converter("Rescaling")
def rescaling(g, layer, inputs, output_shapes):
    (x,) = inputs
    perm, name = x.first_form()
    scale = in_form(np.asarray(layer.scale), x.rank, perm)
    offset = in_form(np.asarray(layer.offset), x.rank, perm)
    scaled = g.add("Mul", [name, g.constant(scale, f"{layer.name}/scale")], layer.name)
    out = g.add("Add", [scaled, g.constant(offset, f"{layer.name}/offset")], layer.name)
    return [Value(output_shapes[0], out, perm)]
