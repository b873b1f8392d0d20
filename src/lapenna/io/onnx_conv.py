"""ONNX converters for the spatial layers: convolutions, pooling, normalization, resampling.

ONNX's Conv, ConvTranspose, pooling and BatchNormalization operators take channels-first
tensors, so these converters ask for the channels-first form of their input and return
channels-first values (see ``onnx_graph``). Kernels go from Keras layouts to ONNX's
``(out, in / groups, *window)``. Padding is always explicit: lapenna's ``"same"`` (the
TensorFlow rule, the odd extra row or column at the bottom/right) becomes ONNX ``pads``
computed from the known input size.

BatchNormalization is exported as the ONNX BatchNormalization operator in inference mode
with the moving statistics (the exact computation lapenna does at inference time);
runtimes such as onnxruntime fold it into the preceding convolution when they optimize.
"""

from lapenna.backend import host_np as np
from lapenna.io.onnx_graph import (
    Value,
    channels_first,
    converter,
    onnx_pads,
    pads_for,
)
from lapenna.io.onnx_layers import apply_activation, check_activation
from lapenna.utils import get_registry


def check_conv(layer, input_shapes):
    if _auto_pad_needed(layer.padding, input_shapes[0][1:-1], layer.strides) and any(
        d > 1 for d in layer.dilation_rate
    ):
        return (
            f"input shape {tuple(input_shapes[0])} has unknown sizes, and with strides "
            "and dilation together the ONNX pads depend on them"
        )
    return check_activation(layer, input_shapes)


def check_conv_transpose(layer, input_shapes):
    unknown = any(d is None for d in input_shapes[0][1:-1])
    if unknown and layer.padding == "same" and layer.output_padding is not None:
        return (
            f"input shape {tuple(input_shapes[0])} has unknown sizes, and with "
            "output_padding the ONNX pads depend on them"
        )
    return check_activation(layer, input_shapes)


def _auto_pad_needed(padding, size, strides):
    """Whether "same" pads depend on a size that is unknown (strides above 1)."""
    return padding == "same" and any(n is None and s > 1 for n, s in zip(size, strides))


def padding_attributes(padding, size, window, strides, dilation, owner):
    """``pads``, or for "same" with strides over unknown sizes ``auto_pad="SAME_UPPER"``:
    the same rule (the extra padding at the end), applied by the runtime."""
    if _auto_pad_needed(padding, size, strides):
        return {"auto_pad": "SAME_UPPER"}
    return {"pads": onnx_pads(pads_for(padding, size, window, strides, dilation, owner))}


def _onnx_kernel(kernel):
    """Keras ``(*window, in, out)`` -> ONNX ``(out, in, *window)``."""
    rank = kernel.ndim - 2
    return np.transpose(kernel, (rank + 1, rank, *range(rank)))


def _conv_node(g, layer, x_name, kernel, bias, input_shape, groups=1, base=None):
    base = base or layer.name
    padding = padding_attributes(
        layer.padding,
        input_shape[1:-1],
        layer.kernel_size,
        layer.strides,
        layer.dilation_rate,
        layer.name,
    )
    inputs = [x_name, g.constant(kernel, f"{base}/kernel")]
    if bias is not None:
        inputs.append(g.constant(bias, f"{base}/bias"))
    return g.add(
        "Conv",
        inputs,
        base,
        kernel_shape=list(kernel.shape[2:]),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        group=groups,
        **padding,
    )


def _finish(g, layer, out, shape):
    value = Value(shape, out, channels_first(len(shape)))
    return [apply_activation(g, value, layer.activation, layer.name)]


@converter("Conv1D", "Conv2D", "Conv3D", check=check_conv)
def conv(g, layer, inputs, output_shapes):
    (x,) = inputs
    kernel = _onnx_kernel(layer.kernel.numpy())
    bias = None if layer.bias is None else layer.bias.numpy()
    out = _conv_node(g, layer, g.channels_first(x), kernel, bias, x.shape, layer.groups)
    return _finish(g, layer, out, output_shapes[0])


def _depthwise_kernel(kernel):
    """``(kh, kw, in, multiplier)`` -> ONNX ``(in * multiplier, 1, kh, kw)``; output
    channel ``c * multiplier + m`` is input channel ``c`` under kernel ``m``, as in
    lapenna."""
    kh, kw, channels, multiplier = kernel.shape
    return _onnx_kernel(kernel.reshape(kh, kw, 1, channels * multiplier))


@converter("DepthwiseConv2D", check=check_conv)
def depthwise_conv(g, layer, inputs, output_shapes):
    (x,) = inputs
    kernel = _depthwise_kernel(layer.kernel.numpy())
    bias = None if layer.bias is None else layer.bias.numpy()
    out = _conv_node(g, layer, g.channels_first(x), kernel, bias, x.shape, x.shape[-1])
    return _finish(g, layer, out, output_shapes[0])


