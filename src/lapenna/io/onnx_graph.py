"""The ONNX graph under construction: unique names, nodes, constants and tensor layouts.

lapenna tensors are channels-last (NHWC); ONNX's convolution, pooling and normalization
operators want channels first (NCHW). Each tensor of the exported model is a
:class:`Value`: its logical (lapenna) shape plus the ONNX names holding it in one or more
axis orders ("forms"). A form is a permutation ``perm``: the stored tensor is the logical
one transposed by ``perm`` (axis ``i`` of the stored tensor is logical axis ``perm[i]``).
A converter asks for the form it needs (:meth:`OnnxGraph.form`) and a Transpose is added
only then, once per tensor and form; elementwise operators work in whatever form their
input already has. So a chain of convolutions, normalizations and activations stays
channels first, and transposes appear only where the layout really changes (the model's
input and output, Flatten, Dense...).
"""

from lapenna.backend import host_np as np


def identity(rank):
    """The channels-last form: the logical axis order."""
    return tuple(range(rank))


def channels_first(rank):
    """``(0, rank - 1, 1, ..., rank - 2)``: NHWC stored as NCHW."""
    return (0, rank - 1, *range(1, rank - 1)) if rank > 2 else identity(rank)


class Value:
    """One logical tensor of the exported model.

    Args:
        shape: the lapenna (channels-last) shape, batch axis ``None``.
        name: the ONNX name of a tensor holding it.
        perm: the form of that tensor (default channels-last).
    """

    def __init__(self, shape, name, perm=None):
        self.shape = tuple(shape)
        self.forms = {tuple(perm) if perm is not None else identity(len(shape)): name}

    @property
    def rank(self):
        return len(self.shape)

    def first_form(self):
        """``(perm, name)`` of the form the tensor was made in."""
        return next(iter(self.forms.items()))


class OnnxGraph:
    """Collects nodes and initializers; converters add to it through these methods.

    Args:
        opset: the ONNX opset version (default domain).
        dtype: the numpy dtype of the model's floats.
    """

    def __init__(self, opset, dtype):
        import onnx

        self._onnx = onnx
        self.opset = opset
        self.dtype = np.dtype(dtype)
        self.nodes, self.initializers = [], []
        self._taken = set()

    # -- names and nodes -----------------------------------------------------------------
    def fresh(self, base):
        """A tensor or node name not used before, derived from ``base``."""
        name, k = base, 1
        while name in self._taken:
            name, k = f"{base}_{k}", k + 1
        self._taken.add(name)
        return name

    def add(self, op, inputs, base, **attributes):
        """Append one node; return the name of its output."""
        output = self.fresh(f"{base}/{op}")
        node = self._onnx.helper.make_node(
            op, list(inputs), [output], name=self.fresh(f"{base}/{op}_node"), **attributes
        )
        self.nodes.append(node)
        return output

    def rename(self, source, name):
        """An Identity node giving ``source`` the (already reserved) name ``name``."""
        self.nodes.append(self._onnx.helper.make_node("Identity", [source], [name], name=name))

    def constant(self, array, base, dtype=None):
        """An initializer holding ``array`` (floats in the model's dtype)."""
        array = np.asarray(array)
        array = array.astype(dtype or (self.dtype if array.dtype.kind == "f" else array.dtype))
        name = self.fresh(base)
        self.initializers.append(self._onnx.numpy_helper.from_array(array, name))
        return name

    def scalar(self, value, base):
        return self.constant(np.array(value, dtype=self.dtype), base)

    def int64s(self, values, base):
        return self.constant(np.array(values, dtype=np.int64), base, np.int64)

    # -- layouts -------------------------------------------------------------------------
    def form(self, value, perm):
        """The name of ``value`` stored in form ``perm``, adding one Transpose if needed."""
        perm = tuple(perm)
        if perm not in value.forms:
            have, name = value.first_form()
            order = [have.index(axis) for axis in perm]
            value.forms[perm] = self.add("Transpose", [name], name, perm=order)
        return value.forms[perm]

    def channels_last(self, value):
        return self.form(value, identity(value.rank))

    def channels_first(self, value):
        return self.form(value, channels_first(value.rank))

    def common_form(self, values):
        """One form for several values of one rank: the first one's; ``(perm, names)``."""
        perm, _ = values[0].first_form()
        if any(v.rank != len(perm) for v in values):
            perm = None
        if perm is None:
            return None, [self.channels_last(v) for v in values]
        return perm, [self.form(v, perm) for v in values]

    def unary(self, value, op, base, shape=None, **attributes):
        """An elementwise op applied in the form ``value`` already has."""
        perm, name = value.first_form()
        return Value(shape or value.shape, self.add(op, [name], base, **attributes), perm)

    def reduce(self, op, name, axes, keepdims, base):
        """``Reduce*`` over stored ``axes``: an attribute before opset 18, an input since."""
        axes = [int(a) for a in axes]
        if self.opset >= 18:
            return self.add(op, [name, self.int64s(axes, f"{base}/axes")], base, keepdims=keepdims)
        return self.add(op, [name], base, axes=axes, keepdims=keepdims)

    # -- the model -----------------------------------------------------------------------
    def value_info(self, name, shape, batch, dtype=None):
        """A graph input/output declaration; the batch axis is ``batch`` (str or int)."""
        # unknown sizes get names of their own: equal names would claim equal sizes
        dims = [
            batch if i == 0 else (f"{name}_dim{i}" if d is None else d) for i, d in enumerate(shape)
        ]
        elem = self._onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype or self.dtype))
        return self._onnx.helper.make_tensor_value_info(name, elem, dims)

    def model(self, name, inputs, outputs, producer_version):
        """The ``ModelProto``: graph, opset and the oldest IR version that carries it."""
        helper = self._onnx.helper
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        opset = helper.make_opsetid("", self.opset)
        proto = helper.make_model(
            graph, opset_imports=[opset], producer_name="lapenna", producer_version=producer_version
        )
        proto.ir_version = helper.find_min_ir_version_for([opset])
        return proto


def pads_for(padding, size, window, strides, dilation, owner):
    """Explicit ``(before, after)`` pads per spatial axis for lapenna's padding modes.

    ``"same"`` follows TensorFlow: ``ceil(n / stride)`` outputs, the odd padded cell at
    the end (bottom/right); ``"causal"`` puts all padding in front.
    """
    spans = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    if padding == "valid":
        return [(0, 0)] * len(window)
    if padding == "causal":
        return [(span - 1, 0) for span in spans]
    if padding != "same":
        raise ValueError(f"{owner}: padding {padding!r} has no ONNX equivalent here")
    pads = []
    for n, span, s in zip(size, spans, strides):
        # with stride 1 the total is span - 1 whatever the size (which may be unknown)
        total = span - 1 if s == 1 else max((-(-n // s) - 1) * s + span - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def onnx_pads(pairs):
    """``[(b0, a0), (b1, a1)]`` -> ONNX's ``[b0, b1, a0, a1]``."""
    return [int(b) for b, _ in pairs] + [int(a) for _, a in pairs]


CONVERTERS = {}


def converter(*class_names, check=None):
    """Register a function ``convert(graph, layer, inputs, output_shapes) -> [Value]`` for
    the layer classes ``class_names`` (their registered names). ``check(layer,
    input_shapes)`` returns why a layer cannot be exported, or None."""

    def add(fn):
        for name in class_names:
            CONVERTERS[name] = (fn, check)
        return fn

    return add
