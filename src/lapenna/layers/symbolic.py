"""Symbolic tensors and the functional graph they record.

``Input(shape)`` makes a ``SymbolicTensor``: a shape (batch axis ``None``) and a dtype, no
values. Calling a layer on symbolic tensors does no math: it builds the layer, infers the
output shape and records a ``Node`` (layer, inputs, outputs, call arguments). A functional
``Model(inputs, outputs)`` later replays the nodes in order on real Tensors.
"""

from lapenna import backend as B
from lapenna.autograd import Tensor, no_grad
from lapenna.utils.tree import flatten, map_structure


class SymbolicTensor:
    """A placeholder with a shape and a dtype, produced by ``Input`` or a layer call."""

    def __init__(self, shape, dtype=None, name=None, node=None, index=0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = B.to_dtype(dtype).name
        self.name = name
        self.node = node
        self.index = index

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype} name={self.name!r}>"


class Node:
    """One call of a layer in the graph: which symbolic tensors went in and came out."""

    def __init__(self, layer, inputs, outputs, args, kwargs):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.args = args
        self.kwargs = kwargs

    @property
    def parent_tensors(self):
        return flatten(self.inputs)


def any_symbolic(structure):
    return any(isinstance(leaf, SymbolicTensor) for leaf in flatten(structure))


def _shapes(structure):
    return map_structure(lambda t: t.shape, structure)


def record_call(layer, inputs, args, kwargs):
    """Build ``layer`` for the symbolic ``inputs`` and record the call as a ``Node``."""
    shapes = _shapes(inputs)
    layer._maybe_build(shapes)
    if layer.input_spec is not None and isinstance(inputs, SymbolicTensor):
        layer.input_spec.check(layer, inputs.shape)
    out_shapes = layer.compute_output_shape(shapes)
    node = Node(layer, inputs, None, args, kwargs)
    if _is_single_shape(out_shapes):
        outputs = SymbolicTensor(out_shapes, layer.dtype, name=layer.name, node=node, index=0)
    else:
        counter = iter(range(10**9))
        outputs = _map_shapes(
            lambda s: SymbolicTensor(
                s, layer.dtype, name=layer.name, node=node, index=next(counter)
            ),
            out_shapes,
        )
    node.outputs = outputs
    layer._inbound_nodes.append(node)
    return outputs


def _is_single_shape(shape):
    return isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape)


def _map_shapes(fn, shapes):
    """Apply ``fn`` to each shape of a nested list/dict of shapes (layers with several
    outputs); a shape is a leaf, not a structure to descend into."""
    if _is_single_shape(tuple(shapes)) and not isinstance(shapes, dict):
        return fn(tuple(shapes))
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    return [_map_shapes(fn, s) for s in shapes]


def output_shape_by_running(layer, input_shape):
    """Infer an output shape by calling the layer on zeros with a batch of one."""

    def zeros(shape):
        concrete = tuple(1 if d is None else d for d in shape)
        return Tensor(B.xp.zeros(concrete, dtype=layer.dtype))

    def is_shape(s):
        return isinstance(s, tuple | list) and all(d is None or isinstance(d, int) for d in s)

    def to_inputs(s):
        if is_shape(s):
            return zeros(s)
        if isinstance(s, dict):
            return {k: to_inputs(v) for k, v in s.items()}
        return [to_inputs(v) for v in s]

    with no_grad():
        out = layer(to_inputs(input_shape), training=False)
    batch_unknown = is_shape(input_shape) and input_shape and input_shape[0] is None
    if not batch_unknown and not is_shape(input_shape):
        first = flatten(input_shape if isinstance(input_shape, list) else [input_shape])
        batch_unknown = bool(first) and first[0] is None

    def shape_of(t):
        shape = tuple(t.shape)
        return ((None,) + shape[1:]) if batch_unknown and shape else shape

    if isinstance(out, Tensor):
        return shape_of(out)
    return map_structure(shape_of, out)