@converter("SeparableConv2D", check=check_conv)
def separable_conv(g, layer, inputs, output_shapes):
    """A depthwise Conv (group = channels) then a 1x1 Conv with the bias."""
    (x,) = inputs
    depthwise = _depthwise_kernel(layer.depthwise_kernel.numpy())
    middle = _conv_node(
        g,
        layer,
        g.channels_first(x),
        depthwise,
        None,
        x.shape,
        x.shape[-1],
        base=f"{layer.name}/depthwise",
    )
    pointwise = _onnx_kernel(layer.pointwise_kernel.numpy())
    inputs = [middle, g.constant(pointwise, f"{layer.name}/pointwise_kernel")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.numpy(), f"{layer.name}/bias"))
    out = g.add("Conv", inputs, f"{layer.name}/pointwise", kernel_shape=[1, 1])
    return _finish(g, layer, out, output_shapes[0])


@converter("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", check=check_conv_transpose)
def conv_transpose(g, layer, inputs, output_shapes):
    """ONNX ConvTranspose with explicit pads chosen so that the output is lapenna's.

    The full transposed convolution has ``(n - 1) * stride + span`` positions; lapenna
    keeps ``out`` of them starting at the front pad that "same" padding gives a
    convolution from ``out`` back to ``n``. What is left at the end is cut by ``pads``
    or, when the output is longer than the full result, added by ``output_padding``.
    """
    (x,) = inputs
    pads, extra = [], []
    for axis, n in enumerate(x.shape[1:-1]):
        before, rest = _transpose_crop(layer, axis, n, output_shapes[0][1 + axis])
        pads.append((before, max(rest, 0)))
        extra.append(max(-rest, 0))
    # Keras (*window, out, in) -> ONNX (in, out, *window)
    names = [
        g.channels_first(x),
        g.constant(_onnx_kernel(layer.kernel.numpy()), f"{layer.name}/kernel"),
    ]
    if layer.bias is not None:
        names.append(g.constant(layer.bias.numpy(), f"{layer.name}/bias"))
    out = g.add(
        "ConvTranspose",
        names,
        layer.name,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=onnx_pads(pads),
        output_padding=extra,
    )
    return _finish(g, layer, out, output_shapes[0])


def _transpose_crop(layer, axis, n, out):
    """``(front, rest)``: positions cut from the full transposed convolution at the front,
    and at the end (negative: added). Without ``output_padding`` neither depends on
    ``n``, so unknown sizes are fine."""
    span = (layer.kernel_size[axis] - 1) * layer.dilation_rate[axis] + 1
    stride = layer.strides[axis]
    output_padding = None if layer.output_padding is None else layer.output_padding[axis]
    if layer.padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return 0, -extra
    if output_padding is None:  # out = n * stride
        total = max(span - stride, 0)
        return total // 2, span - stride - total // 2
    ((front, _),) = pads_for("same", [out], [span], [stride], [1], layer.name)
    return front, (n - 1) * stride + span - front - out


# -- pooling -------------------------------------------------------------------------------
def check_pool(layer, input_shapes):
    if getattr(layer, "return_indices", False):
        return "return_indices=True (argmax outputs) has no ONNX converter here"
    return None


@converter(
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    check=check_pool,
)
def pool(g, layer, inputs, output_shapes):
    (x,) = inputs
    ones = (1,) * len(layer.pool_size)
    attributes = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides)}
    attributes.update(
        padding_attributes(
            layer.padding, x.shape[1:-1], layer.pool_size, layer.strides, ones, layer.name
        )
    )
    if get_registry("layers").name_of(layer).startswith("Max"):
        op = "MaxPool"
    else:
        # "same" averages divide by the real values in the window, as lapenna and TF do
        op, attributes["count_include_pad"] = "AveragePool", 0
    out = g.add(op, [g.channels_first(x)], layer.name, **attributes)
    return [Value(output_shapes[0], out, channels_first(x.rank))]


@converter(
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
)
def global_pool(g, layer, inputs, output_shapes):
    """A mean or maximum over the spatial axes, in whatever form the input has."""
    (x,) = inputs
    perm, name = x.first_form()
    spatial = range(1, x.rank - 1)
    op = "ReduceMean" if "Average" in get_registry("layers").name_of(layer) else "ReduceMax"
    keepdims = int(bool(layer.keepdims))
    out = g.reduce(op, name, [perm.index(a) for a in spatial], keepdims, layer.name)
    if keepdims:
        return [Value(output_shapes[0], out, perm)]
    # the axes left, renumbered: e.g. NCHW reduced over H and W is (N, C)
    kept = [a for a in perm if a not in spatial]
    rank_of = {a: i for i, a in enumerate(sorted(kept))}
    return [Value(output_shapes[0], out, [rank_of[a] for a in kept])]


