"""The ``Function`` base: one primitive, forward on arrays and backward on Tensors.

A primitive's ``forward`` takes arrays and returns one array, saving what backward needs
with ``save_for_backward`` (input Tensors, so that a gradient built from them is itself
differentiable) or ``save_output``. ``backward`` takes the output gradient as a Tensor and
returns one gradient per input, written with Tensor operations; ``None`` means "no
gradient for this input". Broadcasting is never undone here: the engine sums each gradient
to its input's shape.
"""

import weakref

from lapenna import backend as B
from lapenna.autograd import capture, grad_mode
from lapenna.autograd.tensor import Tensor, as_tensor
from lapenna.backend import trace


class Function:
    """Base class of every differentiable primitive.

    Subclasses write ``forward(self, *arrays)`` and ``backward(self, grad)``. They are
    applied with ``MyFunction.apply(*inputs, **params)``; ``params`` are stored on the
    node before ``forward`` runs and are available as attributes.
    """

    #: set to False on primitives whose backward is not itself differentiable
    differentiable_backward = True

    def __init__(self):
        self.saved = ()
        self._output = None
        self.freed = False

    @classmethod
    def apply(cls, *inputs, **params):
        like = _dtype_source(inputs)
        tensors = [x if isinstance(x, Tensor) else as_tensor(x, like) for x in inputs]
        node = cls()
        node.__dict__.update(params)
        node.parents = tensors
        arrays = [t.data for t in tensors]
        before = capture.node_arrays(node) if capture.recording() else None
        try:
            data = trace.run(node, arrays) if trace.recording() else node.forward(*arrays)
        except (TypeError, ValueError):
            B.check_same_device(arrays, cls.__name__)  # the clearer error when it applies
            raise
        requires = grad_mode.is_enabled() and any(t.requires_grad for t in tensors)
        out = Tensor(data, _node=node if requires else None)
        if before is not None:  # a captured step is being recorded: this is one of its kernels
            capture.record_primitive(node, arrays, out.data, before)
        if requires:
            out.requires_grad = True
            node.needs_grad = [t.requires_grad for t in tensors]
            if node._output is True:
                node._output = weakref.ref(out)
        else:
            node.parents = None
            node.saved = ()
            node._output = None
        return out

    # -- saving for backward ------------------------------------------------------------
    def save_for_backward(self, *tensors):
        """Keep input Tensors (or arrays) that backward needs."""
        self.saved = tensors

    @property
    def saved_tensors(self):
        if self.freed:
            raise RuntimeError(
                f"{type(self).__name__}: trying to run backward through the graph a second "
                "time, but its saved values were freed after the first backward. Pass "
                "retain_graph=True to the first backward (or use a persistent GradientTape)."
            )
        return self.saved

    def save_output(self):
        """Mark that backward needs the output; it is kept weakly to avoid a cycle."""
        self._output = True

    def output(self):
        """Return the output Tensor of this node (only when ``save_output`` was called)."""
        if self.freed:
            self.saved_tensors  # noqa: B018 - raises the freed-graph error
        out = self._output() if isinstance(self._output, weakref.ref) else None
        if out is None:
            raise RuntimeError(f"{type(self).__name__}: the output needed by backward is gone")
        return out

    def input_needs_grad(self, i):
        return self.needs_grad[i]

    def release(self):
        """Free what was saved for backward and the links to the parents: the graph cannot
        be walked again, and a kept result (``losses.append(loss)``) keeps its value only,
        not every activation behind it."""
        self.saved = ()
        self._output = None
        self.parents = ()
        self.freed = True

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define backward")

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _dtype_source(inputs):
    """The Tensor whose dtype plain numbers adopt: the first float Tensor, else any Tensor."""
    first = None
    for x in inputs:
        if isinstance(x, Tensor):
            if x.data.dtype.kind == "f":
                return x
            first = first or x
    return first