# -- normalization -------------------------------------------------------------------------
@converter("BatchNormalization")
def batch_norm(g, layer, inputs, output_shapes):
    (x,) = inputs
    axis = layer.axis % x.rank
    perm = (0, axis, *(a for a in range(1, x.rank) if a != axis))
    channels = x.shape[axis]

    def weight(variable, fill, label):
        array = np.full(channels, fill) if variable is None else variable.numpy()
        return g.constant(array, f"{layer.name}/{label}")

    names = [
        g.form(x, perm),
        weight(layer.gamma, 1.0, "gamma"),
        weight(layer.beta, 0.0, "beta"),
        weight(layer.moving_mean, 0.0, "moving_mean"),
        weight(layer.moving_variance, 1.0, "moving_variance"),
    ]
    out = g.add("BatchNormalization", names, layer.name, epsilon=float(layer.epsilon))
    return [Value(output_shapes[0], out, perm)]


@converter("LayerNormalization")
def layer_norm(g, layer, inputs, output_shapes):
    """Composed from reductions (one ONNX LayerNormalization op needs opset 17 and
    trailing axes): ``(x - mean) / sqrt(variance + epsilon) * gamma + beta``."""
    (x,) = inputs
    perm, name = x.first_form()
    axes = [perm.index(a) for a in layer.normalized_axes]
    base = layer.name
    mean = g.reduce("ReduceMean", name, axes, 1, base)
    centred = g.add("Sub", [name, mean], base)
    variance = g.reduce("ReduceMean", g.add("Mul", [centred, centred], base), axes, 1, base)
    shifted = g.add("Add", [variance, g.scalar(layer.epsilon, f"{base}/epsilon")], base)
    out = g.add("Div", [centred, g.add("Sqrt", [shifted], base)], base)
    shape = [x.shape[a] if a in layer.normalized_axes else 1 for a in range(x.rank)]
    for weight, op in ((layer.gamma, "Mul"), (layer.beta, "Add")):
        if weight is not None:
            array = np.transpose(weight.numpy().reshape(shape), perm)
            out = g.add(op, [out, g.constant(array, f"{base}/{weight.name}")], base)
    return [Value(output_shapes[0], out, perm)]


# -- resampling and borders ----------------------------------------------------------------
@converter("UpSampling1D", "UpSampling2D", "UpSampling3D")
def upsampling(g, layer, inputs, output_shapes):
    """Resize: "nearest" repeats each value (asymmetric coordinates, floor), "bilinear"
    interpolates with half-pixel centres, like lapenna's upsampling."""
    (x,) = inputs
    bilinear = getattr(layer, "interpolation", "nearest") == "bilinear"
    if bilinear:
        perm, name = channels_first(x.rank), g.channels_first(x)
        modes = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    else:
        perm, name = x.first_form()
        modes = {
            "mode": "nearest",
            "coordinate_transformation_mode": "asymmetric",
            "nearest_mode": "floor",
        }
    logical = [1.0, *layer.size, 1.0]
    scales = g.constant(np.array([logical[a] for a in perm], np.float32), f"{layer.name}/scales")
    out = g.add("Resize", [name, "", scales], layer.name, **modes)
    return [Value(output_shapes[0], out, perm)]


@converter("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D")
def zero_padding(g, layer, inputs, output_shapes):
    (x,) = inputs
    perm, name = x.first_form()
    logical = [(0, 0), *layer.padding, (0, 0)]
    pads = g.int64s(onnx_pads([logical[a] for a in perm]), f"{layer.name}/pads")
    out = g.add("Pad", [name, pads], layer.name, mode="constant")
    return [Value(output_shapes[0], out, perm)]


@converter("Cropping1D", "Cropping2D", "Cropping3D")
def cropping(g, layer, inputs, output_shapes):
    (x,) = inputs
    perm, name = x.first_form()
    axes = list(range(1, x.rank - 1))
    starts = [b for b, _ in layer.cropping]
    # a negative end counts from the end, so unknown sizes are fine
    ends = [-a if a else np.iinfo(np.int64).max for _, a in layer.cropping]
    out = g.add(
        "Slice",
        [
            name,
            g.int64s(starts, f"{layer.name}/starts"),
            g.int64s(ends, f"{layer.name}/ends"),
            g.int64s([perm.index(a) for a in axes], f"{layer.name}/axes"),
        ],
        layer.name,
    )
    return [Value(output_shapes[0], out, perm)]
